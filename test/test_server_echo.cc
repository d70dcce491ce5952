// Echo over loopback, byte for byte: many connections, random sizes, partial frames, IPv6,
// Unix sockets and the accept modes. Runs once per backend (PERCORE_TEST_BACKEND).
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <random>
#include <thread>
#include <vector>

#include "net/tcp_server.h"
#include "test/server_harness.h"
#include "tools/apps/echo.h"

namespace percore {
namespace {

using test::Connect;
using test::RandomBytes;
using test::RecvExactly;
using test::SendAll;

// Consumes only whole frames of [u32 length][payload] and echoes each: exercises partial
// frames kept by the framework between reads.
struct FrameEcho {
  std::atomic<uint64_t> frames{0};
  size_t on_data(Connection& c, std::span<const char> in) {
    size_t used = 0;
    while (in.size() - used >= 4) {
      uint32_t len;
      std::memcpy(&len, in.data() + used, 4);
      if (in.size() - used - 4 < len) break;
      c.send(in.subspan(used, 4 + len));
      used += 4 + len;
      frames.fetch_add(1, std::memory_order_relaxed);
    }
    return used;
  }
};

std::string Frame(const std::string& payload) {
  uint32_t len = static_cast<uint32_t>(payload.size());
  std::string f(reinterpret_cast<const char*>(&len), 4);
  return f + payload;
}

// Records the accepted socket's options (Linux copies them from the listener), then echoes.
struct NodelayProbe {
  std::atomic<int> nodelay{-1}, keepalive{-1}, sndbuf{-1};
  static int Get(int fd, int level, int name) {
    int v = -1;
    socklen_t len = sizeof v;
    ::getsockopt(fd, level, name, &v, &len);
    return v;
  }
  void on_open(Connection& c) {
    keepalive.store(Get(c.fd(), SOL_SOCKET, SO_KEEPALIVE));
    sndbuf.store(Get(c.fd(), SOL_SOCKET, SO_SNDBUF));
    nodelay.store(Get(c.fd(), IPPROTO_TCP, TCP_NODELAY));
  }
  size_t on_data(Connection& c, std::span<const char> in) {
    c.send(in);
    return in.size();
  }
};

}  // namespace

TEST_CASE("accepted sockets have TCP_NODELAY, keepalive and sndbuf as the config says", "[echo]") {
  for (bool want : {true, false}) {
    for (AcceptMode mode : {AcceptMode::kReusePort, AcceptMode::kRoundRobin}) {
      INFO("tcp_nodelay=keepalive=" << want << " accept_mode=" << AcceptModeName(mode));
      NodelayProbe probe;
      Config cfg = test::TestConfig();
      cfg.tcp_nodelay = want;
      cfg.keepalive = want;
      cfg.sndbuf = want ? 96 * 1024 : 0;
      cfg.accept_mode = mode;
      TcpServer server(cfg, probe);
      REQUIRE(server.start().ok());
      Fd fd = Connect(server.port());
      REQUIRE(SendAll(fd.get(), "nagle?"));
      CHECK(RecvExactly(fd.get(), 6) == "nagle?");
      REQUIRE(test::Eventually([&] { return probe.nodelay.load() != -1; }));
      CHECK((probe.nodelay.load() != 0) == want);
      CHECK((probe.keepalive.load() != 0) == want);
      if (want) CHECK(probe.sndbuf.load() == 2 * 96 * 1024);  // the kernel doubles it
      server.shutdown();
    }
  }
}

TEST_CASE("defer_accept: a silent client is not accepted yet, a speaking one is served", "[echo]") {
  apps::EchoHandler echo;
  Config cfg = test::TestConfig();
  cfg.defer_accept = absl::Seconds(30);
  TcpServer server(cfg, echo);
  REQUIRE(server.start().ok());
  Fd silent = Connect(server.port());
  Fd speaker = Connect(server.port());
  REQUIRE(SendAll(speaker.get(), "first"));
  CHECK(RecvExactly(speaker.get(), 5) == "first");
  // The speaker's accept went through the same listeners after the silent one connected.
  CHECK(server.stats().accepted == 1);
  REQUIRE(SendAll(silent.get(), "late"));
  CHECK(RecvExactly(silent.get(), 4) == "late");
  CHECK(server.stats().accepted == 2);
  server.shutdown();
}

TEST_CASE("busy_poll: the reactor serves without sleeping; off, it sleeps each time", "[echo]") {
  apps::EchoHandler echo;
  for (bool busy : {false, true}) {
    INFO("busy_poll " << (busy ? "1s" : "off"));
    Config cfg = test::TestConfig();
    cfg.threads = 1;  // one reactor: a second one would sleep once its window ends
    // A window far above any pause of this exchange, so the counts do not hang on timing.
    cfg.busy_poll = busy ? absl::Seconds(1) : absl::ZeroDuration();
    cfg.idle_timeout = absl::Seconds(2);  // a timer that must still fire while spinning
    TcpServer server(cfg, echo);
    REQUIRE(server.start().ok());
    Fd c = Connect(server.port());
    REQUIRE(SendAll(c.get(), "warm"));
    REQUIRE(RecvExactly(c.get(), 4) == "warm");
    StatsSnapshot before = server.stats();
    for (int i = 0; i < 100; ++i) {
      std::string m = "message " + std::to_string(i);
      REQUIRE(SendAll(c.get(), m));
      REQUIRE(RecvExactly(c.get(), m.size()) == m);
    }
    StatsSnapshot after = server.stats();
    if (busy) {
      CHECK(after.sleeps == before.sleeps);
      CHECK(after.busy_polls - before.busy_polls >= 100);
    } else {
      // Each message finds the reactor waiting for it (the client waits for each echo), but
      // a turn that found work already due (a timer) does not wait.
      CHECK(after.sleeps - before.sleeps >= 90);
      CHECK(after.busy_polls == 0);
    }
    CHECK(test::WaitClosed(c.get(), 10000));  // the idle timeout fired
    CHECK(server.stats().closed[static_cast<size_t>(CloseReason::kIdleTimeout)] == 1);
    server.shutdown();  // stop() ends a spin
  }
}

TEST_CASE("busy_poll: input over the read budget is echoed while the reactor spins", "[echo]") {
  // The epoll backend reads such a connection again from its ready list inside the next
  // poll, with no new event: a spin must count that as work and end the turn (flush), or the
  // echo stays queued and the reactor goes to sleep on it.
  apps::EchoHandler echo;
  Config cfg = test::TestConfig();
  cfg.threads = 1;
  cfg.busy_poll = absl::Seconds(1);
  cfg.read_budget = 16 * 1024;
  TcpServer server(cfg, echo);
  REQUIRE(server.start().ok());
  Fd c = Connect(server.port());
  for (int i = 0; i < 3; ++i) {
    std::string data = test::RandomBytes(200 * 1024, static_cast<uint32_t>(i));
    REQUIRE(SendAll(c.get(), data));  // all in the server's socket before it is read
    CHECK(RecvExactly(c.get(), data.size()) == data);
  }
  server.shutdown();
}

TEST_CASE("1,000 connections echo random-sized messages byte for byte", "[echo]") {
  apps::EchoHandler echo;
  Config cfg = test::TestConfig();
  TcpServer server(cfg, echo);
  REQUIRE(server.start().ok());
  constexpr int kConns = 1000;
  constexpr int kThreads = 4;
  std::atomic<int> failures{0};
  std::atomic<uint64_t> bytes{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<Fd> fds;
      for (int i = 0; i < kConns / kThreads; ++i) {
        fds.push_back(Connect(server.port()));
        if (!fds.back().valid()) failures++;
      }
      std::mt19937 rng(t);
      for (int round = 0; round < 3; ++round) {
        for (size_t i = 0; i < fds.size(); ++i) {
          if (!fds[i].valid()) continue;
          size_t n = 1 + rng() % (round == 2 ? 100000 : 2000);
          std::string msg = RandomBytes(n, static_cast<uint32_t>(rng()));
          std::thread writer([&] { SendAll(fds[i].get(), msg); });
          std::string got = RecvExactly(fds[i].get(), n, 10000);
          writer.join();
          if (got != msg) failures++;
          bytes += n;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  StatsSnapshot s = server.stats();
  CHECK(s.accepted == kConns);
  CHECK(s.bytes_in == bytes.load());
  // The peer can read the last echo before the reactor counts it (on_sent runs after the kernel
  // took the bytes): wait for the count instead of racing it.
  CHECK(test::Eventually([&] { return server.stats().bytes_out == bytes.load(); }));
  server.shutdown();
  CHECK(server.stats().open == 0);
}

TEST_CASE("partial frames are kept until whole, then consumed", "[echo]") {
  FrameEcho h;
  TcpServer server(test::TestConfig(), h);
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port());
  REQUIRE(fd.valid());
  std::string frames;
  for (int i = 0; i < 50; ++i) frames += Frame(RandomBytes(1 + i * 997, i));
  // Dribble it out in odd-sized pieces so frames straddle reads.
  for (size_t off = 0; off < frames.size();) {
    size_t n = std::min<size_t>(frames.size() - off, 1 + (off * 7) % 3001);
    REQUIRE(SendAll(fd.get(), std::string_view(frames).substr(off, n)));
    off += n;
    if (off % 5 == 0) test::SleepMs(1);
  }
  CHECK(RecvExactly(fd.get(), frames.size()) == frames);
  CHECK(h.frames == 50);
  server.shutdown();
}

TEST_CASE("a frame larger than max_frame closes only that connection", "[echo]") {
  FrameEcho h;
  Config cfg = test::TestConfig();
  cfg.max_frame = 64 * 1024;
  TcpServer server(cfg, h);
  REQUIRE(server.start().ok());
  Fd bad = Connect(server.port());
  Fd good = Connect(server.port());
  uint32_t huge = 1u << 30;
  std::string hdr(reinterpret_cast<const char*>(&huge), 4);
  SendAll(bad.get(), hdr + RandomBytes(200 * 1024, 1));
  CHECK(test::WaitClosed(bad.get(), 5000));
  std::string f = Frame("still here");
  REQUIRE(SendAll(good.get(), f));
  CHECK(RecvExactly(good.get(), f.size()) == f);
  CHECK(test::Eventually(
      [&] { return server.stats().closed[size_t(CloseReason::kFrameTooLarge)] == 1; }));
  server.shutdown();
}

TEST_CASE("IPv6 and Unix-domain listeners echo", "[echo]") {
  apps::EchoHandler echo;
  SECTION("IPv6") {
    Config cfg = test::TestConfig();
    cfg.listen = "[::1]:0";
    TcpServer server(cfg, echo);
    absl::Status st = server.start();
    if (!st.ok()) {
      WARN("no IPv6 loopback here: " << st.message());
      return;
    }
    Fd fd(::socket(AF_INET6, SOCK_STREAM, 0));
    REQUIRE(::connect(fd.get(), server.address().sa(), server.address().len()) == 0);
    REQUIRE(SendAll(fd.get(), "hello6"));
    CHECK(RecvExactly(fd.get(), 6) == "hello6");
    server.shutdown();
  }
  SECTION("Unix") {
    Config cfg = test::TestConfig();
    std::string path = "/tmp/percore-test-" + std::to_string(::getpid()) + ".sock";
    cfg.listen = "unix:" + path;
    TcpServer server(cfg, echo);
    REQUIRE(server.start().ok());
    Fd fd(::socket(AF_UNIX, SOCK_STREAM, 0));
    REQUIRE(::connect(fd.get(), server.address().sa(), server.address().len()) == 0);
    REQUIRE(SendAll(fd.get(), "hello unix"));
    CHECK(RecvExactly(fd.get(), 10) == "hello unix");
    server.shutdown();
    ::unlink(path.c_str());
  }
}

TEST_CASE("single-acceptor modes spread connections over reactors", "[echo]") {
  apps::EchoHandler echo;
  AcceptMode mode = GENERATE(AcceptMode::kRoundRobin, AcceptMode::kLeastConns);
  Config cfg = test::TestConfig();
  cfg.accept_mode = mode;
  TcpServer server(cfg, echo);
  REQUIRE(server.start().ok());
  std::vector<Fd> fds;
  for (int i = 0; i < 20; ++i) {
    fds.push_back(Connect(server.port()));
    REQUIRE(SendAll(fds.back().get(), "x"));
    REQUIRE(RecvExactly(fds.back().get(), 1) == "x");
  }
  StatsSnapshot s = server.stats();
  REQUIRE(s.open_per_reactor.size() == 2);
  CHECK(s.open_per_reactor[0] == 10);
  CHECK(s.open_per_reactor[1] == 10);
  server.shutdown();
}

}  // namespace percore
