// WorkerPool and Offload, once per backend: jobs run once each, a full pool answers at once
// and hands the job back, destruction runs what was queued; a connection's blocking job runs
// on a worker while its reactor keeps answering the others, and its result comes back to it,
// or is dropped and counted when it closed meanwhile.
#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>
#include <string>

#include "net/offload.h"
#include "net/tcp_server.h"
#include "pool/worker_pool.h"
#include "test/server_harness.h"

namespace percore {
namespace {

// Holds workers until opened: the "blocking call" whose length the test decides.
class Gate {
 public:
  void wait() {
    std::unique_lock<std::mutex> lock(mu_);
    ++waiting_;
    cv_.wait(lock, [this] { return open_; });
    --waiting_;
  }
  void open() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  int waiting() {
    std::lock_guard<std::mutex> lock(mu_);
    return waiting_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int waiting_ = 0;
};

// "slow": a job that waits at the gate, then answers "done\n" (or "busy\n" when the pool is
// full); anything else is echoed by the reactor at once.
struct Offloader {
  WorkerPool* pool;
  Gate* gate;
  size_t on_data(Connection& c, std::span<const char> in) {
    if (std::string_view(in.data(), in.size()) != "slow") {
      c.send(in);
      return in.size();
    }
    absl::Status s = Offload(
        *pool, c,
        [g = gate] {
          g->wait();
          return std::string("done\n");
        },
        [](Connection& c, std::string answer) { c.send(answer); });
    if (!s.ok()) c.send(std::string_view("busy\n"));
    return in.size();
  }
};

}  // namespace

TEST_CASE("worker pool: each job once; full answers at once and keeps the job", "[offload]") {
  Gate gate;
  std::atomic<int> ran{0};
  {
    WorkerPool pool({.threads = 2, .queue_cap = 3});
    for (int i = 0; i < 2; ++i) {
      REQUIRE(pool.submit([&] {
                    gate.wait();
                    ++ran;
                  })
                  .ok());
    }
    REQUIRE(test::Eventually([&] { return gate.waiting() == 2; }));  // both workers held
    for (int i = 0; i < 3; ++i) REQUIRE(pool.submit([&] { ++ran; }).ok());
    WorkerPool::Job extra = [&] { ran += 100; };
    absl::Status full = pool.submit(extra);
    CHECK(full.code() == absl::StatusCode::kResourceExhausted);
    REQUIRE(extra);  // handed back: the caller still owns it
    std::move(extra)();
    WorkerPool::Counts n = pool.counts();
    CHECK(n.submitted == 5);
    CHECK(n.rejected == 1);
    CHECK(n.queued == 3);
    CHECK(n.running == 2);
    gate.open();
    // Destroyed with jobs possibly still queued: they run before the threads are joined.
  }
  CHECK(ran == 105);
}

TEST_CASE("offload: the reactor keeps answering while a job blocks; the result comes home",
          "[offload]") {
  Gate gate;
  WorkerPool pool({.threads = 1, .queue_cap = 1});
  Offloader h{&pool, &gate};
  Config cfg = test::TestConfig();
  cfg.threads = 1;  // every connection on the reactor whose job blocks
  TcpServer server(cfg, h);
  // Whatever fails below, the gate opens before the server is torn down: a worker (or, with a
  // bug, the reactor) held at it would hang the teardown.
  struct Opener {
    Gate& g;
    ~Opener() { g.open(); }
  } opener{gate};
  REQUIRE(server.start().ok());
  Fd slow = test::Connect(server.port());
  Fd queued = test::Connect(server.port());
  Fd refused = test::Connect(server.port());
  Fd other = test::Connect(server.port());
  REQUIRE(test::SendAll(slow.get(), "slow"));
  REQUIRE(test::Eventually([&] { return gate.waiting() == 1; }));
  REQUIRE(test::SendAll(queued.get(), "slow"));  // waits in the pool's queue (cap 1)
  REQUIRE(test::Eventually([&] { return pool.counts().queued == 1; }));
  REQUIRE(test::SendAll(refused.get(), "slow"));
  CHECK(test::RecvExactly(refused.get(), 5) == "busy\n");
  // The worker is blocked; the reactor is not: 50 round trips with the job still held.
  uint64_t worst_ms = 0;
  for (int i = 0; i < 50; ++i) {
    const uint64_t t0 = test::NowMs();
    REQUIRE(test::SendAll(other.get(), "ping"));
    REQUIRE(test::RecvExactly(other.get(), 4) == "ping");
    worst_ms = std::max(worst_ms, test::NowMs() - t0);
  }
  CHECK(gate.waiting() == 1);
  WARN("slowest echo while a job blocked the worker: " << worst_ms << " ms");
  // `queued` closes before its job runs: its result is dropped and counted.
  queued.reset();
  REQUIRE(test::Eventually([&] { return server.stats().open == 3; }));
  gate.open();
  CHECK(test::RecvExactly(slow.get(), 5) == "done\n");
  CHECK(test::Eventually([&] { return server.stats().offload_dropped == 1; }));
  CHECK(test::Eventually([&] { return pool.counts().done == 2; }));
  server.shutdown();
}

}  // namespace percore
