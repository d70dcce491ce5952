// Backend faults over loopback, once per backend: EMFILE races between reactors, a submission
// ring too small for one turn's work, provided buffers running out, completion-queue overflow,
// a listener that fails for good, and TCP urgent data stopping a read short.
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>
#include <thread>
#include <vector>

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

// CPU time (user + system) a process used so far, in milliseconds.
uint64_t CpuMs(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  FILE* f = std::fopen(path, "r");
  if (f == nullptr) return 0;
  char buf[1024];
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  // Fields after the ")" that ends the command name: state is field 3, utime 14, stime 15.
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) return 0;
  unsigned long utime = 0, stime = 0;
  if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) !=
      2) {
    return 0;
  }
  return (utime + stime) * 1000 / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
}

enum class Outcome { kPending, kServed, kClosed };

// Waits until every peer got its one-byte echo (served) or saw EOF/reset (closed), or until
// timeout_ms passed; peers still pending then are hung.
void Resolve(std::vector<Fd>& peers, std::vector<Outcome>& out, char expect, int timeout_ms) {
  uint64_t deadline = test::NowMs() + static_cast<uint64_t>(timeout_ms);
  for (;;) {
    std::vector<pollfd> pfds;
    std::vector<size_t> idx;
    for (size_t i = 0; i < peers.size(); ++i) {
      if (out[i] != Outcome::kPending) continue;
      pfds.push_back({peers[i].get(), POLLIN, 0});
      idx.push_back(i);
    }
    uint64_t now = test::NowMs();
    if (pfds.empty() || now >= deadline) return;
    int r = ::poll(pfds.data(), pfds.size(), static_cast<int>(deadline - now));
    if (r <= 0) continue;
    for (size_t k = 0; k < pfds.size(); ++k) {
      if (pfds[k].revents == 0) continue;
      char c;
      ssize_t n = ::recv(pfds[k].fd, &c, 1, MSG_DONTWAIT);
      if (n == 1 && c == expect) {
        out[idx[k]] = Outcome::kServed;
      } else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        out[idx[k]] = Outcome::kClosed;
      }
    }
  }
}

// The server's listening sockets on `port` in this process.
std::vector<int> ListenersOn(uint16_t port) {
  std::vector<int> fds;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return fds;
  while (dirent* e = ::readdir(d)) {
    int fd = std::atoi(e->d_name);
    if (fd <= 2 || fd == ::dirfd(d)) continue;
    int acc = 0;
    socklen_t len = sizeof acc;
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) != 0 || acc == 0) continue;
    sockaddr_in a{};
    socklen_t alen = sizeof a;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &alen) != 0) continue;
    if (a.sin_family == AF_INET && ntohs(a.sin_port) == port) fds.push_back(fd);
  }
  ::closedir(d);
  return fds;
}

void EmfileWithReactors(int threads) {
  int to_child[2], from_child[2];
  REQUIRE(::pipe(to_child) == 0);
  REQUIRE(::pipe(from_child) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Child: every reactor has its own listener (reuseport) and the process may hold a few
    // dozen connections at most, so the reactors race for the last free fd numbers.
    rlimit lim{96, 96};
    ::setrlimit(RLIMIT_NOFILE, &lim);
    apps::EchoHandler echo;
    Config cfg = test::TestConfig();
    cfg.threads = threads;
    cfg.accept_mode = AcceptMode::kReusePort;
    TcpServer server(cfg, echo);
    if (!server.start().ok()) ::_exit(2);
    uint16_t port = server.port();
    if (::write(from_child[1], &port, sizeof port) != sizeof port) ::_exit(3);
    char c;
    if (::read(to_child[0], &c, 1) != 1) ::_exit(4);
    server.shutdown();
    ::_exit(0);
  }
  uint16_t port = 0;
  REQUIRE(::read(from_child[0], &port, sizeof port) == sizeof port);

  // A burst of peers, far more than the child can hold: each must be served or closed.
  const int kPeers = 300;
  std::vector<Fd> peers;
  for (int i = 0; i < kPeers; ++i) {
    peers.push_back(Connect(port));
    REQUIRE(peers.back().valid());
  }
  for (Fd& p : peers) SendAll(p.get(), "e");
  std::vector<Outcome> out(peers.size(), Outcome::kPending);
  Resolve(peers, out, 'e', 8000);
  int served = 0, closed = 0, hung = 0;
  for (Outcome o : out) (o == Outcome::kServed ? served : o == Outcome::kClosed ? closed : hung)++;
  INFO("threads " << threads << ": served " << served << ", closed " << closed << ", hung "
                  << hung);
  CHECK(served > 0);
  CHECK(closed > 0);
  CHECK(hung == 0);

  // The served peers still hold every fd the child has: while that lasts, waiting peers must
  // cost the child almost no CPU (accept backs off instead of spinning).
  std::vector<Fd> waiting;
  for (int i = 0; i < 40; ++i) {
    waiting.push_back(Connect(port));
    SendAll(waiting.back().get(), "w");
  }
  uint64_t cpu0 = CpuMs(pid), t0 = test::NowMs();
  test::SleepMs(1000);
  uint64_t cpu1 = CpuMs(pid), t1 = test::NowMs();
  INFO("child CPU " << (cpu1 - cpu0) << " ms over " << (t1 - t0) << " ms");
  CHECK((cpu1 - cpu0) * 10 < (t1 - t0) * 3);
  std::vector<Outcome> wout(waiting.size(), Outcome::kPending);
  Resolve(waiting, wout, 'w', 8000);
  int whung = 0;
  for (Outcome o : wout) whung += o == Outcome::kPending;
  CHECK(whung == 0);

  // Once the peers leave, newcomers are served again.
  peers.clear();
  waiting.clear();
  test::SleepMs(200);
  std::vector<Fd> later;
  for (int i = 0; i < 20; ++i) {
    later.push_back(Connect(port));
    SendAll(later.back().get(), "r");
  }
  std::vector<Outcome> lout(later.size(), Outcome::kPending);
  Resolve(later, lout, 'r', 8000);
  int lserved = 0;
  for (Outcome o : lout) lserved += o == Outcome::kServed;
  CHECK(lserved == 20);
  later.clear();

  REQUIRE(::write(to_child[1], "x", 1) == 1);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  for (int fd : {to_child[0], to_child[1], from_child[0], from_child[1]}) ::close(fd);
}

// Connects n peers, each sends `size` bytes of its own while the reactors are parked, then
// checks every echo byte for byte.
void EchoBurst(TcpServer& server, int n, size_t size, bool accept_first) {
  std::vector<Fd> peers;
  std::vector<std::string> msgs;
  if (accept_first) {
    for (int i = 0; i < n; ++i) {
      peers.push_back(Connect(server.port()));
      REQUIRE(SendAll(peers.back().get(), "p"));
      REQUIRE(RecvExactly(peers.back().get(), 1) == "p");
    }
  }
  std::promise<void> release = BlockReactors(server);
  for (int i = 0; i < n; ++i) {
    if (!accept_first) peers.push_back(Connect(server.port()));
    REQUIRE(peers[i].valid());
    msgs.push_back(RandomBytes(size, static_cast<uint32_t>(i + 1)));
  }
  // Each peer writes and reads on its own thread: the whole burst may not fit in the socket
  // buffers, and a peer that only wrote would block the echo of the others.
  std::vector<std::string> got(static_cast<size_t>(n));
  std::vector<std::thread> io;
  for (int i = 0; i < n; ++i) {
    io.emplace_back([&, i] {
      SendAll(peers[i].get(), msgs[i]);
      got[i] = RecvExactly(peers[i].get(), size, 15000);
    });
  }
  test::SleepMs(100);  // the bytes reach the server's sockets while the reactors are parked
  release.set_value();
  for (std::thread& t : io) t.join();
  int bad = 0;
  for (int i = 0; i < n; ++i) bad += got[i] != msgs[i];
  INFO(server.stats().ToLine());
  CHECK(bad == 0);
}

}  // namespace

TEST_CASE("EMFILE with several reactors: every peer is served or closed, no spin",
          "[backend][emfile]") {
  SECTION("2 reactors") { EmfileWithReactors(2); }
  SECTION("4 reactors") { EmfileWithReactors(4); }
}

TEST_CASE("a tiny submission ring loses no operation", "[backend]") {
  apps::EchoHandler echo;
  Config cfg = test::TestConfig();
  cfg.threads = 1;
  cfg.uring_entries = 8;  // the smallest Config accepts: one turn needs far more SQEs
  TcpServer server(cfg, echo);
  REQUIRE(server.start().ok());
  EchoBurst(server, 100, 1000, /*accept_first=*/false);
  EchoBurst(server, 100, 3000, /*accept_first=*/true);
  server.shutdown();
}

TEST_CASE("two provided buffers: -ENOBUFS loses no byte", "[backend]") {
  apps::EchoHandler echo;
  Config cfg = test::TestConfig();
  cfg.uring_buffers = 2;
  TcpServer server(cfg, echo);
  REQUIRE(server.start().ok());
  EchoBurst(server, 50, 64 * 1024, /*accept_first=*/true);
  server.shutdown();
}

TEST_CASE("completion-queue overflow loses no completion", "[backend]") {
  apps::EchoHandler echo;
  Config cfg = test::TestConfig();
  cfg.threads = 1;
  cfg.uring_entries = 8;  // CQ of 64 against 200 connections
  TcpServer server(cfg, echo);
  REQUIRE(server.start().ok());
  EchoBurst(server, 200, 8 * 1024, /*accept_first=*/true);
  EchoBurst(server, 200, 2 * 1024, /*accept_first=*/false);
  server.shutdown();
}

TEST_CASE("a listener that fails for good is retried on a back-off, not in a loop", "[backend]") {
  apps::EchoHandler echo;
  Config cfg = test::TestConfig();
  TcpServer server(cfg, echo);
  REQUIRE(server.start().ok());
  Fd before = Connect(server.port());
  REQUIRE(SendAll(before.get(), "x"));
  REQUIRE(RecvExactly(before.get(), 1) == "x");
  // A listening socket shut down leaves LISTEN: every accept on it fails with EINVAL.
  std::vector<int> listeners = ListenersOn(server.port());
  REQUIRE(listeners.size() == static_cast<size_t>(cfg.threads));
  for (int fd : listeners) ::shutdown(fd, SHUT_RDWR);
  uint64_t errors0 = server.stats().accept_errors;
  rusage r0{}, r1{};
  ::getrusage(RUSAGE_SELF, &r0);
  uint64_t t0 = test::NowMs();
  test::SleepMs(1000);
  ::getrusage(RUSAGE_SELF, &r1);
  uint64_t t1 = test::NowMs();
  auto ms = [](const rusage& r) {
    return static_cast<uint64_t>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1000 +
           static_cast<uint64_t>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1000;
  };
  uint64_t errors = server.stats().accept_errors - errors0;
  INFO("accept errors " << errors << ", CPU " << (ms(r1) - ms(r0)) << " ms over " << (t1 - t0)
                        << " ms");
  CHECK(errors < 100);
  CHECK((ms(r1) - ms(r0)) * 10 < (t1 - t0) * 3);
  // Connections already open are still served, and shutdown still ends.
  REQUIRE(SendAll(before.get(), "y"));
  CHECK(RecvExactly(before.get(), 1) == "y");
  server.shutdown();
}

TEST_CASE("urgent data does not stall a connection: all in-band bytes are echoed",
          "[backend][oob]") {
  // The urgent byte is TCP's out-of-band data: the framework never reads it with MSG_OOB, so
  // the kernel skips it in the stream and handlers see only the in-band bytes around it.
  apps::EchoHandler echo;
  Config cfg = test::TestConfig();
  TcpServer server(cfg, echo);
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port());
  REQUIRE(SendAll(fd.get(), "hi"));
  REQUIRE(RecvExactly(fd.get(), 2) == "hi");
  // All three segments wait in the server's socket before its next read, which stops at the
  // urgent mark with "bbbb..." still queued and no further edge to come.
  std::promise<void> release = BlockReactors(server);
  std::string tail(3000, 'b');
  REQUIRE(SendAll(fd.get(), "aaaa"));
  REQUIRE(::send(fd.get(), "!", 1, MSG_OOB) == 1);
  REQUIRE(SendAll(fd.get(), tail));
  test::SleepMs(100);
  release.set_value();
  std::string got = RecvExactly(fd.get(), 4 + tail.size(), 3000);
  CHECK(got.size() == 4 + tail.size());
  CHECK(got == "aaaa" + tail);
  server.shutdown();
}

}  // namespace percore
