// The fan-out bench's checker and wire parsing, fed byte streams a misbehaving server could
// send: reordered, duplicated and missing messages must each be caught and named, and a
// stream split anywhere must parse the same.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "protocol/http_codec.h"
#include "protocol/ws_frame.h"
#include "protocol/ws_handshake.h"
#include "tools/fanout_check.h"
#include "tools/fanout_wire.h"

namespace percore::tools {
namespace {

struct Member {
  explicit Member(FanoutProtocol p) : protocol(p) {}
  FanoutProtocol protocol;
  std::string kept;
  SeqChecker seq;
  FanoutErrors errors;
  std::vector<uint64_t> seen;
  int oks = 0, pings = 0;

  void feed(std::string_view bytes) {
    kept.append(bytes);
    size_t used = ParseIncoming(protocol, kept, [&](const WireEvent& ev) {
      if (ev.kind == WireEvent::kOk) ++oks;
      if (ev.kind == WireEvent::kPing || ev.kind == WireEvent::kWsPing) ++pings;
      if (ev.kind == WireEvent::kMalformed) ++errors[FanoutError::kMalformed];
      if (ev.kind != WireEvent::kMessage) return;
      uint64_t s = 0;
      REQUIRE(ev.room == "lobby");
      REQUIRE(ParseSeq(ev.text, &s));
      seen.push_back(s);
      seq.on(s, errors);
    });
    REQUIRE(used != std::string_view::npos);
    kept.erase(0, used);
  }
};

// What a server sends a member for message `seq`.
std::string Delivery(FanoutProtocol p, uint64_t seq) {
  std::string text = std::to_string(seq) + " xxxxxxxx";
  if (p == FanoutProtocol::kRedis) {
    return "*3\r\n$7\r\nmessage\r\n$5\r\nlobby\r\n$" + std::to_string(text.size()) + "\r\n" + text +
           "\r\n";
  }
  std::string line = "MSG lobby pub " + text;
  if (p == FanoutProtocol::kChat) return line + "\n";
  char head[kWsMaxServerHeader];
  return std::string(head, WsServerHeader(WsOpcode::kText, line.size(), head)) + line;
}

std::string Stream(FanoutProtocol p, const std::vector<uint64_t>& seqs) {
  std::string out;
  for (uint64_t s : seqs) out += Delivery(p, s);
  return out;
}

const FanoutProtocol kAll[] = {FanoutProtocol::kChat, FanoutProtocol::kWsChat,
                               FanoutProtocol::kRedis};

}  // namespace

TEST_CASE("fanout checker: in order, exactly once, passes", "[fanout]") {
  for (FanoutProtocol p : kAll) {
    Member m(p);
    m.feed(Stream(p, {0, 1, 2, 3, 4}));
    m.seq.finish(5, m.errors);
    CHECK(m.errors.total() == 0);
    CHECK(m.seen == std::vector<uint64_t>{0, 1, 2, 3, 4});
  }
}

TEST_CASE("fanout checker: reorder, duplicate and gap are told apart", "[fanout]") {
  for (FanoutProtocol p : kAll) {
    Member m(p);
    // 3 before 2 (a reorder), 4 twice (a duplicate), 6 never (a gap), 8 and 9 never (the tail).
    m.feed(Stream(p, {0, 1, 3, 2, 4, 4, 5, 7}));
    m.seq.finish(10, m.errors);
    INFO(FanoutProtocolName(p) << ": " << m.errors.ToString());
    CHECK(m.errors[FanoutError::kReorder] == 1);
    CHECK(m.errors[FanoutError::kDuplicate] == 1);
    CHECK(m.errors[FanoutError::kGap] == 3);
    CHECK(m.errors.total() == 5);
  }
}

TEST_CASE("fanout checker: a message older than any gap is a duplicate, not a reorder",
          "[fanout]") {
  Member m(FanoutProtocol::kChat);
  m.feed(Stream(m.protocol, {0, 1, 2, 1, 0}));
  CHECK(m.errors[FanoutError::kDuplicate] == 2);
  CHECK(m.errors[FanoutError::kReorder] == 0);
}

TEST_CASE("fanout wire: a stream split at every byte parses as a whole one", "[fanout]") {
  for (FanoutProtocol p : kAll) {
    std::string ok = p == FanoutProtocol::kRedis ? "*3\r\n$9\r\nsubscribe\r\n$5\r\nlobby\r\n:1\r\n"
                                                 : std::string("OK JOIN lobby\n");
    if (p == FanoutProtocol::kWsChat)
      ok = "\x81\x0dOK JOIN lobby"
           "\x89\x01x";
    std::string all = ok + Stream(p, {0, 1, 2, 300, 301});
    for (size_t cut = 0; cut <= all.size(); ++cut) {
      Member m(p);
      m.feed(all.substr(0, cut));
      m.feed(all.substr(cut));
      INFO(FanoutProtocolName(p) << " cut at " << cut);
      CHECK(m.oks == 1);
      CHECK(m.seen == std::vector<uint64_t>{0, 1, 2, 300, 301});
      CHECK(m.errors[FanoutError::kGap] == 0);
      CHECK(m.errors[FanoutError::kReorder] == 0);
      CHECK(m.errors[FanoutError::kDuplicate] == 0);
    }
  }
}

TEST_CASE("fanout wire: what the publisher writes is exactly --size bytes of text", "[fanout]") {
  std::string out;
  AppendPublish(FanoutProtocol::kChat, out, "lobby", 12345, 64);
  CHECK(out == "MSG lobby 12345 " + std::string(58, 'x') + "\n");
  out.clear();
  AppendPublish(FanoutProtocol::kRedis, out, "lobby", 7, 4);
  CHECK(out == "*3\r\n$7\r\nPUBLISH\r\n$5\r\nlobby\r\n$4\r\n7 xx\r\n");
  uint64_t s = 0;
  CHECK(ParseSeq("12345 xx", &s));
  CHECK(s == 12345);
  CHECK_FALSE(ParseSeq("x12", &s));
  CHECK_FALSE(ParseSeq("12x", &s));
}

TEST_CASE("fanout wire: client frames are what percore's server codec accepts", "[fanout]") {
  std::string out;
  AppendCommand(FanoutProtocol::kWsChat, out, {"NICK", "m1"});
  AppendWsFrame(out, 10, "pong");
  WsFrameCodec codec;
  WsFrameCodec::State st;
  Decoded d = codec.decode(st, std::span<char>(out.data(), out.size()));
  REQUIRE(d.kind == Decoded::Kind::kFrame);
  CHECK(st.opcode == WsOpcode::kText);
  CHECK(std::string_view(out.data() + d.offset, d.size) == "NICK m1");
  std::span<char> rest(out.data() + d.consumed, out.size() - d.consumed);
  d = codec.decode(st, rest);
  REQUIRE(d.kind == Decoded::Kind::kFrame);
  CHECK(st.opcode == WsOpcode::kPong);
  CHECK(std::string_view(rest.data() + d.offset, d.size) == "pong");
}

TEST_CASE("fanout wire: the handshake's accept key is checked", "[fanout]") {
  const std::string key = NewWsKey();
  REQUIRE(key.size() == 24);
  const std::string good =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Accept: " +
      WsAcceptKey(key) + "\r\n\r\n";
  CHECK(WsResponseHeadSize(good) == good.size());
  CHECK(CheckWsResponse(good, key).ok());
  CHECK_FALSE(CheckWsResponse(good, NewWsKey()).ok());
  CHECK_FALSE(CheckWsResponse("HTTP/1.1 400 Bad Request\r\n\r\n", key).ok());
}

}  // namespace percore::tools
