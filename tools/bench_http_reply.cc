#include "tools/bench_http_reply.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"

namespace percore::tools {
namespace {

constexpr size_t kMaxHead = 64 * 1024;

ReplyCheck Bad(std::string_view why) { return ReplyCheck::Error("bad reply", std::string(why)); }

}  // namespace

ReplyCheck ReadHttpReplyHead(std::string_view in_view, HttpReplyHead* head) {
  const absl::string_view in(in_view.data(), in_view.size());
  size_t end = in.find("\r\n\r\n");
  if (end == absl::string_view::npos) {
    if (in.size() > kMaxHead) return Bad("an HTTP response head above 64 KiB");
    return ReplyCheck::NeedMore();
  }
  *head = HttpReplyHead();
  head->head_size = end + 4;
  // HTTP/1.0 closes unless it says keep-alive.
  head->close = absl::StartsWith(in, "HTTP/1.0");
  absl::string_view lines = in.substr(0, end);
  size_t eol = lines.find("\r\n");
  absl::string_view status_line = lines.substr(0, eol);
  // "HTTP/1.x NNN reason"
  if (!absl::StartsWith(status_line, "HTTP/1.") || status_line.size() < 12 ||
      status_line[8] != ' ' || !absl::SimpleAtoi(status_line.substr(9, 3), &head->status)) {
    return Bad(absl::StrFormat("not an HTTP status line: '%s'", status_line.substr(0, 40)));
  }
  while (eol != absl::string_view::npos) {
    lines = lines.substr(eol + 2);
    eol = lines.find("\r\n");
    absl::string_view line = lines.substr(0, eol);
    size_t colon = line.find(':');
    if (colon == absl::string_view::npos) return Bad("an HTTP header line without ':'");
    absl::string_view name = line.substr(0, colon);
    absl::string_view value = absl::StripAsciiWhitespace(line.substr(colon + 1));
    if (absl::EqualsIgnoreCase(name, "content-length")) {
      if (!absl::SimpleAtoi(value, &head->content_length) || head->content_length < 0) {
        return Bad("a bad Content-Length");
      }
    } else if (absl::EqualsIgnoreCase(name, "transfer-encoding")) {
      head->chunked = absl::StrContains(absl::AsciiStrToLower(value), "chunked");
    } else if (absl::EqualsIgnoreCase(name, "connection")) {
      std::string v = absl::AsciiStrToLower(value);
      head->close =
          absl::StrContains(v, "close") || (head->close && !absl::StrContains(v, "keep-alive"));
    } else if (absl::EqualsIgnoreCase(name, "sec-websocket-accept")) {
      head->ws_accept = std::string_view(value.data(), value.size());
    }
  }
  return ReplyCheck::Reply(head->head_size);
}

ReplyCheck ReadChunkedBody(std::string_view in_view) {
  const absl::string_view in(in_view.data(), in_view.size());
  size_t at = 0;
  for (;;) {
    size_t eol = in.find("\r\n", at);
    if (eol == absl::string_view::npos) return ReplyCheck::NeedMore();
    absl::string_view size_text = in.substr(at, eol - at);
    size_text = size_text.substr(0, size_text.find(';'));  // chunk extensions
    uint64_t size = 0;
    if (size_text.empty() || !absl::SimpleHexAtoi(size_text, &size) || size > (1ull << 40)) {
      return Bad("a bad chunk size");
    }
    at = eol + 2;
    if (size == 0) {  // trailers, then the blank line
      for (;;) {
        size_t t = in.find("\r\n", at);
        if (t == absl::string_view::npos) return ReplyCheck::NeedMore();
        if (t == at) return ReplyCheck::Reply(at + 2);
        at = t + 2;
      }
    }
    if (in.size() < at + size + 2) return ReplyCheck::NeedMore();
    if (in.substr(at + size, 2) != "\r\n") return Bad("a chunk not followed by CRLF");
    at += size + 2;
  }
}

}  // namespace percore::tools
