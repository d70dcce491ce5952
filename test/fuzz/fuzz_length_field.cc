// Fuzzes LengthFieldCodec: every option from the first bytes, then the rest decoded whole and
// split (see fuzz_codec.h); for invertible configurations also encode -> decode of the rest.
#include <cstddef>
#include <cstdint>

#include "protocol/length_field_codec.h"
#include "test/fuzz/fuzz_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using percore::LengthFieldCodec;
  namespace fz = percore::fuzz;
  fz::Bytes in(data, size);
  const uint8_t flags = in.u8();
  const uint8_t split = in.u8();
  static constexpr uint8_t kWidths[] = {1, 2, 3, 4, 8, LengthFieldCodec::kVarint};
  LengthFieldCodec::Options o;
  o.length_field_length = kWidths[(flags & 7) % 6];
  o.big_endian = (flags & 0x08) != 0;
  o.length_includes_header = (flags & 0x10) != 0;
  o.length_field_offset = (flags >> 5) & 3;
  o.length_adjustment = static_cast<int8_t>(in.u8());
  const uint8_t strip = in.u8() % 8;
  o.initial_bytes_to_strip = strip == 7 ? LengthFieldCodec::kStripHeader : strip;
  // Mostly small limits, sometimes none, so that both the limit and 8-byte lengths are reached.
  const uint16_t max = in.u16();
  o.max_frame = max == 0xffff ? SIZE_MAX : max;
  const LengthFieldCodec codec(o);
  const std::string_view rest = in.rest();
  const auto whole = fz::CheckSplits(codec, rest, split);
  for (const auto& m : whole.messages) fz::Check(m.size() <= o.max_frame);

  std::string wire;
  if (codec.encode(wire, rest)) {
    fz::Check(codec.invertible());
    const auto again = fz::CheckSplits(codec, wire, split);
    fz::Check(again.error == percore::CodecError::kNone && again.left == 0);
    fz::Check(again.messages.size() == 1);
    const std::string_view m = again.messages[0];
    fz::Check(o.initial_bytes_to_strip == 0 ? m == wire : m == rest);
  } else {
    fz::Check(wire.empty());
  }
  return 0;
}
