// Fuzz target for protocol/http_codec: the input decoded whole, split at a point taken from the
// data, and a byte at a time must give the same frames and the same ending; every frame must
// parse, with all views inside the frame. The first byte picks default or tiny limits (so the
// limit paths are reached), the next two the split point.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/http_codec.h"

namespace {

using percore::Decoded;
using percore::HttpHeader;
using percore::HttpRequest;
using percore::HttpRequestCodec;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_http: %s\n", what);
    std::abort();
  }
}

bool Within(std::string_view v, std::span<const char> s) {
  return v.empty() || (v.data() >= s.data() && v.data() + v.size() <= s.data() + s.size());
}

struct Run {
  std::vector<std::string> frames;
  uint16_t status = 0;
  size_t need = 0;
};

// Delivers `all` growing to each of `ends` in turn (the last is all.size()), decoding after each.
Run Drive(const HttpRequestCodec& codec, std::string_view all, const std::vector<size_t>& ends) {
  Run run;
  HttpRequestCodec::State st;
  std::vector<HttpHeader> storage(codec.options().max_headers);
  size_t start = 0;
  for (size_t avail : ends) {
    // A framework calls again only once `need` bytes are there.
    if (run.need != 0 && avail - start < run.need && avail != all.size()) continue;
    for (;;) {
      std::span<const char> in(all.data() + start, avail - start);
      Decoded d = codec.decode(st, in);
      if (d.kind == Decoded::Kind::kError) {
        Check(st.status == 400 || st.status == 413 || st.status == 414 || st.status == 431 ||
                  st.status == 501 || st.status == 505,
              "error status");
        run.status = st.status;
        run.need = 0;
        return run;
      }
      if (d.kind == Decoded::Kind::kNeedMore) {
        Check(d.need > in.size(), "need > input");
        run.need = d.need;
        break;
      }
      Check(d.consumed > 0, "consumed > 0");
      Check(d.offset + d.size <= d.consumed && d.consumed <= in.size(), "frame within input");
      Check(d.size <= codec.max_frame(), "frame within max_frame");
      std::span<const char> msg = in.subspan(d.offset, d.size);
      HttpRequest req;
      Check(codec.Parse(msg, storage, &req) == 0, "a decoded frame parses");
      Check(Within(req.method, msg) && Within(req.target, msg) && Within(req.version, msg) &&
                Within(req.body, msg),
            "views within the frame");
      for (const HttpHeader& h : req.headers) {
        Check(Within(h.name, msg) && Within(h.value, msg), "header views within the frame");
      }
      Check(req.body.size() == req.content_length, "body is Content-Length bytes");
      Check(req.body.data() + req.body.size() == msg.data() + msg.size() ||
                (req.body.empty() && msg.size() >= 4 &&
                 std::string_view(msg.data() + msg.size() - 4, 4) == "\r\n\r\n"),
            "frame ends with the body");
      run.frames.emplace_back(msg.data(), msg.size());
      start += d.consumed;
      run.need = 0;
    }
  }
  return run;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  HttpRequestCodec::Options o;
  if (data[0] & 1) {
    o.max_request_line = 32;
    o.max_headers = 4;
    o.max_header_bytes = 64;
    o.max_body = 64;
  }
  const HttpRequestCodec codec(o);
  std::string_view all(reinterpret_cast<const char*>(data) + 3, size - 3);
  size_t split = (size_t{data[1]} << 8 | data[2]) % (all.size() + 1);

  Run whole = Drive(codec, all, {all.size()});
  Run two = Drive(codec, all, {split, all.size()});
  Check(two.frames == whole.frames, "split: same frames");
  Check(two.status == whole.status, "split: same error");
  Check(two.need == whole.need, "split: same need");
  if (!all.empty() && all.size() <= 4096) {
    std::vector<size_t> ends;
    for (size_t i = 1; i <= all.size(); ++i) ends.push_back(i);
    Run bytes = Drive(codec, all, ends);
    Check(bytes.frames == whole.frames, "bytes: same frames");
    Check(bytes.status == whole.status, "bytes: same error");
    Check(bytes.need == whole.need, "bytes: same need");
  }
  return 0;
}
