#include "protocol/http_codec.h"

#include <array>
#include <cstring>

namespace percore {
namespace {

// RFC 9110 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" /
// "_" / "`" / "|" / "~" / DIGIT / ALPHA.
constexpr std::array<bool, 256> MakeTcharTable() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr std::array<bool, 256> kTchar = MakeTcharTable();

bool IsTchar(char c) { return kTchar[static_cast<unsigned char>(c)]; }
bool IsOws(char c) { return c == ' ' || c == '\t'; }
// field-value bytes: VCHAR, obs-text, SP, HTAB (no CR, LF, NUL or other controls, no DEL).
bool IsFieldByte(char ch) {
  auto c = static_cast<unsigned char>(ch);
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}

// Whether every byte of v is a field-value byte: eight at a time, as values are most of a head
// (a byte below 0x20 or a DEL sends that word to the exact test, so a tab costs only that).
bool AllFieldBytes(std::string_view v) {
  constexpr uint64_t kOnes = 0x0101010101010101, kHighs = 0x8080808080808080;
  size_t i = 0;
  for (; i + 8 <= v.size(); i += 8) {
    uint64_t x;
    std::memcpy(&x, v.data() + i, 8);
    uint64_t del = x ^ (0x7f * kOnes);
    if ((((x - 0x20 * kOnes) & ~x) | ((del - kOnes) & ~del)) & kHighs) {
      for (size_t j = i; j < i + 8; ++j) {
        if (!IsFieldByte(v[j])) return false;
      }
    }
  }
  for (; i < v.size(); ++i) {
    if (!IsFieldByte(v[i])) return false;
  }
  return true;
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != b[i]) return false;  // b is lower case
  }
  return true;
}

std::string_view TrimOws(std::string_view v) {
  while (!v.empty() && IsOws(v.front())) v.remove_prefix(1);
  while (!v.empty() && IsOws(v.back())) v.remove_suffix(1);
  return v;
}

// Calls f(element) for each non-empty element of a comma-separated list (RFC 9110 5.6.1).
template <class F>
void ForEachListElement(std::string_view list, F f) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view e = TrimOws(list.substr(0, comma));
    if (!e.empty()) f(e);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

// request-line = method SP request-target SP HTTP-version, without its CRLF; fills the request
// line's fields of *out. Single spaces only:
// lenient whitespace is where parsers disagree, and disagreement is how requests get smuggled.
uint16_t ParseRequestLine(std::string_view line, HttpRequest* out) {
  size_t i = 0;
  while (i < line.size() && IsTchar(line[i])) ++i;
  if (i == 0 || i == line.size() || line[i] != ' ') return 400;
  std::string_view method = line.substr(0, i);
  size_t t = ++i;
  while (i < line.size() && line[i] > ' ' && line[i] < 0x7f) ++i;  // visible ASCII
  if (i == t || i == line.size() || line[i] != ' ') return 400;
  std::string_view target = line.substr(t, i - t);
  std::string_view version = line.substr(i + 1);
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !digit(version[5]) ||
      version[6] != '.' || !digit(version[7])) {
    return 400;
  }
  if (version[5] != '1' || (version[7] != '0' && version[7] != '1')) return 505;
  out->method = method;
  out->target = target;
  out->version = version;
  out->minor = version[7] - '0';
  return 0;
}

// Content-Length = 1*DIGIT; values past 2^63 saturate (they are above any max_body anyway).
bool ParseContentLength(std::string_view v, uint64_t* n) {
  if (v.empty()) return false;
  uint64_t x = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    x = x > (UINT64_MAX - 9) / 10 ? UINT64_MAX : x * 10 + static_cast<uint64_t>(c - '0');
  }
  *n = x;
  return true;
}

// Parses a whole head (request line through the empty line) at the start of `text`, checks the
// limits and the body framing rules, and sets *head_len. With `storage` empty the header views
// are only counted (decode's validation pass).
uint16_t ParseHead(std::string_view text, const HttpRequestCodec::Options& opt,
                   std::span<HttpHeader> storage, bool store, HttpRequest* out, size_t* head_len) {
  size_t lf = text.find('\n');
  if (lf == std::string_view::npos) return 400;
  if (lf > opt.max_request_line + 1) return 414;
  if (lf == 0 || text[lf - 1] != '\r') return 400;
  if (uint16_t s = ParseRequestLine(text.substr(0, lf - 1), out); s != 0) return s;
  size_t pos = lf + 1;
  size_t count = 0, header_bytes = 0, hosts = 0;
  bool has_cl = false, has_te = false, chunked_last = false, close = false, keep_alive = false;
  uint64_t cl = 0;
  for (;;) {
    lf = text.find('\n', pos);
    if (lf == std::string_view::npos) return 400;
    size_t len = lf + 1 - pos;
    if (len == 2 && text[pos] == '\r') break;  // the empty line ends the head
    header_bytes += len;
    if (++count > opt.max_headers || header_bytes > opt.max_header_bytes) return 431;
    if (len < 2 || text[lf - 1] != '\r') return 400;  // bare LF
    std::string_view line = text.substr(pos, len - 2);
    pos = lf + 1;
    // field-name ":" OWS field-value OWS. A line starting with whitespace is obs-fold (or
    // whitespace before the first field), and whitespace before the colon is forbidden: both are
    // rejected (RFC 9112 5.1, 5.2).
    size_t colon = 0;
    while (colon < line.size() && IsTchar(line[colon])) ++colon;
    if (colon == 0 || colon == line.size() || line[colon] != ':') return 400;
    std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    if (!AllFieldBytes(value)) return 400;
    value = TrimOws(value);
    if (store) {
      if (count > storage.size()) return 431;
      storage[count - 1] = {name, value};
    }
    switch (Lower(name[0])) {
      case 'c':
        if (IEquals(name, "content-length")) {
          uint64_t n = 0;
          if (!ParseContentLength(value, &n)) return 400;
          if (has_cl && n != cl) return 400;
          has_cl = true;
          cl = n;
        } else if (IEquals(name, "connection")) {
          ForEachListElement(value, [&](std::string_view e) {
            if (IEquals(e, "close")) close = true;
            if (IEquals(e, "keep-alive")) keep_alive = true;
          });
        }
        break;
      case 't':
        if (IEquals(name, "transfer-encoding")) {
          // Only the last coding of the last field line decides whether the body is chunked.
          bool any = false;
          ForEachListElement(value, [&](std::string_view e) {
            any = true;
            chunked_last = IEquals(e, "chunked");
          });
          if (!any) return 400;  // an empty list
          has_te = true;
        }
        break;
      case 'h':
        if (IEquals(name, "host")) ++hosts;
        break;
    }
  }
  *head_len = lf + 1;
  const int minor = out->minor;
  if (hosts > 1 || (minor == 1 && hosts == 0)) return 400;  // RFC 9112 3.2
  if (has_te) {
    // RFC 9112 6.1 and 6.3: TE with CL, TE in 1.0, or a body not ending in chunked are framing
    // errors (400); a chunked body is valid but not decoded here (501).
    if (has_cl || minor == 0 || !chunked_last) return 400;
    return 501;
  }
  if (cl > opt.max_body) return 413;
  out->content_length = cl;
  out->keep_alive = minor == 1 ? !close : (keep_alive && !close);
  if (store) out->headers = storage.first(count);
  return 0;
}

CodecError ErrorFor(uint16_t status) {
  switch (status) {
    case 400:
      return CodecError::kMalformed;
    case 501:
    case 505:
      return CodecError::kUnsupported;
    default:
      return CodecError::kTooLarge;
  }
}

}  // namespace

std::string_view HttpRequest::Header(std::string_view name) const {
  for (const HttpHeader& h : headers) {
    if (h.name.size() != name.size()) continue;
    size_t i = 0;
    while (i < name.size() && Lower(h.name[i]) == Lower(name[i])) ++i;
    if (i == name.size()) return h.value;
  }
  return {};
}

Decoded HttpRequestCodec::decode(State& st, std::span<const char> in) const {
  auto fail = [&st](uint16_t status) {
    st.status = status;
    return Decoded::Error(ErrorFor(status));
  };
  const char* p = in.data();
  const size_t n = in.size();
  if (st.total == 0 && st.scanned == 0 && n > 0 && p[0] != '\r' && p[0] != '\n') {
    // Usually the whole head comes in one read: then one validating pass is enough. Anything
    // but success (a partial head, an error) goes to the line scan below, which gives the
    // answer and the status; both agree on success, as ParseHead is where the scan ends too.
    HttpRequest req;
    size_t head_len = 0;
    if (ParseHead({p, n}, options_, {}, false, &req, &head_len) == 0) {
      st.total = head_len + req.content_length;
    }
  }
  if (st.total == 0) {
    // Split the new bytes into lines, checking each line's limits as soon as it is complete
    // (and an incomplete one as soon as it cannot fit), so an oversized head is refused
    // before it is buffered whole.
    size_t head_end = 0;
    while (st.scanned < n) {
      const void* found = std::memchr(p + st.scanned, '\n', n - st.scanned);
      if (found == nullptr) {
        st.scanned = n;
        size_t partial = n - st.line_start;  // may end in the CR of the line
        if (!st.in_headers && n > options_.max_request_line + 1) return fail(414);
        if (st.in_headers && partial >= 2 &&
            st.header_bytes + partial + 1 > options_.max_header_bytes) {
          return fail(431);
        }
        break;
      }
      size_t lf = static_cast<const char*>(found) - p;
      size_t len = lf + 1 - st.line_start;  // with its line ending
      st.scanned = lf + 1;
      if (!st.in_headers) {
        // The request line, or one of the empty lines a server should ignore before it. Its
        // budget counts from the first byte so that endless CRLFs cannot grow the buffer.
        if (lf > options_.max_request_line + 1) return fail(414);
        if (len < 2 || p[lf - 1] != '\r') return fail(400);
        if (len == 2) {
          st.skip = st.line_start = lf + 1;
          continue;
        }
        HttpRequest line;
        if (uint16_t s = ParseRequestLine({p + st.line_start, len - 2}, &line); s != 0) {
          return fail(s);
        }
        st.in_headers = true;
      } else if (len == 2 && p[st.line_start] == '\r') {
        head_end = lf + 1;
        break;
      } else {
        st.header_bytes += len;
        if (++st.header_count > options_.max_headers ||
            st.header_bytes > options_.max_header_bytes) {
          return fail(431);
        }
        if (len < 2 || p[lf - 1] != '\r') return fail(400);  // bare LF: refuse it early
      }
      st.line_start = lf + 1;
    }
    if (head_end == 0) return Decoded::NeedMore(n + 1);
    HttpRequest req;
    size_t head_len = 0;
    uint16_t s = ParseHead({p + st.skip, head_end - st.skip}, options_, {}, false, &req, &head_len);
    if (s != 0) return fail(s);
    st.total = head_end + req.content_length;
  }
  if (n < st.total) return Decoded::NeedMore(st.total);
  size_t total = st.total, skip = st.skip;
  st = State{};
  return Decoded::Frame(total, skip, total - skip);
}

uint16_t HttpRequestCodec::Parse(std::span<const char> frame, std::span<HttpHeader> headers,
                                 HttpRequest* out) const {
  std::string_view text(frame.data(), frame.size());
  *out = HttpRequest{};
  size_t head_len = 0;
  if (uint16_t s = ParseHead(text, options_, headers, true, out, &head_len); s != 0) return s;
  if (text.size() - head_len < out->content_length) return 400;  // not a whole frame
  out->body = text.substr(head_len, out->content_length);
  return 0;
}

std::string_view HttpReason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "";
  }
}

}  // namespace percore
