// Fuzzes RespReplyCodec: small or default limits from the first byte, then the rest decoded
// whole and split (see fuzz_codec.h); every frame must walk cleanly with RespReplyReader, and
// the walk must account for exactly the values the frame's arrays announce.
#include <cstddef>
#include <cstdint>

#include "protocol/resp_reply.h"
#include "test/fuzz/fuzz_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using percore::RespReplyCodec;
  using percore::fuzz::Check;
  percore::fuzz::Bytes in(data, size);
  const uint8_t flags = in.u8();
  const uint8_t split = in.u8();
  RespReplyCodec::Options o;
  if (flags & 1) {
    o.max_bulk = 64;
    o.max_line = 32;
    o.max_values = 16;
    o.max_reply = 256;
  }
  const RespReplyCodec codec(o);
  const auto whole = percore::fuzz::CheckSplits(codec, in.rest(), split);
  for (const auto& frame : whole.messages) {
    Check(frame.size() <= o.max_reply);
    percore::RespReplyReader reader(std::span<const char>(frame.data(), frame.size()));
    uint64_t owed = 1, values = 0;
    for (percore::RespValue v; owed > 0;) {
      Check(reader.Next(v));
      --owed;
      ++values;
      if (v.type == percore::RespType::kArray) owed += static_cast<uint64_t>(v.integer);
      if (v.type == percore::RespType::kBulk) Check(v.text.size() <= o.max_bulk);
    }
    Check(values <= o.max_values);
    percore::RespValue extra;
    Check(!reader.Next(extra));  // the frame ends where its values do
  }
  return 0;
}
