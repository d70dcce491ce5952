#include "protocol/resp_reply.h"

#include <charconv>
#include <cstring>

namespace percore {
namespace {

constexpr size_t kNoLine = std::string_view::npos;

bool ParseInt(std::string_view digits, int64_t* out) {
  if (digits.empty()) return false;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), *out);
  return ec == std::errc() && end == digits.data() + digits.size();
}

}  // namespace

Decoded RespReplyCodec::decode(State& st, std::span<const char> span) const {
  std::string_view in(span.data(), span.size());
  size_t pos = st.pos;
  while (st.owed > 0) {
    if (pos >= in.size()) return Decoded::NeedMore(pos + 1);
    size_t nl = in.find('\n', pos);
    if (nl == kNoLine) {
      // The same bound as below, so that input in pieces is refused exactly as whole input.
      if (in.size() - pos > options_.max_line + 1) return Decoded::Error(CodecError::kTooLarge);
      return Decoded::NeedMore(in.size() + 1);
    }
    if (nl - pos > options_.max_line + 1) return Decoded::Error(CodecError::kTooLarge);
    if (nl == pos || in[nl - 1] != '\r') return Decoded::Error(CodecError::kMalformed);
    std::string_view line = in.substr(pos + 1, nl - 1 - (pos + 1));
    if (line.find('\r') != kNoLine) return Decoded::Error(CodecError::kMalformed);
    size_t next = nl + 1;
    int64_t n = 0;
    switch (in[pos]) {
      case '+':
      case '-':
        break;
      case ':':
        if (!ParseInt(line, &n)) return Decoded::Error(CodecError::kMalformed);
        break;
      case '$':
        if (!ParseInt(line, &n) || n < -1) return Decoded::Error(CodecError::kMalformed);
        if (n >= 0) {
          if (static_cast<uint64_t>(n) > options_.max_bulk) {
            return Decoded::Error(CodecError::kTooLarge);
          }
          size_t end = next + static_cast<size_t>(n) + 2;
          if (end > options_.max_reply) return Decoded::Error(CodecError::kTooLarge);
          if (in.size() < end) {
            st.pos = static_cast<uint32_t>(pos);  // the header is parsed again: a few bytes
            return Decoded::NeedMore(end);
          }
          if (in[end - 2] != '\r' || in[end - 1] != '\n') {
            return Decoded::Error(CodecError::kMalformed);
          }
          next = end;
        }
        break;
      case '*':
        if (!ParseInt(line, &n) || n < -1) return Decoded::Error(CodecError::kMalformed);
        if (n > 0) {
          if (static_cast<uint64_t>(n) > options_.max_values - st.owed - st.seen) {
            return Decoded::Error(CodecError::kTooLarge);
          }
          st.owed += static_cast<uint64_t>(n);
        }
        break;
      default:
        return Decoded::Error(CodecError::kMalformed);
    }
    if (next > options_.max_reply) return Decoded::Error(CodecError::kTooLarge);
    --st.owed;
    ++st.seen;
    pos = next;
    st.pos = static_cast<uint32_t>(pos);
  }
  st = State();
  return Decoded::Frame(pos, 0, pos);
}

bool RespReplyReader::Next(RespValue& v) {
  if (pos_ >= in_.size()) return false;
  size_t nl = in_.find("\r\n", pos_);
  if (nl == kNoLine) return false;
  std::string_view line = in_.substr(pos_ + 1, nl - pos_ - 1);
  char kind = in_[pos_];
  pos_ = nl + 2;
  v = RespValue();
  switch (kind) {
    case '+':
      v.type = RespType::kSimple;
      v.text = line;
      return true;
    case '-':
      v.type = RespType::kError;
      v.text = line;
      return true;
    case ':':
      v.type = RespType::kInteger;
      return ParseInt(line, &v.integer);
    case '$':
    case '*': {
      int64_t n = 0;
      if (!ParseInt(line, &n)) return false;
      if (n < 0) {
        v.type = RespType::kNull;
        return true;
      }
      if (kind == '*') {
        v.type = RespType::kArray;
        v.integer = n;
        return true;
      }
      if (in_.size() - pos_ < static_cast<size_t>(n) + 2) return false;
      v.type = RespType::kBulk;
      v.text = in_.substr(pos_, static_cast<size_t>(n));
      pos_ += static_cast<size_t>(n) + 2;
      return true;
    }
    default:
      return false;
  }
}

}  // namespace percore
