#include "protocol/length_field_codec.h"

#include <cstdlib>

namespace percore {
namespace {

// Lengths plus signed adjustments plus header sizes: 128 bits hold every combination exactly,
// so no overflow check can be forgotten.
using Wide = __int128;

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

}  // namespace

LengthFieldCodec::LengthFieldCodec(const Options& options) : options_(options) {
  switch (options.length_field_length) {
    case kVarint:
    case 1:
    case 2:
    case 3:
    case 4:
    case 8:
      break;
    default:
      std::abort();
  }
  const Options& o = options_;
  if (invertible() && o.length_field_length != kVarint && o.length_adjustment == 0 &&
      !o.length_includes_header && o.max_frame >= o.length_field_length) {
    plain_width_ = o.length_field_length;
    plain_strip_ = o.initial_bytes_to_strip == 0 ? 0 : plain_width_;
  }
}

Decoded LengthFieldCodec::general_decode(std::span<const char> in) const {
  const Options& o = options_;
  const size_t off = o.length_field_offset;
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const size_t n = in.size();
  uint64_t length = 0;
  size_t header;  // offset + length field
  if (o.length_field_length == kVarint) {
    size_t i = 0;
    for (;; ++i) {
      if (i == kMaxVarint) return Decoded::Error(CodecError::kMalformed);
      // A frame holds at least its header: a header already longer than max_frame is too large
      // (checked before waiting for more, so that a split input fails the same way).
      if (off + i + 1 > o.max_frame) return Decoded::Error(CodecError::kTooLarge);
      if (off + i >= n) return Decoded::NeedMore(off + i + 1);
      const uint64_t b = p[off + i];
      // The 10th byte holds bit 63 only: anything more overflows 64 bits.
      if (i == kMaxVarint - 1 && b > 1) return Decoded::Error(CodecError::kMalformed);
      length |= (b & 0x7f) << (7 * i);
      if ((b & 0x80) == 0) break;
    }
    header = off + i + 1;
  } else {
    const size_t w = o.length_field_length;
    header = off + w;
    if (header > o.max_frame) return Decoded::Error(CodecError::kTooLarge);
    if (n < header) return Decoded::NeedMore(header);
    for (size_t i = 0; i < w; ++i) {
      const uint64_t b = p[off + (o.big_endian ? i : w - 1 - i)];
      length = (length << 8) | b;
    }
  }
  const size_t strip = o.initial_bytes_to_strip == kStripHeader ? header : o.initial_bytes_to_strip;
  const Wide frame = static_cast<Wide>(length) + o.length_adjustment +
                     (o.length_includes_header ? 0 : static_cast<Wide>(header));
  if (frame < static_cast<Wide>(header) || frame < static_cast<Wide>(strip)) {
    return Decoded::Error(CodecError::kMalformed);
  }
  if (frame > static_cast<Wide>(o.max_frame)) return Decoded::Error(CodecError::kTooLarge);
  const auto total = static_cast<size_t>(frame);
  if (n < total) return Decoded::NeedMore(total);
  return Decoded::Frame(total, strip, total - strip);
}

bool LengthFieldCodec::invertible() const {
  const Options& o = options_;
  const size_t s = o.initial_bytes_to_strip;
  return o.length_field_offset == 0 &&
         (s == 0 || s == kStripHeader ||
          (o.length_field_length != kVarint && s == o.length_field_length));
}

size_t LengthFieldCodec::general_header(size_t payload, char (&out)[kMaxHeader]) const {
  if (!invertible()) return 0;
  const Options& o = options_;
  // Find the header width w for which the length written makes decode's frame equal to
  // w + payload: length = (includes_header ? w + payload : payload) - adjustment. Only a varint
  // with length_includes_header makes w depend on the length; try each width.
  const size_t first = o.length_field_length == kVarint ? 1 : o.length_field_length;
  const size_t last = o.length_field_length == kVarint ? kMaxVarint : o.length_field_length;
  for (size_t w = first; w <= last; ++w) {
    const Wide frame = static_cast<Wide>(w) + payload;
    const Wide length =
        (o.length_includes_header ? frame : static_cast<Wide>(payload)) - o.length_adjustment;
    if (length < 0 || length > static_cast<Wide>(UINT64_MAX)) continue;
    if (frame > static_cast<Wide>(o.max_frame)) return 0;
    const auto v = static_cast<uint64_t>(length);
    if (o.length_field_length == kVarint) {
      if (VarintSize(v) != w) continue;
      uint64_t rest = v;
      for (size_t i = 0; i < w; ++i) {
        out[i] = static_cast<char>((rest & 0x7f) | (i + 1 < w ? 0x80 : 0));
        rest >>= 7;
      }
      return w;
    }
    if (w < 8 && (v >> (8 * w)) != 0) return 0;  // does not fit the field
    for (size_t i = 0; i < w; ++i) {
      const auto b = static_cast<char>(v >> (8 * (o.big_endian ? w - 1 - i : i)));
      out[i] = b;
    }
    return w;
  }
  return 0;
}

}  // namespace percore
