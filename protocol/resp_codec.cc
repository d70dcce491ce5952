#include "protocol/resp_codec.h"

#include <algorithm>
#include <cstring>

namespace percore {
namespace {

enum Phase : uint8_t {
  kIdle,    // start == pos: before a command; empty lines and "*0" are skipped here
  kInline,  // an inline line from start, scanned up to pos without finding '\n'
  kArgs,    // a "$len" header is next, at pos
  kBody,    // a bulk's bytes run from pos to bulk_end, then "\r\n"
};

enum Reason : uint8_t {
  kNoError,
  kTooBigInline,
  kTooBigCount,
  kTooBigBulkCount,
  kInvalidCount,
  kInvalidBulkLen,
  kExpectedDollar,
  kExpectedCrlf,
  kTooBigRequest,
};

// Redis's words, so that redis-cli users see what they would see from Redis. The last two are
// ours: Redis skips the two bytes after a bulk unchecked and bounds requests by buffer size.
constexpr const char* kReasonText[] = {
    "",
    "Protocol error: too big inline request",
    "Protocol error: too big mbulk count string",
    "Protocol error: too big bulk count string",
    "Protocol error: invalid multibulk length",
    "Protocol error: invalid bulk length",
    "",  // kExpectedDollar: from kGotText
    "Protocol error: expected '\\r\\n'",
    "Protocol error: too big request",
};

// "expected '$', got 'x'" for every x as static text, so the state keeps one byte, not a
// string. Bytes that would end or break the reply line are shown as a space, as Redis's
// addReplyErrorFormat does for \r and \n.
struct GotText {
  char text[256][40];
};
constexpr GotText MakeGotText() {
  constexpr std::string_view kPrefix = "Protocol error: expected '$', got '";
  GotText t{};
  for (int c = 0; c < 256; ++c) {
    size_t n = 0;
    for (char p : kPrefix) t.text[c][n++] = p;
    t.text[c][n++] = (c == 0 || c == '\r' || c == '\n') ? ' ' : static_cast<char>(c);
    t.text[c][n++] = '\'';
    t.text[c][n] = '\0';
  }
  return t;
}
constexpr GotText kGotText = MakeGotText();

// A "*N" or "$N" line longer than this can never hold a valid number; failing then, rather
// than after max_inline bytes like Redis, keeps a header from being rescanned for long.
constexpr size_t kMaxNumberLine = 32;

enum class Line { kOk, kNeedMore, kTooLong, kNoLf, kBadNumber };

// NumberLine for any input: every case and error, in Redis's order of checks.
Line NumberLineChecked(std::span<const char> in, size_t from, int64_t& value, size_t& end) {
  size_t limit = std::min(in.size(), from + kMaxNumberLine);
  const char* cr = static_cast<const char*>(std::memchr(in.data() + from, '\r', limit - from));
  if (cr == nullptr) {
    if (limit < in.size() || in.size() - from >= kMaxNumberLine) return Line::kTooLong;
    end = in.size() + 1;
    return Line::kNeedMore;
  }
  size_t r = static_cast<size_t>(cr - in.data());
  if (r + 1 >= in.size()) {
    end = r + 2;
    return Line::kNeedMore;
  }
  if (in[r + 1] != '\n') return Line::kNoLf;
  end = r + 2;
  size_t i = from;
  bool negative = i < r && in[i] == '-';
  if (negative) ++i;
  size_t digits = r - i;
  if (digits == 0 || digits > 18 || (in[i] == '0' && digits > 1) || (negative && in[i] == '0')) {
    return Line::kBadNumber;
  }
  int64_t v = 0;
  for (; i < r; ++i) {
    if (in[i] < '0' || in[i] > '9') return Line::kBadNumber;
    v = v * 10 + (in[i] - '0');
  }
  value = negative ? -v : v;
  return Line::kOk;
}

// Parses a decimal line at in[from..] ending in "\r\n": optional '-', digits, no leading zeros
// (Redis's string2ll), at most 18 digits so it never overflows. `end` is past the "\n", or on
// kNeedMore the total input size needed.
Line NumberLine(std::span<const char> in, size_t from, int64_t& value, size_t& end) {
  // What clients send: a few digits, then CRLF, all in. One pass and no memchr; anything else
  // (a sign, a partial line, an error) is left to the checked parse, which decides it.
  const size_t n = in.size();
  size_t i = from;
  int64_t v = 0;
  while (i < n && i - from < 18 && in[i] >= '0' && in[i] <= '9') v = v * 10 + (in[i++] - '0');
  if (i > from && i + 1 < n && in[i] == '\r' && in[i + 1] == '\n' &&
      (in[from] != '0' || i - from == 1)) {
    value = v;
    end = i + 2;
    return Line::kOk;
  }
  return NumberLineChecked(in, from, value, end);
}

bool IsSpace(char c) {  // isspace() in the C locale, as Redis's sdssplitargs uses
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

}  // namespace

// It sits in every connection's handler state: keep it small.
static_assert(sizeof(RespCodec::State) <= 20);

size_t RespCodec::max_frame() const {
  // Offsets live in 32 bits in State; keep well inside.
  return std::min<size_t>(options_.max_request, 0xFFFF0000u);
}

const char* RespCodec::ErrorText(const State& state) {
  if (state.error == kExpectedDollar) return kGotText.text[static_cast<uint8_t>(state.got)];
  if (state.error < std::size(kReasonText)) return kReasonText[state.error];
  return "";
}

Decoded RespCodec::decode(State& s, std::span<const char> in) const {
  const size_t n = in.size();
  const size_t max_request = max_frame();
  // Every exit goes through these, so the state is always either reset (frame), a clean
  // resumption point (need more) or a reason (error).
  auto fail = [&s](CodecError kind, Reason why, char got = 0) {
    s = State{};
    s.error = why;
    s.got = got;
    return Decoded::Error(kind);
  };
  auto more = [&](size_t need) {
    if (need > max_request) return fail(CodecError::kTooLarge, kTooBigRequest);
    return Decoded::NeedMore(need);
  };
  // A state from a longer input (a caller that consumed without a frame) is not ours: restart.
  if (s.pos > n || s.start > s.pos) s = State{};
  size_t pos = s.pos;

  for (;;) {
    switch (s.phase) {
      case kIdle: {
        if (pos >= n) {
          s.start = s.pos = static_cast<uint32_t>(pos);
          return more(pos + 1);
        }
        if (in[pos] != '*') {
          s.start = static_cast<uint32_t>(pos);
          s.phase = kInline;
          break;
        }
        int64_t count = 0;
        size_t end = 0;
        switch (NumberLine(in, pos + 1, count, end)) {
          case Line::kOk:
            break;
          case Line::kNeedMore:
            s.start = s.pos = static_cast<uint32_t>(pos);
            return more(end);
          case Line::kTooLong:
            return fail(CodecError::kTooLarge, kTooBigCount);
          case Line::kNoLf:
            return fail(CodecError::kMalformed, kExpectedCrlf);
          case Line::kBadNumber:
            return fail(CodecError::kMalformed, kInvalidCount);
        }
        if (count > 0 && static_cast<uint64_t>(count) > options_.max_args) {
          return fail(CodecError::kTooLarge, kInvalidCount);
        }
        if (end > max_request) return fail(CodecError::kTooLarge, kTooBigRequest);
        if (count <= 0) {  // "*0", "*-1": an empty command, skipped like Redis
          pos = end;
          break;
        }
        s.start = static_cast<uint32_t>(pos);
        s.args_left = static_cast<uint32_t>(count);
        s.phase = kArgs;
        pos = end;
        break;
      }
      case kInline: {
        const char* nl = static_cast<const char*>(std::memchr(in.data() + pos, '\n', n - pos));
        size_t start = s.start;
        if (nl == nullptr) {
          // Room for max_inline bytes and the '\r' of a "\r\n" still to come.
          if (n - start > options_.max_inline + 1) {
            return fail(CodecError::kTooLarge, kTooBigInline);
          }
          s.pos = static_cast<uint32_t>(n);
          return more(n + 1);
        }
        size_t lf = static_cast<size_t>(nl - in.data());
        size_t line_end = (lf > start && in[lf - 1] == '\r') ? lf - 1 : lf;
        if (line_end - start > options_.max_inline) {
          return fail(CodecError::kTooLarge, kTooBigInline);
        }
        if (lf + 1 > max_request) return fail(CodecError::kTooLarge, kTooBigRequest);
        bool empty = std::all_of(in.begin() + start, in.begin() + line_end, IsSpace);
        if (empty) {  // Redis skips lines without words
          s.phase = kIdle;
          pos = lf + 1;
          break;
        }
        s = State{};
        return Decoded::Frame(lf + 1, start, line_end - start);
      }
      case kArgs: {
        if (pos >= n) {
          s.pos = static_cast<uint32_t>(pos);
          return more(pos + 1);
        }
        if (in[pos] != '$') return fail(CodecError::kMalformed, kExpectedDollar, in[pos]);
        int64_t len = 0;
        size_t end = 0;
        switch (NumberLine(in, pos + 1, len, end)) {
          case Line::kOk:
            break;
          case Line::kNeedMore:
            s.pos = static_cast<uint32_t>(pos);
            return more(end);
          case Line::kTooLong:
            return fail(CodecError::kTooLarge, kTooBigBulkCount);
          case Line::kNoLf:
            return fail(CodecError::kMalformed, kExpectedCrlf);
          case Line::kBadNumber:
            return fail(CodecError::kMalformed, kInvalidBulkLen);
        }
        if (len < 0) return fail(CodecError::kMalformed, kInvalidBulkLen);
        if (static_cast<uint64_t>(len) > options_.max_bulk) {
          return fail(CodecError::kTooLarge, kInvalidBulkLen);
        }
        // Checked before anything waits for the body: a huge length fails at once.
        size_t bulk_end = end + static_cast<size_t>(len);
        if (bulk_end + 2 > max_request) return fail(CodecError::kTooLarge, kTooBigRequest);
        s.bulk_end = static_cast<uint32_t>(bulk_end);
        s.phase = kBody;
        pos = end;
        break;
      }
      case kBody: {
        size_t bulk_end = s.bulk_end;
        if (n < bulk_end + 2) {
          s.pos = static_cast<uint32_t>(pos);
          return more(bulk_end + 2);  // the exact total: the body is not scanned
        }
        if (in[bulk_end] != '\r' || in[bulk_end + 1] != '\n') {
          return fail(CodecError::kMalformed, kExpectedCrlf);
        }
        pos = bulk_end + 2;
        if (--s.args_left == 0) {
          size_t start = s.start;
          s = State{};
          return Decoded::Frame(pos, start, pos - start);
        }
        s.phase = kArgs;
        break;
      }
    }
  }
}

bool RespCodec::ParseArgs(std::span<const char> message, std::vector<std::string_view>& out) {
  out.clear();
  RespArgs args(message);
  for (std::string_view a; args.Next(a);) out.push_back(a);
  return args.ok();
}

RespArgs::RespArgs(std::span<const char> message) : msg_(message.data(), message.size()) {
  if (msg_.empty() || msg_[0] != '*') {
    inline_ = true;
    return;
  }
  size_t end = 0;
  if (NumberLine(message, 1, declared_, end) != Line::kOk || declared_ <= 0) {
    ok_ = false;
    declared_ = -1;
    return;
  }
  left_ = declared_;
  pos_ = end;
}

bool RespArgs::Next(std::string_view& arg) {
  if (!ok_) return false;
  if (inline_) {
    while (pos_ < msg_.size() && IsSpace(msg_[pos_])) ++pos_;
    if (pos_ == msg_.size()) return false;
    size_t begin = pos_;
    while (pos_ < msg_.size() && !IsSpace(msg_[pos_])) ++pos_;
    arg = msg_.substr(begin, pos_ - begin);
    return true;
  }
  if (left_ == 0) {
    ok_ = pos_ == msg_.size();
    return false;
  }
  // Defensive: the frame was validated, but a wrong span must not read out of bounds.
  std::span<const char> in(msg_.data(), msg_.size());
  int64_t len = 0;
  size_t end = 0;
  if (pos_ >= msg_.size() || msg_[pos_] != '$' || NumberLine(in, pos_ + 1, len, end) != Line::kOk ||
      len < 0 || static_cast<uint64_t>(len) + 2 > msg_.size() - end ||
      msg_.compare(end + static_cast<size_t>(len), 2, "\r\n") != 0) {
    ok_ = false;
    return false;
  }
  arg = msg_.substr(end, static_cast<size_t>(len));
  pos_ = end + static_cast<size_t>(len) + 2;
  --left_;
  return true;
}

namespace resp_internal {

size_t Header(char* buf, char c, int64_t n) {
  char digits[20];
  size_t d = 0;
  // Negative through unsigned so INT64_MIN does not overflow.
  uint64_t u = n < 0 ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
  do {
    digits[d++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  size_t len = 0;
  buf[len++] = c;
  if (n < 0) buf[len++] = '-';
  while (d > 0) buf[len++] = digits[--d];
  buf[len++] = '\r';
  buf[len++] = '\n';
  return len;
}

}  // namespace resp_internal
}  // namespace percore
