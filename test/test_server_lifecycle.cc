// Lifecycle over loopback: graceful shutdown delivers what is in flight, ConnHandle sends from
// foreign threads, stale handles are harmless, close() is safe in every callback and on_close
// runs exactly once. Runs once per backend.
#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <thread>
#include <vector>

#include "net/tcp_server.h"
#include "test/server_harness.h"

namespace percore {
namespace {

using test::Connect;
using test::RecvExactly;
using test::SendAll;

// Remembers each connection's handle; echoes; answers "big" with 4 MiB.
struct Recorder {
  struct ConnState {
    int opened = 0;
  };
  std::mutex mu;
  std::vector<ConnHandle> handles;
  std::atomic<int> opens{0}, closes{0}, double_close{0};

  void on_open(Connection& c) {
    c.state<ConnState>().opened = 1;
    opens++;
    std::lock_guard<std::mutex> lock(mu);
    handles.push_back(c.handle());
  }
  size_t on_data(Connection& c, std::span<const char> in) {
    std::string_view s(in.data(), in.size());
    if (s == "big") {
      c.send(std::string(4 << 20, 'B'));
    } else {
      c.send(s);
    }
    return in.size();
  }
  void on_close(Connection& c, CloseReason) {
    if (c.state<ConnState>().opened != 1) double_close++;
    c.state<ConnState>().opened = 2;
    closes++;
  }
  ConnHandle handle(size_t i) {
    std::lock_guard<std::mutex> lock(mu);
    return handles.at(i);
  }
};

// Answers "bye" with a 1 MiB farewell and a graceful close: a server kicking a client.
struct Kicker {
  size_t on_data(Connection& c, std::span<const char> in) {
    if (std::string_view(in.data(), in.size()).starts_with("bye")) {
      c.send(std::string(1 << 20, 'K'));
      c.close();
    }
    return in.size();
  }
};

// Closes from inside each callback, chosen by the first byte it receives.
struct Closer {
  std::atomic<int> closes{0};
  std::atomic<int> opens{0};
  void on_open(Connection& c) {
    if (opens++ % 3 == 0) c.close();  // close inside on_open
  }
  size_t on_data(Connection& c, std::span<const char> in) {
    if (in[0] == 'r') {
      c.close(CloseMode::kReset);
      c.send(std::string_view("ignored"));  // after close: refused, harmless
    } else if (in[0] == 'g') {
      c.send(std::string_view("bye"));
      c.close();  // graceful: "bye" is still delivered
      c.close();  // twice: harmless
    } else if (in[0] == 'h') {
      c.send(std::string_view("half"));
      c.shutdown_write();
    }
    return in.size();
  }
  void on_close(Connection& c, CloseReason) {
    closes++;
    c.close();  // inside on_close: harmless
  }
};

}  // namespace

TEST_CASE("graceful shutdown delivers all data in flight", "[lifecycle]") {
  Recorder rec;
  Config cfg = test::TestConfig();
  cfg.out_cap = 16 << 20;
  cfg.out_high_watermark = 8 << 20;
  TcpServer server(cfg, rec);
  REQUIRE(server.start().ok());
  std::vector<Fd> fds;
  for (int i = 0; i < 4; ++i) {
    fds.push_back(Connect(server.port(), 8192));
    REQUIRE(SendAll(fds.back().get(), "big"));
  }
  REQUIRE(test::Eventually([&] { return server.stats().bytes_in == 12; }));
  // Shut down while ~16 MiB are still queued towards peers that have not read yet.
  std::thread stopper([&] { server.shutdown(); });
  for (Fd& fd : fds) {
    bool closed = false;
    std::string got = test::RecvAll(fd.get(), 10000, &closed);
    CHECK(got.size() == (4u << 20));
    CHECK(got.find_first_not_of('B') == std::string::npos);
    CHECK(closed);
  }
  stopper.join();
  StatsSnapshot s = server.stats();
  CHECK(s.open == 0);
  CHECK(s.closed[size_t(CloseReason::kShutdown)] == 4);
  CHECK(rec.closes == 4);
}

// The peer keeps sending after the server closed (a heartbeat, a pipelined request). Without a
// lingering close the unread bytes make the kernel reset the connection and drop the part of
// the farewell it still holds; with it, the peer gets all of it and then EOF.
TEST_CASE("a graceful close lingers: late input does not reset the last reply", "[lifecycle]") {
  Kicker kicker;
  Config cfg = test::TestConfig();
  cfg.linger_timeout = absl::Seconds(60);  // only the peer's close can end it in time
  TcpServer server(cfg, kicker);
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port(), 8192);  // a small window: most of the farewell waits
  REQUIRE(SendAll(fd.get(), "bye"));
  REQUIRE(test::Eventually([&] { return server.stats().bytes_in == 3; }));
  test::SleepMs(20);
  REQUIRE(SendAll(fd.get(), std::string(4096, 'x')));  // arrives after the close
  test::SleepMs(20);
  bool closed = false, reset = false;
  std::string got = test::RecvAll(fd.get(), 10000, &closed, &reset);
  CHECK(got.size() == (1u << 20));
  CHECK(got.find_first_not_of('K') == std::string::npos);
  CHECK(closed);
  CHECK(!reset);
  fd.reset();  // the peer's close ends the linger
  CHECK(test::Eventually([&] { return server.stats().lingering == 0; }));
  StatsSnapshot s = server.stats();
  CHECK(s.lingered == 1);
  CHECK(s.closed[size_t(CloseReason::kLocal)] == 1);
  CHECK(s.open == 0);
}

TEST_CASE("a lingering close is bounded by linger_timeout", "[lifecycle]") {
  Kicker kicker;
  Config cfg = test::TestConfig();
  cfg.linger_timeout = absl::Milliseconds(100);
  TcpServer server(cfg, kicker);
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port(), 8192);
  REQUIRE(SendAll(fd.get(), "bye"));
  REQUIRE(test::Eventually([&] { return server.stats().bytes_in == 3; }));
  test::SleepMs(20);
  std::string got = test::RecvExactly(fd.get(), 1 << 20);
  CHECK(got.size() == (1u << 20));
  // The peer neither closes nor stops sending: the server lets go once linger_timeout passed,
  // and the peer's next bytes meet a closed socket.
  REQUIRE(test::Eventually([&] { return server.stats().lingered == 1; }));
  CHECK(test::Eventually([&] {
    SendAll(fd.get(), "ping");
    return server.stats().lingering == 0;
  }));
  CHECK(test::Eventually([&] { return !SendAll(fd.get(), "ping"); }));
  CHECK(server.stats().open == 0);
}

TEST_CASE("graceful shutdown resets what does not drain in time", "[lifecycle]") {
  Recorder rec;
  Config cfg = test::TestConfig();
  cfg.out_cap = 16 << 20;
  cfg.out_high_watermark = 8 << 20;
  cfg.drain_timeout = absl::Milliseconds(200);
  TcpServer server(cfg, rec);
  REQUIRE(server.start().ok());
  Fd never_reads = Connect(server.port(), 4096);
  REQUIRE(SendAll(never_reads.get(), "big"));
  REQUIRE(test::Eventually([&] { return server.stats().bytes_in == 3; }));
  server.shutdown();  // returns: bounded by drain_timeout
  CHECK(server.stats().open == 0);
  CHECK(rec.closes == 1);
}

TEST_CASE("ConnHandle sends from a foreign thread; stale handles are harmless", "[lifecycle]") {
  Recorder rec;
  Config cfg = test::TestConfig();
  cfg.threads = 1;  // so the next connection reuses the slot of the closed one
  TcpServer server(cfg, rec);
  REQUIRE(server.start().ok());
  Fd a = Connect(server.port());
  REQUIRE(test::Eventually([&] { return rec.opens == 1; }));
  ConnHandle ha = rec.handle(0);
  // Many messages from several threads: all arrive, each thread's in order.
  std::vector<std::thread> senders;
  for (int t = 0; t < 4; ++t) {
    senders.emplace_back([&, t] {
      for (int i = 0; i < 250; ++i) {
        std::string m = std::string(1, char('a' + t)) + char('0' + i % 10);
        while (!ha.send(m).ok()) std::this_thread::yield();
      }
    });
  }
  for (auto& s : senders) s.join();
  std::string got = RecvExactly(a.get(), 4 * 250 * 2);
  REQUIRE(got.size() == 2000u);
  for (int t = 0; t < 4; ++t) {
    int next = 0;
    for (size_t i = 0; i < got.size(); i += 2) {
      if (got[i] != char('a' + t)) continue;
      CHECK(got[i + 1] == char('0' + next % 10));
      ++next;
    }
    CHECK(next == 250);
  }
  // Close a; its slot is reused by b with a new generation.
  a.reset();
  REQUIRE(test::Eventually([&] { return rec.closes == 1; }));
  Fd b = Connect(server.port());
  REQUIRE(test::Eventually([&] { return rec.opens == 2; }));
  ConnHandle hb = rec.handle(1);
  CHECK(hb.slot() == ha.slot());
  CHECK(hb.generation() != ha.generation());
  // The slot's published generation tells a foreign thread at once; nothing is queued.
  auto stale = ha.send("stale!");
  CHECK(stale.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(ha.output_bytes() == 0);
  CHECK(hb.send("fresh").ok());
  CHECK(RecvExactly(b.get(), 5) == "fresh");
  CHECK(test::Eventually([&] { return server.stats().stale_handles == 1; }));
  // A handle of a closed connection whose slot is not reused yet: found stale on the reactor.
  b.reset();
  REQUIRE(test::Eventually([&] { return rec.closes == 2; }));
  CHECK(hb.send("late").ok());
  CHECK(test::Eventually([&] { return server.stats().stale_handles == 2; }));
  server.shutdown();
}

TEST_CASE("close() is safe inside every callback and on_close runs exactly once", "[lifecycle]") {
  Closer h;
  TcpServer server(test::TestConfig(), h);
  REQUIRE(server.start().ok());
  int n = 30;
  for (int i = 0; i < n; ++i) {
    Fd fd = Connect(server.port());
    char kind = "rgh"[i % 3];
    SendAll(fd.get(), std::string(1, kind));
    bool closed = false;
    std::string got = test::RecvAll(fd.get(), 5000, &closed);
    if (kind == 'g') CHECK(got == "bye");
    if (kind == 'h') CHECK(got == "half");
    CHECK(closed);                // 'h': the half-close sent FIN once "half" was out
    if (kind == 'h') fd.reset();  // we close our side; the server then closes too
  }
  REQUIRE(test::Eventually([&] { return h.closes == n; }));
  CHECK(h.opens == n);
  server.shutdown();
  CHECK(h.closes == n);
}

}  // namespace percore

namespace percore {

TEST_CASE("wait() returns once another thread shut the server down", "[lifecycle]") {
  Recorder rec;
  TcpServer server(test::TestConfig(), rec);
  REQUIRE(server.start().ok());
  std::atomic<bool> returned{false};
  std::thread waiter([&] {
    server.wait();
    returned = true;
  });
  Fd fd = Connect(server.port());
  REQUIRE(SendAll(fd.get(), "x"));
  REQUIRE(RecvExactly(fd.get(), 1) == "x");
  CHECK(!returned);
  server.shutdown();
  waiter.join();
  CHECK(returned);
  CHECK(test::WaitClosed(fd.get(), 5000));
}

}  // namespace percore
