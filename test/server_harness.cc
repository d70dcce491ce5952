#include "test/server_harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string_view>

namespace percore::test {

BackendKind TestBackend() {
  const char* env = std::getenv("PERCORE_TEST_BACKEND");
  BackendKind kind = BackendKind::kEpoll;
  if (env != nullptr) (void)ParseBackend(env, &kind);
  return kind;
}

Config TestConfig() {
  Config c;
  c.backend = TestBackend();
  c.listen = "127.0.0.1:0";
  c.threads = 2;
  c.drain_timeout = absl::Seconds(5);
  return c;
}

uint64_t NowMs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

void SleepMs(int ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  ::nanosleep(&ts, nullptr);
}

uint16_t UnusedPort() {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    return 0;
  }
  return ntohs(a.sin_port);
}

Fd Connect(uint16_t port, int rcvbuf) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (rcvbuf > 0) ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return Fd();
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

namespace {

// One bounded read: >0 bytes, 0 EOF, -1 reset/error, -2 timeout.
ssize_t ReadSome(int fd, char* buf, size_t cap, uint64_t deadline) {
  for (;;) {
    uint64_t now = NowMs();
    if (now >= deadline) return -2;
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(deadline - now));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return -2;
    ssize_t n = ::recv(fd, buf, cap, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    return n < 0 ? -1 : n;
  }
}

}  // namespace

std::string RecvExactly(int fd, size_t n, int timeout_ms) {
  std::string out;
  out.resize(n);
  size_t got = 0;
  uint64_t deadline = NowMs() + static_cast<uint64_t>(timeout_ms);
  while (got < n) {
    ssize_t r = ReadSome(fd, out.data() + got, n - got, deadline);
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  out.resize(got);
  return out;
}

std::string RecvAll(int fd, int timeout_ms, bool* closed, bool* reset) {
  std::string out;
  char buf[65536];
  uint64_t deadline = NowMs() + static_cast<uint64_t>(timeout_ms);
  if (closed) *closed = false;
  for (;;) {
    ssize_t r = ReadSome(fd, buf, sizeof buf, deadline);
    if (r > 0) {
      out.append(buf, static_cast<size_t>(r));
      continue;
    }
    if (closed) *closed = (r == 0 || r == -1);
    if (reset) *reset = (r == -1);
    return out;
  }
}

bool WaitClosed(int fd, int timeout_ms) {
  bool closed = false;
  RecvAll(fd, timeout_ms, &closed);
  return closed;
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& ch : s) ch = static_cast<char>(rng());
  return s;
}

size_t ThreadCount() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

}  // namespace percore::test
