// `percore bench --client-pool`: what a ClientPool carries, as requests/s and p99 latency,
// against percore's own echo server, and the kit's loadgen (an independent epoll echo client
// in C) driving the same server with the same connections, size and depth, as a ratio.
//
// The server is `percore serve --app echo` (pinned to CPU 0): a pool frame is [u32 length]
// [u64 id][payload], and an echo server returns it whole, id included, which is exactly an
// answer. (The `framed` app's header is u16, not the pool's u32.) The pool runs on one
// reactor on CPU 1, closed loop: each answer sends the next request, so every connection
// keeps `depth` requests in flight (kLeastPending). Runs alternate pool, loadgen, pool, ...
// for `rounds` rounds per depth; the table shows medians and the median per-round ratio.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "net/client_pool.h"
#include "tools/commands.h"
#include "tools/latency_histogram.h"
#include "tools/proc_stats.h"
#include "tools/server_process.h"

namespace percore::tools {
namespace {

constexpr size_t kPoolHeader = 12;  // [u32 length][u64 id]

uint64_t NowNs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

void SleepS(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

struct Run {
  double rps = 0, p50_us = 0, p99_us = 0;
  uint64_t errors = 0;
  bool ok = false;
  std::string why;
};

// One closed-loop run over a started pool. Every answer is checked against its request.
class Loop {
 public:
  Loop(ClientPool& pool, size_t payload) : pool_(pool), payload_(payload, 'x') {
    for (size_t i = 0; i < payload; ++i) payload_[i] = static_cast<char>('a' + i % 26);
  }

  Run Measure(size_t requests, double warmup_s, double duration_s) {
    for (size_t i = 0; i < requests; ++i) Issue();
    SleepS(warmup_s);
    measuring_.store(true);
    const uint64_t t0 = NowNs();
    SleepS(duration_s);
    measuring_.store(false);
    const uint64_t t1 = NowNs();
    stop_.store(true);
    for (int i = 0; i < 10000 && outstanding_.load(std::memory_order_acquire) > 0; ++i) {
      SleepS(0.001);
    }
    Run r;
    if (outstanding_.load(std::memory_order_acquire) > 0) {
      r.why = "requests still outstanding 10 s after the run";
      return r;
    }
    // The answers ran on the pool's one reactor; the drained count orders them before us.
    r.rps = static_cast<double>(done_) / (static_cast<double>(t1 - t0) / 1e9);
    r.p50_us = hist_.quantile_us(0.50);
    r.p99_us = hist_.quantile_us(0.99);
    r.errors = errors_.load();
    r.ok = r.errors == 0 && done_ > 0;
    if (!r.ok) r.why = absl::StrCat(r.errors, " errors, ", done_, " answers");
    return r;
  }

 private:
  // Latency of one request in kSampleEvery: two clock reads per request cost more than the
  // pool's own work at depth 256, and loadgen reads the clock once per batch of answers.
  static constexpr uint64_t kSampleEvery = 8;

  void Issue() {
    outstanding_.fetch_add(1, std::memory_order_relaxed);
    const uint64_t t0 =
        issued_.fetch_add(1, std::memory_order_relaxed) % kSampleEvery == 0 ? NowNs() : 0;
    absl::Status s = pool_.call(payload_, [this, t0](ClientPool::Reply r) {
      if (!r.ok() || *r != payload_) {
        errors_.fetch_add(1, std::memory_order_relaxed);
      } else if (measuring_.load(std::memory_order_relaxed)) {
        if (t0 != 0) hist_.add(NowNs() - t0);
        ++done_;
      }
      if (!stop_.load(std::memory_order_relaxed) && r.ok()) Issue();
      outstanding_.fetch_sub(1, std::memory_order_release);
    });
    if (!s.ok()) {
      errors_.fetch_add(1, std::memory_order_relaxed);
      outstanding_.fetch_sub(1, std::memory_order_release);
    }
  }

  ClientPool& pool_;
  std::string payload_;
  std::atomic<bool> measuring_{false}, stop_{false};
  std::atomic<int64_t> outstanding_{0};
  std::atomic<uint64_t> errors_{0};
  LatencyHistogram hist_;            // the pool's reactor only
  uint64_t done_ = 0;                // the pool's reactor only
  std::atomic<uint64_t> issued_{0};  // the first calls run here while answers run there
};

// "key=value" out of loadgen's RESULT line.
double Field(const std::string& line, const std::string& key) {
  for (absl::string_view part : absl::StrSplit(line, ' ')) {
    if (absl::StartsWith(part, key + "=")) {
      double v = 0;
      if (absl::SimpleAtod(part.substr(key.size() + 1), &v)) return v;
    }
  }
  return -1;
}

Run RunLoadgen(const std::string& loadgen, uint16_t port, int conns, int size, int depth,
               double warmup_s, double duration_s) {
  // The child inherits this process's CPU (1); popen's shell passes no input of ours.
  std::string cmd = absl::StrFormat(
      "'%s' --port %d --conns %d --size %d --depth %d --duration %g --warmup %g 2>&1", loadgen,
      port, conns, size, depth, duration_s, warmup_s);
  Run r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) {
    r.why = "cannot run " + loadgen;
    return r;
  }
  std::string out, result;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  ::pclose(p);
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    if (absl::StartsWith(line, "RESULT ")) result = std::string(line);
  }
  if (result.empty()) {
    r.why = "loadgen printed no RESULT: " + out.substr(0, 200);
    return r;
  }
  r.rps = Field(result, "msgs_per_s");
  r.p50_us = Field(result, "p50_us");
  r.p99_us = Field(result, "p99_us");
  r.errors = static_cast<uint64_t>(std::max(0.0, Field(result, "errors")));
  r.ok = r.errors == 0 && r.rps > 0;
  if (!r.ok) r.why = result;
  return r;
}

}  // namespace

int ClientPoolBenchMain(int argc, char** argv) {
  CLI::App app(
      "percore bench --client-pool: ClientPool requests/s and p99 against percore's echo "
      "server, and the kit's loadgen against the same server as a ratio",
      "percore bench --client-pool");
  bool flag = false, no_pin = false;
  int port = 0, conns = 10, size = 64, rounds = 3;
  double duration = 3, warmup = 1;
  std::string depths = "1,16,256", backend = "epoll", loadgen = "/work/shared/kit/bin/loadgen";
  app.add_flag("--client-pool", flag, "this mode");
  app.add_option("--port", port, "drive a running echo server on 127.0.0.1:PORT (0: start one)");
  app.add_option("--backend", backend, "the started server's backend, and the pool's");
  app.add_option("--conns", conns, "pool connections (and loadgen's)")->check(CLI::Range(1, 1000));
  app.add_option("--size", size,
                 "bytes per request on the wire, the pool's 12-byte header "
                 "included (loadgen's message size)")
      ->check(CLI::Range(static_cast<int>(kPoolHeader), 65536));
  app.add_option("--depth", depths, "requests in flight per connection, comma separated");
  app.add_option("--duration", duration, "seconds measured per run");
  app.add_option("--warmup", warmup, "seconds before each measurement");
  app.add_option("--rounds", rounds, "pool/loadgen pairs per depth (medians)")
      ->check(CLI::Range(1, 100));
  app.add_option("--loadgen", loadgen, "the kit's loadgen binary; 'none': the pool only");
  app.add_flag("--no-pin", no_pin, "do not pin the server to CPU 0 and the load to CPU 1");
  CLI11_PARSE(app, argc, argv);
  std::vector<int> depth_list;
  for (absl::string_view d : absl::StrSplit(depths, ',', absl::SkipEmpty())) {
    int v = 0;
    if (!absl::SimpleAtoi(d, &v) || v <= 0) {
      std::fprintf(stderr, "--depth: '%s' is not a positive number\n", std::string(d).c_str());
      return 2;
    }
    depth_list.push_back(v);
  }
  const bool with_loadgen = loadgen != "none";
  if (with_loadgen && ::access(loadgen.c_str(), X_OK) != 0) {
    std::fprintf(stderr,
                 "no loadgen at %s (SKIP_APT=1 /work/shared/kit/build.sh, or --loadgen none)\n",
                 loadgen.c_str());
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  ServerProcess server;
  if (port == 0) {
    port = 10000 + ::getpid() % 20000;
    server = ServerProcess::Start({"percore", "serve", "--app", "echo", "--backend", backend,
                                   "--threads", "1", "--listen", absl::StrCat("127.0.0.1:", port)},
                                  true, static_cast<uint16_t>(port), !no_pin);
    std::string why;
    if (!server.WaitReady(&why)) {
      std::fprintf(stderr, "the echo server did not start: %s\n", why.c_str());
      return 1;
    }
  }
  if (!no_pin) Pin(0, 1);  // this process, the pool's reactor and loadgen on CPU 1

  Config config;
  config.threads = 1;
  if (absl::Status s = ParseBackend(backend, &config.backend); !s.ok()) {
    std::fprintf(stderr, "--backend: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  ClientPoolOptions o;
  o.endpoint = absl::StrCat("127.0.0.1:", port);
  o.connections = static_cast<size_t>(conns);
  o.pick = ClientPoolOptions::Pick::kLeastPending;
  o.request_timeout = absl::Seconds(10);
  o.max_in_flight = 0;
  ClientPool pool(config, o);
  if (absl::Status s = pool.start(); !s.ok()) {
    std::fprintf(stderr, "client pool: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  for (int i = 0; i < 5000 && pool.connected() < static_cast<size_t>(conns); ++i) SleepS(0.001);
  if (pool.connected() < static_cast<size_t>(conns)) {
    std::fprintf(stderr, "client pool: %zu of %d connections up\n", pool.connected(), conns);
    return 1;
  }

  std::printf(
      "ClientPool vs loadgen: percore serve --app echo --backend %s --threads 1 (CPU 0), load on "
      "CPU 1; %d connections, %d B per request, %d rounds of %g s (+%g s warm-up), medians\n",
      backend.c_str(), conns, size, rounds, duration, warmup);
  std::printf("%6s %12s %12s %14s %14s %8s\n", "depth", "pool req/s", "pool p99 us",
              "loadgen msg/s", "loadgen p99 us", "ratio");
  bool ok = true;
  for (int depth : depth_list) {
    std::vector<double> prps, pp99, lrps, lp99, ratio;
    std::string why;
    for (int round = 0; round < rounds; ++round) {
      Loop loop(pool, static_cast<size_t>(size) - kPoolHeader);
      Run p = loop.Measure(static_cast<size_t>(conns) * depth, warmup, duration);
      if (!p.ok) why = "pool: " + p.why;
      prps.push_back(p.rps);
      pp99.push_back(p.p99_us);
      if (with_loadgen) {
        Run l =
            RunLoadgen(loadgen, static_cast<uint16_t>(port), conns, size, depth, warmup, duration);
        if (!l.ok) why = "loadgen: " + l.why;
        lrps.push_back(l.rps);
        lp99.push_back(l.p99_us);
        if (l.rps > 0) ratio.push_back(p.rps / l.rps);
      }
    }
    const bool row_ok = why.empty();
    ok = ok && row_ok;
    const double lr = with_loadgen ? Median(lrps) : -1, lp = with_loadgen ? Median(lp99) : -1;
    const double ra = ratio.empty() ? -1 : Median(ratio);
    std::printf("%6d %12.0f %12.1f %14.0f %14.1f %8.2f%s\n", depth, Median(prps), Median(pp99), lr,
                lp, ra, row_ok ? "" : "  FAILED");
    std::printf(
        "CLIENT_POOL depth=%d conns=%d size=%d pool_rps=%.0f pool_p99_us=%.1f loadgen_rps=%.0f "
        "loadgen_p99_us=%.1f ratio=%.3f ok=%d\n",
        depth, conns, size, Median(prps), Median(pp99), lr, lp, ra, row_ok ? 1 : 0);
    if (!row_ok) std::fprintf(stderr, "depth %d: %s\n", depth, why.c_str());
    std::fflush(stdout);
  }
  ClientPool::Stats s = pool.stats();
  std::printf("pool totals: sent=%llu answered=%llu timed_out=%llu failed=%llu late=%llu\n",
              static_cast<unsigned long long>(s.sent), static_cast<unsigned long long>(s.answered),
              static_cast<unsigned long long>(s.timed_out),
              static_cast<unsigned long long>(s.failed_disconnect + s.no_connection),
              static_cast<unsigned long long>(s.late_replies));
  pool.shutdown();
  return ok ? 0 : 1;
}

}  // namespace percore::tools
