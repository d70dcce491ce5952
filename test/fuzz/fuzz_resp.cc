// Fuzz target for RespCodec: the input decoded whole and split in two at a point taken from
// the data must give the same frames and the same end; every frame stays within its input,
// consumes something, and its argument views lie inside its message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/resp_codec.h"

namespace {

using percore::Decoded;
using percore::RespCodec;

void Check(bool ok) {
  if (!ok) std::abort();
}

struct Result {
  std::vector<std::string> frames;  // message bytes, then each argument, joined
  std::vector<size_t> consumed;
  bool error = false;
  std::string error_text;
  std::string leftover;
};

void Take(Result& r, const RespCodec& codec, RespCodec::State& st, std::string& buf) {
  std::vector<std::string_view> args;
  while (!r.error) {
    Decoded d = codec.decode(st, buf);
    if (d.kind == Decoded::Kind::kNeedMore) {
      Check(d.need > buf.size());
      Check(d.need <= codec.max_frame());
      return;
    }
    if (d.kind == Decoded::Kind::kError) {
      r.error = true;
      r.error_text = RespCodec::ErrorText(st);
      Check(!r.error_text.empty());
      return;
    }
    Check(d.consumed > 0 && d.consumed <= buf.size());
    Check(d.offset <= d.consumed && d.size <= d.consumed - d.offset);
    Check(d.consumed <= codec.max_frame());
    std::span<const char> msg = std::span<const char>(buf).subspan(d.offset, d.size);
    Check(RespCodec::ParseArgs(msg, args));
    Check(!args.empty());
    std::string rec(msg.data(), msg.size());
    for (std::string_view a : args) {
      Check(a.data() >= msg.data() && a.data() + a.size() <= msg.data() + msg.size());
      rec += '|';
      rec += std::to_string(a.size());
      rec += ':';
      rec.append(a);
    }
    r.frames.push_back(rec);
    r.consumed.push_back(d.consumed);
    buf.erase(0, d.consumed);
  }
}

Result Decode(const RespCodec& codec, std::string_view data, size_t split) {
  Result r;
  RespCodec::State st;
  std::string buf(data.substr(0, split));
  Take(r, codec, st, buf);
  if (!r.error) {
    buf.append(data.substr(split));
    Take(r, codec, st, buf);
  }
  if (!r.error) r.leftover = buf;
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // The first byte picks small limits (so they are reached) or the defaults; the second, with
  // the size, picks the split point.
  RespCodec::Options small;
  small.max_bulk = 64;
  small.max_args = 8;
  small.max_inline = 48;
  small.max_request = 256;
  RespCodec codec = (data[0] & 1) ? RespCodec(small) : RespCodec();
  std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
  size_t split = in.empty() ? 0 : (static_cast<size_t>(data[1]) * 257 + data[0]) % (in.size() + 1);

  Result whole = Decode(codec, in, in.size());
  Result halves = Decode(codec, in, split);
  Check(whole.frames == halves.frames);
  Check(whole.consumed == halves.consumed);
  Check(whole.error == halves.error);
  Check(whole.error_text == halves.error_text);
  Check(whole.leftover == halves.leftover);
  return 0;
}
