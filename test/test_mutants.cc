// Tests that kill planted data-path bugs (mutation testing) the rest of the suite let live, or
// killed only by chance: each test names the bug it pins down. Deterministic (the reactors are
// parked while the peer sets up the socket state; an injected clock for timers), quick when the
// code is right, and bounded when it is not. Runs once per backend.
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <future>
#include <mutex>
#include <string>
#include <thread>

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

// Bytes this socket sent that its peer has not yet acknowledged (0: all in the peer's socket).
int Unacked(int fd) {
  int n = -1;
  if (::ioctl(fd, SIOCOUTQ, &n) != 0) return -1;
  return n;
}

// 'x' asks for a 512 KiB reply (above the default high watermark: it pauses until on_drain);
// anything else is echoed. Consumes everything, so nothing is kept as a partial frame.
struct BigOnX {
  size_t on_data(Connection& c, std::span<const char> in) {
    for (char ch : in) {
      SendResult r = ch == 'x' ? c.send(std::string(512 * 1024, 'X')) : c.send(std::string(1, ch));
      if (r == SendResult::kBackpressure) c.pause_reading();
    }
    return in.size();
  }
  void on_drain(Connection& c) { c.resume_reading(); }
};

// Echoes; on 'q' it also pauses and resumes inside the same callback.
struct PauseResumeAtOnce {
  size_t on_data(Connection& c, std::span<const char> in) {
    c.send(in);
    if (std::string_view(in.data(), in.size()).find('q') != std::string_view::npos) {
      c.pause_reading();
      c.resume_reading();
    }
    return in.size();
  }
};

// 'x' asks for `reply` bytes and ignores backpressure; on_drain records how much output was
// still queued when it ran.
struct DrainProbe {
  size_t reply = 512 * 1024;
  std::atomic<int> drains{0};
  std::atomic<size_t> queued_at_drain{0};
  size_t on_data(Connection& c, std::span<const char> in) {
    for (char ch : in) {
      if (ch == 'x') c.send(std::string(reply, 'D'));
    }
    return in.size();
  }
  void on_drain(Connection& c) {
    queued_at_drain = std::max<size_t>(queued_at_drain, c.output_bytes());
    drains++;
  }
};

// Records every whole line "<text>\n" it consumes; the line "pause" answers 64 KiB (above a
// 16 KiB high watermark) and pauses, returning only what it consumed so far; on_drain resumes.
struct LinePauser {
  std::mutex mu;
  std::string seen;  // "<line>," per line, in order
  size_t on_data(Connection& c, std::span<const char> in) {
    std::string_view s(in.data(), in.size());
    size_t used = 0;
    for (size_t nl; (nl = s.find('\n', used)) != std::string_view::npos;) {
      std::string_view line = s.substr(used, nl - used);
      used = nl + 1;
      {
        std::lock_guard<std::mutex> lock(mu);
        seen.append(line).append(",");
      }
      if (line == "pause") {
        c.send(std::string(64 * 1024, 'P'));
        c.pause_reading();
        break;
      }
    }
    return used;
  }
  void on_drain(Connection& c) { c.resume_reading(); }
  std::string lines() {
    std::lock_guard<std::mutex> lock(mu);
    return seen;
  }
};

// 'h' answers 256 KiB and half-closes (shutdown_write): FIN once that output is out.
struct ReplyThenHalfClose {
  size_t on_data(Connection& c, std::span<const char> in) {
    for (char ch : in) {
      if (ch == 'h') {
        c.send(std::string(256 * 1024, 'H'));
        c.shutdown_write();
      }
    }
    return in.size();
  }
};

// The first call consumes one byte, answers 64 KiB (above a 16 KiB high watermark) and pauses,
// leaving the rest of that read as kept input; later calls consume everything they get.
struct PauseKeepingMore {
  bool first = true;
  std::atomic<size_t> consumed{0};
  size_t on_data(Connection& c, std::span<const char> in) {
    if (first) {
      first = false;
      c.send(std::string(64 * 1024, 'K'));
      c.pause_reading();
      consumed += 1;
      return 1;
    }
    consumed += in.size();
    return in.size();
  }
  void on_drain(Connection& c) { c.resume_reading(); }
};

}  // namespace

// Input kept while paused may exceed max_frame (the handler has not seen it yet). Bytes read
// after the resume but before the redelivery (epoll: the EPOLLOUT that drains the output
// resumes, and the re-queued read runs in the same poll) go behind the kept bytes, and the
// handler sees them all at the redelivery, which applies max_frame only after it; joining
// them to the kept input first would close the connection as a frame too large.
TEST_CASE("bytes read between resume and redelivery wait behind the kept input", "[mutants]") {
  PauseKeepingMore h;
  Config cfg = test::TestConfig();
  cfg.max_frame = 1024;
  cfg.out_high_watermark = 16 * 1024;
  cfg.out_low_watermark = 4 * 1024;
  cfg.sndbuf = 16 * 1024;
  TcpServer server(cfg, h);
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port(), 4096);
  REQUIRE(SendAll(fd.get(), "x" + std::string(8 * 1024, 'a')));  // one read: 8 KiB kept
  REQUIRE(test::Eventually([&] { return server.stats().backpressure >= 1; }));
  SyncTurns(server);
  REQUIRE(SendAll(fd.get(), std::string(1000, 'b')));  // arrives while paused
  SyncTurns(server);
  std::string got = RecvExactly(fd.get(), 64 * 1024, 3000);  // drains: on_drain resumes
  CHECK(got.size() == 64 * 1024);
  CHECK(test::Eventually([&] { return h.consumed == 1 + 8 * 1024 + 1000; }, 2000));
  StatsSnapshot s = server.stats();
  INFO(s.ToLine());
  CHECK(s.closed_total() == 0);
  fd.reset();
  server.shutdown();
}

// shutdown_write() with output queued, then the peer's FIN before that output is out: both
// directions end, but only after the output (flush, then close). Closing at once would give
// the peer a clean EOF after lost bytes.
TEST_CASE("the peer's FIN while our half-close waits for output: all of it, then EOF",
          "[mutants]") {
  ReplyThenHalfClose h;
  Config cfg = test::TestConfig();
  cfg.sndbuf = 16 * 1024;  // the reply waits in user space until the peer reads
  TcpServer server(cfg, h);
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port(), 4096);
  REQUIRE(SendAll(fd.get(), "h"));
  REQUIRE(test::Eventually([&] { return server.stats().bytes_out > 0; }));
  ::shutdown(fd.get(), SHUT_WR);
  REQUIRE(test::Eventually([&] { return Unacked(fd.get()) == 0; }, 2000));  // FIN is there
  SyncTurns(server);  // and the server read it while its reply was still queued
  bool closed = false;
  std::string got = test::RecvAll(fd.get(), 3000, &closed);
  CHECK(got.size() == 256 * 1024);
  CHECK(closed);
  CHECK(test::Eventually(
      [&] { return server.stats().closed[size_t(CloseReason::kPeerClosed)] == 1; }, 2000));
  server.shutdown();
}

// A partial frame is waiting and the next read is longer than the room max_frame leaves: the
// framework hands over the frame's part first, and when the handler pauses on it, the rest of
// that read must be kept for the redelivery, not dropped.
TEST_CASE("a pause while joining a partial frame keeps the rest of the read", "[mutants]") {
  LinePauser h;
  Config cfg = test::TestConfig();
  cfg.max_frame = 1024;
  cfg.out_high_watermark = 16 * 1024;
  cfg.out_low_watermark = 4 * 1024;
  cfg.sndbuf = 16 * 1024;
  TcpServer server(cfg, h);
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port(), 4096);
  REQUIRE(SendAll(fd.get(), "ab"));  // a partial line: kept
  REQUIRE(test::Eventually([&] { return server.stats().bytes_in == 2; }));
  SyncTurns(server);
  // One read of ~3 KB: "c\npause\n" completes the kept line and pauses; the lines after it
  // go beyond max_frame's room.
  std::string burst = "c\npause\n", want = "abc,pause,";
  for (int i = 0; burst.size() < 3000; ++i) {
    std::string line = "line" + std::to_string(i);
    burst += line + "\n";
    want += line + ",";
  }
  REQUIRE(SendAll(fd.get(), burst));
  std::string got = RecvExactly(fd.get(), 64 * 1024, 3000);  // the reply; on_drain resumes
  CHECK(got.size() == 64 * 1024);
  CHECK(test::Eventually([&] { return h.lines() == want; }, 2000));
  CHECK(h.lines() == want);
  CHECK(server.stats().closed_total() == 0);
  fd.reset();
  server.shutdown();
}

// on_drain is owed once output passed the high watermark, and runs only when it has fallen to
// the low watermark (hysteresis), not as soon as it dips under the high one.
TEST_CASE("on_drain runs once output is down to the low watermark", "[mutants]") {
  DrainProbe h;
  Config cfg = test::TestConfig();
  cfg.out_high_watermark = 128 * 1024;
  cfg.out_low_watermark = 8 * 1024;
  cfg.sndbuf = 16 * 1024;  // the kernel takes the reply in steps far smaller than high - low
  TcpServer server(cfg, h);
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port(), 4096);
  REQUIRE(SendAll(fd.get(), "x"));
  REQUIRE(test::Eventually([&] { return server.stats().backpressure >= 1; }));
  std::string got = RecvExactly(fd.get(), h.reply, 3000);
  CHECK(got.size() == h.reply);
  CHECK(test::Eventually([&] { return h.drains == 1; }, 2000));
  CHECK(h.queued_at_drain <= cfg.out_low_watermark);
  fd.reset();
  server.shutdown();
}

// io_uring: the pause queues a cancel of the multishot receive and the resume finds it still
// armed, so the receive ends (-ECANCELED, no IORING_CQE_F_MORE) after the connection resumed:
// whichever of the two completions comes last must arm it again. Epoll: nothing to lose.
TEST_CASE("pause and resume in one callback: the connection keeps receiving", "[mutants]") {
  PauseResumeAtOnce h;
  TcpServer server(test::TestConfig(), h);
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port());
  for (int i = 0; i < 20; ++i) {
    std::string q(1, 'q');
    q += std::to_string(i);
    REQUIRE(SendAll(fd.get(), q));
    REQUIRE(RecvExactly(fd.get(), q.size(), 3000) == q);
    SyncTurns(server);  // the cancel and the end of the receive completed
  }
  REQUIRE(SendAll(fd.get(), "after"));
  CHECK(RecvExactly(fd.get(), 5, 3000) == "after");
  fd.reset();
  server.shutdown();
}

// Bytes that arrive while a connection is paused stay in the socket (epoll: the edge is left
// unconsumed; io_uring: the receive was cancelled). Resuming must read them without any further
// event: here the peer sends nothing more and no FIN until it has its answer.
TEST_CASE("bytes sent while paused are read on resume without a later edge or FIN", "[mutants]") {
  BigOnX h;
  Config cfg = test::TestConfig();
  cfg.sndbuf = 16 * 1024;  // the 512 KiB reply waits in user space until the peer reads
  TcpServer server(cfg, h);
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port(), 4096);
  REQUIRE(SendAll(fd.get(), "x"));
  REQUIRE(test::Eventually([&] { return server.stats().backpressure >= 1; }));
  SyncTurns(server);  // the pause took effect (io_uring: the cancel completed)
  REQUIRE(SendAll(fd.get(), "abc"));
  SyncTurns(server);  // epoll: the edge for "abc" came while paused and was left unconsumed
  std::string got = RecvExactly(fd.get(), 512 * 1024 + 3, 3000);
  INFO("got " << got.size() << " bytes");
  REQUIRE(got.size() == 512 * 1024 + 3);
  CHECK(got.substr(got.size() - 3) == "abc");
  fd.reset();
  server.shutdown();
}

// Epoll: the handler pauses in the middle of a read that did not drain the socket, and resumes
// from on_drain inside the same turn's flush (the kernel took the whole echo: no EPOLLOUT
// follows). The bytes left in the socket have no edge of their own: resume must re-queue the
// connection. The peer is silent once its bytes are in, so nothing else would wake it.
TEST_CASE("resume inside the turn-end flush reads what the paused read left in the socket",
          "[mutants]") {
  apps::EchoHandler echo;
  Config cfg = test::TestConfig();
  cfg.threads = 1;
  cfg.out_high_watermark = 16 * 1024;  // every 64 KiB read pauses the echo
  cfg.out_low_watermark = 8 * 1024;
  cfg.sndbuf = 1 << 20;  // the kernel takes each echo in the flush: on_drain resumes at once
  cfg.rcvbuf = 1 << 20;  // everything the peer sends fits while the reactor is parked
  TcpServer server(cfg, echo);
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port(), 1 << 20);
  REQUIRE(SendAll(fd.get(), "p"));
  REQUIRE(RecvExactly(fd.get(), 1) == "p");
  std::string msg = RandomBytes(256 * 1024, 12);
  {
    std::promise<void> release = BlockReactors(server);
    REQUIRE(SendAll(fd.get(), msg));
    REQUIRE(test::Eventually([&] { return Unacked(fd.get()) == 0; }, 2000));
    release.set_value();
  }
  std::string got = RecvExactly(fd.get(), msg.size(), 3000);
  INFO("echoed " << got.size() << " of " << msg.size() << "; " << server.stats().ToLine());
  CHECK(got.size() == msg.size());
  bool same = got == msg;  // (not printed: random bytes)
  CHECK(same);
  fd.reset();
  server.shutdown();
}

// Bytes and the peer's FIN wait in the socket together. Epoll: the read that gets the bytes is
// short, but EPOLLRDHUP came with the same edge, so the socket is not drained until recv says 0.
// io_uring: the multishot receive may end (no IORING_CQE_F_MORE) with those bytes, and must be
// re-armed to see the EOF. Either way: the echo, then the server's FIN.
TEST_CASE("bytes and FIN that arrive together: the whole echo, then EOF", "[mutants]") {
  apps::EchoHandler echo;
  TcpServer server(test::TestConfig(), echo);
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port());
  REQUIRE(SendAll(fd.get(), "p"));
  REQUIRE(RecvExactly(fd.get(), 1) == "p");
  {
    std::promise<void> release = BlockReactors(server);
    REQUIRE(SendAll(fd.get(), "abc"));
    ::shutdown(fd.get(), SHUT_WR);
    REQUIRE(test::Eventually([&] { return Unacked(fd.get()) == 0; }, 2000));
    release.set_value();
  }
  bool closed = false;
  std::string got = test::RecvAll(fd.get(), 3000, &closed);
  CHECK(got == "abc");
  CHECK(closed);
  CHECK(test::Eventually(
      [&] { return server.stats().closed[size_t(CloseReason::kPeerClosed)] == 1; }, 3000));
  server.shutdown();
}

// Epoll: a read that hits read_budget leaves bytes in the socket that no new edge announces; the
// connection must go on the ready list. Here the peer is silent once its bytes are in (no new
// edge, no FIN to rescue it), so dropping the ready-list push stalls the echo after one read.
TEST_CASE("read budget hit with a silent peer: the rest of the socket is still read", "[mutants]") {
  apps::EchoHandler echo;
  Config cfg = test::TestConfig();
  cfg.threads = 1;
  cfg.read_budget = 16 * 1024;  // the smallest: every 64 KiB read hits it
  cfg.rcvbuf = 1 << 20;         // everything the peer sends fits while the reactor is parked
  TcpServer server(cfg, echo);
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port());
  REQUIRE(SendAll(fd.get(), "p"));
  REQUIRE(RecvExactly(fd.get(), 1) == "p");
  std::string msg = RandomBytes(256 * 1024, 11);
  {
    std::promise<void> release = BlockReactors(server);
    REQUIRE(SendAll(fd.get(), msg));
    // All of it is in the server's socket before the reactor reads again.
    REQUIRE(test::Eventually([&] { return Unacked(fd.get()) == 0; }, 2000));
    release.set_value();
  }
  std::string got = RecvExactly(fd.get(), msg.size(), 3000);
  INFO("echoed " << got.size() << " of " << msg.size());
  CHECK(got.size() == msg.size());
  bool same = got == msg;  // (not printed: random bytes)
  CHECK(same);
  fd.reset();  // nothing left to linger on
  server.shutdown();
}

}  // namespace percore
