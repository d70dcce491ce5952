// Shared by the codec fuzz targets (test/fuzz/fuzz_*.cc): decodes one input whole and split in
// two, the way the framework feeds a codec, and traps on any break of the protocol/codec.h
// contract or any difference between the two. A target only derives a codec from its data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/codec.h"

namespace percore::fuzz {

// Aborts (a crash libFuzzer reports with its input) when `ok` is false.
inline void Check(bool ok) {
  if (!ok) __builtin_trap();
}

// Reads fuzz input front to back; past the end it yields zeros.
class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t u16() { return static_cast<uint16_t>(u8() | (u8() << 8)); }
  std::string_view take(size_t n) {
    n = n < size_ - pos_ ? n : size_ - pos_;
    std::string_view v(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return v;
  }
  std::string_view rest() { return take(size_ - pos_); }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

struct Outcome {
  std::vector<std::string> messages;
  CodecError error = CodecError::kNone;
  size_t left = 0;
  bool operator==(const Outcome&) const = default;
};

// Feeds `input` in two pieces (the first `split` bytes, then the rest) into one growing buffer
// with the consumed frames removed from its front and the state carried over; split 0 or
// input.size() is the whole input at once.
template <class Codec>
Outcome Feed(const Codec& codec, std::string_view input, size_t split) {
  Outcome out;
  typename Codec::State state;
  std::string buffer;
  for (std::string_view piece : {input.substr(0, split), input.substr(split)}) {
    buffer.append(piece);
    for (;;) {
      // The codec reads an exactly sized heap copy, so that ASan sees a read one past the end
      // (a std::string's spare capacity and terminator would hide it).
      const std::unique_ptr<char[]> exact(new char[buffer.size()]);
      std::memcpy(exact.get(), buffer.data(), buffer.size());
      const Decoded d = codec.decode(state, std::span<const char>(exact.get(), buffer.size()));
      if (d.kind == Decoded::Kind::kError) {
        Check(d.error != CodecError::kNone);
        out.error = d.error;
        return out;
      }
      if (d.kind == Decoded::Kind::kNeedMore) {
        Check(d.need > buffer.size());
        break;
      }
      Check(d.kind == Decoded::Kind::kFrame);
      Check(d.consumed > 0 && d.consumed <= buffer.size());
      Check(d.offset <= d.consumed && d.size <= d.consumed - d.offset);
      out.messages.push_back(buffer.substr(d.offset, d.size));
      buffer.erase(0, d.consumed);
    }
  }
  out.left = buffer.size();
  return out;
}

// Whole and split at `split_byte`/255 of the input must agree exactly.
template <class Codec>
Outcome CheckSplits(const Codec& codec, std::string_view input, uint8_t split_byte) {
  const Outcome whole = Feed(codec, input, input.size());
  const size_t split = input.size() * split_byte / 255;
  Check(Feed(codec, input, split) == whole);
  return whole;
}

}  // namespace percore::fuzz
