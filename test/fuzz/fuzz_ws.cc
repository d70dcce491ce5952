// Fuzz target for protocol/ws_*: the input decoded by WsCodec whole, split at a point taken from
// the data, and a byte at a time must give the same frames and the same ending (in-place
// unmasking included: each run decodes its own copy); every delivered message must respect the
// limits, text must be UTF-8 and close codes valid. The payload also makes a round trip through
// the server encoder, masked like a client would, and the input parsed as an HTTP request goes
// through the upgrade check. Byte 0 picks the limits, byte 1 the split, bytes 2-5 the mask.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/http_codec.h"
#include "protocol/utf8.h"
#include "protocol/ws_frame.h"
#include "protocol/ws_handshake.h"
#include "protocol/ws_message.h"
#include "test/fuzz/fuzz_codec.h"

namespace {

using percore::Decoded;
using percore::WsCodec;
using percore::WsError;
using percore::WsOpcode;
namespace fz = percore::fuzz;

struct Run {
  std::vector<std::string> events;
  WsError error = WsError::kNone;
  size_t left = 0;
  bool operator==(const Run&) const = default;
};

// Delivers `input` growing to each of `ends` in turn (the last is input.size()), decoding after
// each into an exactly sized copy so ASan sees any read past the end.
Run Drive(const WsCodec& codec, std::string_view input, const std::vector<size_t>& ends) {
  Run run;
  WsCodec::State st;
  std::string buffer;
  size_t fed = 0;
  for (size_t end : ends) {
    buffer.append(input.substr(fed, end - fed));
    fed = end;
    for (;;) {
      const std::unique_ptr<char[]> exact(new char[buffer.size()]);
      std::memcpy(exact.get(), buffer.data(), buffer.size());
      const Decoded d = codec.decode(st, std::span<char>(exact.get(), buffer.size()));
      if (d.kind == Decoded::Kind::kError) {
        fz::Check(st.error != WsError::kNone && d.error == percore::WsCodecError(st.error));
        fz::Check(percore::WsCloseCode(st.error) == 1002 ||
                  percore::WsCloseCode(st.error) == 1007 || percore::WsCloseCode(st.error) == 1009);
        run.error = st.error;
        return run;
      }
      if (d.kind == Decoded::Kind::kNeedMore) {
        fz::Check(d.need > buffer.size());
        fz::Check(std::memcmp(exact.get(), buffer.data(), buffer.size()) == 0);
        break;
      }
      fz::Check(d.consumed > 0 && d.consumed <= buffer.size());
      fz::Check(d.offset + d.size == d.consumed);
      fz::Check(d.size <= codec.options().max_frame);
      const std::string_view m = st.message;
      switch (st.event) {
        case WsCodec::Event::kText:
          fz::Check(percore::IsValidUtf8(m));
          [[fallthrough]];
        case WsCodec::Event::kBinary:
          fz::Check(m.size() <= codec.options().max_message);
          break;
        case WsCodec::Event::kPing:
        case WsCodec::Event::kPong:
          fz::Check(m.size() <= 125);
          break;
        case WsCodec::Event::kClose:
          fz::Check(st.close_code == percore::WsClose::kNoStatus ||
                    percore::IsValidWsCloseCode(st.close_code));
          fz::Check(percore::IsValidUtf8(m) && m.size() <= 123);
          break;
        case WsCodec::Event::kFragment:
          fz::Check(m.empty());
          break;
      }
      run.events.push_back(std::to_string(static_cast<int>(st.event)) + ":" + std::string(m));
      buffer.erase(0, d.consumed);
    }
  }
  run.left = buffer.size();
  return run;
}

Run Check(const WsCodec& codec, std::string_view input, size_t split) {
  const Run whole = Drive(codec, input, {input.size()});
  fz::Check(Drive(codec, input, {split, input.size()}) == whole);
  if (input.size() <= 2048) {
    std::vector<size_t> ends;
    for (size_t i = 1; i <= input.size(); ++i) ends.push_back(i);
    if (ends.empty()) ends.push_back(0);
    fz::Check(Drive(codec, input, ends) == whole);
  }
  return whole;
}

// A server frame made into the client frame a peer would send with the same payload.
std::string Masked(const std::string& server, const uint8_t (&key)[4]) {
  const uint8_t len7 = static_cast<uint8_t>(server[1]) & 0x7F;
  const size_t head = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0);
  std::string f = server.substr(0, head);
  f[1] = static_cast<char>(f[1] | 0x80);
  f.append(reinterpret_cast<const char*>(key), 4);
  std::string body = server.substr(head);
  percore::UnmaskWs(body, key);
  return f + body;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fz::Bytes in(data, size);
  const uint8_t flags = in.u8();
  const uint8_t split_byte = in.u8();
  const uint8_t key[4] = {in.u8(), in.u8(), in.u8(), in.u8()};
  // Mostly tiny limits, so that the limit paths are reached with small inputs.
  WsCodec::Options o;
  if (flags & 1) {
    o.max_frame = flags >> 3;
    o.max_message = (flags >> 1) * 3;
  }
  const WsCodec codec(o);
  const std::string_view rest = in.rest();
  Check(codec, rest, rest.size() * split_byte / 255);

  // encode -> mask -> decode gives the payload back.
  if (rest.size() <= o.max_frame && rest.size() <= o.max_message) {
    const bool text = percore::IsValidUtf8(rest);
    std::string wire;
    fz::Check(percore::WriteWsFrame(wire, text ? WsOpcode::kText : WsOpcode::kBinary, rest));
    const Run r = Drive(codec, Masked(wire, key), {wire.size() + 4});
    fz::Check(r.error == WsError::kNone && r.left == 0 && r.events.size() == 1);
    const int event = static_cast<int>(text ? WsCodec::Event::kText : WsCodec::Event::kBinary);
    fz::Check(r.events[0] == std::to_string(event) + ":" + std::string(rest));
  }
  // A close frame written with any UTF-8 reason, cut to fit or not, is one the peer accepts
  // (within max_frame, which applies to control frames too).
  std::string close;
  percore::WriteWsClose(close, percore::WsClose::kNormal, rest);
  if (percore::IsValidUtf8(rest) && close.size() - 2 <= o.max_frame) {
    const Run c = Drive(codec, Masked(close, key), {close.size() + 4});
    fz::Check(c.error == WsError::kNone && c.events.size() == 1);
    const std::string_view reason = std::string_view(c.events[0]).substr(c.events[0].find(':') + 1);
    fz::Check(rest.substr(0, reason.size()) == reason &&
              rest.size() - reason.size() < 4 + (rest.size() > 123 ? rest.size() - 123 : 0));
  }

  // The upgrade check on whatever parses as a request.
  const percore::HttpRequestCodec http;
  percore::HttpRequestCodec::State hs;
  const Decoded d = http.decode(hs, std::span<const char>(rest.data(), rest.size()));
  if (d.kind == Decoded::Kind::kFrame) {
    std::vector<percore::HttpHeader> headers(http.options().max_headers);
    percore::HttpRequest req;
    if (http.Parse(std::span<const char>(rest.data() + d.offset, d.size), headers, &req) == 0) {
      const percore::WsUpgrade u = percore::CheckWsUpgrade(req);
      fz::Check(u.status == 101 || u.status == 400 || u.status == 426);
      std::string answer;
      percore::WriteWsHandshake(answer, u);
      if (u.status == 101) fz::Check(percore::WsAcceptKey(u.key).size() == 28);
    }
  }
  return 0;
}
