// protocol/ws_*: the WebSocket (RFC 6455) server codec. The RFC's own examples (the 1.3
// handshake key, the 5.7 frames), every refusal with the close code it maps to, limits at and
// one over, fragmentation with control frames between fragments, UTF-8 checked across
// fragments, split input equal to whole input at every split point, encode -> decode.
#include <catch2/catch.hpp>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/http_codec.h"
#include "protocol/utf8.h"
#include "protocol/ws_frame.h"
#include "protocol/ws_handshake.h"
#include "protocol/ws_message.h"

namespace percore {
namespace {

using Event = WsCodec::Event;

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

constexpr uint8_t kKey[4] = {0x37, 0xfa, 0x21, 0x3d};  // RFC 6455 5.7's mask

// A client frame: first byte as given (FIN, RSV, opcode), the shortest length encoding unless
// `len7` forces one, the mask, the masked payload.
std::string ClientFrame(uint8_t b0, std::string_view payload, int len7 = -1,
                        const uint8_t (&key)[4] = kKey) {
  std::string f(1, static_cast<char>(b0));
  const uint64_t n = payload.size();
  if (len7 < 0) len7 = n < 126 ? static_cast<int>(n) : n <= 0xFFFF ? 126 : 127;
  f.push_back(static_cast<char>(0x80 | len7));
  const int width = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  for (int i = width - 1; i >= 0; --i) f.push_back(static_cast<char>(n >> (8 * i)));
  f.append(reinterpret_cast<const char*>(key), 4);
  std::string body(payload);
  UnmaskWs(body, key);
  return f + body;
}

// Turns a server frame (unmasked, as the encoders write it) into the client frame carrying the
// same payload: set the mask bit, insert the key, mask the payload.
std::string Masked(std::string_view server, const uint8_t (&key)[4] = kKey) {
  const uint8_t len7 = static_cast<uint8_t>(server[1]) & 0x7F;
  const size_t head = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0);
  std::string f(server.substr(0, head));
  f[1] = static_cast<char>(f[1] | 0x80);
  f.append(reinterpret_cast<const char*>(key), 4);
  std::string body(server.substr(head));
  UnmaskWs(body, key);
  return f + body;
}

const char* EventName(Event e) {
  switch (e) {
    case Event::kFragment:
      return "frag";
    case Event::kText:
      return "text";
    case Event::kBinary:
      return "binary";
    case Event::kPing:
      return "ping";
    case Event::kPong:
      return "pong";
    case Event::kClose:
      return "close";
  }
  return "?";
}

// What a connection would see: one line per frame, then how the stream ended.
struct Result {
  std::vector<std::string> events;  // "text:Hello", "frag:", "close:1000:bye", ...
  WsError error = WsError::kNone;
  CodecError codec_error = CodecError::kNone;
  size_t left = 0;  // bytes kept as an incomplete frame
  bool operator==(const Result&) const = default;
};

// Feeds `input` in the chunks ending at `cuts` (ascending), the way the framework does: the
// unconsumed bytes stay at the front of one buffer, the state carries over. Checks the
// codec.h contract, and that kNeedMore touches neither the input nor the state.
Result Feed(const WsCodec& codec, std::string_view input, std::vector<size_t> cuts = {}) {
  Result r;
  WsCodec::State st;
  std::string buffer;
  size_t fed = 0;
  cuts.push_back(input.size());
  for (size_t end : cuts) {
    buffer.append(input.substr(fed, end - fed));
    fed = end;
    for (;;) {
      const std::string before = buffer;
      const WsOpcode fragmented = st.fragmented;
      const size_t gathered = st.buffer.size();
      const Decoded d = codec.decode(st, std::span<char>(buffer.data(), buffer.size()));
      if (d.kind == Decoded::Kind::kError) {
        REQUIRE(st.error != WsError::kNone);
        REQUIRE(d.error == WsCodecError(st.error));
        r.error = st.error;
        r.codec_error = d.error;
        return r;
      }
      if (d.kind == Decoded::Kind::kNeedMore) {
        REQUIRE(d.need > buffer.size());
        REQUIRE(buffer == before);
        REQUIRE(st.fragmented == fragmented);
        REQUIRE(st.buffer.size() == gathered);
        break;
      }
      REQUIRE(d.consumed > 0);
      REQUIRE(d.offset + d.size == d.consumed);
      REQUIRE(d.consumed <= buffer.size());
      std::string line = std::string(EventName(st.event)) + ":";
      if (st.event == Event::kClose) line += std::to_string(st.close_code) + ":";
      line += st.message;
      r.events.push_back(line);
      buffer.erase(0, d.consumed);
    }
  }
  r.left = buffer.size();
  return r;
}

Result Feed(std::string_view input, std::vector<size_t> cuts = {}) {
  return Feed(WsCodec(), input, std::move(cuts));
}

// Whole, a byte at a time and split at every point: all the same.
Result FeedAllSplits(const WsCodec& codec, std::string_view input) {
  const Result whole = Feed(codec, input);
  std::vector<size_t> bytes;
  for (size_t i = 1; i < input.size(); ++i) bytes.push_back(i);
  CHECK(Feed(codec, input, bytes) == whole);
  for (size_t i = 0; i <= input.size(); ++i) {
    INFO("split at " << i);
    CHECK(Feed(codec, input, {i}) == whole);
  }
  return whole;
}

std::ostream& operator<<(std::ostream& os, const Result& r) {
  os << "{";
  for (const std::string& e : r.events) os << "[" << e.substr(0, 40) << "] ";
  return os << WsErrorName(r.error) << ", left " << r.left << "}";
}

// The stream ends with `e` after the given frames.
Result Fails(WsError e, std::vector<std::string> events = {}) {
  Result r;
  r.events = std::move(events);
  r.error = e;
  r.codec_error = WsCodecError(e);
  return r;
}

// ----- handshake -----

struct Request {
  std::string text;
  std::vector<HttpHeader> storage = std::vector<HttpHeader>(32);
  HttpRequest req;
  explicit Request(std::string t) : text(std::move(t)) {
    HttpRequestCodec codec;
    HttpRequestCodec::State st;
    const Decoded d = codec.decode(st, text);
    REQUIRE(d.kind == Decoded::Kind::kFrame);
    REQUIRE(codec.Parse(std::span<const char>(text).subspan(d.offset, d.size), storage, &req) == 0);
  }
};

std::string Upgrade(std::string_view first_line, std::string_view headers) {
  return std::string(first_line) + "\r\nHost: server.example.com\r\n" + std::string(headers) +
         "\r\n";
}

constexpr std::string_view kGood =
    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

TEST_CASE("ws handshake: RFC 6455 1.3's key and the 101 answer", "[codec][ws]") {
  CHECK(WsAcceptKey("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  Request r(Upgrade("GET /chat HTTP/1.1", std::string(kGood) +
                                              "Origin: http://example.com\r\n"
                                              "Sec-WebSocket-Protocol: chat, superchat\r\n"
                                              "Sec-WebSocket-Extensions: permessage-deflate\r\n"));
  const WsUpgrade u = CheckWsUpgrade(r.req);
  REQUIRE(u.status == 101);
  CHECK(u.key == "dGhlIHNhbXBsZSBub25jZQ==");
  std::string out;
  WriteWsHandshake(out, u);
  // Neither the extension nor a subprotocol is accepted; a 1xx has no Content-Length.
  CHECK(out ==
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
}

TEST_CASE("ws handshake: tokens are case-insensitive and may be in comma lists", "[codec][ws]") {
  for (std::string_view headers : {
           "Upgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n",
           "Upgrade: websocket\r\nConnection: keep-alive,upgrade\r\n",
           "upgrade: h2c, websocket\r\nconnection: UPGRADE\r\n",
           "Upgrade: websocket\r\nConnection: keep-alive\r\nConnection: Upgrade\r\n",
       }) {
    INFO(headers);
    Request r(Upgrade("GET / HTTP/1.1", std::string(headers) +
                                            "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                            "sec-websocket-version: 13\r\n"));
    CHECK(CheckWsUpgrade(r.req).status == 101);
  }
}

TEST_CASE("ws handshake: what is refused, 400 or 426", "[codec][ws]") {
  const std::string key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  const std::string v13 = "Sec-WebSocket-Version: 13\r\n";
  const std::string up = "Upgrade: websocket\r\nConnection: Upgrade\r\n";
  struct Case {
    std::string line, headers;
    uint16_t status;
  };
  const Case cases[] = {
      {"POST / HTTP/1.1", std::string(kGood) + "Content-Length: 0\r\n", 400},
      {"HEAD / HTTP/1.1", std::string(kGood), 400},
      {"GET / HTTP/1.0", std::string(kGood), 400},
      {"GET / HTTP/1.1", "Connection: Upgrade\r\n" + key + v13, 400},
      {"GET / HTTP/1.1", "Upgrade: h2c\r\nConnection: Upgrade\r\n" + key + v13, 400},
      {"GET / HTTP/1.1", "Upgrade: websocket\r\n" + key + v13, 400},
      {"GET / HTTP/1.1", "Upgrade: websocket\r\nConnection: keep-alive\r\n" + key + v13, 400},
      {"GET / HTTP/1.1", "Upgrade: websocket\r\nConnection: upgraded\r\n" + key + v13, 400},
      {"GET / HTTP/1.1", up + key, 426},
      {"GET / HTTP/1.1", up + key + "Sec-WebSocket-Version: 8\r\n", 426},
      {"GET / HTTP/1.1", up + key + "Sec-WebSocket-Version: 13, 8\r\n", 426},
      {"GET / HTTP/1.1", up + key + v13 + v13, 426},
      {"GET / HTTP/1.1", up + v13, 400},
      {"GET / HTTP/1.1", up + key + key + v13, 400},
      // 15 and 17 bytes, not base64, no padding.
      {"GET / HTTP/1.1", up + "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\n" + v13, 400},
      {"GET / HTTP/1.1", up + "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=\r\n" + v13, 400},
      {"GET / HTTP/1.1", up + "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAAA\r\n" + v13, 400},
      {"GET / HTTP/1.1", up + "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAAAAA==\r\n" + v13, 400},
      {"GET / HTTP/1.1", up + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ!=\r\n" + v13, 400},
      {"GET / HTTP/1.1", up + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\n" + v13, 400},
  };
  for (const Case& c : cases) {
    INFO(c.line << "\n" << c.headers);
    Request r(Upgrade(c.line, c.headers));
    const WsUpgrade u = CheckWsUpgrade(r.req);
    CHECK(u.status == c.status);
    std::string out;
    WriteWsHandshake(out, u);
    if (c.status == 426) {
      CHECK(out ==
            "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n"
            "Connection: close\r\nContent-Length: 0\r\n\r\n");
    } else {
      CHECK(out == "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    }
  }
}

// ----- frames: RFC 6455 5.7 -----

TEST_CASE("ws frames: RFC 6455 5.7's examples", "[codec][ws]") {
  const std::string hello_unmasked = Bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
  const std::string hello_masked =
      Bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
  SECTION("a single-frame unmasked text message: what the server writes, refused from a client") {
    std::string out;
    CHECK(WriteWsFrame(out, WsOpcode::kText, "Hello"));
    CHECK(out == hello_unmasked);
    CHECK(Feed(hello_unmasked) == Fails(WsError::kUnmasked));
    CHECK(WsCloseCode(WsError::kUnmasked) == 1002);
  }
  SECTION("a single-frame masked text message, unmasked in place") {
    CHECK(ClientFrame(0x81, "Hello") == hello_masked);
    std::string in = hello_masked;
    WsCodec codec;
    WsCodec::State st;
    const Decoded d = codec.decode(st, std::span<char>(in.data(), in.size()));
    REQUIRE(d.kind == Decoded::Kind::kFrame);
    CHECK(d.consumed == 11);
    CHECK(d.offset == 6);
    CHECK(d.size == 5);
    CHECK(st.event == Event::kText);
    CHECK(st.message == "Hello");
    CHECK(st.message.data() == in.data() + 6);  // no copy: the view is the input
    CHECK(in.substr(6) == "Hello");
    CHECK(FeedAllSplits(WsCodec(), hello_masked).events == std::vector<std::string>{"text:Hello"});
  }
  SECTION("a fragmented unmasked text message: 'Hel' + 'lo'") {
    const std::string frag1 = Bytes({0x01, 0x03, 0x48, 0x65, 0x6c});
    const std::string frag2 = Bytes({0x80, 0x02, 0x6c, 0x6f});
    const Result r = FeedAllSplits(WsCodec(), Masked(frag1) + Masked(frag2));
    CHECK(r.events == std::vector<std::string>{"frag:", "text:Hello"});
    CHECK(r.error == WsError::kNone);
    CHECK(r.left == 0);
  }
  SECTION("unmasked ping, masked pong, both carrying 'Hello'") {
    const std::string ping = Bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
    std::string out;
    CHECK(WriteWsFrame(out, WsOpcode::kPing, "Hello"));
    CHECK(out == ping);
    const std::string pong =
        Bytes({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
    CHECK(FeedAllSplits(WsCodec(), Masked(ping) + pong).events ==
          std::vector<std::string>{"ping:Hello", "pong:Hello"});
  }
  SECTION("256 bytes and 64 KiB of binary: 16- and 64-bit lengths") {
    std::string out;
    CHECK(WriteWsFrame(out, WsOpcode::kBinary, std::string(256, 'x')));
    CHECK(out.substr(0, 4) == Bytes({0x82, 0x7E, 0x01, 0x00}));
    CHECK(out.size() == 4 + 256);
    const Result r256 = Feed(Masked(out));
    REQUIRE(r256.events.size() == 1);
    CHECK(r256.events[0] == "binary:" + std::string(256, 'x'));

    out.clear();
    std::string big(65536, '\0');
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
    CHECK(WriteWsFrame(out, WsOpcode::kBinary, big));
    CHECK(out.substr(0, 10) == Bytes({0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0}));
    CHECK(out.size() == 10 + 65536);
    const Result r64k = Feed(Masked(out), {1, 2, 9, 10, 13, 14, 15, 30000});
    REQUIRE(r64k.events.size() == 1);
    CHECK(r64k.events[0] == "binary:" + big);
  }
}

TEST_CASE("ws frames: WsFrameCodec reports opcode and FIN, payload unmasked", "[codec][ws]") {
  std::string in = ClientFrame(0x02, "abc") + ClientFrame(0x89, "") + ClientFrame(0x80, "de");
  const WsFrameCodec codec;
  WsFrameCodec::State st;
  std::span<char> rest(in.data(), in.size());
  struct Seen {
    WsOpcode op;
    bool fin;
    std::string payload;
  };
  std::vector<Seen> seen;
  while (!rest.empty()) {
    const Decoded d = codec.decode(st, rest);
    REQUIRE(d.kind == Decoded::Kind::kFrame);
    seen.push_back({st.opcode, st.fin, std::string(rest.data() + d.offset, d.size)});
    rest = rest.subspan(d.consumed);
  }
  REQUIRE(seen.size() == 3);
  CHECK((seen[0].op == WsOpcode::kBinary && !seen[0].fin && seen[0].payload == "abc"));
  CHECK((seen[1].op == WsOpcode::kPing && seen[1].fin && seen[1].payload.empty()));
  CHECK((seen[2].op == WsOpcode::kContinuation && seen[2].fin && seen[2].payload == "de"));
  // Frame-level limits only: the frame codec does not know about messages.
  std::string big = ClientFrame(0x82, std::string(11, 'x'));
  WsFrameCodec small({.max_frame = 10});
  CHECK(small.decode(st, std::span<char>(big.data(), 2)).kind == Decoded::Kind::kError);
  CHECK(st.error == WsError::kFrameTooBig);
}

TEST_CASE("ws frames: unmasking at every alignment and length", "[codec][ws]") {
  const uint8_t key[4] = {0x01, 0x80, 0xfe, 0x5a};
  for (size_t n = 0; n < 40; ++n) {
    std::string plain;
    for (size_t i = 0; i < n; ++i) plain.push_back(static_cast<char>('a' + i % 26));
    std::string masked = plain;
    UnmaskWs(masked, key);
    for (size_t i = 0; i < n; ++i) {
      REQUIRE(static_cast<uint8_t>(masked[i]) == (static_cast<uint8_t>(plain[i]) ^ key[i % 4]));
    }
    const Result r = Feed(ClientFrame(0x81, plain, -1, key));
    REQUIRE(r.events.size() == 1);
    CHECK(r.events[0] == "text:" + plain);
  }
}

// ----- refusals -----

TEST_CASE("ws errors: every refusal and its close code", "[codec][ws]") {
  struct Case {
    const char* what;
    std::string input;
    WsError error;
    uint16_t close;
  };
  const std::string long_reason(124, 'r');
  const Case cases[] = {
      {"RSV1", ClientFrame(0xC1, "x"), WsError::kReservedBits, 1002},
      {"RSV2", ClientFrame(0xA1, "x"), WsError::kReservedBits, 1002},
      {"RSV3", ClientFrame(0x91, "x"), WsError::kReservedBits, 1002},
      {"opcode 3", ClientFrame(0x83, ""), WsError::kUnknownOpcode, 1002},
      {"opcode 7", ClientFrame(0x87, ""), WsError::kUnknownOpcode, 1002},
      {"opcode 11", ClientFrame(0x8B, ""), WsError::kUnknownOpcode, 1002},
      {"opcode 15", ClientFrame(0x8F, ""), WsError::kUnknownOpcode, 1002},
      {"unmasked", Bytes({0x82, 0x01, 0x00}), WsError::kUnmasked, 1002},
      {"ping without FIN", ClientFrame(0x09, ""), WsError::kFragmentedControl, 1002},
      {"close without FIN", ClientFrame(0x08, ""), WsError::kFragmentedControl, 1002},
      {"ping of 126 bytes", ClientFrame(0x89, std::string(126, 'p')), WsError::kControlTooLong,
       1002},
      {"pong of 125 in a 16-bit length", ClientFrame(0x8A, std::string(125, 'p'), 126),
       WsError::kControlTooLong, 1002},
      {"64-bit length, top bit set", Bytes({0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}),
       WsError::kLengthTopBit, 1002},
      {"continuation first", ClientFrame(0x80, "x"), WsError::kUnexpectedContinuation, 1002},
      {"continuation after a whole message", ClientFrame(0x81, "a") + ClientFrame(0x80, "b"),
       WsError::kUnexpectedContinuation, 1002},
      {"text inside a fragmented text", ClientFrame(0x01, "a") + ClientFrame(0x81, "b"),
       WsError::kExpectedContinuation, 1002},
      {"binary inside a fragmented text", ClientFrame(0x01, "a") + ClientFrame(0x02, "b"),
       WsError::kExpectedContinuation, 1002},
      {"1-byte close", ClientFrame(0x88, "\x03"), WsError::kBadClosePayload, 1002},
      {"close 999", ClientFrame(0x88, Bytes({0x03, 0xE7})), WsError::kBadCloseCode, 1002},
      {"close 1004", ClientFrame(0x88, Bytes({0x03, 0xEC})), WsError::kBadCloseCode, 1002},
      {"close 1005", ClientFrame(0x88, Bytes({0x03, 0xED})), WsError::kBadCloseCode, 1002},
      {"close 1006", ClientFrame(0x88, Bytes({0x03, 0xEE})), WsError::kBadCloseCode, 1002},
      {"close 1012", ClientFrame(0x88, Bytes({0x03, 0xF4})), WsError::kBadCloseCode, 1002},
      {"close 1015", ClientFrame(0x88, Bytes({0x03, 0xF7})), WsError::kBadCloseCode, 1002},
      {"close 2999", ClientFrame(0x88, Bytes({0x0B, 0xB7})), WsError::kBadCloseCode, 1002},
      {"close 5000", ClientFrame(0x88, Bytes({0x13, 0x88})), WsError::kBadCloseCode, 1002},
      {"close 0", ClientFrame(0x88, Bytes({0x00, 0x00})), WsError::kBadCloseCode, 1002},
      {"close 65535", ClientFrame(0x88, Bytes({0xFF, 0xFF})), WsError::kBadCloseCode, 1002},
      {"close reason not UTF-8", ClientFrame(0x88, Bytes({0x03, 0xE8, 0xC0, 0xAF})),
       WsError::kInvalidUtf8, 1007},
      {"frame after close", ClientFrame(0x88, "") + ClientFrame(0x81, "late"),
       WsError::kFrameAfterClose, 1002},
      {"text not UTF-8", ClientFrame(0x81, "\xFF"), WsError::kInvalidUtf8, 1007},
      {"fragment not UTF-8", ClientFrame(0x01, "ok") + ClientFrame(0x80, "\xC0\x80"),
       WsError::kInvalidUtf8, 1007},
      {"frame above max_frame", ClientFrame(0x82, std::string(1025, 'x')), WsError::kFrameTooBig,
       1009},
      {"message above max_message",
       ClientFrame(0x02, std::string(1000, 'x')) + ClientFrame(0x00, std::string(1000, 'x')) +
           ClientFrame(0x80, std::string(1000, 'x')),
       WsError::kMessageTooBig, 1009},
  };
  const WsCodec codec({.max_frame = 1024, .max_message = 2048});
  for (const Case& c : cases) {
    INFO(c.what);
    const Result r = FeedAllSplits(codec, c.input);
    CHECK(r.error == c.error);
    CHECK(r.codec_error == WsCodecError(c.error));
    CHECK(WsCloseCode(c.error) == c.close);
    CHECK(WsCodecError(c.error) ==
          (c.close == 1009 ? CodecError::kTooLarge : CodecError::kMalformed));
    CHECK(std::string_view(WsErrorName(c.error)) != "none");
  }
  CHECK(WsCloseCode(WsError::kNone) == 0);
  CHECK(WsCodecError(WsError::kNone) == CodecError::kNone);
}

TEST_CASE("ws errors: refused as soon as the bytes show it, before the payload", "[codec][ws]") {
  const WsCodec codec({.max_frame = 1000, .max_message = 1500});
  auto first = [&](std::string bytes, size_t n) {
    WsCodec::State st;
    const Decoded d = codec.decode(st, std::span<char>(bytes.data(), n));
    return d.kind == Decoded::Kind::kError ? st.error : WsError::kNone;
  };
  CHECK(first(ClientFrame(0xC1, "x"), 1) == WsError::kReservedBits);
  CHECK(first(ClientFrame(0x83, "x"), 1) == WsError::kUnknownOpcode);
  CHECK(first(ClientFrame(0x09, "x"), 1) == WsError::kFragmentedControl);
  CHECK(first(Bytes({0x81, 0x05}), 2) == WsError::kUnmasked);
  CHECK(first(ClientFrame(0x89, std::string(126, 'x')), 2) == WsError::kControlTooLong);
  // The length field is enough: nothing of the payload has arrived.
  CHECK(first(ClientFrame(0x82, std::string(1001, 'x')), 4) == WsError::kFrameTooBig);
  CHECK(first(ClientFrame(0x82, std::string(1000, 'x')), 8) == WsError::kNone);
  CHECK(first(Bytes({0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0}), 10) == WsError::kLengthTopBit);
  // 2^63 - 1 is a legal length, far above the limit.
  CHECK(first(Bytes({0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}), 10) ==
        WsError::kFrameTooBig);
  // The message limit counts what is gathered, checked once the continuation's header is in.
  std::string two =
      ClientFrame(0x02, std::string(1000, 'x')) + ClientFrame(0x80, std::string(501, 'y'));
  WsCodec::State st;
  Decoded d = codec.decode(st, std::span<char>(two.data(), two.size()));
  REQUIRE(d.kind == Decoded::Kind::kFrame);
  d = codec.decode(st, std::span<char>(two.data() + d.consumed, 8));
  CHECK(d.kind == Decoded::Kind::kError);
  CHECK(st.error == WsError::kMessageTooBig);
}

// ----- limits -----

TEST_CASE("ws limits: max_frame and max_message exactly at and one over", "[codec][ws]") {
  const WsCodec codec({.max_frame = 100, .max_message = 250});
  const std::string at(100, 'a');
  CHECK(Feed(codec, ClientFrame(0x82, at)).events == std::vector<std::string>{"binary:" + at});
  CHECK(Feed(codec, ClientFrame(0x82, at + "a")) == Fails(WsError::kFrameTooBig));
  const std::string fifty(50, 'b');
  const std::string three = ClientFrame(0x02, at) + ClientFrame(0x0, at) + ClientFrame(0x80, fifty);
  CHECK(Feed(codec, three).events ==
        std::vector<std::string>{"frag:", "frag:", "binary:" + at + at + fifty});
  const std::string over =
      ClientFrame(0x02, at) + ClientFrame(0x0, at) + ClientFrame(0x80, fifty + "b");
  CHECK(Feed(codec, over) == Fails(WsError::kMessageTooBig, {"frag:", "frag:"}));
  // An unfragmented message is a message too.
  const WsCodec tight({.max_frame = 100, .max_message = 10});
  CHECK(Feed(tight, ClientFrame(0x81, std::string(10, 't'))).events.size() == 1);
  CHECK(Feed(tight, ClientFrame(0x81, std::string(11, 't'))) == Fails(WsError::kMessageTooBig));
  // Control frames are not messages: their own 125-byte rule applies, not max_message.
  CHECK(Feed(tight, ClientFrame(0x89, std::string(100, 'p'))).events.size() == 1);
}

// ----- messages -----

TEST_CASE("ws messages: control frames between fragments, every split point", "[codec][ws]") {
  const std::string input = ClientFrame(0x01, "Hel") + ClientFrame(0x89, "are you there") +
                            ClientFrame(0x00, "lo, ") + ClientFrame(0x8A, "") +
                            ClientFrame(0x80, "world") + ClientFrame(0x82, Bytes({0, 1, 2})) +
                            ClientFrame(0x02, "") + ClientFrame(0x80, "") +
                            ClientFrame(0x88, Bytes({0x03, 0xE8}) + "bye");
  const Result r = FeedAllSplits(WsCodec(), input);
  CHECK(r.events == std::vector<std::string>{
                        "frag:", "ping:are you there", "frag:", "pong:", "text:Hello, world",
                        "binary:" + Bytes({0, 1, 2}), "frag:", "binary:", "close:1000:bye"});
  CHECK(r.error == WsError::kNone);
  CHECK(r.left == 0);
}

TEST_CASE("ws messages: a gathered message is in the state's buffer, then released",
          "[codec][ws]") {
  std::string in =
      ClientFrame(0x02, std::string(5000, 'a')) + ClientFrame(0x80, "b") + ClientFrame(0x82, "c");
  WsCodec codec;
  WsCodec::State st;
  std::span<char> rest(in.data(), in.size());
  Decoded d = codec.decode(st, rest);
  rest = rest.subspan(d.consumed);
  d = codec.decode(st, rest);
  REQUIRE(st.event == Event::kBinary);
  CHECK(st.message.size() == 5001);
  CHECK(st.message.data() == std::string_view(st.buffer).data());
  rest = rest.subspan(d.consumed);
  d = codec.decode(st, rest);
  REQUIRE(st.event == Event::kBinary);
  CHECK(st.message.data() == rest.data() + d.offset);
  CHECK(st.buffer.capacity() < 5000);
}

TEST_CASE("ws messages: close payloads", "[codec][ws]") {
  CHECK(Feed(ClientFrame(0x88, "")).events == std::vector<std::string>{"close:1005:"});
  for (uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999}) {
    INFO(code);
    CHECK(IsValidWsCloseCode(code));
    const std::string payload = Bytes({code >> 8, code & 0xFF}) + "r\xC3\xA9";
    CHECK(Feed(ClientFrame(0x88, payload)).events ==
          std::vector<std::string>{"close:" + std::to_string(code) + ":r\xC3\xA9"});
  }
  for (uint16_t code : {0, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015, 1016, 2999, 5000}) {
    INFO(code);
    CHECK_FALSE(IsValidWsCloseCode(code));
  }
  // A reason cut inside a character.
  CHECK(Feed(ClientFrame(0x88, Bytes({0x03, 0xE8, 0xC3}))) == Fails(WsError::kInvalidUtf8));
}

TEST_CASE("ws messages: close frames written", "[codec][ws]") {
  std::string out;
  WriteWsClose(out, WsClose::kNormal, "bye");
  CHECK(out == Bytes({0x88, 0x05, 0x03, 0xE8}) + "bye");
  out.clear();
  WriteWsClose(out, WsClose::kNoStatus, "dropped");
  CHECK(out == Bytes({0x88, 0x00}));
  out.clear();
  WriteWsClose(out, WsCloseCode(WsError::kInvalidUtf8));
  CHECK(out == Bytes({0x88, 0x02, 0x03, 0xEF}));
  // 122 ASCII bytes then a 2-byte character: 124 bytes do not fit, the character is dropped
  // whole rather than cut.
  out.clear();
  const std::string reason = std::string(122, 'r') + "\xC3\xA9";
  WriteWsClose(out, WsClose::kGoingAway, reason);
  CHECK(out.size() == 2 + 2 + 122);
  const Result r = Feed(Masked(out));
  CHECK(r.events == std::vector<std::string>{"close:1001:" + std::string(122, 'r')});
  out.clear();
  WriteWsClose(out, WsClose::kGoingAway, std::string(200, 'x'));
  CHECK(out.size() == 2 + 125);
}

// ----- UTF-8 -----

TEST_CASE("ws utf-8: the validator's edges", "[codec][ws]") {
  const std::string_view valid[] = {
      "",
      "plain ascii, long enough for the 8-byte path",
      "\x7F",
      "\xC2\x80",          // U+0080, the smallest 2-byte
      "\xDF\xBF",          // U+07FF
      "\xE0\xA0\x80",      // U+0800, the smallest 3-byte
      "\xED\x9F\xBF",      // U+D7FF, just below the surrogates
      "\xEE\x80\x80",      // U+E000, just above
      "\xEF\xBF\xBF",      // U+FFFF
      "\xF0\x90\x80\x80",  // U+10000, the smallest 4-byte
      "\xF0\x9F\x98\x80",  // U+1F600
      "\xF4\x8F\xBF\xBF",  // U+10FFFF, the largest
      "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5",
  };
  for (std::string_view v : valid) {
    INFO(v);
    CHECK(IsValidUtf8(v));
  }
  const std::string_view invalid[] = {
      "\x80",              // a continuation byte without a lead
      "\xBF",              //
      "\xC0\x80",          // overlong NUL
      "\xC1\xBF",          // overlong U+007F
      "\xE0\x80\x80",      // overlong 3-byte NUL
      "\xE0\x9F\xBF",      // overlong U+07FF
      "\xF0\x80\x80\x80",  // overlong 4-byte NUL
      "\xF0\x8F\xBF\xBF",  // overlong U+FFFF
      "\xED\xA0\x80",      // U+D800, a surrogate
      "\xED\xBF\xBF",      // U+DFFF
      "\xF4\x90\x80\x80",  // U+110000
      "\xF5\x80\x80\x80",  //
      "\xFF",              //
      "\xC2",              // cut off
      "\xE1\x80",          //
      "\xF0\x9F\x98",      //
      "\xC2\x41",          // a continuation that is not one
      "ascii first, then \xE0\xA0",
  };
  for (std::string_view v : invalid) {
    INFO(v);
    CHECK_FALSE(IsValidUtf8(v));
  }
  // Byte by byte: a character split anywhere is still one character.
  Utf8Validator u;
  for (char c : std::string_view("\xF0\x9F\x98\x80")) {
    CHECK(u.Feed(std::string_view(&c, 1)));
  }
  CHECK(u.Complete());
  // Fails at the first impossible byte, before the sequence would end.
  u.Reset();
  CHECK_FALSE(u.Feed("\xED\xA0"));
  CHECK_FALSE(u.Feed("a"));  // and stays failed
}

TEST_CASE("ws utf-8: text checked across fragments", "[codec][ws]") {
  // U+1F600 split over three fragments, with a ping in between.
  const std::string ok = ClientFrame(0x01, "a\xF0") + ClientFrame(0x00, "\x9F") +
                         ClientFrame(0x89, "") + ClientFrame(0x80, "\x98\x80z");
  CHECK(FeedAllSplits(WsCodec(), ok).events ==
        std::vector<std::string>{"frag:", "frag:", "ping:", "text:a\xF0\x9F\x98\x80z"});
  // The message ends inside the character.
  CHECK(FeedAllSplits(WsCodec(), ClientFrame(0x01, "a\xF0\x9F") + ClientFrame(0x80, "\x98")) ==
        Fails(WsError::kInvalidUtf8, {"frag:"}));
  // An overlong and a surrogate split over fragments: refused at the fragment that shows it,
  // before the message's end arrives.
  for (std::string_view bad : {"\xE0\x80", "\xED\xA0", "\xF4\x90"}) {
    INFO(bad);
    const std::string in = ClientFrame(0x01, bad.substr(0, 1)) + ClientFrame(0x00, bad.substr(1));
    CHECK(FeedAllSplits(WsCodec(), in) == Fails(WsError::kInvalidUtf8, {"frag:"}));
  }
  // Binary messages are never checked.
  CHECK(Feed(ClientFrame(0x02, "\xFF") + ClientFrame(0x80, "\xC0")).events ==
        std::vector<std::string>{"frag:", "binary:\xFF\xC0"});
  // A fresh fragmented text starts a fresh check: an earlier message's state does not leak.
  CHECK(Feed(ClientFrame(0x01, "x") + ClientFrame(0x80, "y") + ClientFrame(0x01, "\xC3") +
             ClientFrame(0x80, "\xA9"))
            .events == std::vector<std::string>{"frag:", "text:xy", "frag:", "text:\xC3\xA9"});
}

// ----- encode -> decode -----

TEST_CASE("ws round trip: server frames, masked, decode to the same payload", "[codec][ws]") {
  for (size_t n : {0, 1, 125, 126, 127, 65535, 65536, 70000}) {
    INFO(n);
    std::string payload(n, '\0');
    for (size_t i = 0; i < n; ++i) payload[i] = static_cast<char>('a' + (i * 31) % 26);
    for (WsOpcode op : {WsOpcode::kText, WsOpcode::kBinary}) {
      std::string out;
      REQUIRE(WriteWsFrame(out, op, payload));
      const Result r = Feed(Masked(out));
      REQUIRE(r.events.size() == 1);
      CHECK(r.events[0] == (op == WsOpcode::kText ? "text:" : "binary:") + payload);
    }
  }
  // Parts are one frame.
  std::string out;
  const std::string_view parts[] = {"head|", "", "body"};
  REQUIRE(WriteWsFrame(out, WsOpcode::kText, parts));
  CHECK(Feed(Masked(out)).events == std::vector<std::string>{"text:head|body"});
  // Frames no server sends.
  out.clear();
  CHECK_FALSE(WriteWsFrame(out, WsOpcode::kPing, std::string(126, 'p')));
  CHECK_FALSE(WriteWsFrame(out, WsOpcode::kContinuation, "x"));
  CHECK(out.empty());
  CHECK(WriteWsFrame(out, WsOpcode::kPong, std::string(125, 'p')));
}

}  // namespace
}  // namespace percore
