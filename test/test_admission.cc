// Admission limits over sockets, once per backend: connections per source IP (sources
// 127.0.0.2..127.0.0.9) with the excess reset at once and counted, a closed connection
// freeing its place; Unix-domain peers exempt; the accept-rate bucket.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "net/tcp_server.h"
#include "test/server_harness.h"

namespace percore {
namespace {

struct Echo {
  size_t on_data(Connection& c, std::span<const char> in) {
    c.send(in);
    return in.size();
  }
};

Fd ConnectFrom(const char* source, uint16_t port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in src{};
  src.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &src.sin_addr);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) return Fd();
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return Fd();
  return fd;
}

// Admitted: it echoes. Refused: the server reset it without a byte.
bool Admitted(int fd) {
  if (!test::SendAll(fd, "hi")) return false;
  return test::RecvExactly(fd, 2, 5000) == "hi";
}

}  // namespace

TEST_CASE("admission: connections per source IP, the excess reset and counted", "[admission]") {
  Echo h;
  Config cfg = test::TestConfig();
  cfg.max_conns_per_ip = 3;
  TcpServer server(cfg, h);
  REQUIRE(server.start().ok());
  std::vector<Fd> two;
  for (int i = 0; i < 5; ++i) two.push_back(ConnectFrom("127.0.0.2", server.port()));
  int admitted = 0;
  for (Fd& fd : two) admitted += Admitted(fd.get());
  CHECK(admitted == 3);
  CHECK(server.stats().rejected_per_ip == 2);
  // Other sources have their own count.
  std::vector<Fd> others;
  for (int ip = 3; ip <= 9; ++ip) {
    const std::string src = "127.0.0." + std::to_string(ip);
    for (int i = 0; i < 3; ++i) others.push_back(ConnectFrom(src.c_str(), server.port()));
  }
  for (Fd& fd : others) CHECK(Admitted(fd.get()));
  CHECK(server.stats().open == 3 + 21);
  // A closed connection frees its place for the next one from the same address.
  for (Fd& fd : two) {
    if (fd.get() >= 0 && Admitted(fd.get())) {
      fd.reset();
      break;
    }
  }
  REQUIRE(test::Eventually([&] { return server.stats().open == 2 + 21; }));
  Fd again = ConnectFrom("127.0.0.2", server.port());
  CHECK(Admitted(again.get()));
  Fd over = ConnectFrom("127.0.0.2", server.port());
  CHECK(!Admitted(over.get()));
  CHECK(server.stats().rejected_per_ip == 3);
  server.shutdown();
}

TEST_CASE("admission: Unix-domain peers are exempt from the per-IP limit", "[admission]") {
  Echo h;
  Config cfg = test::TestConfig();
  cfg.max_conns_per_ip = 1;
  const std::string path = "/tmp/percore-admission-" + std::to_string(::getpid()) + ".sock";
  cfg.listen = "unix:" + path;
  TcpServer server(cfg, h);
  REQUIRE(server.start().ok());
  std::vector<Fd> peers;
  for (int i = 0; i < 3; ++i) {
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    peers.push_back(std::move(fd));
  }
  for (Fd& fd : peers) CHECK(Admitted(fd.get()));
  CHECK(server.stats().rejected_per_ip == 0);
  server.shutdown();
  ::unlink(path.c_str());
}

// A bucket of 3 refilled at 1 per second: a burst of 8 gets 3 in, plus one per second the
// burst took (the test does not assume the host is fast).
TEST_CASE("admission: the accept-rate bucket resets the excess of a burst", "[admission]") {
  Echo h;
  Config cfg = test::TestConfig();
  cfg.accept_rate = 1;
  cfg.accept_burst = 3;
  TcpServer server(cfg, h);
  REQUIRE(server.start().ok());
  const uint64_t t0 = test::NowMs();
  std::vector<Fd> burst;
  for (int i = 0; i < 8; ++i) burst.push_back(test::Connect(server.port()));
  int admitted = 0;
  for (Fd& fd : burst) admitted += Admitted(fd.get());
  const auto seconds = static_cast<int>((test::NowMs() - t0) / 1000);
  CHECK(admitted >= 3);
  CHECK(admitted <= 3 + seconds + 1);
  CHECK(server.stats().rejected_accept_rate == static_cast<uint64_t>(8 - admitted));
  CHECK(server.stats().open == static_cast<uint64_t>(admitted));
  server.shutdown();
}

}  // namespace percore
