// Faults over loopback: half-close, resets mid-write, peers that never read, idle and write
// timeouts (with an injected clock: no timing thresholds), max_connections, EMFILE, a port in
// use. The server must stay up for everyone else. Runs once per backend.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <future>
#include <thread>
#include <vector>

#include "net/socket.h"
#include "net/tcp_server.h"
#include "test/reactor_sync.h"
#include "test/server_harness.h"
#include "tools/apps/echo.h"

namespace percore {
namespace {

using test::BlockReactors;
using test::Connect;
using test::RandomBytes;
using test::ReactorBlock;
using test::RecvExactly;
using test::SendAll;
using test::SyncReactor;
using test::SyncTurns;

// Answers every byte with `burst` bytes and ignores backpressure: a producer that relies on
// the framework's out_cap to cut off a peer that never reads.
struct Firehose {
  size_t burst = 256 * 1024;
  size_t on_data(Connection& c, std::span<const char> in) {
    if (in.size() >= 4 && std::string_view(in.data(), 4) == "ping") {
      c.send(std::string_view("pong"));
      return in.size();
    }
    std::string chunk(burst, 'z');
    for (size_t i = 0; i < in.size(); ++i) c.send(chunk);
    return in.size();
  }
};

}  // namespace

TEST_CASE("half-close: a peer's SHUT_WR still gets its whole echo, then EOF", "[faults]") {
  apps::EchoHandler echo;
  TcpServer server(test::TestConfig(), echo);
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port());
  std::string msg = RandomBytes(300 * 1024, 7);
  std::thread writer([&] {
    SendAll(fd.get(), msg);
    ::shutdown(fd.get(), SHUT_WR);
  });
  bool closed = false;
  std::string got = test::RecvAll(fd.get(), 10000, &closed);
  writer.join();
  CHECK(got == msg);
  CHECK(closed);
  CHECK(test::Eventually(
      [&] { return server.stats().closed[size_t(CloseReason::kPeerClosed)] == 1; }));
  server.shutdown();
}

TEST_CASE("a reset mid-write closes that connection only", "[faults]") {
  Firehose fire;
  Config cfg = test::TestConfig();
  cfg.out_cap = 64 * 1024 * 1024;
  cfg.out_high_watermark = 32 * 1024 * 1024;
  TcpServer server(cfg, fire);
  REQUIRE(server.start().ok());
  Fd victim = Connect(server.port(), 4096);
  REQUIRE(SendAll(victim.get(), "abcd"));  // 4 x 256 KiB queued towards a peer that won't read
  test::SleepMs(20);
  SetLingerZero(victim.get());
  victim.reset();  // RST while the server is writing
  CHECK(test::Eventually([&] {
    StatsSnapshot s = server.stats();
    return s.closed[size_t(CloseReason::kReset)] + s.closed[size_t(CloseReason::kError)] == 1;
  }));
  Fd other = Connect(server.port());
  REQUIRE(SendAll(other.get(), "ping"));
  CHECK(RecvExactly(other.get(), 4) == "pong");
  CHECK(test::Eventually([&] { return server.stats().pool_chunks_in_use == 0; }));
  server.shutdown();
}

TEST_CASE("a peer that never reads hits the watermark, then the cap; others are served",
          "[faults]") {
  Firehose fire;
  Config cfg = test::TestConfig();
  cfg.out_high_watermark = 256 * 1024;
  cfg.out_low_watermark = 64 * 1024;
  cfg.out_cap = 2 * 1024 * 1024;
  TcpServer server(cfg, fire);
  REQUIRE(server.start().ok());
  Fd slow = Connect(server.port(), 4096);
  // Each byte asks for 256 KiB: the output passes the watermark, then the 2 MiB cap.
  REQUIRE(SendAll(slow.get(), std::string(64, 'x')));
  CHECK(test::Eventually(
      [&] { return server.stats().closed[size_t(CloseReason::kOutputOverflow)] == 1; }));
  StatsSnapshot s = server.stats();
  CHECK(s.backpressure >= 1);
  // Memory stayed bounded by the cap: the pool never held more than out_cap worth of chunks,
  // and everything went back when the connection closed.
  CHECK(s.pool_chunks_in_use * cfg.chunk_size <= cfg.out_cap + cfg.chunk_size);
  CHECK(test::Eventually([&] { return server.stats().pool_chunks_in_use == 0; }));
  Fd other = Connect(server.port());
  REQUIRE(SendAll(other.get(), "ping"));
  CHECK(RecvExactly(other.get(), 4) == "pong");
  server.shutdown();
}

TEST_CASE("echo to a peer that never reads pauses it: memory stays bounded", "[faults]") {
  apps::EchoHandler echo;
  Config cfg = test::TestConfig();
  cfg.out_high_watermark = 128 * 1024;
  cfg.out_low_watermark = 32 * 1024;
  // Caps what the kernel holds for the hog, and so what io_uring had already received for it
  // when the pause took effect (the kernel doubles the value). Not below loopback's 64 KiB
  // MSS: a window that never reaches one segment stalls the sender on TCP's persist timer.
  cfg.rcvbuf = 64 * 1024;
  cfg.sndbuf = 16 * 1024;                       // and the output backs up in user space soon
  cfg.drain_timeout = absl::Milliseconds(200);  // the hog never takes its output
  TcpServer server(cfg, echo);
  REQUIRE(server.start().ok());
  Fd hog = Connect(server.port(), 4096);
  // Non-blocking flood until the kernel pushes back: the server stopped reading.
  int flags = ::fcntl(hog.get(), F_GETFL);
  ::fcntl(hog.get(), F_SETFL, flags | O_NONBLOCK);
  std::string block(64 * 1024, 'h');
  size_t sent = 0;
  for (int idle = 0; idle < 200 && sent < (64u << 20);) {
    ssize_t n = ::send(hog.get(), block.data(), block.size(), MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      idle = 0;
    } else {
      ++idle;
      test::SleepMs(1);
    }
  }
  INFO("sent " << sent << " bytes; " << server.stats().ToLine());
  CHECK(sent < (64u << 20));  // flow control stopped the sender
  CHECK(server.stats().backpressure >= 1);
  CHECK(server.stats().pool_chunks_in_use * cfg.chunk_size <=
        cfg.out_high_watermark + cfg.read_budget + 2 * cfg.rcvbuf + 2 * cfg.chunk_size);
  // Paused, not cut off: the hog is still open and was not closed as an output overflow.
  CHECK(server.stats().open == 1);
  CHECK(server.stats().closed[size_t(CloseReason::kOutputOverflow)] == 0);
  Fd other = Connect(server.port());
  REQUIRE(SendAll(other.get(), "still served"));
  CHECK(RecvExactly(other.get(), 12) == "still served");
  server.shutdown();
}

// A reactor with no timers sleeps until an event comes. The connection that wakes it must be
// stamped with the time it arrived, not the time the sleep began: else it is idle on arrival, and
// its first timer evicts it (as happened to every first connection after a quiet spell longer
// than idle_timeout, and to require_bind deadlines, which came early).
TEST_CASE("a connection that wakes a sleeping reactor is not idle on arrival", "[faults][timer]") {
  apps::EchoHandler echo;
  std::atomic<uint64_t> clock{1'000'000};
  Config cfg = test::TestConfig();
  cfg.idle_timeout = absl::Milliseconds(1000);
  TcpServer server(cfg, echo, [&clock] { return clock.load(); });
  REQUIRE(server.start().ok());
  SyncTurns(server);
  clock += 5000;  // while both reactors sleep: nothing is armed that would wake them
  Fd fd = Connect(server.port());
  REQUIRE(SendAll(fd.get(), "hi"));
  CHECK(RecvExactly(fd.get(), 2) == "hi");
  SyncTurns(server);
  SyncTurns(server);
  CHECK(server.stats().open == 1);
  CHECK(server.stats().evictions == 0);
  clock += 1000;  // now it is idle
  SyncTurns(server);
  CHECK(server.stats().evictions == 1);
  server.shutdown();
}

TEST_CASE("idle connections are evicted at the timeout, activity defers it", "[faults][timer]") {
  apps::EchoHandler echo;
  std::atomic<uint64_t> clock{1'000'000};
  Config cfg = test::TestConfig();
  cfg.idle_timeout = absl::Milliseconds(1000);
  TcpServer server(cfg, echo, [&clock] { return clock.load(); });
  REQUIRE(server.start().ok());
  Fd quiet = Connect(server.port());
  Fd chatty = Connect(server.port());
  REQUIRE(test::Eventually([&] { return server.stats().open == 2; }));
  SyncTurns(server);
  clock += 500;
  SyncTurns(server);
  REQUIRE(SendAll(chatty.get(), "hi"));
  REQUIRE(RecvExactly(chatty.get(), 2) == "hi");
  // The echo's send completion may still wait in the ring (io_uring): reaped after the clock
  // moved, it would stamp chatty's output progress later than the test means.
  SyncTurns(server);
  clock += 499;  // 999 ms after accept: one tick early
  SyncTurns(server);
  CHECK(server.stats().open == 2);
  clock += 1;  // exactly the timeout
  SyncTurns(server);
  CHECK(server.stats().open == 1);
  CHECK(server.stats().evictions == 1);
  CHECK(test::WaitClosed(quiet.get(), 5000));
  clock += 499;  // chatty: 999 ms after its last traffic
  SyncTurns(server);
  CHECK(server.stats().open == 1);
  clock += 1;
  SyncTurns(server);
  CHECK(server.stats().open == 0);
  CHECK(server.stats().closed[size_t(CloseReason::kIdleTimeout)] == 2);
  server.shutdown();
}

TEST_CASE("output that makes no progress hits the write timeout", "[faults][timer]") {
  Firehose fire;
  std::atomic<uint64_t> clock{5'000'000};
  Config cfg = test::TestConfig();
  cfg.write_timeout = absl::Seconds(10);
  cfg.sndbuf = 8192;  // so the kernel cannot swallow the whole reply
  cfg.out_cap = 64 * 1024 * 1024;
  cfg.out_high_watermark = 32 * 1024 * 1024;
  TcpServer server(cfg, fire, [&clock] { return clock.load(); });
  REQUIRE(server.start().ok());
  Fd stuck = Connect(server.port(), 4096);
  REQUIRE(SendAll(stuck.get(), "xyz"));  // 768 KiB towards a peer that never reads
  REQUIRE(test::Eventually([&] { return server.stats().bytes_out > 0; }));
  SyncTurns(server);
  clock += 9'999;
  SyncTurns(server);
  CHECK(server.stats().open == 1);
  clock += 1;
  SyncTurns(server);
  CHECK(server.stats().closed[size_t(CloseReason::kWriteTimeout)] == 1);
  server.shutdown();
}

TEST_CASE("max_connections: the excess is accepted and closed at once, and counted", "[faults]") {
  apps::EchoHandler echo;
  Config cfg = test::TestConfig();
  cfg.max_connections = 5;
  TcpServer server(cfg, echo);
  REQUIRE(server.start().ok());
  std::vector<Fd> ok;
  for (int i = 0; i < 5; ++i) {
    ok.push_back(Connect(server.port()));
    REQUIRE(SendAll(ok.back().get(), "a"));
    REQUIRE(RecvExactly(ok.back().get(), 1) == "a");
  }
  std::vector<Fd> extra;
  for (int i = 0; i < 3; ++i) extra.push_back(Connect(server.port()));
  for (Fd& fd : extra) CHECK(test::WaitClosed(fd.get(), 5000));
  CHECK(server.stats().rejected_max_conns == 3);
  CHECK(server.stats().open == 5);
  ok.pop_back();  // one leaves: a newcomer fits again
  REQUIRE(test::Eventually([&] { return server.stats().open == 4; }));
  Fd late = Connect(server.port());
  REQUIRE(SendAll(late.get(), "b"));
  CHECK(RecvExactly(late.get(), 1) == "b");
  server.shutdown();
}

TEST_CASE("a port in use is a clear start() error", "[faults]") {
  auto addr = Address::Parse("127.0.0.1:0");
  REQUIRE(addr.ok());
  auto taken = Listen(*addr, 16, /*reuse_port=*/false);
  REQUIRE(taken.ok());
  auto local = LocalAddress(taken->get());
  REQUIRE(local.ok());
  apps::EchoHandler echo;
  Config cfg = test::TestConfig();
  cfg.listen = local->ToString();
  TcpServer server(cfg, echo);
  absl::Status st = server.start();
  CHECK(st.code() == absl::StatusCode::kAlreadyExists);
  CHECK(st.message().find("Address already in use") != std::string_view::npos);
  CHECK(st.message().find(local->ToString()) != std::string_view::npos);
}

TEST_CASE("a bad config value is a clear start() error", "[faults]") {
  apps::EchoHandler echo;
  Config cfg = test::TestConfig();
  cfg.out_low_watermark = cfg.out_high_watermark * 2;
  TcpServer server(cfg, echo);
  absl::Status st = server.start();
  CHECK(st.code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("EMFILE: the listener neither spins nor stalls, and recovers", "[faults]") {
  int to_child[2], from_child[2];
  REQUIRE(::pipe(to_child) == 0);
  REQUIRE(::pipe(from_child) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Child: a server whose process may hold only 48 fds.
    rlimit lim{48, 48};
    ::setrlimit(RLIMIT_NOFILE, &lim);
    apps::EchoHandler echo;
    Config cfg = test::TestConfig();
    cfg.threads = 1;
    TcpServer server(cfg, echo);
    if (!server.start().ok()) ::_exit(2);
    uint16_t port = server.port();
    if (::write(from_child[1], &port, sizeof port) != sizeof port) ::_exit(3);
    char c;
    if (::read(to_child[0], &c, 1) != 1) ::_exit(4);
    StatsSnapshot s = server.stats();
    if (::write(from_child[1], &s.accept_errors, sizeof s.accept_errors) != 8) ::_exit(5);
    server.shutdown();
    ::_exit(0);
  }
  uint16_t port = 0;
  REQUIRE(::read(from_child[0], &port, sizeof port) == sizeof port);
  // More peers than the child has fds: the surplus is rejected, not left hanging.
  std::vector<Fd> fds;
  int served = 0, rejected = 0, hung = 0;
  for (int i = 0; i < 80; ++i) {
    fds.push_back(Connect(port));
    if (!fds.back().valid()) continue;
    SendAll(fds.back().get(), "e");
    std::string r = RecvExactly(fds.back().get(), 1, 3000);
    if (r == "e") {
      ++served;
    } else if (test::WaitClosed(fds.back().get(), 100)) {
      ++rejected;  // RecvExactly saw EOF or a reset: the server accepted and closed it
    } else {
      ++hung;  // nothing within 3 s: left in the backlog, which is what must not happen
    }
  }
  CHECK(served > 0);
  CHECK(rejected > 0);
  CHECK(hung == 0);
  CHECK(served + rejected == 80);
  fds.clear();  // fds come back to the server
  test::SleepMs(100);
  int after = 0;
  for (int i = 0; i < 10; ++i) {
    Fd fd = Connect(port);
    SendAll(fd.get(), "r");
    if (RecvExactly(fd.get(), 1, 3000) == "r") ++after;
  }
  CHECK(after == 10);
  REQUIRE(::write(to_child[1], "x", 1) == 1);
  uint64_t accept_errors = 0;
  CHECK(::read(from_child[0], &accept_errors, 8) == 8);
  CHECK(accept_errors > 0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  for (int fd : {to_child[0], to_child[1], from_child[0], from_child[1]}) ::close(fd);
}

}  // namespace percore
