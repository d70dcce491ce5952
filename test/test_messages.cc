// The message-level handler: a handler that names a codec receives whole frames through
// on_message; the framework keeps partial frames, applies the codec's limits and closes a
// connection whose input the codec rejects (with its reason), serving the others. Uses a tiny
// codec of its own ([u8 length][body], length 0 malformed) so that it tests the plumbing, not
// a protocol. Runs once per backend.
#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "net/tcp_server.h"
#include "protocol/codec.h"
#include "protocol/length_field_codec.h"
#include "protocol/line_codec.h"
#include "test/reactor_sync.h"
#include "test/server_harness.h"
#include "tools/apps/framed.h"
#include "tools/apps/line.h"
#include "tools/apps/ws.h"

namespace percore {
namespace {

using test::Connect;
using test::RecvExactly;
using test::SendAll;

struct TinyCodec {
  struct State {
    int calls = 0;  // proves the per-connection state lives on between calls
  };
  size_t max_body = 100;
  Decoded decode(State& st, std::span<const char> in) const {
    ++st.calls;
    if (in.empty()) return Decoded::NeedMore(1);
    size_t len = static_cast<uint8_t>(in[0]);
    if (len == 0) return Decoded::Error(CodecError::kMalformed);
    if (len > max_body) return Decoded::Error(CodecError::kTooLarge);
    if (in.size() < 1 + len) return Decoded::NeedMore(1 + len);
    return Decoded::Frame(1 + len, 1, len);
  }
};

std::string Msg(std::string_view body) {
  std::string m(1, static_cast<char>(body.size()));
  m.append(body.data(), body.size());
  return m;
}

// Answers each message with "<n>:<body>;" where n counts this connection's messages.
struct Numberer {
  struct ConnState {
    int messages = 0;
  };
  TinyCodec codec;
  std::atomic<int> codec_errors{0};
  std::atomic<int> max_decode_calls{0};
  void on_message(Connection& c, std::span<const char> msg) {
    int n = ++c.state<ConnState>().messages;
    std::string reply = std::to_string(n);
    reply.push_back(':');
    reply.append(msg.data(), msg.size());
    reply.push_back(';');
    c.send(reply);
  }
  void on_codec_error(Connection& c, CodecError e) {
    codec_errors++;
    c.send(absl::StrCat("ERR ", CodecErrorName(e), ";"));
  }
};

}  // namespace

TEST_CASE("on_message gets whole frames: split, pipelined, and with ConnState", "[messages]") {
  Numberer h;
  TcpServer server(test::TestConfig(), h);
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port());
  // One frame in three pieces, then three frames in one write.
  std::string one = Msg("hello");
  REQUIRE(SendAll(fd.get(), one.substr(0, 1)));
  test::SleepMs(5);
  REQUIRE(SendAll(fd.get(), one.substr(1, 2)));
  test::SleepMs(5);
  REQUIRE(SendAll(fd.get(), one.substr(3)));
  CHECK(RecvExactly(fd.get(), 8) == "1:hello;");
  REQUIRE(SendAll(fd.get(), Msg("a") + Msg("bb") + Msg("ccc")));
  CHECK(RecvExactly(fd.get(), 15) == "2:a;3:bb;4:ccc;");
  CHECK(server.stats().frames_in == 4);
  server.shutdown();
}

TEST_CASE("a malformed or too large frame closes that connection with its reason only",
          "[messages]") {
  Numberer h;
  TcpServer server(test::TestConfig(), h);
  REQUIRE(server.start().ok());
  Fd good = Connect(server.port());
  Fd bad = Connect(server.port());
  Fd big = Connect(server.port());
  // A valid frame before the bad one is answered; the error reply comes before the close.
  REQUIRE(SendAll(bad.get(), Msg("ok") + std::string(1, '\0') + "junk"));
  bool closed = false;
  CHECK(test::RecvAll(bad.get(), 5000, &closed) == "1:ok;ERR malformed;");
  CHECK(closed);
  REQUIRE(SendAll(big.get(), std::string(1, static_cast<char>(200))));  // above max_body
  CHECK(test::RecvAll(big.get(), 5000, &closed) == "ERR too_large;");
  CHECK(closed);
  REQUIRE(SendAll(good.get(), Msg("still")));
  CHECK(RecvExactly(good.get(), 8) == "1:still;");
  StatsSnapshot s = server.stats();
  CHECK(s.closed[size_t(CloseReason::kMalformed)] == 1);
  CHECK(s.closed[size_t(CloseReason::kFrameTooLarge)] == 1);
  CHECK(h.codec_errors == 2);
  CHECK(s.open == 1);
  server.shutdown();
}

// The codec rejects a message whose rest is still on its way (a client writing its request
// line by line). Closing outright would answer that rest with RST: the peer's next write fails
// and its read may end in ECONNRESET instead of EOF. The server lingers instead, even though
// loopback has already acknowledged its reply.
TEST_CASE("a codec error lingers: the rest of the rejected message does not reset the peer",
          "[messages]") {
  Numberer h;
  Config cfg = test::TestConfig();
  cfg.linger_timeout = absl::Seconds(60);  // only the peer's close can end it in time
  TcpServer server(cfg, h);
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port());
  REQUIRE(SendAll(fd.get(), std::string(1, '\0')));
  CHECK(RecvExactly(fd.get(), 14) == "ERR malformed;");
  REQUIRE(test::Eventually(
      [&] { return server.stats().closed[size_t(CloseReason::kMalformed)] == 1; }));
  test::SleepMs(20);
  CHECK(SendAll(fd.get(), "the rest of the message"));
  test::SleepMs(20);
  CHECK(SendAll(fd.get(), "and more"));  // fails with EPIPE after a reset
  bool closed = false, reset = false;
  CHECK(test::RecvAll(fd.get(), 5000, &closed, &reset).empty());
  CHECK(closed);
  CHECK(!reset);
  CHECK(server.stats().lingered == 1);
  fd.reset();  // the peer's close ends the linger
  CHECK(test::Eventually([&] { return server.stats().lingering == 0; }));
  server.shutdown();
}

TEST_CASE("a large frame arriving in pieces is decoded once it is whole", "[messages]") {
  struct Big {
    TinyCodec codec{255};
    void on_message(Connection& c, std::span<const char> msg) {
      c.send(absl::StrCat(msg.size(), ";"));
    }
    void on_close(Connection&, CloseReason) {}
  } h;
  TcpServer server(test::TestConfig(), h);
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port());
  std::string frame = Msg(std::string(250, 'x'));
  for (size_t i = 0; i < frame.size(); i += 10) {
    REQUIRE(SendAll(fd.get(), frame.substr(i, 10)));
    test::SleepMs(1);
  }
  CHECK(RecvExactly(fd.get(), 4) == "250;");
  server.shutdown();
}

TEST_CASE("on_codec_error may take the codec's State", "[messages]") {
  struct WithState {
    TinyCodec codec{100};
    std::atomic<int> calls{0};
    void on_message(Connection& c, std::span<const char>) { c.send(std::string_view("m;")); }
    void on_codec_error(Connection& c, CodecError e, const TinyCodec::State& st) {
      calls++;
      c.send(absl::StrCat("ERR ", CodecErrorName(e), " after ", st.calls, " decodes;"));
    }
  } h;
  TcpServer server(test::TestConfig(), h);
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port());
  REQUIRE(SendAll(fd.get(), Msg("a") + std::string(1, '\0')));
  bool closed = false;
  CHECK(test::RecvAll(fd.get(), 5000, &closed) == "m;ERR malformed after 2 decodes;");
  CHECK(closed);
  CHECK(h.calls == 1);
  server.shutdown();
}

}  // namespace percore

namespace percore {

// The real codecs over real sockets: oversized or malformed input closes that connection with
// its reason; the connection next to it keeps being served.
TEST_CASE("LengthFieldCodec and LineCodec over sockets: bad input closes only its connection",
          "[messages]") {
  struct Framed {
    LengthFieldCodec codec{
        {.length_field_length = 2, .initial_bytes_to_strip = 2, .max_frame = 1024}};
    void on_message(Connection& c, std::span<const char> m) {
      codec.encode(c, std::string_view(m.data(), m.size()));
    }
  } framed;
  struct Lines {
    LineCodec codec{{.delimiter = "\r\n", .max_line = 16}};
    void on_message(Connection& c, std::span<const char> m) {
      codec.encode(c, std::string_view(m.data(), m.size()));
    }
  } lines;
  TcpServer fs(test::TestConfig(), framed);
  TcpServer ls(test::TestConfig(), lines);
  REQUIRE(fs.start().ok());
  REQUIRE(ls.start().ok());
  Fd good = Connect(fs.port()), big = Connect(fs.port());
  REQUIRE(SendAll(big.get(), std::string("\x10\x00", 2)));  // 4096 > max_frame, no body yet
  CHECK(test::WaitClosed(big.get(), 5000));
  REQUIRE(SendAll(good.get(), std::string("\x00\x03", 2) + "abc"));
  CHECK(RecvExactly(good.get(), 5) == std::string("\x00\x03", 2) + "abc");
  Fd lgood = Connect(ls.port()), llong = Connect(ls.port());
  REQUIRE(SendAll(llong.get(), std::string(17, 'x')));  // no "\r\n" within 16 bytes
  CHECK(test::WaitClosed(llong.get(), 5000));
  REQUIRE(SendAll(lgood.get(), "hi\r\n"));
  CHECK(RecvExactly(lgood.get(), 4) == "hi\r\n");
  CHECK(fs.stats().closed[size_t(CloseReason::kFrameTooLarge)] == 1);
  CHECK(ls.stats().closed[size_t(CloseReason::kFrameTooLarge)] == 1);
  CHECK(fs.stats().open == 1);
  CHECK(ls.stats().open == 1);
  fs.shutdown();
  ls.shutdown();
}

}  // namespace percore

namespace percore {

// A handler that pauses inside on_message stops the frame loop: the frames behind it in the
// same read wait (kept by the framework) until it resumes.
TEST_CASE("pausing in on_message holds the frames behind it until resume", "[messages]") {
  struct Pauser {
    TinyCodec codec{255};
    std::atomic<int> seen{0};
    void on_message(Connection& c, std::span<const char> m) {
      seen++;
      if (m[0] == 'p') {
        c.send(std::string(512 * 1024, 'B'));  // above the high watermark
        c.pause_reading();
      } else {
        c.send(std::string_view("ok"));
      }
    }
    void on_drain(Connection& c) { c.resume_reading(); }
  } h;
  Config cfg = test::TestConfig();
  cfg.threads = 1;
  cfg.sndbuf = 16 * 1024;
  TcpServer server(cfg, h);
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port(), 16 * 1024);
  REQUIRE(SendAll(fd.get(), Msg("p") + Msg("a") + Msg("b")));
  REQUIRE(test::Eventually([&] { return server.stats().bytes_in == 6; }));
  test::SyncTurns(server);
  CHECK(h.seen == 1);  // "a" and "b" wait behind the pause
  CHECK(RecvExactly(fd.get(), 512 * 1024 + 4, 10000).substr(512 * 1024) == "okok");
  CHECK(h.seen == 3);
  server.shutdown();
}

// The line and framed apps pause reading at the configured high watermark, not at a size of
// their own: with out_cap below 256 KiB a peer that does not read must pause them, never
// overflow them; once it reads, every answer arrives.
template <class App>
void PausesAtTheWatermark(const std::string& one, size_t answer_size) {
  App app;
  Config cfg = test::TestConfig();
  cfg.sndbuf = 4096;
  cfg.out_high_watermark = 32 * 1024;
  cfg.out_low_watermark = 8 * 1024;
  cfg.out_cap = 192 * 1024;
  TcpServer server(cfg, app);
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port(), 4096);
  const int n = 20000;  // ~1.3 MB each way: far above out_cap
  std::string all;
  for (int i = 0; i < n; ++i) all += one;
  std::thread writer([&] { SendAll(fd.get(), all); });
  CHECK(test::Eventually([&] { return server.stats().backpressure >= 1; }));
  test::SleepMs(50);  // the peer still reads nothing
  CHECK(server.stats().closed[size_t(CloseReason::kOutputOverflow)] == 0);
  std::string got = RecvExactly(fd.get(), answer_size * n, 10000);
  writer.join();
  CHECK(got.size() == answer_size * n);
  StatsSnapshot s = server.stats();
  CHECK(s.closed[size_t(CloseReason::kOutputOverflow)] == 0);
  CHECK(s.open == 1);
  server.shutdown();
}

TEST_CASE("the line and framed apps pause at the configured high watermark", "[messages]") {
  SECTION("line") {
    const std::string line = std::string(63, 'l') + "\n";
    PausesAtTheWatermark<apps::LineHandler>(line, line.size());
  }
  SECTION("framed") {
    const std::string frame = std::string("\0\x40", 2) + std::string(64, 'f');
    PausesAtTheWatermark<apps::FramedEchoHandler>(frame, frame.size());
  }
}

namespace {
// A client frame: masked, as RFC 6455 requires of clients (UnmaskWs is its own inverse).
std::string ClientWsFrame(WsOpcode op, std::string payload) {
  const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
  std::string f(1, static_cast<char>(0x80 | static_cast<uint8_t>(op)));
  if (payload.size() < 126) {
    f.push_back(static_cast<char>(0x80 | payload.size()));
  } else {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(payload.size() >> 8));
    f.push_back(static_cast<char>(payload.size() & 0xFF));
  }
  f.append(reinterpret_cast<const char*>(mask), 4);
  UnmaskWs(std::span<char>(payload.data(), payload.size()), mask);
  return f + payload;
}
}  // namespace

// The ws app's frames are unmasked in place (the mutable view on_frames passes) both in the read
// buffer (frames behind the upgrade, in one write) and in the kept input (a frame in pieces).
TEST_CASE("the ws app: frames behind the upgrade, a frame in pieces, a close echoed",
          "[messages]") {
  apps::WsHandler h;
  TcpServer server(test::TestConfig(), h);
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port());
  const std::string upgrade =
      "GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  const std::string accepted =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
  REQUIRE(SendAll(fd.get(), upgrade + ClientWsFrame(WsOpcode::kText, "hi") +
                                ClientWsFrame(WsOpcode::kPing, "p")));
  CHECK(RecvExactly(fd.get(), accepted.size()) == accepted);
  CHECK(RecvExactly(fd.get(), 7) == std::string("\x81\x02hi\x8a\x01p", 7));

  std::string body(300, 'b');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i);
  const std::string frame = ClientWsFrame(WsOpcode::kBinary, body);
  for (size_t i = 0; i < frame.size(); i += 7) {
    REQUIRE(SendAll(fd.get(), frame.substr(i, 7)));
    test::SleepMs(1);
  }
  CHECK(RecvExactly(fd.get(), 4 + body.size()) == std::string("\x82\x7e\x01\x2c", 4) + body);

  REQUIRE(SendAll(fd.get(), ClientWsFrame(WsOpcode::kClose, std::string("\x0f\xa1", 2))));
  bool closed = false;
  CHECK(test::RecvAll(fd.get(), 5000, &closed) == std::string("\x88\x02\x0f\xa1", 4));
  CHECK(closed);
  server.shutdown();
}

}  // namespace percore
