// The application heartbeat over sockets, once per backend: a connection silent for
// heartbeat_interval gets the handler's ping; one that answers stays, one that stays silent is
// closed (heartbeat_timeout); one that keeps talking is never pinged; a handler without
// on_heartbeat is left alone whatever the interval.
#include <catch2/catch.hpp>
#include <string>

#include "net/tcp_server.h"
#include "test/server_harness.h"

namespace percore {
namespace {

// Answers "pong\n" to nothing: input only counts as a sign of life.
struct Pinger {
  size_t on_data(Connection&, std::span<const char> in) { return in.size(); }
  void on_heartbeat(Connection& c) { c.send(std::string_view("ping\n")); }
};

struct Mute {
  size_t on_data(Connection&, std::span<const char> in) { return in.size(); }
};

Config HeartbeatConfig() {
  Config cfg = test::TestConfig();
  cfg.heartbeat_interval = absl::Milliseconds(300);
  return cfg;
}

}  // namespace

TEST_CASE("heartbeat: ping the silent, keep who answers, close who does not", "[heartbeat]") {
  Pinger h;
  TcpServer server(HeartbeatConfig(), h);
  REQUIRE(server.start().ok());
  Fd answering = test::Connect(server.port());
  Fd silent = test::Connect(server.port());
  Fd chatty = test::Connect(server.port());
  REQUIRE(test::Eventually([&] { return server.stats().open == 3; }));

  // chatty talks every 50 ms for 1.5 s (five intervals) and must never be pinged; answering
  // answers each ping it gets.
  int pings = 0;
  for (uint64_t end = test::NowMs() + 1500; test::NowMs() < end;) {
    REQUIRE(test::SendAll(chatty.get(), "x"));
    std::string got = test::RecvAll(answering.get(), 50);
    for (size_t at = got.find("ping\n"); at != std::string::npos; at = got.find("ping\n", at + 1)) {
      ++pings;
      REQUIRE(test::SendAll(answering.get(), "pong\n"));
    }
  }
  CHECK(pings >= 2);  // 1.5 s of 300 ms intervals
  CHECK(test::RecvAll(chatty.get(), 10).empty());

  bool closed = false, reset = false;
  CHECK(test::RecvAll(silent.get(), 5000, &closed, &reset) == "ping\n");  // the ping, then EOF
  CHECK(closed);
  CHECK(!reset);
  CHECK(server.stats().closed[size_t(CloseReason::kHeartbeatTimeout)] == 1);
  CHECK(server.stats().open == 2);
  server.shutdown();
}

TEST_CASE("heartbeat: a handler without on_heartbeat is never pinged or closed", "[heartbeat]") {
  Mute h;
  TcpServer server(HeartbeatConfig(), h);
  REQUIRE(server.start().ok());
  Fd silent = test::Connect(server.port());
  bool closed = false;
  CHECK(test::RecvAll(silent.get(), 1200, &closed).empty());  // four intervals
  CHECK(!closed);
  CHECK(server.stats().open == 1);
  server.shutdown();
}

// A paused connection reads nothing, so its silence is the server's doing: no ping, no close;
// after resume the interval starts again.
TEST_CASE("heartbeat: a paused connection is not judged by its silence", "[heartbeat]") {
  struct Pausing : Pinger {
    void on_open(Connection& c) { c.pause_reading(); }
  } h;
  TcpServer server(HeartbeatConfig(), h);
  REQUIRE(server.start().ok());
  Fd paused = test::Connect(server.port());
  bool closed = false;
  CHECK(test::RecvAll(paused.get(), 1200, &closed).empty());
  CHECK(!closed);
  CHECK(server.stats().open == 1);
  server.shutdown();
}

}  // namespace percore
