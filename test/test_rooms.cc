// Rooms over sockets, once per backend, with 2 and 4 reactors: every member of a room gets
// each message exactly once and in each publisher's order, nobody outside gets any; a member
// that never reads is skipped (kDrop) or closed (kClose) while the others get everything;
// closes and leaves remove members; every payload is freed.
#include <sys/ioctl.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "net/rooms.h"
#include "net/tcp_server.h"
#include "test/server_harness.h"

namespace percore {
namespace {

const Rooms::Id kA = Rooms::Named("a");
const Rooms::Id kB = Rooms::Named("b");

// Each input byte is a command: 'a'/'b' join room a/b, 'x' leaves room a.
struct Joiner {
  Rooms rooms;
  size_t on_data(Connection& c, std::span<const char> in) {
    for (char cmd : in) {
      if (cmd == 'a') rooms.join(c, kA);
      if (cmd == 'b') rooms.join(c, kB);
      if (cmd == 'x') rooms.leave(c, kA);
    }
    return in.size();
  }
};

constexpr size_t kMsg = 600;  // above Connection::kShareFrom: members share one copy

// Message seq of publisher p (p in 0..3, room tag 'A' or 'B').
Payload Message(char room, uint32_t p, uint32_t seq) {
  std::string m(kMsg, room);
  std::memcpy(m.data() + 1, &p, sizeof p);
  std::memcpy(m.data() + 5, &seq, sizeof seq);
  return Payload::Copy(m);
}

size_t Available(int fd) {
  int n = 0;
  ::ioctl(fd, FIONREAD, &n);
  return static_cast<size_t>(n);
}

}  // namespace

TEST_CASE("rooms: each member gets every message once, in publish order; outsiders none",
          "[rooms]") {
  const int64_t live = Payload::Live();
  for (uint32_t threads : {2u, 4u}) {
    CAPTURE(threads);
    Joiner h;
    Config cfg = test::TestConfig();
    cfg.threads = threads;
    // Members read only after the publishers are done: room for all of it (nobody is slow).
    cfg.out_high_watermark = 2 << 20;
    cfg.out_cap = 4 << 20;
    TcpServer server(cfg, h);
    REQUIRE(server.start().ok());
    // 8 in a, 4 in a and b, 4 in b, 4 in neither; 2 of a's later leave before any publish.
    std::vector<Fd> a, ab, b, none, leavers;
    for (int i = 0; i < 8; ++i) a.push_back(test::Connect(server.port()));
    for (int i = 0; i < 4; ++i) ab.push_back(test::Connect(server.port()));
    for (int i = 0; i < 4; ++i) b.push_back(test::Connect(server.port()));
    for (int i = 0; i < 4; ++i) none.push_back(test::Connect(server.port()));
    for (int i = 0; i < 2; ++i) leavers.push_back(test::Connect(server.port()));
    for (Fd& fd : a) REQUIRE(test::SendAll(fd.get(), "a"));
    for (Fd& fd : ab) REQUIRE(test::SendAll(fd.get(), "ab"));
    for (Fd& fd : b) REQUIRE(test::SendAll(fd.get(), "b"));
    for (Fd& fd : leavers) REQUIRE(test::SendAll(fd.get(), "ax"));
    REQUIRE(test::Eventually([&] { return h.rooms.size(kA) == 12 && h.rooms.size(kB) == 8; }));
    CHECK(h.rooms.count() == 2);
    // Four publishers on their own threads, 300 messages each, interleaved over both rooms.
    constexpr uint32_t kPer = 300;
    std::vector<std::thread> pubs;
    for (uint32_t p = 0; p < 4; ++p) {
      pubs.emplace_back([&, p] {
        const char room = p < 3 ? 'A' : 'B';
        for (uint32_t seq = 0; seq < kPer; ++seq) {
          absl::StatusOr<int> r = h.rooms.publish(room == 'A' ? kA : kB, Message(room, p, seq));
          if (!r.ok()) std::abort();  // no queue is near full in this test
        }
      });
    }
    for (std::thread& t : pubs) t.join();
    // Per member: exactly the messages of its rooms, each publisher's in order.
    auto check = [&](Fd& fd, bool in_a, bool in_b) {
      const size_t want = kMsg * kPer * ((in_a ? 3 : 0) + (in_b ? 1 : 0));
      std::string got = test::RecvExactly(fd.get(), want, 10000);
      if (got.size() != want || Available(fd.get()) != 0) {
        UNSCOPED_INFO("got " << got.size() << " want " << want << " more " << Available(fd.get()));
        return false;
      }
      uint32_t next[4] = {0, 0, 0, 0};
      for (size_t off = 0; off < got.size(); off += kMsg) {
        uint32_t p, seq;
        std::memcpy(&p, got.data() + off + 1, sizeof p);
        std::memcpy(&seq, got.data() + off + 5, sizeof seq);
        const char room = got[off];
        if (p > 3 || seq != next[p]++ || room != (p < 3 ? 'A' : 'B')) {
          UNSCOPED_INFO("p " << p << " seq " << seq << " room " << room << " at " << off);
          return false;
        }
        if ((room == 'A' && !in_a) || (room == 'B' && !in_b)) return false;
      }
      return true;
    };
    for (Fd& fd : a) CHECK(check(fd, true, false));
    for (Fd& fd : ab) CHECK(check(fd, true, true));
    for (Fd& fd : b) CHECK(check(fd, false, true));
    test::SleepMs(20);
    for (Fd& fd : none) CHECK(Available(fd.get()) == 0);
    for (Fd& fd : leavers) CHECK(Available(fd.get()) == 0);
    StatsSnapshot s = server.stats();
    CHECK(s.room_deliveries == kPer * (3 * 12 + 8));
    CHECK(s.room_members == 20);
    CHECK(s.room_dropped == 0);
    // Closing members removes them; a room without members is gone.
    for (Fd& fd : a) fd.reset();
    for (Fd& fd : ab) fd.reset();
    CHECK(test::Eventually([&] { return h.rooms.size(kA) == 0 && h.rooms.size(kB) == 4; }));
    CHECK(h.rooms.count() == 1);
    CHECK(*h.rooms.publish(kA, Message('A', 0, 0)) == 0);
    CHECK(test::Eventually([&] { return server.stats().room_members == 4; }));
    server.shutdown();
    CHECK(server.stats().room_members == 0);
    CHECK(h.rooms.count() == 0);
  }
  CHECK(Payload::Live() == live);
}

// A member that never reads: kDrop skips it once it is above the high watermark (still
// open, counted), kClose resets it (slow_consumer); the readers get every message.
TEST_CASE("rooms: a member that never reads is dropped or closed, the others get all", "[rooms]") {
  const int64_t live = Payload::Live();
  for (Rooms::Slow policy : {Rooms::Slow::kDrop, Rooms::Slow::kClose}) {
    CAPTURE(static_cast<int>(policy));
    Joiner h;
    Config cfg = test::TestConfig();
    cfg.sndbuf = 16384;  // little room in the kernel: the silent member's output queues here
    cfg.out_high_watermark = 32 * 1024;
    cfg.out_low_watermark = 8 * 1024;
    TcpServer server(cfg, h);
    REQUIRE(server.start().ok());
    Fd silent = test::Connect(server.port(), 4096);
    std::vector<Fd> readers;
    for (int i = 0; i < 3; ++i) readers.push_back(test::Connect(server.port()));
    REQUIRE(test::SendAll(silent.get(), "a"));
    for (Fd& fd : readers) REQUIRE(test::SendAll(fd.get(), "a"));
    REQUIRE(test::Eventually([&] { return h.rooms.size(kA) == 4; }));
    constexpr uint32_t kCount = 400;  // 240 KB: far above the silent member's watermark
    std::vector<std::string> got(readers.size());
    for (uint32_t seq = 0; seq < kCount; ++seq) {
      REQUIRE(h.rooms.publish(kA, Message('A', 0, seq), policy).ok());
      // Readers keep up (each message read before the next goes out): only the silent one
      // falls behind.
      for (size_t r = 0; r < readers.size(); ++r)
        got[r] += test::RecvExactly(readers[r].get(), kMsg);
    }
    for (size_t r = 0; r < readers.size(); ++r) {
      CHECK(got[r].size() == kMsg * kCount);
      for (uint32_t seq = 0; seq < kCount && seq * kMsg < got[r].size(); ++seq) {
        uint32_t n;
        std::memcpy(&n, got[r].data() + seq * kMsg + 5, sizeof n);
        if (n != seq) {
          FAIL_CHECK("reader " << r << " got " << n << " at " << seq);
          break;
        }
      }
    }
    StatsSnapshot s = server.stats();
    if (policy == Rooms::Slow::kDrop) {
      CHECK(s.room_dropped > 0);
      CHECK(s.closed[size_t(CloseReason::kSlowConsumer)] == 0);
      CHECK(s.open == 4);
      CHECK(h.rooms.size(kA) == 4);
    } else {
      CHECK(s.room_dropped == 0);
      CHECK(s.closed[size_t(CloseReason::kSlowConsumer)] == 1);
      CHECK(test::WaitClosed(silent.get(), 5000));
      CHECK(h.rooms.size(kA) == 3);
    }
    CHECK(s.closed[size_t(CloseReason::kOutputOverflow)] == 0);
    server.shutdown();
  }
  CHECK(Payload::Live() == live);
}

// Leaves and closes in any order, some of them during a fan-out (slow members closed by
// kClose while the walk runs): after each, the members still in the room get the next message
// exactly once and the ones gone get nothing.
TEST_CASE("rooms: members leave and close in any order, during fan-outs too", "[rooms]") {
  const int64_t live = Payload::Live();
  Joiner h;
  Config cfg = test::TestConfig();
  cfg.sndbuf = 16384;
  cfg.out_high_watermark = 32 * 1024;
  cfg.out_low_watermark = 8 * 1024;
  TcpServer server(cfg, h);
  REQUIRE(server.start().ok());
  // Silent members joined first and in between, so their removal moves the readers around.
  std::vector<Fd> readers, silent;
  for (int i = 0; i < 24; ++i) {
    if (i % 4 == 0) silent.push_back(test::Connect(server.port(), 4096));
    readers.push_back(test::Connect(server.port()));
  }
  for (Fd& fd : silent) REQUIRE(test::SendAll(fd.get(), "a"));
  for (Fd& fd : readers) REQUIRE(test::SendAll(fd.get(), "a"));
  REQUIRE(test::Eventually([&] { return h.rooms.size(kA) == 30; }));
  uint32_t seq = 0;
  auto publish_and_check = [&](const std::vector<bool>& in) {
    REQUIRE(h.rooms.publish(kA, Message('A', 0, seq), Rooms::Slow::kClose).ok());
    for (size_t r = 0; r < readers.size(); ++r) {
      if (!in[r]) continue;
      std::string got = test::RecvExactly(readers[r].get(), kMsg);
      uint32_t n = 0;
      if (got.size() == kMsg) std::memcpy(&n, got.data() + 5, sizeof n);
      if (got.size() != kMsg || n != seq) FAIL_CHECK("reader " << r << " missed " << seq);
    }
    ++seq;
  };
  std::vector<bool> in(readers.size(), true);
  // Until every silent member is closed as slow (during fan-outs).
  while (server.stats().closed[size_t(CloseReason::kSlowConsumer)] < silent.size() && seq < 2000) {
    publish_and_check(in);
  }
  REQUIRE(server.stats().closed[size_t(CloseReason::kSlowConsumer)] == silent.size());
  REQUIRE(test::Eventually([&] { return h.rooms.size(kA) == 24; }));
  // Then the readers go one by one, in a scrambled order, half by leaving, half by closing.
  for (size_t k = 0; k < readers.size(); ++k) {
    const size_t r = (k * 7) % readers.size();
    in[r] = false;
    if (k % 2 == 0) {
      REQUIRE(test::SendAll(readers[r].get(), "x"));
    } else {
      readers[r].reset();
    }
    REQUIRE(test::Eventually([&] { return h.rooms.size(kA) == readers.size() - k - 1; }));
    publish_and_check(in);
  }
  test::SleepMs(20);
  for (size_t r = 0; r < readers.size(); ++r) {
    if (readers[r].get() >= 0) CHECK(Available(readers[r].get()) == 0);
  }
  CHECK(server.stats().room_members == 0);
  server.shutdown();
  CHECK(Payload::Live() == live);
}

}  // namespace percore
