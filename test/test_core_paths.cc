// Reproductions for the core data path: kept input across pause/resume and the peer's FIN,
// turn-end redelivery, timeouts with output pending, paused fast senders under io_uring, accept
// hand-off (balance, full queues), limits (max_connections with lingering, max_frame), slot
// release re-entrancy, fairness, cross-thread handles, tick wrap and pool exhaustion. Each test
// asserts the correct behaviour. Runs once per backend (PERCORE_TEST_BACKEND).
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
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

size_t Closed(const StatsSnapshot& s, CloseReason r) { return s.closed[static_cast<size_t>(r)]; }

// What LineReply answers to the line `id`: "<id>:" and filler up to `size` bytes, ending "\n".
std::string ReplyFor(const std::string& id, size_t size) {
  return id + ":" + std::string(size - id.size() - 2, '.') + "\n";
}

// Answers each line "<id>\n" with ReplyFor(id). When send reports backpressure it pauses and
// returns what it consumed so far: the following lines stay unconsumed (kept input) until
// on_drain resumes it.
struct LineReply {
  size_t reply_size = 128 * 1024;
  std::mutex mu;
  std::string seen;  // "<id>," per line handled, in order

  size_t on_data(Connection& c, std::span<const char> in) {
    std::string_view s(in.data(), in.size());
    size_t used = 0;
    for (;;) {
      size_t nl = s.find('\n', used);
      if (nl == std::string_view::npos) break;
      std::string id(s.substr(used, nl - used));
      used = nl + 1;
      {
        std::lock_guard<std::mutex> lock(mu);
        seen += id + ",";
      }
      if (c.send(ReplyFor(id, reply_size)) == SendResult::kBackpressure) {
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

// 'x' asks for a 512 KiB reply (above the default high watermark: it pauses); anything else is
// echoed. Counts on_peer_shutdown and marks it in the stream with "<EOF>" (it does not close).
struct BigOnX {
  std::atomic<int> peer_shutdowns{0};
  size_t on_data(Connection& c, std::span<const char> in) {
    for (char ch : in) {
      SendResult r = ch == 'x' ? c.send(std::string(512 * 1024, 'X')) : c.send(std::string(1, ch));
      if (r == SendResult::kBackpressure) c.pause_reading();
    }
    return in.size();
  }
  void on_drain(Connection& c) { c.resume_reading(); }
  void on_peer_shutdown(Connection& c) {
    peer_shutdowns++;
    c.send(std::string_view("<EOF>"));
  }
};

// Each 'x' asks for `burst` bytes; everything is consumed.
struct Blaster {
  size_t burst = 1 << 20;
  bool close_after = false;
  size_t on_data(Connection& c, std::span<const char> in) {
    for (char ch : in) {
      if (ch == 'x') c.send(std::string(burst, 'B'));
      if (ch == 'p') c.send(std::string_view("pong"));
    }
    if (close_after) c.close();
    return in.size();
  }
};

// Reads and discards until stop, in the background.
class Drainer {
 public:
  explicit Drainer(int fd)
      : t_([this, fd] {
          char buf[65536];
          while (!stop_) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 10) <= 0) continue;
            ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) return;
          }
        }) {}
  ~Drainer() {
    stop_ = true;
    t_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread t_;
};

}  // namespace

// Defect 1: the handler pauses with the next request kept; the peer sends more and its FIN while
// paused; when the output drains, every request must still be answered before the EOF.
TEST_CASE("kept input survives a peer FIN that arrives while paused", "[core]") {
  LineReply h;
  Config cfg = test::TestConfig();
  cfg.out_high_watermark = 64 * 1024;
  cfg.out_low_watermark = 16 * 1024;
  cfg.sndbuf = 16 * 1024;  // the 128 KiB reply backs up in user space: the handler pauses
  TcpServer server(cfg, h);
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port(), 4096);
  REQUIRE(SendAll(fd.get(), "a\n"));
  REQUIRE(test::Eventually([&] { return server.stats().backpressure >= 1; }));
  // While paused: more requests, then the FIN.
  REQUIRE(SendAll(fd.get(), "b\nc\n"));
  ::shutdown(fd.get(), SHUT_WR);
  test::SleepMs(20);
  bool closed = false;
  std::string got = test::RecvAll(fd.get(), 5000, &closed);
  std::string want =
      ReplyFor("a", h.reply_size) + ReplyFor("b", h.reply_size) + ReplyFor("c", h.reply_size);
  INFO("handler saw: " << h.lines() << " got " << got.size() << " of " << want.size());
  CHECK(h.lines() == "a,b,c,");
  CHECK(got.size() == want.size());
  CHECK(got == want);
  CHECK(closed);
  server.shutdown();
}

// Defect 1 (second half): a FIN seen in the same batch as the data that paused the handler, then
// pause/resume after it: on_peer_shutdown runs exactly once.
TEST_CASE("on_peer_shutdown runs once when pause/resume follows the peer's FIN", "[core]") {
  BigOnX h;
  TcpServer server(test::TestConfig(), h);
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port());
  REQUIRE(SendAll(fd.get(), "p"));
  REQUIRE(RecvExactly(fd.get(), 1) == "p");  // the receive is armed
  {
    // Request and FIN arrive while the reactors are busy: they are seen in one batch.
    ReactorBlock b0(server, 0), b1(server, 1);
    REQUIRE(SendAll(fd.get(), "x"));
    ::shutdown(fd.get(), SHUT_WR);
    test::SleepMs(20);
  }
  std::string got = RecvExactly(fd.get(), 512 * 1024 + 5);
  CHECK(got.size() == 512 * 1024 + 5);
  CHECK(got.substr(got.size() - 5) == "<EOF>");
  SyncTurns(server);
  CHECK(h.peer_shutdowns == 1);
  server.shutdown();
}

// Defect 2: on_drain runs inside the turn-end flush (epoll flushes synchronously) and resumes;
// the kept request must be delivered without any further event.
TEST_CASE("resume from on_drain in the turn-end flush redelivers kept input", "[core]") {
  LineReply h;
  h.reply_size = 32 * 1024;
  Config cfg = test::TestConfig();
  cfg.out_high_watermark = 16 * 1024;
  cfg.out_low_watermark = 8 * 1024;
  cfg.sndbuf = 1 << 20;  // the kernel takes the whole reply in the first flush
  cfg.idle_timeout = absl::ZeroDuration();
  cfg.write_timeout = absl::Seconds(600);
  TcpServer server(cfg, h);
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port());
  REQUIRE(SendAll(fd.get(), "a\nb\n"));
  std::string want = ReplyFor("a", h.reply_size) + ReplyFor("b", h.reply_size);
  std::string got = RecvExactly(fd.get(), want.size(), 2000);
  INFO("handler saw: " << h.lines());
  CHECK(got.size() == want.size());
  CHECK(got == want);
  server.shutdown();
}

// Defect 3: idle timeout while output is stuck towards a peer that does not read. The peer must
// never see a clean EOF after truncated data; the stuck output ends by the write timeout (reset).
TEST_CASE("idle timeout with output pending never ends in a clean EOF after truncation",
          "[core][timer]") {
  Blaster h;
  std::atomic<uint64_t> clock{1'000'000};
  Config cfg = test::TestConfig();
  cfg.idle_timeout = absl::Milliseconds(1000);
  cfg.write_timeout = absl::Seconds(5);
  cfg.sndbuf = 8192;
  cfg.out_cap = 4 << 20;
  cfg.out_high_watermark = 2 << 20;
  TcpServer server(cfg, h, [&clock] { return clock.load(); });
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port(), 4096);
  REQUIRE(SendAll(fd.get(), "x"));
  REQUIRE(test::Eventually([&] { return server.stats().bytes_out > 0; }));
  SyncTurns(server);
  clock += 1000;  // idle timeout
  SyncTurns(server);
  clock += 5000;  // and the write timeout
  SyncTurns(server);
  StatsSnapshot s = server.stats();
  INFO(s.ToLine());
  CHECK(Closed(s, CloseReason::kWriteTimeout) == 1);
  bool closed = false, reset = false;
  std::string got = test::RecvAll(fd.get(), 5000, &closed, &reset);
  INFO("peer got " << got.size() << " of " << h.burst << " bytes, reset " << reset);
  CHECK(closed);
  if (got.size() < h.burst) CHECK(reset);
  server.shutdown();
}

// Pauses on every message, consumes all it is given, and asks for on_drain (2 KiB answer above a
// 1 KiB high watermark) to resume: a fast sender that is paused again and again.
struct PauseEach {
  std::mutex mu;
  std::string got;
  size_t on_data(Connection& c, std::span<const char> in) {
    {
      std::lock_guard<std::mutex> lock(mu);
      got.append(in.data(), in.size());
    }
    c.send(std::string(2048, 'f'));
    c.pause_reading();
    return in.size();
  }
  void on_drain(Connection& c) { c.resume_reading(); }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu);
    return got.size();
  }
};

// Defect 6: completions already posted in the batch that paused are kept losslessly; a handler
// that consumes everything is never closed as kFrameTooLarge.
TEST_CASE("a paused fast sender is kept losslessly, not closed as frame too large", "[core]") {
  PauseEach h;
  Config cfg = test::TestConfig();
  cfg.max_frame = 4096;
  cfg.read_budget = 16 * 1024;
  cfg.out_high_watermark = 1024;
  cfg.out_low_watermark = 512;
  cfg.out_cap = 1 << 20;
  TcpServer server(cfg, h);
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port());
  Drainer drain(fd.get());
  std::string msg = RandomBytes(2 << 20, 61);
  std::thread writer([&] { SendAll(fd.get(), msg); });
  bool done = test::Eventually(
      [&] { return h.size() == msg.size() || server.stats().closed_total() > 0; }, 10000);
  ::shutdown(fd.get(), SHUT_RDWR);
  writer.join();
  StatsSnapshot s = server.stats();
  INFO(s.ToLine());
  CHECK(done);
  CHECK(Closed(s, CloseReason::kFrameTooLarge) == 0);
  std::lock_guard<std::mutex> lock(h.mu);
  CHECK(h.got.size() == msg.size());
  bool same = h.got == msg;  // (not printed: random bytes)
  CHECK(same);
  server.shutdown();
}

// Defect 7: least_conns spreads a burst of connects; the hand-off target's count must include
// the connections already handed to it.
TEST_CASE("least_conns spreads a burst of 64 connects over both reactors", "[core]") {
  apps::EchoHandler echo;
  Config cfg = test::TestConfig();
  cfg.accept_mode = AcceptMode::kLeastConns;
  TcpServer server(cfg, echo);
  REQUIRE(server.start().ok());
  std::vector<Fd> fds;
  {
    // The acceptor (reactor 0) takes the whole burst while reactor 1 has not yet adopted the
    // connections handed to it: the choice must count those too.
    ReactorBlock block1(server, 1);
    {
      ReactorBlock block0(server, 0);  // all 64 wait in the backlog
      for (int i = 0; i < 64; ++i) fds.push_back(Connect(server.port()));
    }
    SyncReactor(server, 0);
  }
  REQUIRE(test::Eventually([&] { return server.stats().open == 64; }));
  StatsSnapshot s = server.stats();
  INFO(s.ToLine());
  REQUIRE(s.open_per_reactor.size() == 2);
  CHECK(s.open_per_reactor[0] <= 48);
  CHECK(s.open_per_reactor[1] <= 48);
  server.shutdown();
}

// Defect 8: a hand-off to a reactor whose task queue is full must not drop the connection (nor
// count it as rejected by max_connections).
TEST_CASE("round_robin hand-off into a full task queue does not drop connections", "[core]") {
  apps::EchoHandler echo;
  Config cfg = test::TestConfig();
  cfg.accept_mode = AcceptMode::kRoundRobin;
  cfg.task_queue_cap = 2;
  TcpServer server(cfg, echo);
  REQUIRE(server.start().ok());
  std::vector<Fd> fds;
  {
    ReactorBlock block(server, 1);  // reactor 0 holds the listener; 1 is the sibling
    for (int i = 0; i < 8; ++i) {
      fds.push_back(Connect(server.port()));
      REQUIRE(SendAll(fds.back().get(), absl::StrCat("hi", i)));
    }
    // Reactor 0 adopts its half and hands the rest over (best effort wait; not an assertion).
    test::Eventually(
        [&] {
          StatsSnapshot s = server.stats();
          return s.accepted + s.rejected_max_conns + s.posts_dropped >= 6;
        },
        2000);
    test::SleepMs(20);
  }
  for (int i = 0; i < 8; ++i) {
    std::string want = absl::StrCat("hi", i);
    CHECK(RecvExactly(fds[i].get(), want.size(), 3000) == want);
  }
  StatsSnapshot s = server.stats();
  INFO(s.ToLine());
  CHECK(s.rejected_max_conns == 0);
  CHECK(s.open == 8);
  CHECK(s.closed_total() == 0);
  server.shutdown();
}

// Answers "bye" with a 1 MiB farewell and a graceful close (test_server_lifecycle.cc's Kicker).
struct Kicker {
  size_t on_data(Connection& c, std::span<const char> in) {
    if (std::string_view(in.data(), in.size()).starts_with("bye")) {
      c.send(std::string(1 << 20, 'K'));
      c.close();
    }
    return in.size();
  }
};

// Defect 12: a lingering connection still holds its fd: it counts toward max_connections.
TEST_CASE("lingering connections count toward max_connections", "[core]") {
  Kicker kicker;
  Config cfg = test::TestConfig();
  cfg.max_connections = 2;
  cfg.linger_timeout = absl::Seconds(60);
  // The kernel takes the whole farewell at once; the peers read none of it yet, so it stays
  // unacknowledged (their windows are small) and the close must linger, deterministically.
  cfg.sndbuf = 4 << 20;
  TcpServer server(cfg, kicker);
  REQUIRE(server.start().ok());
  std::vector<Fd> kicked;
  for (int i = 0; i < 2; ++i) {
    kicked.push_back(Connect(server.port(), 8192));
    REQUIRE(SendAll(kicked.back().get(), "bye"));
    REQUIRE(SendAll(kicked.back().get(), "still here"));  // the peer keeps sending
  }
  REQUIRE(test::Eventually([&] { return server.stats().lingering == 2; }));
  std::vector<Fd> extra;
  for (int i = 0; i < 2; ++i) extra.push_back(Connect(server.port()));
  REQUIRE(test::Eventually([&] {
    StatsSnapshot s = server.stats();
    return s.accepted + s.rejected_max_conns == 4;
  }));
  StatsSnapshot s = server.stats();
  INFO(s.ToLine());
  CHECK(s.rejected_max_conns == 2);
  CHECK(s.open + s.lingering <= 2);
  kicked.clear();
  server.shutdown();
}

// Never consumes anything: whatever arrives stays unconsumed.
struct Hoarder {
  size_t on_data(Connection&, std::span<const char>) { return 0; }
};

// Defect 13: exactly max_frame unconsumed bytes are accepted, in one piece or several;
// max_frame + 1 closes with kFrameTooLarge in both cases.
TEST_CASE("max_frame: exactly max_frame unconsumed bytes are allowed, one piece or several",
          "[core]") {
  Hoarder h;
  Config cfg = test::TestConfig();
  cfg.threads = 1;
  cfg.max_frame = 4096;
  TcpServer server(cfg, h);
  REQUIRE(server.start().ok());
  uint64_t in = 0;
  auto send_piece = [&](Fd& fd, size_t n) {
    REQUIRE(SendAll(fd.get(), std::string(n, 'm')));
    in += n;
    REQUIRE(test::Eventually([&] { return server.stats().bytes_in == in; }));
  };
  Fd one = Connect(server.port());
  send_piece(one, 4096);
  Fd several = Connect(server.port());
  for (int i = 0; i < 4; ++i) send_piece(several, 1024);
  SyncTurns(server);
  StatsSnapshot s = server.stats();
  INFO(s.ToLine());
  CHECK(Closed(s, CloseReason::kFrameTooLarge) == 0);
  CHECK(s.open == 2);
  // One byte more closes either.
  Fd one_over = Connect(server.port());
  send_piece(one_over, 4097);
  Fd several_over = Connect(server.port());
  for (int i = 0; i < 4; ++i) send_piece(several_over, 1024);
  SendAll(several_over.get(), "!");  // fails if it was (wrongly) closed already
  CHECK(test::WaitClosed(one_over.get(), 3000));
  CHECK(test::WaitClosed(several_over.get(), 3000));
  CHECK(test::Eventually([&] { return Closed(server.stats(), CloseReason::kFrameTooLarge) >= 2; },
                         3000));
  server.shutdown();
}

// Each connection's state holds the handle of the connection opened before it and closes it
// from the state's destructor (on the owning thread).
struct ChainCloser {
  struct ConnState {
    ConnHandle prev;
    ~ConnState() {
      if (prev.valid()) prev.close().IgnoreError();
    }
  };
  std::mutex mu;
  ConnHandle last;
  std::atomic<int> closes{0};
  void on_open(Connection& c) {
    std::lock_guard<std::mutex> lock(mu);
    c.state<ConnState>().prev = last;
    last = c.handle();
  }
  size_t on_data(Connection& c, std::span<const char> in) {
    c.send(in);
    return in.size();
  }
  void on_close(Connection&, CloseReason) { closes++; }
};

// Defect 14: a ConnState destructor that closes another connection while slots are released.
TEST_CASE("a ConnState destructor that closes another connection", "[core]") {
  ChainCloser h;
  Config cfg = test::TestConfig();
  cfg.threads = 1;
  TcpServer server(cfg, h);
  REQUIRE(server.start().ok());
  std::vector<Fd> fds;
  for (int i = 0; i < 4; ++i) {
    fds.push_back(Connect(server.port()));
    REQUIRE(SendAll(fds.back().get(), "e"));
    REQUIRE(RecvExactly(fds.back().get(), 1) == "e");
  }
  fds.back().reset();  // its release closes #3, whose release closes #2, then #1
  for (int i = 2; i >= 0; --i) CHECK(test::WaitClosed(fds[i].get(), 1000));
  CHECK(test::Eventually([&] { return h.closes == 4; }, 1000));
  Fd late = Connect(server.port());  // the reactor is still serving
  REQUIRE(SendAll(late.get(), "z"));
  CHECK(RecvExactly(late.get(), 1) == "z");
  server.shutdown();
}

// Read-budget fairness: one sender far above read_budget must not starve 20 ping-pongers, and
// its own bytes all come back in order.
TEST_CASE("read budget: a bulk sender does not starve ping-pong connections", "[core]") {
  apps::EchoHandler echo;
  Config cfg = test::TestConfig();
  cfg.read_budget = 16 * 1024;
  TcpServer server(cfg, echo);
  REQUIRE(server.start().ok());
  Fd bulk = Connect(server.port());
  std::string big = RandomBytes(8 << 20, 5);
  std::thread writer([&] { SendAll(bulk.get(), big); });
  std::string echoed;
  std::thread reader([&] { echoed = RecvExactly(bulk.get(), big.size(), 20000); });
  std::vector<Fd> pingers;
  for (int i = 0; i < 20; ++i) pingers.push_back(Connect(server.port()));
  int answered = 0;
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 20; ++i) {
      std::string m = absl::StrCat("p", round * 100 + i);
      if (SendAll(pingers[i].get(), m) && RecvExactly(pingers[i].get(), m.size(), 3000) == m) {
        ++answered;
      }
    }
  }
  writer.join();
  reader.join();
  bulk.reset();  // before shutdown: nothing left to linger on
  pingers.clear();
  CHECK(answered == 400);
  CHECK(echoed.size() == big.size());
  bool same = echoed == big;  // (not printed: random bytes)
  CHECK(same);
  server.shutdown();
}

// Pause/resume: kept input (pipelined requests read with the one that paused) and bytes still in
// the socket (sent while paused) are all answered in order; the FIN after them comes last.
TEST_CASE("pause/resume delivers kept input and bytes left in the socket, then the FIN", "[core]") {
  LineReply h;
  h.reply_size = 64 * 1024;
  Config cfg = test::TestConfig();
  cfg.out_high_watermark = 32 * 1024;
  cfg.out_low_watermark = 8 * 1024;
  cfg.sndbuf = 16 * 1024;
  TcpServer server(cfg, h);
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port(), 4096);
  std::string first, second, want, order;
  for (int i = 0; i < 10; ++i) first += std::to_string(i) + "\n";
  for (int i = 10; i < 20; ++i) second += std::to_string(i) + "\n";
  for (int i = 0; i < 20; ++i) {
    want += ReplyFor(std::to_string(i), h.reply_size);
    order += std::to_string(i) + ",";
  }
  REQUIRE(SendAll(fd.get(), first));  // kept input: read together with the request that pauses
  REQUIRE(test::Eventually([&] { return server.stats().backpressure >= 1; }));
  REQUIRE(SendAll(fd.get(), second));  // left in the socket while paused
  std::string got = RecvExactly(fd.get(), want.size() / 2, 5000);
  ::shutdown(fd.get(), SHUT_WR);  // FIN after kept input
  bool closed = false;
  got += test::RecvAll(fd.get(), 5000, &closed);
  INFO("handler saw: " << h.lines());
  CHECK(h.lines() == order);
  CHECK(got.size() == want.size());
  CHECK(got == want);
  CHECK(closed);
  server.shutdown();
}

// Remembers every connection's handle; echoes.
struct HandleEcho {
  std::mutex mu;
  std::vector<ConnHandle> handles;
  void on_open(Connection& c) {
    std::lock_guard<std::mutex> lock(mu);
    handles.push_back(c.handle());
  }
  size_t on_data(Connection& c, std::span<const char> in) {
    c.send(in);
    return in.size();
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu);
    return handles.size();
  }
  ConnHandle at(size_t i) {
    std::lock_guard<std::mutex> lock(mu);
    return handles.at(i);
  }
};

TEST_CASE("ConnHandle::close from a foreign thread flushes, then closes", "[core]") {
  HandleEcho h;
  TcpServer server(test::TestConfig(), h);
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port());
  REQUIRE(test::Eventually([&] { return h.count() == 1; }));
  REQUIRE(h.at(0).send("last words").ok());
  REQUIRE(h.at(0).close().ok());
  bool closed = false, reset = false;
  std::string got = test::RecvAll(fd.get(), 5000, &closed, &reset);
  CHECK(got == "last words");
  CHECK(closed);
  CHECK(!reset);
  CHECK(test::Eventually([&] { return Closed(server.stats(), CloseReason::kLocal) == 1; }));
  server.shutdown();
}

TEST_CASE("ConnHandle::send into a full task queue says so and loses nothing accepted", "[core]") {
  HandleEcho h;
  Config cfg = test::TestConfig();
  cfg.threads = 1;
  cfg.task_queue_cap = 4;
  TcpServer server(cfg, h);
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port());
  REQUIRE(test::Eventually([&] { return h.count() == 1; }));
  ConnHandle handle = h.at(0);
  std::string accepted;
  int refused = 0;
  {
    ReactorBlock block(server, 0);
    for (int i = 0; i < 10; ++i) {
      std::string m = absl::StrCat("m", i, ";");
      absl::Status st = handle.send(m).status();
      if (st.ok()) {
        accepted += m;
      } else {
        CHECK(st.code() == absl::StatusCode::kResourceExhausted);
        ++refused;
      }
    }
  }
  CHECK(refused > 0);
  CHECK(!accepted.empty());
  CHECK(RecvExactly(fd.get(), accepted.size()) == accepted);
  server.shutdown();
}

// Relays each connection's bytes to the other one through a ConnHandle (a 2-person chat).
struct Relay {
  std::mutex mu;
  std::vector<ConnHandle> handles;
  void on_open(Connection& c) {
    std::lock_guard<std::mutex> lock(mu);
    handles.push_back(c.handle());
  }
  size_t on_data(Connection& c, std::span<const char> in) {
    ConnHandle to;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (handles.size() < 2) return 0;  // wait for the other side
      to = handles[0] == c.handle() ? handles[1] : handles[0];
    }
    if (!to.send(std::string_view(in.data(), in.size())).ok()) return 0;
    return in.size();
  }
};

TEST_CASE("ConnHandle sends between reactors: a two-connection relay", "[core]") {
  Relay h;
  Config cfg = test::TestConfig();
  cfg.accept_mode = AcceptMode::kRoundRobin;  // consecutive connections on different reactors
  TcpServer server(cfg, h);
  REQUIRE(server.start().ok());
  Fd a = Connect(server.port());
  REQUIRE(test::Eventually([&] { return server.stats().open == 1; }));
  Fd b = Connect(server.port());
  REQUIRE(test::Eventually([&] { return server.stats().open == 2; }));
  {
    std::lock_guard<std::mutex> lock(h.mu);
    REQUIRE(h.handles.size() == 2);
    CHECK(h.handles[0].reactor_index() != h.handles[1].reactor_index());
  }
  std::string to_b, to_a;
  for (int i = 0; i < 200; ++i) {
    to_b += absl::StrCat("a", i, ";");
    to_a += absl::StrCat("b", i, ";");
  }
  std::thread ta([&] { SendAll(a.get(), to_b); });
  std::thread tb([&] { SendAll(b.get(), to_a); });
  std::string got_b = RecvExactly(b.get(), to_b.size());
  std::string got_a = RecvExactly(a.get(), to_a.size());
  ta.join();
  tb.join();
  CHECK(got_b == to_b);
  CHECK(got_a == to_a);
  server.shutdown();
}

TEST_CASE("write timeout during a graceful close ends in a counted reset", "[core][timer]") {
  Blaster h;
  h.close_after = true;
  std::atomic<uint64_t> clock{7'000'000};
  Config cfg = test::TestConfig();
  cfg.write_timeout = absl::Seconds(10);
  cfg.sndbuf = 8192;
  cfg.out_cap = 4 << 20;
  cfg.out_high_watermark = 2 << 20;
  TcpServer server(cfg, h, [&clock] { return clock.load(); });
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port(), 4096);
  REQUIRE(SendAll(fd.get(), "x"));  // 1 MiB, then close(): the peer never reads
  REQUIRE(test::Eventually([&] { return server.stats().bytes_out > 0; }));
  SyncTurns(server);
  clock += 9'999;
  SyncTurns(server);
  CHECK(server.stats().closed_total() == 0);
  clock += 1;
  SyncTurns(server);
  StatsSnapshot s = server.stats();
  INFO(s.ToLine());
  CHECK(Closed(s, CloseReason::kWriteTimeout) == 1);
  CHECK(s.open == 0);
  bool closed = false, reset = false;
  std::string got = test::RecvAll(fd.get(), 5000, &closed, &reset);
  CHECK(got.size() < h.burst);
  CHECK(closed);
  CHECK(reset);
  server.shutdown();
}

TEST_CASE("idle timeout across the 32-bit millisecond wrap: exactly at the timeout",
          "[core][timer]") {
  apps::EchoHandler echo;
  std::atomic<uint64_t> clock{(uint64_t{1} << 32) - 500};
  Config cfg = test::TestConfig();
  cfg.idle_timeout = absl::Milliseconds(1000);
  TcpServer server(cfg, echo, [&clock] { return clock.load(); });
  REQUIRE(server.start().ok());
  Fd fd = Connect(server.port());
  REQUIRE(test::Eventually([&] { return server.stats().open == 1; }));
  SyncTurns(server);
  clock += 999;  // past the wrap, one tick early
  SyncTurns(server);
  CHECK(server.stats().open == 1);
  clock += 1;
  SyncTurns(server);
  CHECK(server.stats().open == 0);
  CHECK(server.stats().evictions == 1);
  CHECK(test::WaitClosed(fd.get(), 3000));
  server.shutdown();
}

TEST_CASE("buffer pool exhaustion closes the greedy connection with kNoMemory only", "[core]") {
  Blaster h;
  h.burst = 256 * 1024;
  Config cfg = test::TestConfig();
  cfg.threads = 1;
  cfg.chunk_size = 4096;
  cfg.max_chunks = 16;  // 64 KiB of output and kept input per reactor
  cfg.sndbuf = 8192;
  TcpServer server(cfg, h);
  REQUIRE(server.start().ok());
  Fd calm = Connect(server.port());
  REQUIRE(SendAll(calm.get(), "p"));
  REQUIRE(RecvExactly(calm.get(), 4) == "pong");
  Fd greedy = Connect(server.port(), 4096);
  REQUIRE(SendAll(greedy.get(), "x"));
  CHECK(test::Eventually([&] { return Closed(server.stats(), CloseReason::kNoMemory) == 1; }));
  CHECK(test::WaitClosed(greedy.get(), 3000));
  REQUIRE(SendAll(calm.get(), "p"));
  CHECK(RecvExactly(calm.get(), 4) == "pong");
  CHECK(test::Eventually([&] { return server.stats().pool_chunks_in_use == 0; }));
  StatsSnapshot s = server.stats();
  INFO(s.ToLine());
  CHECK(s.open == 1);
  CHECK(s.closed_total() == 1);
  calm.reset();  // before shutdown: nothing left to linger on
  server.shutdown();
}

}  // namespace percore
