// TcpClient against loopback listeners, on the backend under test: connect and exchange
// length-framed messages (IPv4, IPv6, Unix), a refused port's back-off schedule (an injected
// random source pins every ceiling), a reconnect after the server restarts, and a connect
// timeout against a listener whose accept backlog is full; a host name resolved again (off
// the reactor) before each reconnect, with an injected resolver whose answer moves and fails,
// and with the real getaddrinfo on "localhost". A ClientGroup on a server's own reactors: each
// client's events on the reactor it was put on, its group shut down alone while the server
// serves on, or closed by the server's shutdown.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/backoff.h"
#include "net/client_group.h"
#include "net/tcp_client.h"
#include "net/tcp_server.h"
#include "protocol/length_field_codec.h"
#include "reactor/reactor.h"
#include "test/server_harness.h"

namespace percore {
namespace {

using test::Eventually;
using test::TestConfig;

LengthFieldCodec::Options Framed() {
  return {.length_field_length = 4, .initial_bytes_to_strip = 4};
}

// Answers each message with "echo:" + message.
struct EchoServer {
  LengthFieldCodec codec{Framed()};
  void on_message(Connection& c, std::span<const char> m) {
    codec.encode(c, {std::string_view("echo:"), std::string_view(m.data(), m.size())});
  }
};

// The client side: greets on open, records what comes back and how connections end.
struct Recorder {
  LengthFieldCodec codec{Framed()};
  std::string greeting = "hello";
  std::mutex mu;
  std::vector<std::string> messages;
  std::vector<CloseReason> closes;
  std::atomic<int> opens{0};

  void on_open(Connection& c) {
    ++opens;
    codec.encode(c, greeting);
  }
  void on_message(Connection&, std::span<const char> m) {
    std::lock_guard lock(mu);
    messages.emplace_back(m.data(), m.size());
  }
  void on_close(Connection&, CloseReason r) {
    std::lock_guard lock(mu);
    closes.push_back(r);
  }
  size_t message_count() {
    std::lock_guard lock(mu);
    return messages.size();
  }
  size_t close_count() {
    std::lock_guard lock(mu);
    return closes.size();
  }
};

Config ClientConfig() {
  Config c = TestConfig();
  c.threads = 1;
  return c;
}

void ExchangeWith(const std::string& listen, const std::string& endpoint) {
  Config sc = TestConfig();
  sc.listen = listen;
  EchoServer echo;
  TcpServer server(sc, echo);
  REQUIRE(server.start().ok());
  Recorder rec;
  ClientGroup group(ClientConfig(), rec);
  REQUIRE(group.start().ok());
  std::string ep = endpoint.empty() ? server.address().ToString() : endpoint;
  ClientOptions o;
  o.connect_timeout = absl::Seconds(2);
  TcpClient client(group, 0, ep, o);
  REQUIRE(client.start().ok());
  REQUIRE(Eventually([&] { return rec.message_count() == 1; }));
  CHECK(client.state() == ClientState::kConnected);
  // A send from this (foreign) thread through the client's handle.
  std::string frame("\0\0\0\5again", 9);
  REQUIRE(client.handle().valid());
  REQUIRE(client.handle().send(frame).ok());
  REQUIRE(Eventually([&] { return rec.message_count() == 2; }));
  std::lock_guard lock(rec.mu);
  CHECK(rec.messages[0] == "echo:hello");
  CHECK(rec.messages[1] == "echo:again");
  CHECK(rec.opens == 1);
}

TEST_CASE("client: connects over IPv4, IPv6 and Unix and exchanges framed messages", "[client]") {
  SECTION("ipv4") { ExchangeWith("127.0.0.1:0", ""); }
  SECTION("ipv6") {
    Fd probe(::socket(AF_INET6, SOCK_STREAM, 0));
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    if (::bind(probe.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      WARN("no IPv6 loopback here");
      return;
    }
    probe.reset();
    ExchangeWith("[::1]:0", "");
  }
  SECTION("unix") {
    std::string path = "/tmp/percore-client-" + std::to_string(::getpid()) + ".sock";
    ::unlink(path.c_str());
    ExchangeWith("unix:" + path, "unix:" + path);
    ::unlink(path.c_str());
  }
  SECTION("host name") {
    Config sc = TestConfig();
    EchoServer echo;
    TcpServer server(sc, echo);
    REQUIRE(server.start().ok());
    auto a = ResolveEndpoint("localhost:" + std::to_string(server.port()));
    REQUIRE(a.ok());
    CHECK(a->port() == server.port());
    CHECK(!ResolveEndpoint("no-such-host.invalid:80").ok());
  }
}

TEST_CASE("client: a refused port is retried on the back-off schedule", "[client]") {
  const uint16_t port = test::UnusedPort();
  Recorder rec;
  ClientGroup group(ClientConfig(), rec);
  REQUIRE(group.start().ok());
  std::mutex mu;
  std::vector<uint64_t> bounds, delays;
  std::vector<ConnectError> errors;
  ClientOptions o;
  o.reconnect.initial = absl::Milliseconds(4);
  o.reconnect.max = absl::Milliseconds(40);
  o.reconnect.multiplier = 3;
  // Draws the top of each range, and remembers the range it was asked for.
  o.rng = [&](uint64_t bound) {
    std::lock_guard lock(mu);
    bounds.push_back(bound);
    return bound;
  };
  o.on_reconnect_scheduled = [&](uint64_t d) {
    std::lock_guard lock(mu);
    delays.push_back(d);
  };
  o.on_connect_failed = [&](const ConnectFailure& f) {
    std::lock_guard lock(mu);
    errors.push_back(f.error);
    CHECK(f.status.code() == absl::StatusCode::kUnavailable);
  };
  TcpClient client(group, 0, "127.0.0.1:" + std::to_string(port), o);
  REQUIRE(client.start().ok());
  REQUIRE(Eventually([&] {
    std::lock_guard lock(mu);
    return delays.size() >= 6;
  }));
  client.stop();
  std::lock_guard lock(mu);
  // Ceilings 4, 12, 36, then capped at 40: full jitter draws under each, here at its top.
  const std::vector<uint64_t> want = {4, 12, 36, 40, 40, 40};
  CHECK(std::vector<uint64_t>(bounds.begin(), bounds.begin() + 6) == want);
  CHECK(std::vector<uint64_t>(delays.begin(), delays.begin() + 6) == want);
  for (ConnectError e : errors) CHECK(e == ConnectError::kRefused);
  CHECK(errors.size() >= 6);
  CHECK(rec.opens == 0);  // the handler never saw a connection that did not open
  CHECK(rec.close_count() == 0);
}

TEST_CASE("client: back-off draws within [0, ceiling] and resets", "[client]") {
  Backoff::Options bo;
  bo.initial = absl::Milliseconds(100);
  bo.max = absl::Seconds(2);
  Backoff b(bo);
  uint64_t ceiling = 100;
  for (int i = 0; i < 12; ++i) {
    REQUIRE(b.ceiling_ms() == ceiling);
    uint64_t d = b.next_ms();
    CHECK(d <= ceiling);
    ceiling = std::min<uint64_t>(ceiling * 2, 2000);
  }
  b.reset();
  CHECK(b.ceiling_ms() == 100);
  // Full jitter spreads over the whole range, not around its top.
  bo.initial = bo.max = absl::Milliseconds(1000);
  Backoff wide(bo);
  uint64_t lo = 1000, hi = 0;
  for (int i = 0; i < 2000; ++i) {
    uint64_t d = wide.next_ms();
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  CHECK(lo < 50);
  CHECK(hi > 950);
  CHECK(hi <= 1000);
}

TEST_CASE("client: reconnects after the server restarts", "[client]") {
  EchoServer echo;
  Config sc = TestConfig();
  auto server = std::make_unique<TcpServer>(sc, echo);
  REQUIRE(server->start().ok());
  const uint16_t port = server->port();
  Recorder rec;
  ClientGroup group(ClientConfig(), rec);
  REQUIRE(group.start().ok());
  ClientOptions o;
  o.reconnect.initial = absl::Milliseconds(20);
  o.reconnect.max = absl::Milliseconds(100);
  TcpClient client(group, 0, "127.0.0.1:" + std::to_string(port), o);
  REQUIRE(client.start().ok());
  REQUIRE(Eventually([&] { return rec.message_count() == 1; }));
  server->shutdown();
  server.reset();
  // At least 1: a retry may already have landed in the dying listener's backlog and been
  // closed with it (seen once under TSan on io_uring).
  REQUIRE(Eventually([&] { return rec.close_count() >= 1; }));
  test::SleepMs(50);  // a few refused attempts while the server is down
  sc.listen = "127.0.0.1:" + std::to_string(port);
  server = std::make_unique<TcpServer>(sc, echo);
  REQUIRE(server->start().ok());
  REQUIRE(Eventually([&] { return rec.message_count() == 2; }));
  // At least 2: under io_uring a retry may still land in the old listener's backlog while
  // it shuts down, and that connection dies with it.
  CHECK(rec.opens >= 2);
  CHECK(client.state() == ClientState::kConnected);
  std::lock_guard lock(rec.mu);
  CHECK(rec.messages[1] == "echo:hello");
  CHECK(rec.closes[0] == CloseReason::kPeerClosed);
}

TEST_CASE("client: reconnect off: one attempt, then stopped", "[client]") {
  Recorder rec;
  ClientGroup group(ClientConfig(), rec);
  REQUIRE(group.start().ok());
  std::atomic<int> failures{0};
  ClientOptions o;
  o.reconnect.enabled = false;
  o.on_connect_failed = [&](const ConnectFailure&) { ++failures; };
  TcpClient client(group, 0, "127.0.0.1:" + std::to_string(test::UnusedPort()), o);
  REQUIRE(client.start().ok());
  REQUIRE(Eventually([&] { return client.state() == ClientState::kStopped; }));
  test::SleepMs(50);
  CHECK(failures == 1);
}

TEST_CASE("client: connect timeout against a full accept backlog", "[client]") {
  // listen(fd, 0) queues one connection; once it and the SYN queue are full, the kernel
  // drops further SYNs and connect() hangs: what a dead host looks like.
  Fd listener(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(listener.get(), 0) == 0);
  socklen_t len = sizeof a;
  ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&a), &len);
  std::vector<Fd> fillers;
  bool full = false;
  for (int i = 0; i < 16 && !full; ++i) {
    Fd f(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
    ::connect(f.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
    pollfd p{f.get(), POLLOUT, 0};
    full = ::poll(&p, 1, 200) == 0;  // still connecting after 200 ms: SYNs are dropped
    fillers.push_back(std::move(f));
  }
  REQUIRE(full);
  Recorder rec;
  ClientGroup group(ClientConfig(), rec);
  REQUIRE(group.start().ok());
  std::mutex mu;
  std::vector<ConnectFailure> failures;
  ClientOptions o;
  o.connect_timeout = absl::Milliseconds(150);
  o.reconnect.enabled = false;
  o.on_connect_failed = [&](const ConnectFailure& f) {
    std::lock_guard lock(mu);
    failures.push_back(f);
  };
  const uint64_t t0 = test::NowMs();
  TcpClient client(group, 0, "127.0.0.1:" + std::to_string(ntohs(a.sin_port)), o);
  REQUIRE(client.start().ok());
  REQUIRE(Eventually([&] { return client.state() == ClientState::kStopped; }, 3000));
  const uint64_t took = test::NowMs() - t0;
  CHECK(took >= 140);
  CHECK(took < 2000);
  std::lock_guard lock(mu);
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].error == ConnectError::kTimeout);
  CHECK(failures[0].status.code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(rec.opens == 0);
}

TEST_CASE("client: stop() cancels a connect under way and closes an open connection", "[client]") {
  EchoServer echo;
  TcpServer server(TestConfig(), echo);
  REQUIRE(server.start().ok());
  Recorder rec;
  ClientGroup group(ClientConfig(), rec);
  REQUIRE(group.start().ok());
  TcpClient client(group, 0, server.address().ToString());
  REQUIRE(client.start().ok());
  REQUIRE(Eventually([&] { return rec.message_count() == 1; }));
  client.stop();
  CHECK(client.state() == ClientState::kStopped);
  REQUIRE(Eventually([&] { return rec.close_count() == 1; }));
  test::SleepMs(50);
  CHECK(rec.opens == 1);  // no reconnect after stop()
}

// Records which reactor each answer arrived on, by client greeting.
struct Placed {
  LengthFieldCodec codec{Framed()};
  std::mutex mu;
  std::vector<std::pair<std::string, Reactor*>> got;
  std::atomic<int> closes{0};
  struct ConnState {
    std::string name;
  };
  void on_open(Connection& c) { codec.encode(c, "hi"); }
  void on_message(Connection&, std::span<const char> m) {
    std::lock_guard lock(mu);
    got.emplace_back(std::string(m.data(), m.size()), Reactor::current());
  }
  void on_close(Connection&, CloseReason) { ++closes; }
  size_t count() {
    std::lock_guard lock(mu);
    return got.size();
  }
};

TEST_CASE("client: a ClientGroup on a server's reactors", "[client]") {
  EchoServer backend_handler;
  TcpServer backend(TestConfig(), backend_handler);
  REQUIRE(backend.start().ok());
  EchoServer front_handler;
  TcpServer front(TestConfig(), front_handler);  // two reactors
  Placed placed;
  ClientGroup group(front, placed);
  REQUIRE(group.start().ok());  // before the server's start
  REQUIRE(front.start().ok());
  REQUIRE(group.size() == 2);
  TcpClient c0(group, 0, backend.address().ToString());
  TcpClient c1(group, 1, backend.address().ToString());
  REQUIRE(c0.start().ok());
  REQUIRE(c1.start().ok());
  REQUIRE(Eventually([&] { return placed.count() == 2; }));
  // Each answer was handled on the server reactor its client lives on.
  REQUIRE(c0.handle().send(std::string("\0\0\0\2c0", 6)).ok());
  REQUIRE(c1.handle().send(std::string("\0\0\0\2c1", 6)).ok());
  REQUIRE(Eventually([&] { return placed.count() == 4; }));
  {
    std::lock_guard lock(placed.mu);
    for (auto& [msg, where] : placed.got) {
      if (msg == "echo:c0") CHECK(where == &front.reactors().at(0));
      if (msg == "echo:c1") CHECK(where == &front.reactors().at(1));
      CHECK((where == &front.reactors().at(0) || where == &front.reactors().at(1)));
    }
  }
  CHECK(front.stats().open == 2);  // the group's connections count in the server's stats
  // The server's own connections are served alongside.
  Fd fd = test::Connect(front.port());
  REQUIRE(test::SendAll(fd.get(), std::string("\0\0\0\3abc", 7)));
  CHECK(test::RecvExactly(fd.get(), 12) == std::string("\0\0\0\10echo:abc", 12));

  SECTION("the group shuts down alone; the server serves on") {
    group.shutdown();
    CHECK_FALSE(group.running());
    CHECK(placed.closes == 2);
    CHECK(c0.state() == ClientState::kStopped);
    REQUIRE(test::SendAll(fd.get(), std::string("\0\0\0\3def", 7)));
    CHECK(test::RecvExactly(fd.get(), 12) == std::string("\0\0\0\10echo:def", 12));
    CHECK(Eventually([&] { return front.stats().open == 1; }));
  }
  SECTION("the server's shutdown closes the group's connections") {
    front.shutdown();
    CHECK_FALSE(group.running());
    CHECK(placed.closes == 2);
    CHECK(c1.state() == ClientState::kStopped);
    CHECK(test::WaitClosed(fd.get(), 2000));
  }
}

}  // namespace
}  // namespace percore

namespace percore {
namespace {

// Counts the resolver's calls and where they ran: start() on the test's thread, every later
// one on the client's resolver thread (never a reactor, never the test's thread).
struct ResolveLog {
  std::mutex mu;
  std::vector<std::thread::id> threads;
  std::atomic<int> calls{0};
  std::atomic<int> on_reactor{0};
  void record() {
    if (Reactor::current() != nullptr) ++on_reactor;
    std::lock_guard lock(mu);
    threads.push_back(std::this_thread::get_id());
    ++calls;
  }
  bool later_ones_off_this_thread() {
    std::lock_guard lock(mu);
    for (size_t i = 1; i < threads.size(); ++i) {
      if (threads[i] == std::this_thread::get_id()) return false;
    }
    return threads.size() >= 2 && threads[0] == std::this_thread::get_id();
  }
};

TEST_CASE("client: a host name is resolved again before each reconnect", "[client][resolve]") {
  EchoServer echo;
  TcpServer first(TestConfig(), echo), second(TestConfig(), echo);
  REQUIRE(first.start().ok());
  REQUIRE(second.start().ok());
  Recorder rec;
  ClientGroup group(ClientConfig(), rec);
  REQUIRE(group.start().ok());
  // The name's address moves from the first server to the second, with one failed lookup
  // in between.
  ResolveLog log;
  ClientOptions o;
  o.reconnect.initial = absl::Milliseconds(10);
  o.reconnect.max = absl::Milliseconds(40);
  o.resolver = [&](const std::string& endpoint) -> absl::StatusOr<Address> {
    log.record();
    if (endpoint != "backend.test:7000") return absl::InvalidArgumentError(endpoint);
    const int n = log.calls;
    if (n == 1) return first.address();
    if (n == 2) return absl::NotFoundError("backend.test: no such name (now)");
    return second.address();
  };
  std::mutex mu;
  std::vector<ConnectError> failures;
  std::vector<std::string> messages;
  o.on_connect_failed = [&](const ConnectFailure& f) {
    std::lock_guard lock(mu);
    failures.push_back(f.error);
    messages.emplace_back(f.status.message());
  };
  TcpClient client(group, 0, "backend.test:7000", o);
  REQUIRE(client.start().ok());
  REQUIRE(Eventually([&] { return rec.message_count() == 1; }));
  CHECK(first.stats().accepted == 1);
  first.shutdown();
  REQUIRE(Eventually([&] { return rec.message_count() == 2; }));
  CHECK(second.stats().accepted == 1);
  CHECK(client.state() == ClientState::kConnected);
  CHECK(log.calls == 3);
  CHECK(log.on_reactor == 0);
  CHECK(log.later_ones_off_this_thread());
  std::lock_guard lock(mu);
  REQUIRE(!failures.empty());
  CHECK(failures[0] == ConnectError::kResolve);  // and the back-off went on
  CHECK(messages[0].find("no such name") != std::string::npos);
}

TEST_CASE("client: one resolver thread per group, and stop() never waits for a lookup",
          "[client][resolve]") {
  EchoServer echo;
  TcpServer first(TestConfig(), echo), second(TestConfig(), echo);
  REQUIRE(first.start().ok());
  REQUIRE(second.start().ok());
  Recorder rec;
  ClientGroup group(ClientConfig(), rec);
  REQUIRE(group.start().ok());
  // Lookups after start() hang until released, like a DNS server that does not answer.
  std::atomic<bool> release{false};
  std::atomic<int> blocked{0};
  std::mutex mu;
  std::vector<std::thread::id> lookup_threads;
  std::atomic<int> starts{0};
  ClientOptions o;
  o.reconnect.initial = absl::Milliseconds(5);
  o.reconnect.max = absl::Milliseconds(10);
  o.resolver = [&](const std::string&) -> absl::StatusOr<Address> {
    if (starts < 2) {  // each client's start(), on this thread
      ++starts;
      return first.address();
    }
    {
      std::lock_guard lock(mu);
      lookup_threads.push_back(std::this_thread::get_id());
    }
    ++blocked;
    for (int i = 0; i < 2000 && !release; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    --blocked;
    return second.address();
  };
  TcpClient a(group, 0, "svc.test:7000", o), b(group, 0, "svc.test:7000", o);
  REQUIRE(a.start().ok());
  REQUIRE(b.start().ok());
  REQUIRE(Eventually([&] { return rec.opens == 2; }));
  first.shutdown();  // both reconnect, so both look the name up again
  REQUIRE(Eventually([&] {
    return blocked == 1 && a.state() == ClientState::kResolving &&
           b.state() == ClientState::kResolving;
  }));
  // One lookup hangs and the other waits behind it; stopping a client must not wait.
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    a.stop();
    stopped = true;
  });
  bool returned = Eventually([&] { return stopped.load(); });
  CHECK(returned);
  CHECK(blocked == 1);  // it returned while the lookup still hung
  release = true;
  stopper.join();
  REQUIRE(Eventually([&] { return b.state() == ClientState::kConnected; }));
  CHECK(second.stats().accepted >= 1);
  std::lock_guard lock(mu);
  REQUIRE(lookup_threads.size() >= 2);
  for (std::thread::id t : lookup_threads) CHECK(t == lookup_threads[0]);  // one thread
}

TEST_CASE("client: \"localhost\" is resolved again when the server comes back",
          "[client][resolve]") {
  // Listen where this host's resolver says localhost is (127.0.0.1 or ::1).
  auto local = ResolveEndpoint("localhost:1");
  REQUIRE(local.ok());
  const std::string host = local->family() == AF_INET6 ? "[::1]" : "127.0.0.1";
  EchoServer echo;
  Config sc = TestConfig();
  sc.listen = host + ":0";
  auto server = std::make_unique<TcpServer>(sc, echo);
  REQUIRE(server->start().ok());
  const uint16_t port = server->port();
  Recorder rec;
  ClientGroup group(ClientConfig(), rec);
  REQUIRE(group.start().ok());
  ResolveLog log;
  ClientOptions o;
  o.reconnect.initial = absl::Milliseconds(10);
  o.reconnect.max = absl::Milliseconds(40);
  o.resolver = [&](const std::string& endpoint) {  // the real getaddrinfo, counted
    log.record();
    return ResolveEndpoint(endpoint);
  };
  TcpClient client(group, 0, "localhost:" + std::to_string(port), o);
  REQUIRE(client.start().ok());
  REQUIRE(Eventually([&] { return rec.message_count() == 1; }));
  server->shutdown();
  server.reset();
  REQUIRE(Eventually([&] { return rec.close_count() == 1; }));
  REQUIRE(Eventually([&] { return log.calls >= 3; }));  // refused attempts, each resolved
  sc.listen = host + ":" + std::to_string(port);
  server = std::make_unique<TcpServer>(sc, echo);
  REQUIRE(server->start().ok());
  REQUIRE(Eventually([&] { return rec.message_count() >= 2; }));
  CHECK(log.on_reactor == 0);
  CHECK(log.later_ones_off_this_thread());
  client.stop();
  const int after_stop = log.calls;
  test::SleepMs(60);
  CHECK(log.calls == after_stop);
}

}  // namespace
}  // namespace percore
