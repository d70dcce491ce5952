// Fuzzes LineCodec: options from the first bytes (delimiter of 1-8 bytes from the data,
// max_line, strip_cr), then the rest decoded whole and split; see fuzz_codec.h.
#include <cstddef>
#include <cstdint>

#include "protocol/line_codec.h"
#include "test/fuzz/fuzz_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using percore::LineCodec;
  percore::fuzz::Bytes in(data, size);
  const uint8_t flags = in.u8();
  const uint8_t split = in.u8();
  LineCodec::Options o;
  o.max_line = in.u8();
  o.strip_cr = (flags & 0x80) != 0;
  o.delimiter = in.take(1 + (flags & 7));
  if (o.delimiter.empty()) return 0;
  const LineCodec codec(o);
  const std::string_view rest = in.rest();
  const auto whole = percore::fuzz::CheckSplits(codec, rest, split);
  // Every message is shorter than the limit and none contains the delimiter.
  for (const auto& m : whole.messages) {
    percore::fuzz::Check(m.size() <= o.max_line);
    percore::fuzz::Check(m.find(o.delimiter) == std::string::npos);
  }
  // Encoding what was decoded gives input that decodes to the same messages.
  std::string wire;
  for (const auto& m : whole.messages) codec.encode(wire, m);
  if (!o.strip_cr) {
    const auto again = percore::fuzz::CheckSplits(codec, wire, split);
    percore::fuzz::Check(again.messages == whole.messages && again.left == 0);
  }
  return 0;
}
