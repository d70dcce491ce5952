// The bench's load client must catch a server that answers wrong, or it measures nothing: each
// protocol against the matching in-process app, and against a server that gets one thing wrong.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <set>

#include "net/tcp_server.h"
#include "protocol/ws_frame.h"
#include "protocol/ws_handshake.h"
#include "test/server_harness.h"
#include "tools/apps/echo.h"
#include "tools/apps/framed.h"
#include "tools/apps/http.h"
#include "tools/apps/kv.h"
#include "tools/apps/line.h"
#include "tools/apps/ws.h"
#include "tools/bench_protocol.h"
#include "tools/load_client.h"
#include "tools/load_worker.h"

namespace percore {
namespace {

// Echoes, but flips one byte once ~10 KB have gone by (early: sanitizer builds are slow).
struct Corrupter {
  std::atomic<uint64_t> seen{0};
  size_t on_data(Connection& c, std::span<const char> in) {
    std::string copy(in.data(), in.size());
    uint64_t before = seen.fetch_add(in.size());
    if (before < 10000 && before + in.size() >= 10000) copy[0] ^= 1;
    c.send(copy);
    return in.size();
  }
};

// Answers every RESP request (one '*' each: the test's commands have no other) with +OK.
struct OkToEverything {
  size_t on_data(Connection& c, std::span<const char> in) {
    for (char ch : in) {
      if (ch == '*') c.send(std::string_view("+OK\r\n"));
    }
    return in.size();
  }
};

// A WebSocket echo at the byte level: a valid handshake (or one with a wrong accept key), then
// each client frame back as a server frame, one payload byte flipped in frame `corrupt_at`.
struct RawWsEcho {
  bool wrong_accept = false;
  uint64_t corrupt_at = UINT64_MAX;
  std::atomic<uint64_t> frames{0};
  std::mutex mu;
  std::set<const Connection*> upgraded;

  size_t on_data(Connection& c, std::span<const char> in_const) {
    std::span<char> in(const_cast<char*>(in_const.data()), in_const.size());
    size_t used = 0;
    std::unique_lock lock(mu);
    if (!upgraded.contains(&c)) {
      std::string_view text(in.data(), in.size());
      size_t end = text.find("\r\n\r\n");
      if (end == std::string_view::npos) return 0;
      size_t k = text.find("Sec-WebSocket-Key: ");
      std::string key(text.substr(k + 19, 24));
      std::string accept = WsAcceptKey(wrong_accept ? key + "x" : key);
      c.send(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Accept: " +
          accept + "\r\n\r\n");
      upgraded.insert(&c);
      used = end + 4;
    }
    lock.unlock();
    for (;;) {
      WsFrameHeader h;
      size_t need = 0;
      auto rest = in.subspan(used);
      if (ReadWsFrameHeader(rest, 1 << 20, &h, &need) != WsError::kNone) return in.size();
      if (need != 0 || rest.size() < h.size + h.payload) return used;
      std::span<char> payload = rest.subspan(h.size, h.payload);
      UnmaskWs(payload, h.mask);
      if (frames.fetch_add(1) == corrupt_at) payload[payload.size() / 2] ^= 1;
      WriteWsFrame(c, h.opcode, std::string_view(payload.data(), payload.size()));
      used += h.size + h.payload;
    }
  }
  void on_close(Connection& c, CloseReason) {
    std::lock_guard lock(mu);
    upgraded.erase(&c);
  }
};

// Echoes, and notes each connection's peer address with the first byte it sent: the first
// byte of request 0 tells the raw protocol's connections apart (see WhoSent).
struct PeerRecorder {
  std::mutex mu;
  std::map<const Connection*, std::pair<std::string, char>> first;  // peer IP, first byte
  std::vector<std::pair<std::string, char>> seen;                   // of closed connections too

  size_t on_data(Connection& c, std::span<const char> in) {
    std::lock_guard lock(mu);
    if (!first.contains(&c)) {
      sockaddr_in peer{};
      socklen_t len = sizeof peer;
      ::getpeername(c.fd(), reinterpret_cast<sockaddr*>(&peer), &len);
      char ip[INET_ADDRSTRLEN] = "?";
      ::inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
      first[&c] = {ip, in[0]};
      seen.emplace_back(ip, in[0]);
    }
    c.send(std::string_view(in.data(), in.size()));
    return in.size();
  }
  void on_close(Connection& c, CloseReason) {
    std::lock_guard lock(mu);
    first.erase(&c);
  }
};

// Which of `conns` raw connections opens with `byte` (-1: none or several).
int WhoSent(const tools::LoadOptions& opt, char byte) {
  auto proto = tools::MakeBenchProtocol(opt);
  int who = -1;
  for (int c = 0; c < opt.conns; ++c) {
    std::string request;
    (*proto)->AppendRequest(static_cast<uint32_t>(c), 0, request);
    if (request[0] == byte) who = who == -1 ? c : -2;
  }
  return who < 0 ? -1 : who;
}

tools::LoadOptions Options(uint16_t port, std::string protocol) {
  tools::LoadOptions opt;
  opt.port = port;
  opt.protocol = std::move(protocol);
  opt.conns = 8;
  opt.depth = 4;
  opt.warmup_s = 0.03;  // short: the test suite runs this file six times (3 builds x 2 backends)
  opt.duration_s = 0.1;
  return opt;
}

template <class H>
tools::LoadResult Drive(H& handler, tools::LoadOptions opt, Config config = test::TestConfig()) {
  TcpServer server(config, handler);
  REQUIRE(server.start().ok());
  if (opt.unix_path.empty()) opt.port = server.port();
  auto r = tools::RunEchoLoad(opt);
  REQUIRE(r.ok());
  server.shutdown();
  return *r;
}

void CheckClean(const tools::LoadResult& r) {
  INFO(r.first_error);
  CHECK(r.errors == 0);
  CHECK(r.msgs > 0);
  CHECK(r.p50_us > 0);
  CHECK(r.p99_us >= r.p50_us);
  CHECK(r.latency.count() == r.msgs);
}

void CheckOneError(const tools::LoadResult& r, const std::string& kind) {
  INFO(r.first_error);
  CHECK(r.errors >= 1);
  CHECK(r.errors_by_kind.count(kind) == 1);
  CHECK(r.errors_by_kind.at(kind) == r.errors);
  CHECK(r.first_error.rfind(kind + ": ", 0) == 0);
}

}  // namespace

TEST_CASE("load client: each protocol passes against its app", "[bench]") {
  SECTION("raw against echo") {
    apps::EchoHandler h;
    CheckClean(Drive(h, Options(0, "raw")));
  }
  SECTION("line against line") {
    apps::LineHandler h;
    CheckClean(Drive(h, Options(0, "line")));
  }
  SECTION("length against framed, and --frame-header 2 as its alias") {
    apps::FramedEchoHandler h;
    CheckClean(Drive(h, Options(0, "length")));
    tools::LoadOptions opt = Options(0, "raw");
    opt.frame_header = 2;
    CheckClean(Drive(h, opt));
  }
  SECTION("resp against kv: SET, GET, PING, INCR") {
    apps::KvHandler h(apps::KvHandler::Options{});
    tools::LoadOptions opt = Options(0, "resp");
    opt.commands = {"SET k:__rand__ v:__rand__", "GET k:__rand__", "PING", "INCR n:__rand__"};
    opt.keyspace = 50;  // small: most GETs find their key
    CheckClean(Drive(h, opt));
  }
  SECTION("http against http, pipelined") {
    apps::HttpHandler h;
    CheckClean(Drive(h, Options(0, "http")));
  }
  SECTION("http: a server closing after each answer (Connection: close) is reconnected") {
    apps::HttpHandler h;
    tools::LoadOptions opt = Options(0, "http");
    opt.headers = {"Connection: close"};
    opt.depth = 1;
    tools::LoadResult r = Drive(h, opt);
    CheckClean(r);
    CHECK(r.reconnects >= r.msgs);
  }
  SECTION("ws against ws") {
    apps::WsHandler h;
    tools::LoadOptions opt = Options(0, "ws");
    opt.path = "/ws";
    opt.size = 300;  // a 16-bit extended length
    tools::LoadResult r = Drive(h, opt);
    CheckClean(r);
    CHECK(r.connect_p50_us > 0);
  }
  SECTION("raw over a Unix socket, 3 threads") {
    apps::EchoHandler h;
    Config config = test::TestConfig();
    std::string path = "/tmp/percore-load-test-" + std::to_string(::getpid());
    config.listen = "unix:" + path;
    tools::LoadOptions opt = Options(0, "raw");
    opt.unix_path = path;
    opt.threads = 3;
    CheckClean(Drive(h, opt, config));
    ::unlink(path.c_str());
  }
  SECTION("raw from two source addresses, connects paced") {
    apps::EchoHandler h;
    tools::LoadOptions opt = Options(0, "raw");
    opt.source_ips = "127.0.0.2-127.0.0.3";
    opt.connect_rate = 400;  // 8 connections over 20 ms of the 30 ms warm-up
    tools::LoadResult r = Drive(h, opt);
    CheckClean(r);
    CHECK(r.connect_max_us >= r.connect_p50_us);
  }
}

TEST_CASE("load client: --source-ips binds round-robin, --client-threads spreads", "[bench]") {
  PeerRecorder h;
  tools::LoadOptions opt = Options(0, "raw");
  opt.source_ips = "127.0.0.2-127.0.0.5";
  opt.threads = 3;
  tools::LoadResult r = Drive(h, opt);
  CheckClean(r);
  // The server saw each of the 8 connections from source 2 + (i mod 4).
  REQUIRE(h.seen.size() == 8);
  std::set<int> who;
  for (const auto& [ip, byte] : h.seen) {
    int c = WhoSent(opt, byte);
    INFO("a connection from " << ip << " opened with byte " << int(byte));
    REQUIRE(c >= 0);
    who.insert(c);
    CHECK(ip == "127.0.0." + std::to_string(2 + c % 4));
  }
  CHECK(who.size() == 8);
  // Connection i on thread i mod 3: 3, 3 and 2 connections, each thread doing its share.
  REQUIRE(r.threads.size() == 3);
  CHECK(r.threads[0].connected == 3);
  CHECK(r.threads[1].connected == 3);
  CHECK(r.threads[2].connected == 2);
  for (const auto& t : r.threads) CHECK(t.msgs > 0);
}

TEST_CASE("load client: each checker catches a wrong reply, by kind", "[bench]") {
  SECTION("raw: one corrupted byte is a mismatch") {
    Corrupter bad;
    tools::LoadResult r = Drive(bad, Options(0, "raw"));
    CheckOneError(r, "mismatch");
    CHECK(r.errors == 1);  // the other connections go on
    CHECK(r.msgs > 0);
  }
  SECTION("line: one corrupted byte is a mismatch") {
    Corrupter bad;
    CheckOneError(Drive(bad, Options(0, "line")), "mismatch");
  }
  SECTION("length: one corrupted byte is a mismatch") {
    Corrupter bad;
    CheckOneError(Drive(bad, Options(0, "length")), "mismatch");
  }
  SECTION("http: a status other than the expected one") {
    apps::HttpHandler h;
    tools::LoadOptions opt = Options(0, "http");
    opt.path = "/nowhere";  // 404
    CheckOneError(Drive(h, opt), "bad status");
  }
  SECTION("http: the status asked for passes") {
    apps::HttpHandler h;
    tools::LoadOptions opt = Options(0, "http");
    opt.path = "/nowhere";
    opt.expect_status = 404;
    CheckClean(Drive(h, opt));
  }
  SECTION("http: a reply that is not HTTP") {
    apps::EchoHandler h;  // echoes the request back
    CheckOneError(Drive(h, Options(0, "http")), "bad reply");
  }
  SECTION("resp: GET answered +OK") {
    OkToEverything h;
    CheckOneError(Drive(h, Options(0, "resp")), "bad reply");
  }
  SECTION("resp: PING answered +OK") {
    OkToEverything h;
    tools::LoadOptions opt = Options(0, "resp");
    opt.commands = {"PING"};
    CheckOneError(Drive(h, opt), "bad reply");
  }
  SECTION("resp: an error reply") {
    apps::KvHandler h(apps::KvHandler::Options{});
    tools::LoadOptions opt = Options(0, "resp");
    opt.commands = {"NOSUCHCOMMAND x"};  // any command but the four: any reply but an error
    CheckOneError(Drive(h, opt), "bad reply");
  }
  SECTION("resp: a GET finding another value than SET writes") {
    apps::KvHandler h(apps::KvHandler::Options{});
    tools::LoadOptions opt = Options(0, "resp");
    opt.commands = {"SET k:__rand__ v:__rand__", "GET k:__rand__", "SET k:__rand__ other"};
    opt.keyspace = 5;
    tools::LoadOptions wrong = opt;
    wrong.commands = {"SET k:__rand__ w:__rand__"};  // writes values the GETs do not expect
    TcpServer server(test::TestConfig(), h);
    REQUIRE(server.start().ok());
    wrong.port = opt.port = server.port();
    REQUIRE(tools::RunEchoLoad(wrong).ok());
    opt.commands = {"GET k:__rand__", "SET k:__rand__ v:__rand__"};
    auto r = tools::RunEchoLoad(opt);
    REQUIRE(r.ok());
    server.shutdown();
    CheckOneError(*r, "bad reply");
  }
  SECTION("ws: a corrupted payload byte is a mismatch") {
    tools::LoadOptions opt = Options(0, "ws");
    RawWsEcho good;
    CheckClean(Drive(good, opt));  // the byte-level echo itself is right
    RawWsEcho bad;
    bad.corrupt_at = 100;
    CheckOneError(Drive(bad, opt), "mismatch");
  }
  SECTION("ws: a wrong Sec-WebSocket-Accept") {
    RawWsEcho h;
    h.wrong_accept = true;
    tools::LoadResult r = Drive(h, Options(0, "ws"));
    CheckOneError(r, "bad reply");
    CHECK(r.errors == 8);  // every connection
    CHECK(r.msgs == 0);
  }
  SECTION("ws: an upgrade refused") {
    apps::WsHandler h;
    tools::LoadOptions opt = Options(0, "ws");
    opt.path = "/not-ws";  // 404
    CheckOneError(Drive(h, opt), "bad status");
  }
  SECTION("nobody listening is a connect error") {
    tools::LoadOptions opt = Options(0, "raw");
    opt.port = 1;
    auto r = tools::RunEchoLoad(opt);
    REQUIRE(r.ok());
    CheckOneError(*r, "connect");
    CHECK(r->errors == 8);
  }
}

TEST_CASE("load client: the latency histogram's hdr text covers every measured request",
          "[bench]") {
  apps::EchoHandler h;
  tools::LoadResult r = Drive(h, Options(0, "raw"));
  std::string hdr = r.latency.hdr_percentiles();
  CHECK(hdr.find("Value") == hdr.find_first_not_of(' '));
  CHECK(hdr.find("1/(1-Percentile)") != std::string::npos);
  // The total count is every measured request.
  CHECK(hdr.find(" " + std::to_string(r.msgs) + "]\n") != std::string::npos);
  CHECK(r.max_us >= r.p99_us);
  CHECK(r.p90_us >= r.p50_us);
}

TEST_CASE("load client: open-loop timetable", "[bench]") {
  // Request j of the run is due at j / rate, on connection j % conns.
  CHECK(tools::ScheduledNs(1000, 1000, 4, 0, 0) == 1000);
  CHECK(tools::ScheduledNs(0, 1000, 4, 3, 0) == 3'000'000);
  CHECK(tools::ScheduledNs(0, 1000, 4, 1, 2) == 9'000'000);
  CHECK(tools::ScheduledNs(0, 2000, 10, 9, 99) == 499'500'000);

  apps::EchoHandler h;
  tools::LoadOptions opt = Options(0, "raw");
  opt.rate = 400;
  opt.depth = 1;
  tools::LoadResult r = Drive(h, opt);
  INFO(r.first_error);
  CHECK(r.errors == 0);
  // No more than the timetable holds for the window: 40, plus one per connection at its edges.
  CHECK(r.msgs > 0);
  CHECK(r.msgs <= 40 + 8);
}

TEST_CASE("load client: live samples once a second", "[bench]") {
  apps::EchoHandler h;
  tools::LoadOptions opt = Options(0, "raw");
  opt.warmup_s = 0.05;
  opt.duration_s = 1.0;
  std::vector<tools::LiveSample> samples;
  opt.on_second = [&](const tools::LiveSample& s) { samples.push_back(s); };
  tools::LoadResult r = Drive(h, opt);
  CHECK(r.errors == 0);
  REQUIRE(samples.size() == 1);
  CHECK(samples[0].measuring);
  CHECK(samples[0].elapsed_s >= 1.0);
  CHECK(samples[0].msgs_per_s > 0);
  CHECK(samples[0].p99_us >= samples[0].p50_us);
  CHECK(samples[0].p50_us > 0);
  CHECK(samples[0].open_conns == 8);
  CHECK(samples[0].errors == 0);
}

TEST_CASE("load client: refuses more connections than the fd limit allows", "[bench]") {
  tools::LoadOptions opt;
  opt.port = 1;
  opt.conns = 10'000'000;
  auto r = tools::RunEchoLoad(opt);
  CHECK(r.status().code() == absl::StatusCode::kResourceExhausted);
}

TEST_CASE("load client: options a protocol cannot use are refused", "[bench]") {
  tools::LoadOptions opt;
  opt.port = 1;
  opt.protocol = "length";
  opt.size = 2;
  CHECK(tools::RunEchoLoad(opt).status().code() == absl::StatusCode::kInvalidArgument);
  opt.protocol = "resp";
  opt.commands = {"SET onlykey"};
  CHECK(tools::RunEchoLoad(opt).status().code() == absl::StatusCode::kInvalidArgument);
  opt.protocol = "raw";
  opt.source_ips = "127.0.0.9-127.0.0.2";
  CHECK(tools::RunEchoLoad(opt).status().code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace percore
