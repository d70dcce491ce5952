#include "protocol/utf8.h"

#include <cstring>

namespace percore {

bool Utf8Validator::Feed(std::string_view bytes) {
  if (failed_) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  size_t i = 0;
  while (i < n) {
    if (remaining_ == 0) {
      // Text is mostly ASCII: skip it eight bytes at a time.
      while (i + 8 <= n) {
        uint64_t word;
        std::memcpy(&word, p + i, 8);
        if ((word & 0x8080808080808080ull) != 0) break;
        i += 8;
      }
      if (i == n) break;
      const unsigned char b = p[i++];
      if (b < 0x80) continue;
      lo_ = 0x80;
      hi_ = 0xBF;
      if (b >= 0xC2 && b <= 0xDF) {
        remaining_ = 1;
      } else if (b >= 0xE0 && b <= 0xEF) {
        remaining_ = 2;
        if (b == 0xE0) lo_ = 0xA0;  // below: an overlong 3-byte form
        if (b == 0xED) hi_ = 0x9F;  // above: U+D800-DFFF, the surrogates
      } else if (b >= 0xF0 && b <= 0xF4) {
        remaining_ = 3;
        if (b == 0xF0) lo_ = 0x90;  // below: an overlong 4-byte form
        if (b == 0xF4) hi_ = 0x8F;  // above: past U+10FFFF
      } else {
        // 80-BF without a lead byte, C0-C1 (overlong 2-byte forms), F5-FF (past U+10FFFF).
        failed_ = true;
        return false;
      }
    } else {
      const unsigned char b = p[i++];
      if (b < lo_ || b > hi_) {
        failed_ = true;
        return false;
      }
      lo_ = 0x80;
      hi_ = 0xBF;
      --remaining_;
    }
  }
  return true;
}

}  // namespace percore
