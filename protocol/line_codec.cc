#include "protocol/line_codec.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace percore {

LineCodec::LineCodec(const Options& options)
    : delimiter_size_(options.delimiter.size()), max_line_(options.max_line) {
  if (delimiter_size_ == 0 || delimiter_size_ > kMaxDelimiter) std::abort();
  std::memcpy(delimiter_, options.delimiter.data(), delimiter_size_);
  strip_cr_ = options.strip_cr && delimiter() == "\n";
}

Decoded LineCodec::decode(State& state, std::span<const char> in) const {
  const size_t n = in.size();
  const size_t d = delimiter_size_;
  // The delimiter may start at most at the last position of a line that is still within the
  // limit (one more with strip_cr, where a '\r' may still be dropped); searching further only
  // proves what the limit check below already knows, so a huge read without a delimiter costs
  // max_line, not its size.
  const size_t extra = strip_cr_ ? 1 : 0;
  const size_t last_allowed = max_line_ > SIZE_MAX - extra - 1 ? SIZE_MAX - 1 : max_line_ + extra;
  size_t end = n >= d ? n - d + 1 : 0;  // one past the last position a delimiter may start at
  end = std::min(end, last_allowed + 1);

  // A state that does not fit this input (the caller changed buffers) is only a hint: restart.
  if (state.scanned > end) state.scanned = 0;
  const char* p = in.data();
  size_t pos = state.scanned;
  while (pos < end) {
    const void* hit = std::memchr(p + pos, delimiter_[0], end - pos);
    if (hit == nullptr) {
      pos = end;
      break;
    }
    pos = static_cast<const char*>(hit) - p;
    if (d == 1 || std::memcmp(p + pos + 1, delimiter_ + 1, d - 1) == 0) {
      state.scanned = 0;
      const size_t size = pos - (strip_cr_ && pos > 0 && p[pos - 1] == '\r' ? 1 : 0);
      if (size > max_line_) return Decoded::Error(CodecError::kTooLarge);
      return Decoded::Frame(pos + d, 0, size);
    }
    ++pos;
  }
  state.scanned = pos;
  // No delimiter starts before `pos`. Of the last d-1 positions, where only part of a
  // delimiter fits, those whose bytes are not a prefix of it are ruled out too (not kept in the
  // state: they are re-checked, at most 8 x 8 bytes, each call).
  size_t first = pos;
  if (pos == end && end < last_allowed + 1) {
    while (first < n && std::memcmp(p + first, delimiter_, n - first) != 0) ++first;
  }
  // So the message will be at least `first` bytes (minus a trailing '\r' that a "\n" right
  // after it would drop).
  const size_t at_least = first - (strip_cr_ && first > 0 && p[first - 1] == '\r' ? 1 : 0);
  if (at_least > max_line_) return Decoded::Error(CodecError::kTooLarge);
  return Decoded::NeedMore(std::max(n + 1, d));
}

}  // namespace percore
