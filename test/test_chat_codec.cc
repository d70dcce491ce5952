// ChatCodec (the chat app's codec): how the first bytes pick the transport, at every split point,
// and that the chosen codec then frames the same input.
#include <catch2/catch.hpp>
#include <string>
#include <string_view>

#include "tools/apps/chat_codec.h"

namespace percore::apps {
namespace {

using Mode = ChatCodec::Mode;

Mode SniffAll(std::string_view in) {
  size_t need = 0;
  return ChatCodec::Sniff(in, 8192, &need);
}

// Decodes `in` offered in growing prefixes, as the framework would when bytes trickle in: the
// first frame, its mode, and the prefix length it came at.
std::pair<Decoded, Mode> FirstFrame(const std::string& in, size_t* at) {
  ChatCodec codec;
  ChatCodec::State st;
  std::string buf;
  for (size_t n = 1; n <= in.size(); ++n) {
    buf.assign(in, 0, n);
    Decoded d = codec.decode(st, std::span<char>(buf.data(), buf.size()));
    if (d.kind != Decoded::Kind::kNeedMore) {
      *at = n;
      return {d, st.mode()};
    }
  }
  *at = 0;
  return {Decoded::NeedMore(0), st.mode()};
}

}  // namespace

TEST_CASE("chat codec: a request line makes HTTP, anything else the line protocol", "[chat]") {
  CHECK(SniffAll("NICK ann\n") == Mode::kLine);
  CHECK(SniffAll("N") == Mode::kLine);  // decided at the first byte
  CHECK(SniffAll("GETX / HTTP/1.1\r\n") == Mode::kLine);
  CHECK(SniffAll("GET / HTTP/1.1\r\n") == Mode::kHttp);
  CHECK(SniffAll("HEAD /x?y HTTP/1.0\n") == Mode::kHttp);
  CHECK(SniffAll("GET /\n") == Mode::kLine);            // no version: a command
  CHECK(SniffAll("GET / HTTP/2\r\n") == Mode::kLine);   // not HTTP/1.x
  CHECK(SniffAll("GET  HTTP/1.1\r\n") == Mode::kLine);  // no target
  CHECK(SniffAll("POST / HTTP/1.1\r\n") == Mode::kLine);
  size_t need = 0;
  CHECK(ChatCodec::Sniff("GE", 8192, &need) == Mode::kSniff);
  CHECK(need == 3);
  CHECK(ChatCodec::Sniff("GET /" + std::string(100, 'a'), 8192, &need) == Mode::kSniff);
  // No request line is that long: a line client it is (and its line codec refuses it).
  CHECK(SniffAll("GET /" + std::string(9000, 'a')) == Mode::kLine);
}

TEST_CASE("chat codec: the chosen codec frames the input that decided it", "[chat]") {
  size_t at = 0;
  auto [line, line_mode] = FirstFrame("NICK ann\r\nJOIN x\n", &at);
  CHECK(line_mode == Mode::kLine);
  CHECK(line.kind == Decoded::Kind::kFrame);
  CHECK(line.size == 8);  // "NICK ann", the CR stripped
  CHECK(at == 10);
  const std::string req = "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n";
  auto [http, http_mode] = FirstFrame(req, &at);
  CHECK(http_mode == Mode::kHttp);
  CHECK(http.kind == Decoded::Kind::kFrame);
  CHECK(http.consumed == req.size());
  CHECK(at == req.size());
  auto [too_long, long_mode] = FirstFrame(std::string(5000, 'x'), &at);
  CHECK(long_mode == Mode::kLine);
  CHECK(too_long.kind == Decoded::Kind::kError);
  CHECK(too_long.error == CodecError::kTooLarge);
}

TEST_CASE("chat codec: after the switch to WebSocket the rest is frames", "[chat]") {
  ChatCodec codec;
  ChatCodec::State st;
  std::string in = "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n";
  const size_t head = in.size();
  in += std::string("\x81\x82\x00\x00\x00\x00", 6) + "hi";  // a masked text frame, zero mask
  Decoded d = codec.decode(st, std::span<char>(in.data(), in.size()));
  REQUIRE(d.kind == Decoded::Kind::kFrame);
  REQUIRE(d.consumed == head);
  st.switch_to_ws();
  d = codec.decode(st, std::span<char>(in.data() + head, in.size() - head));
  REQUIRE(d.kind == Decoded::Kind::kFrame);
  CHECK(st.mode() == Mode::kWs);
  CHECK(st.ws().event == WsCodec::Event::kText);
  CHECK(st.ws().message == "hi");
}

}  // namespace percore::apps
