// Shared payloads over sockets: one Payload sent to many connections on both reactors (by
// Connection::send on the owner, by ConnHandle::send from a foreign thread) reaches every
// member whole and in order, and is freed exactly once however its members end: reading it
// all, resetting mid-send, never reading until out_cap closes them. ASan checks the "once".
// Runs once per backend.
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/tcp_server.h"
#include "pool/payload.h"
#include "test/server_harness.h"

namespace percore {
namespace {

// Each member sends one byte, its index; the handler files its handle under it.
struct Members {
  std::mutex mu;
  std::vector<ConnHandle> handles = std::vector<ConnHandle>(16);
  int joined = 0;
  size_t on_data(Connection& c, std::span<const char> in) {
    std::lock_guard<std::mutex> lock(mu);
    for (char id : in) {
      handles.at(static_cast<uint8_t>(id)) = c.handle();
      ++joined;
    }
    return in.size();
  }
  std::vector<ConnHandle> all() {
    std::lock_guard<std::mutex> lock(mu);
    return handles;
  }
  int count() {
    std::lock_guard<std::mutex> lock(mu);
    return joined;
  }
};

// Payload i: its index in 8 bytes, then filler; large enough to be shared, not copied.
Payload Numbered(uint64_t i, size_t size) {
  std::string m(size, static_cast<char>('a' + i % 26));
  std::memcpy(m.data(), &i, sizeof i);
  return Payload::Copy(m);
}

void Reset(Fd& fd) {
  linger l{1, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
  fd.reset();
}

}  // namespace

TEST_CASE("a shared payload reaches every member in order and is freed once", "[broadcast]") {
  const int64_t live = Payload::Live();
  Members members;
  Config cfg = test::TestConfig();  // two reactors: members on both
  cfg.out_cap = 1 << 20;
  cfg.sndbuf = 16384;  // the kernel holds little: what the silent members miss queues here
  TcpServer server(cfg, members);
  REQUIRE(server.start().ok());
  constexpr int kReaders = 6, kResetters = 2, kSilent = 2, kMembers = 10;
  std::vector<Fd> fds;
  for (int i = 0; i < kMembers; ++i) {
    fds.push_back(test::Connect(server.port(), 4096));
    REQUIRE(test::SendAll(fds.back().get(), std::string(1, static_cast<char>(i))));
  }
  REQUIRE(test::Eventually([&] { return members.count() == kMembers; }));
  constexpr size_t kSize = 8192;
  constexpr uint64_t kCount = 200;  // 1.6 MB per member: the silent ones pass out_cap
  std::thread publisher([&] {
    std::vector<ConnHandle> to = members.all();
    for (uint64_t i = 0; i < kCount; ++i) {
      Payload p = Numbered(i, kSize);
      for (int k = 0; k < kMembers; ++k) {
        auto r = to[k].send(p);
        // Readers get flow control (wait for their drain); the others are left to their fate.
        if (k < kReaders && r.ok() && *r == SendResult::kBackpressure) {
          test::Eventually([&] { return to[k].output_bytes() <= cfg.out_low_watermark; }, 20000);
        }
      }
      if (i == kCount / 4) {
        // Resetters go mid-stream, with references still queued for them.
        for (int k = kReaders; k < kReaders + kResetters; ++k) Reset(fds[k]);
      }
    }
  });
  std::vector<std::string> got(kReaders);
  std::vector<std::thread> readers;
  for (int k = 0; k < kReaders; ++k) {
    readers.emplace_back(
        [&, k] { got[k] = test::RecvExactly(fds[k].get(), kSize * kCount, 20000); });
  }
  publisher.join();
  for (std::thread& t : readers) t.join();
  for (int k = 0; k < kReaders; ++k) {
    CAPTURE(k);
    REQUIRE(got[k].size() == kSize * kCount);
    bool in_order = true;
    for (uint64_t i = 0; i < kCount && in_order; ++i) {
      uint64_t n;
      std::memcpy(&n, got[k].data() + i * kSize, sizeof n);
      in_order = n == i && got[k][i * kSize + kSize - 1] == static_cast<char>('a' + i % 26);
    }
    CHECK(in_order);
  }
  // The silent members never read: out_cap closes them and drops what they held.
  CHECK(test::Eventually(
      [&] { return server.stats().closed[size_t(CloseReason::kOutputOverflow)] == kSilent; }));
  for (int k = 0; k < kReaders; ++k) fds[k].reset();
  CHECK(test::Eventually([&] { return server.stats().open == 0; }));
  CHECK(test::Eventually([&] { return Payload::Live() == live; }));
  server.shutdown();
  CHECK(Payload::Live() == live);
}

// On the owner's thread Connection::send(Payload) queues a reference: the member's output
// counts the payload's full size, and small payloads are copied instead.
TEST_CASE("Connection::send(Payload) counts the full size, copies small ones", "[broadcast]") {
  struct Sender {
    Payload big = Payload::Copy(std::string(100000, 'B'));
    Payload small = Payload::Copy("small");
    std::atomic<uint32_t> uses_while_queued{0};
    size_t on_data(Connection& c, std::span<const char> in) {
      c.send(big);
      c.send(small);
      uses_while_queued = big.use_count();  // this handler's + the queue's
      return in.size();
    }
  } sender;
  Config cfg = test::TestConfig();
  TcpServer server(cfg, sender);
  REQUIRE(server.start().ok());
  Fd fd = test::Connect(server.port(), 4096);
  REQUIRE(test::SendAll(fd.get(), "x"));
  CHECK(test::Eventually([&] { return sender.uses_while_queued > 0; }));
  std::string got = test::RecvExactly(fd.get(), 100005);
  CHECK(got == std::string(100000, 'B') + "small");
  CHECK(sender.uses_while_queued == 2);
  CHECK(test::Eventually([&] { return sender.big.use_count() == 1; }));
  CHECK(sender.small.use_count() == 1);  // copied, never referenced
  server.shutdown();
}

}  // namespace percore
