// Utf8Validator: checks that bytes are well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF) when they arrive in pieces, as WebSocket text messages do
// across fragments. It fails at the first byte that no continuation could make valid, so a bad
// fragment is refused before the rest of the message arrives.
#pragma once

#include <cstdint>
#include <string_view>

namespace percore {

class Utf8Validator {
 public:
  // Checks the next piece; false once the bytes so far can never become valid. After false the
  // validator stays failed until Reset.
  bool Feed(std::string_view bytes);
  // True when the bytes so far end on a character boundary (no sequence is cut off).
  bool Complete() const { return remaining_ == 0 && !failed_; }
  void Reset() { *this = Utf8Validator(); }

 private:
  // The continuation bytes still owed by the current sequence, and the range the next one must
  // fall in: narrower than 80-BF right after E0, ED, F0 and F4, which is how overlongs,
  // surrogates and code points above U+10FFFF are excluded (Unicode Table 3-7).
  uint8_t remaining_ = 0;
  uint8_t lo_ = 0x80;
  uint8_t hi_ = 0xBF;
  bool failed_ = false;
};

// Whole-buffer check.
inline bool IsValidUtf8(std::string_view bytes) {
  Utf8Validator v;
  return v.Feed(bytes) && v.Complete();
}

}  // namespace percore
