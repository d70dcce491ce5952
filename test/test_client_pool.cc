// ClientPool against a percore test backend speaking [u32 len][u64 id][payload]: 10,000
// requests in flight at once answered in shuffled order and all matched, a request timeout
// and the late answer after it, pending requests failed when the connection drops, the
// in-flight limit (fail fast and a bounded queue) and the token-bucket rate (injected clock);
// every counter in the http app's /metrics after known traffic. A pool on a server's own
// reactors: a front server's handler calls the backend through it, each answer runs on the
// caller's reactor and reaches the right client; the front server's shutdown fails what is in
// flight and what is queued.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "net/client_pool.h"
#include "net/connection.h"
#include "net/tcp_server.h"
#include "protocol/length_field_codec.h"
#include "test/server_harness.h"
#include "tools/apps/http.h"

namespace percore {
namespace {

using test::Eventually;

// Answers "r:" + payload under the request's id. Requests whose payload starts with "hold"
// wait for release(); with `batch` > 0 every request waits until its connection holds
// `batch` of them, and they are answered shuffled. "kill" resets the connection.
struct Backend {
  struct Held {
    std::string id;  // the 8 id bytes, as received
    std::string payload;
  };
  struct ConnState {
    std::vector<Held> held;
  };
  LengthFieldCodec codec{Options()};
  size_t batch = 0;
  std::mutex mu;
  std::vector<ConnHandle> handles;
  std::atomic<size_t> held_total{0};

  static LengthFieldCodec::Options Options() {
    LengthFieldCodec::Options o;
    o.initial_bytes_to_strip = 4;
    return o;
  }
  void answer(Connection& c, const Held& h) {
    std::string reply = "r:" + h.payload;
    codec.encode(c, {std::string_view(h.id), std::string_view(reply)});
  }
  void flush(Connection& c) {
    auto& held = c.state<ConnState>().held;
    std::shuffle(held.begin(), held.end(), std::mt19937(7));
    for (const Held& h : held) answer(c, h);
    held_total -= held.size();
    held.clear();
  }
  void on_open(Connection& c) {
    std::lock_guard lock(mu);
    handles.push_back(c.handle());
  }
  void on_message(Connection& c, std::span<const char> m) {
    Held h{std::string(m.data(), 8), std::string(m.data() + 8, m.size() - 8)};
    if (h.payload == "kill") {
      c.close(CloseMode::kReset);
      return;
    }
    if (batch == 0 && h.payload.rfind("hold", 0) != 0) {
      answer(c, h);
      return;
    }
    c.state<ConnState>().held.push_back(std::move(h));
    ++held_total;
    if (batch != 0 && c.state<ConnState>().held.size() == batch) flush(c);
  }
  // Any thread: answers what every connection holds.
  void release() {
    std::lock_guard lock(mu);
    for (ConnHandle h : handles) {
      ConnHandle::Visit v = [this](Connection* c) {
        if (c != nullptr) flush(*c);
      };
      (void)h.run(v);
    }
  }
};

struct Fixture {
  explicit Fixture(size_t batch = 0) {
    backend.batch = batch;
    REQUIRE(server.start().ok());
  }
  ClientPoolOptions Options(size_t connections) {
    ClientPoolOptions o;
    o.endpoint = server.address().ToString();
    o.connections = connections;
    o.client.reconnect.initial = absl::Milliseconds(10);
    o.client.reconnect.max = absl::Milliseconds(50);
    return o;
  }
  Config PoolConfig() {
    Config c = test::TestConfig();
    c.threads = 1;
    return c;
  }
  Backend backend;
  TcpServer server{test::TestConfig(), backend};
};

// Records each callback's outcome.
struct Outcomes {
  std::mutex mu;
  std::vector<absl::StatusCode> codes;
  std::vector<std::string> replies;
  ClientPool::Callback Record() {
    return [this](ClientPool::Reply r) {
      std::lock_guard lock(mu);
      codes.push_back(r.status().code());
      replies.push_back(r.ok() ? *r : "");
    };
  }
  size_t size() {
    std::lock_guard lock(mu);
    return codes.size();
  }
  size_t count(absl::StatusCode c) {
    std::lock_guard lock(mu);
    return static_cast<size_t>(std::count(codes.begin(), codes.end(), c));
  }
};

TEST_CASE("pool: 10,000 requests in flight, answered shuffled, all matched", "[pool]") {
  constexpr int kRequests = 10000;
  Fixture f(/*batch=*/kRequests / 2);  // each connection answers once it holds all of its half
  ClientPoolOptions o = f.Options(2);
  o.max_in_flight = kRequests;
  o.request_timeout = absl::Seconds(30);
  ClientPool pool(f.PoolConfig(), o);
  REQUIRE(pool.start().ok());
  REQUIRE(Eventually([&] { return pool.connected() == 2; }));
  std::atomic<int> matched{0}, wrong{0};
  auto caller = [&](int from, int to) {
    for (int i = from; i < to; ++i) {
      std::string req = "q" + std::to_string(i);
      absl::Status s = pool.call(req, [&, want = "r:" + req](ClientPool::Reply r) {
        (r.ok() && *r == want ? matched : wrong)++;
      });
      if (!s.ok()) ++wrong;
    }
  };
  std::thread other(caller, 0, kRequests / 2);  // two calling threads
  caller(kRequests / 2, kRequests);
  other.join();
  REQUIRE(Eventually([&] { return matched + wrong == kRequests; }, 20000));
  CHECK(wrong == 0);
  CHECK(matched == kRequests);
  ClientPool::Stats s = pool.stats();
  CHECK(s.peak_in_flight == kRequests);
  CHECK(s.answered == kRequests);
  CHECK(s.late_replies == 0);
  CHECK(s.in_flight == 0);
}

TEST_CASE("pool: a request times out; its late answer is counted and dropped", "[pool]") {
  Fixture f;
  Outcomes out;  // outlives the pool: its shutdown fails what is pending
  ClientPoolOptions o = f.Options(1);
  o.request_timeout = absl::Milliseconds(100);
  ClientPool pool(f.PoolConfig(), o);
  REQUIRE(pool.start().ok());
  REQUIRE(Eventually([&] { return pool.connected() == 1; }));
  const uint64_t t0 = test::NowMs();
  REQUIRE(pool.call("hold", out.Record()).ok());
  REQUIRE(Eventually([&] { return out.size() == 1; }, 3000));
  const uint64_t took = test::NowMs() - t0;
  CHECK(took >= 90);
  CHECK(took < 2000);
  CHECK(out.codes[0] == absl::StatusCode::kDeadlineExceeded);
  f.backend.release();  // now the answer comes, too late
  REQUIRE(Eventually([&] { return pool.stats().late_replies == 1; }));
  REQUIRE(pool.call("after", out.Record()).ok());  // the connection still serves
  REQUIRE(Eventually([&] { return out.size() == 2; }));
  CHECK(out.replies[1] == "r:after");
  CHECK(pool.stats().timed_out == 1);
  CHECK(pool.stats().in_flight == 0);
}

TEST_CASE("pool: pending requests fail when the connection drops, then it reconnects", "[pool]") {
  Fixture f;
  Outcomes out;  // outlives the pool: its shutdown fails what is pending
  ClientPool pool(f.PoolConfig(), f.Options(1));
  REQUIRE(pool.start().ok());
  REQUIRE(Eventually([&] { return pool.connected() == 1; }));
  for (int i = 0; i < 5; ++i) REQUIRE(pool.call("hold" + std::to_string(i), out.Record()).ok());
  REQUIRE(Eventually([&] { return f.backend.held_total == 5; }));
  REQUIRE(pool.call("kill", out.Record()).ok());
  REQUIRE(Eventually([&] { return out.size() == 6; }));
  CHECK(out.count(absl::StatusCode::kUnavailable) == 6);
  CHECK(pool.stats().failed_disconnect == 6);
  CHECK(pool.stats().in_flight == 0);
  REQUIRE(Eventually([&] { return pool.connected() == 1; }));
  REQUIRE(pool.call("again", out.Record()).ok());
  REQUIRE(Eventually([&] { return out.size() == 7; }));
  CHECK(out.replies[6] == "r:again");
}

TEST_CASE("pool: the in-flight limit fails fast or queues, bounded", "[pool]") {
  Fixture f;
  Outcomes out;  // outlives the pool: its shutdown fails what is pending
  SECTION("fail fast") {
    ClientPoolOptions o = f.Options(2);
    o.max_in_flight = 4;
    ClientPool pool(f.PoolConfig(), o);
    REQUIRE(pool.start().ok());
    REQUIRE(Eventually([&] { return pool.connected() == 2; }));
    for (int i = 0; i < 4; ++i) REQUIRE(pool.call("hold", out.Record()).ok());
    absl::Status s = pool.call("hold", out.Record());
    CHECK(s.code() == absl::StatusCode::kResourceExhausted);
    CHECK(pool.stats().rejected_in_flight == 1);
    REQUIRE(Eventually([&] { return f.backend.held_total == 4; }));
    f.backend.release();
    REQUIRE(Eventually([&] { return out.size() == 4; }));
    CHECK(out.count(absl::StatusCode::kOk) == 4);
    REQUIRE(pool.call("hold", out.Record()).ok());  // room again
  }
  SECTION("bounded queue") {
    ClientPoolOptions o = f.Options(1);
    o.max_in_flight = 2;
    o.max_queued = 1;
    ClientPool pool(f.PoolConfig(), o);
    REQUIRE(pool.start().ok());
    REQUIRE(Eventually([&] { return pool.connected() == 1; }));
    REQUIRE(pool.call("hold1", out.Record()).ok());
    REQUIRE(pool.call("hold2", out.Record()).ok());
    REQUIRE(pool.call("hold3", out.Record()).ok());  // waits in the queue
    CHECK(pool.call("hold4", out.Record()).code() == absl::StatusCode::kResourceExhausted);
    REQUIRE(Eventually([&] { return f.backend.held_total == 2; }));
    test::SleepMs(50);
    CHECK(f.backend.held_total == 2);  // the queued one was not sent
    CHECK(pool.stats().queued == 1);
    f.backend.release();
    REQUIRE(Eventually([&] { return out.size() == 2 && f.backend.held_total == 1; }));
    f.backend.release();
    REQUIRE(Eventually([&] { return out.size() == 3; }));
    CHECK(out.count(absl::StatusCode::kOk) == 3);
    std::lock_guard lock(out.mu);
    CHECK(std::count(out.replies.begin(), out.replies.end(), "r:hold3") == 1);
  }
}

TEST_CASE("pool: the token bucket limits the call rate", "[pool]") {
  Fixture f;
  Outcomes out;  // outlives the pool: its shutdown fails what is pending
  std::atomic<uint64_t> now{1000};
  ClientPoolOptions o = f.Options(1);
  o.rate = 10;  // one token per 100 ms
  o.burst = 3;
  o.clock = [&] { return now.load(); };
  ClientPool pool(f.PoolConfig(), o);
  REQUIRE(pool.start().ok());
  REQUIRE(Eventually([&] { return pool.connected() == 1; }));
  for (int i = 0; i < 3; ++i) REQUIRE(pool.call("x", out.Record()).ok());
  CHECK(pool.call("x", out.Record()).code() == absl::StatusCode::kResourceExhausted);
  now += 99;
  CHECK(pool.call("x", out.Record()).code() == absl::StatusCode::kResourceExhausted);
  now += 1;
  CHECK(pool.call("x", out.Record()).ok());
  CHECK(pool.call("x", out.Record()).code() == absl::StatusCode::kResourceExhausted);
  now += 10000;  // a long pause saves no more than the burst
  for (int i = 0; i < 3; ++i) CHECK(pool.call("x", out.Record()).ok());
  CHECK(pool.call("x", out.Record()).code() == absl::StatusCode::kResourceExhausted);
  REQUIRE(Eventually([&] { return out.size() == 7; }));
  CHECK(out.count(absl::StatusCode::kOk) == 7);
  CHECK(pool.stats().rejected_rate == 4);
}

// A front server on two reactors whose handler forwards each [u32 len][body] to the backend
// through a pool on its own reactors and frames the answer back to the client that asked.
struct Front {
  LengthFieldCodec codec{Backend::Options()};
  ClientPool* pool = nullptr;
  std::atomic<int> answers{0}, wrong_reactor{0};
  std::mutex mu;
  std::vector<absl::StatusCode> codes;
  std::vector<std::string> messages;

  static std::string Frame(std::string_view body) {
    std::string out(4, '\0');
    for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(body.size() >> (8 * (3 - i)));
    return out.append(body);
  }
  void on_message(Connection& c, std::span<const char> m) {
    Reactor* caller = &c.reactor();
    absl::Status s =
        pool->call(std::string(m.data(), m.size()), [this, caller, h = c.handle()](auto r) {
          if (Reactor::current() != caller) ++wrong_reactor;  // a thread hop: local_first failed
          {
            std::lock_guard lock(mu);
            codes.push_back(r.status().code());
            messages.push_back(r.ok() ? "" : std::string(r.status().message()));
          }
          ++answers;
          (void)h.send(Frame(r.ok() ? *r : "error"));
        });
    if (!s.ok()) c.send(Frame("busy"));
  }
  size_t count(absl::StatusCode code) {
    std::lock_guard lock(mu);
    return static_cast<size_t>(std::count(codes.begin(), codes.end(), code));
  }
};

TEST_CASE("pool on a server's reactors: answers land on the caller's reactor", "[pool]") {
  Fixture f;  // the backend
  Front front;
  TcpServer server(test::TestConfig(), front);  // two reactors
  REQUIRE(server.start().ok());
  const size_t threads_before = test::ThreadCount();
  ClientPoolOptions o = f.Options(2);  // one connection on each of the server's reactors
  ClientPool pool(server, o);
  front.pool = &pool;
  REQUIRE(pool.start().ok());
  CHECK(test::ThreadCount() == threads_before);  // no thread of its own
  REQUIRE(Eventually([&] { return pool.connected() == 2; }));
  // Eight clients (spread over both reactors by the kernel), 50 round trips each.
  std::vector<Fd> clients;
  for (int i = 0; i < 8; ++i) clients.push_back(test::Connect(server.port()));
  for (int round = 0; round < 50; ++round) {
    for (size_t i = 0; i < clients.size(); ++i) {
      REQUIRE(test::SendAll(clients[i].get(), Front::Frame(absl::StrCat("c", i, "m", round))));
    }
    for (size_t i = 0; i < clients.size(); ++i) {
      const std::string want = Front::Frame(absl::StrCat("r:c", i, "m", round));
      REQUIRE(test::RecvExactly(clients[i].get(), want.size()) == want);
    }
  }
  CHECK(front.answers == 400);
  CHECK(front.wrong_reactor == 0);
  CHECK(pool.stats().answered == 400);
  // The pool's connections count in the server's own stats: 8 clients + 2 backend ones.
  CHECK(server.stats().open == 10);
}

TEST_CASE("pool on a server's reactors: the server's shutdown fails what is pending", "[pool]") {
  Fixture f;
  Front front;
  TcpServer server(test::TestConfig(), front);
  ClientPoolOptions o = f.Options(2);
  o.max_in_flight = 4;
  o.max_queued = 4;
  ClientPool pool(server, o);
  front.pool = &pool;
  REQUIRE(pool.start().ok());  // before the server's start: attached at once
  REQUIRE(server.start().ok());
  REQUIRE(Eventually([&] { return pool.connected() == 2; }));
  Fd client = test::Connect(server.port());
  for (int i = 0; i < 8; ++i) REQUIRE(test::SendAll(client.get(), Front::Frame("hold")));
  REQUIRE(Eventually([&] { return f.backend.held_total == 4 && pool.stats().queued == 4; }));
  server.shutdown();  // closes the pool's connections too: in flight fails, queued ones follow
  CHECK(front.answers == 8);
  CHECK(front.count(absl::StatusCode::kUnavailable) == 8);
  {
    std::lock_guard lock(front.mu);
    CHECK(std::count_if(front.messages.begin(), front.messages.end(), [](const std::string& m) {
            return m.find("closed (shutdown)") != std::string::npos;
          }) == 4);
  }
  CHECK(pool.stats().in_flight == 0);
  CHECK(pool.stats().queued == 0);
  CHECK(pool.connected() == 0);
  pool.shutdown();  // after the server: nothing left to do, and no hang
}

// Not in the test command (hidden tag): round trips through a front server whose pool is on
// its own reactors, local_first on and off, and through a pool on reactors of its own.
// Run: server_tests "[.bench]" (PERCORE_TEST_BACKEND picks the backend).
TEST_CASE("pool bench: local_first against any connection and a standalone pool", "[.bench]") {
  constexpr int kClients = 8, kRounds = 3000;
  enum class Mode { kLocalFirst, kAnyConnection, kStandalone };
  for (Mode mode : {Mode::kLocalFirst, Mode::kAnyConnection, Mode::kStandalone}) {
    Fixture f;
    Front front;
    TcpServer server(test::TestConfig(), front);
    REQUIRE(server.start().ok());
    ClientPoolOptions o = f.Options(2);
    o.local_first = mode == Mode::kLocalFirst;
    Config own = test::TestConfig();  // standalone: two reactor threads of its own
    std::unique_ptr<ClientPool> pool = mode == Mode::kStandalone
                                           ? std::make_unique<ClientPool>(own, o)
                                           : std::make_unique<ClientPool>(server, o);
    front.pool = pool.get();
    REQUIRE(pool->start().ok());
    REQUIRE(Eventually([&] { return pool->connected() == 2; }));
    const uint64_t t0 = test::NowMs();
    std::vector<std::thread> threads;
    std::atomic<int> bad{0};
    for (int i = 0; i < kClients; ++i) {
      threads.emplace_back([&, i] {
        Fd fd = test::Connect(server.port());
        for (int k = 0; k < kRounds; ++k) {
          const std::string body = absl::StrCat("c", i, "m", k);
          const std::string want = Front::Frame("r:" + body);
          if (!test::SendAll(fd.get(), Front::Frame(body)) ||
              test::RecvExactly(fd.get(), want.size()) != want) {
            ++bad;
            return;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    const uint64_t ms = std::max<uint64_t>(1, test::NowMs() - t0);
    CHECK(bad == 0);
    const char* name = mode == Mode::kLocalFirst      ? "server reactors, local_first"
                       : mode == Mode::kAnyConnection ? "server reactors, any connection"
                                                      : "standalone pool (2 more threads)";
    std::printf("%-34s %d round trips in %llu ms: %.0f/s; answers on another thread: %d\n", name,
                kClients * kRounds, static_cast<unsigned long long>(ms),
                kClients * kRounds * 1000.0 / static_cast<double>(ms), front.wrong_reactor.load());
    pool.reset();
  }
}

// GET /metrics from an http server on 127.0.0.1:port; the body's samples by their full name.
std::map<std::string, std::string> ScrapeMetrics(uint16_t port) {
  Fd fd = test::Connect(port);
  REQUIRE(test::SendAll(fd.get(), "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
  std::string reply = test::RecvAll(fd.get(), 5000);
  REQUIRE(reply.rfind("HTTP/1.1 200", 0) == 0);
  std::map<std::string, std::string> samples;
  std::istringstream lines(reply.substr(reply.find("\r\n\r\n") + 4));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    size_t sp = line.rfind(' ');
    samples[line.substr(0, sp)] = line.substr(sp + 1);
  }
  return samples;
}

TEST_CASE("pool: its counters reach the http app's /metrics", "[pool][metrics]") {
  Fixture f;
  Outcomes out;  // outlives the pool: its shutdown fails what is pending
  ClientPoolOptions o = f.Options(1);
  o.name = "store";
  o.request_timeout = absl::Milliseconds(500);
  o.max_in_flight = 2;
  o.max_queued = 1;
  o.rate = 1;  // the clock stands still: the burst is all there is
  o.burst = 8;
  o.clock = [] { return uint64_t{1000}; };
  Config pc = f.PoolConfig();
  pc.threads = 2;  // one connection: reactor 1 stays at zero
  ClientPool pool(pc, o);
  REQUIRE(pool.start().ok());
  REQUIRE(Eventually([&] { return pool.connected() == 1; }));

  MetricsRegistry registry;
  apps::HttpHandler http;
  TcpServer web(test::TestConfig(), http);
  http.set_stats_source([&web] { return web.stats(); });
  http.set_metrics_registry(&registry);
  REQUIRE(web.start().ok());
  MetricsRegistry::Registration exported = pool.export_metrics(registry);

  // Known traffic: 2 answered; 1 timed out, its answer late; 2 in flight, 1 queued, 1 refused
  // by the in-flight limit, then all 3 answered; 1 failed by its connection's drop; 1 refused
  // by the rate limit (8 tokens, 9 calls).
  REQUIRE(pool.call("a", out.Record()).ok());
  REQUIRE(pool.call("b", out.Record()).ok());
  REQUIRE(Eventually([&] { return out.size() == 2; }));
  REQUIRE(pool.call("hold", out.Record()).ok());
  REQUIRE(Eventually([&] { return out.size() == 3; }, 3000));
  f.backend.release();
  REQUIRE(Eventually([&] { return pool.stats().late_replies == 1; }));
  REQUIRE(pool.call("hold1", out.Record()).ok());
  REQUIRE(pool.call("hold2", out.Record()).ok());
  REQUIRE(pool.call("hold3", out.Record()).ok());
  CHECK(pool.call("hold4", out.Record()).code() == absl::StatusCode::kResourceExhausted);
  REQUIRE(Eventually([&] { return f.backend.held_total == 2; }));
  f.backend.release();
  REQUIRE(Eventually([&] { return out.size() == 5 && f.backend.held_total == 1; }));
  f.backend.release();
  REQUIRE(Eventually([&] { return out.size() == 6; }));
  REQUIRE(pool.call("kill", out.Record()).ok());
  REQUIRE(Eventually([&] { return out.size() == 7; }));
  CHECK(pool.call("x", out.Record()).code() == absl::StatusCode::kResourceExhausted);
  REQUIRE(Eventually([&] { return pool.connected() == 1; }));

  std::map<std::string, std::string> m = ScrapeMetrics(web.address().port());
  const std::map<std::string, std::string> want = {
      {"percore_client_pool_calls_total{pool=\"store\"}", "7"},
      {"percore_client_pool_sent_total{pool=\"store\"}", "7"},
      {"percore_client_pool_replies_total{pool=\"store\"}", "5"},
      {"percore_client_pool_timeouts_total{pool=\"store\"}", "1"},
      {"percore_client_pool_late_replies_dropped_total{pool=\"store\"}", "1"},
      {"percore_client_pool_failed_disconnect_total{pool=\"store\"}", "1"},
      {"percore_client_pool_failed_no_connection_total{pool=\"store\"}", "0"},
      {"percore_client_pool_refused_in_flight_total{pool=\"store\"}", "1"},
      {"percore_client_pool_refused_rate_total{pool=\"store\"}", "1"},
      {"percore_client_pool_queued_total{pool=\"store\"}", "1"},
      {"percore_client_pool_in_flight{pool=\"store\"}", "0"},
      {"percore_client_pool_queued{pool=\"store\"}", "0"},
      {"percore_client_pool_peak_in_flight{pool=\"store\"}", "2"},
      {"percore_client_pool_connected{pool=\"store\"}", "1"},
      {"percore_client_pool_connections{pool=\"store\"}", "1"},
      {"percore_client_pool_reactor_sent_total{pool=\"store\",reactor=\"0\"}", "7"},
      {"percore_client_pool_reactor_replies_total{pool=\"store\",reactor=\"0\"}", "5"},
      {"percore_client_pool_reactor_timeouts_total{pool=\"store\",reactor=\"0\"}", "1"},
      {"percore_client_pool_reactor_late_replies_dropped_total{pool=\"store\",reactor=\"0\"}", "1"},
      {"percore_client_pool_reactor_failed_disconnect_total{pool=\"store\",reactor=\"0\"}", "1"},
      {"percore_client_pool_reactor_connected{pool=\"store\",reactor=\"0\"}", "1"},
      {"percore_client_pool_reactor_sent_total{pool=\"store\",reactor=\"1\"}", "0"},
      {"percore_client_pool_reactor_connected{pool=\"store\",reactor=\"1\"}", "0"},
  };
  for (const auto& [name, value] : want) {
    INFO(name);
    CHECK(m[name] == value);
  }
  CHECK(m.count("percore_connections_accepted_total") ==
        1);  // the server's own snapshot comes first
  exported.reset();
  CHECK(ScrapeMetrics(web.address().port())
            .count("percore_client_pool_calls_total{pool=\"store\"}") == 0);
  web.shutdown();
}

// Strict Prometheus parsers reject a second "# TYPE" line for one name, and a family whose
// samples are split: two pools in one registry must share each family.
TEST_CASE("pool: two pools in one registry print each family once", "[pool][metrics]") {
  Fixture f;
  ClientPoolOptions oa = f.Options(1), ob = f.Options(1);
  oa.name = "a";
  ob.name = "b";
  ClientPool a(f.PoolConfig(), oa), b(f.PoolConfig(), ob);
  REQUIRE(a.start().ok());
  REQUIRE(b.start().ok());
  MetricsRegistry registry;
  MetricsRegistry::Registration ra = a.export_metrics(registry);
  MetricsRegistry::Registration rb = b.export_metrics(registry);
  const std::string text = registry.Render();

  std::map<std::string, int> type_lines;
  std::map<std::string, int> groups;  // runs of lines of one family: 1 each when together
  std::string last;
  int samples_a = 0, samples_b = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::string family;
    if (line.rfind("# TYPE ", 0) == 0) {
      family = line.substr(7, line.find(' ', 7) - 7);
      ++type_lines[family];
    } else {
      family = line.substr(0, line.find('{'));
      samples_a += line.find("pool=\"a\"") != std::string::npos;
      samples_b += line.find("pool=\"b\"") != std::string::npos;
    }
    if (family != last) ++groups[family];
    last = family;
  }
  CHECK(type_lines.size() == 21);  // 15 pool families, 6 per-reactor ones
  for (const auto& [family, n] : type_lines) {
    INFO(family);
    CHECK(n == 1);
    CHECK(groups[family] == 1);
  }
  CHECK(samples_a == 21);
  CHECK(samples_b == 21);
  CHECK(samples_a + samples_b + 21 == std::count(text.begin(), text.end(), '\n'));
}

}  // namespace
}  // namespace percore
