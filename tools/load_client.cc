#include "tools/load_client.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>

#include "absl/strings/str_format.h"
#include "tools/bench_protocol.h"
#include "tools/load_connect.h"
#include "tools/load_worker.h"

namespace percore::tools {
namespace {

absl::Status CheckOptions(const LoadOptions& opt) {
  if (opt.conns <= 0 || opt.depth <= 0 || opt.threads <= 0) {
    return absl::InvalidArgumentError("conns, depth and threads must be positive");
  }
  if (opt.rate < 0 || opt.connect_rate < 0 || opt.warmup_s < 0 || opt.duration_s <= 0) {
    return absl::InvalidArgumentError(
        "rate and connect rate must not be negative, the duration must be positive");
  }
  return CheckFdBudget(opt.conns);
}

// Waits for the workers, calling opt.on_second once a second with their merged live figures.
void WatchLive(const LoadOptions& opt, const LoadClock& clock,
               std::vector<std::unique_ptr<LoadWorker>>& workers, const std::atomic<int>& running) {
  uint64_t last = clock.start_ns;
  for (uint64_t tick = clock.start_ns + 1'000'000'000;; tick += 1'000'000'000) {
    // Workers publish every 100 ms: a little after the tick, the second is nearly all in.
    while (running.load() > 0 && MonotonicNs() < tick + 20'000'000) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (running.load() == 0) return;
    LatencyHistogram second;
    LiveSample s;
    for (auto& w : workers) {
      LoadWorker::Live live = w->Snapshot();
      second.merge(live.latency);
      s.errors += live.errors;
      s.open_conns += live.open_conns;
      s.msgs_per_s += static_cast<double>(live.msgs);
    }
    uint64_t now = MonotonicNs();
    s.elapsed_s = static_cast<double>(now - clock.start_ns) / 1e9;
    s.measuring = now >= clock.measure_ns;
    s.msgs_per_s /= static_cast<double>(now - last) / 1e9;
    s.p50_us = second.quantile_us(0.5);
    s.p99_us = second.quantile_us(0.99);
    last = now;
    opt.on_second(s);
  }
}

}  // namespace

absl::StatusOr<LoadResult> RunEchoLoad(const LoadOptions& opt) {
  if (absl::Status s = CheckOptions(opt); !s.ok()) return s;
  auto protocol = MakeBenchProtocol(opt);
  if (!protocol.ok()) return protocol.status();
  auto target = ResolveTarget(opt);
  if (!target.ok()) return target.status();

  const int n = std::min(opt.threads, opt.conns);
  std::vector<std::unique_ptr<LoadWorker>> workers;
  for (int i = 0; i < n; ++i) {
    workers.push_back(std::make_unique<LoadWorker>(opt, **protocol, *target, i, n));
  }
  LoadClock clock;
  clock.start_ns = MonotonicNs();
  clock.measure_ns = clock.start_ns + static_cast<uint64_t>(opt.warmup_s * 1e9);
  clock.end_ns = clock.measure_ns + static_cast<uint64_t>(opt.duration_s * 1e9);
  std::atomic<int> running{n};
  std::vector<std::thread> threads;
  for (auto& w : workers) {
    threads.emplace_back([&w, &clock, &running] {
      w->Run(clock);
      running.fetch_sub(1);
    });
  }
  if (opt.on_second) WatchLive(opt, clock, workers, running);
  for (auto& t : threads) t.join();

  LoadResult r;
  LatencyHistogram connect;
  uint64_t bytes = 0, first_error_ns = UINT64_MAX;
  for (auto& w : workers) {
    r.msgs += w->msgs();
    r.threads.push_back({w->connected(), w->msgs()});
    bytes += w->request_bytes();
    r.reconnects += w->reconnects();
    r.latency.merge(w->latency());
    connect.merge(w->connect_latency());
    for (const auto& [kind, count] : w->errors_by_kind()) {
      r.errors_by_kind[kind] += count;
      r.errors += count;
    }
    if (!w->first_error().empty() && w->first_error_ns() < first_error_ns) {
      first_error_ns = w->first_error_ns();
      r.first_error = w->first_error();
    }
  }
  r.seconds = opt.duration_s;
  r.msgs_per_s = static_cast<double>(r.msgs) / opt.duration_s;
  r.mb_per_s = static_cast<double>(bytes) / opt.duration_s / 1e6;
  r.p50_us = r.latency.quantile_us(0.5);
  r.p90_us = r.latency.quantile_us(0.9);
  r.p99_us = r.latency.quantile_us(0.99);
  r.p999_us = r.latency.quantile_us(0.999);
  r.max_us = r.latency.max_us();
  r.connect_p50_us = connect.quantile_us(0.5);
  r.connect_max_us = connect.max_us();
  return r;
}

absl::StatusOr<std::vector<Fd>> OpenIdle(const LoadOptions& opt, int n) {
  if (absl::Status s = CheckFdBudget(n); !s.ok()) return s;
  auto protocol = MakeBenchProtocol(opt);
  if (!protocol.ok()) return protocol.status();
  auto target = ResolveTarget(opt);
  if (!target.ok()) return target.status();
  // Blocking waits, bounded: send `out`, then read until `check` accepts the front of the input.
  auto exchange = [](int fd, const std::string& out, auto check) -> bool {
    if (::send(fd, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) {
      return false;
    }
    std::string in;
    char buf[4096];
    for (;;) {
      ReplyCheck r = check(std::string_view(in));
      if (r.kind != ReplyCheck::Kind::kNeedMore) return r.kind == ReplyCheck::Kind::kReply;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 5000) != 1) return false;
      ssize_t k = ::recv(fd, buf, sizeof buf, 0);
      if (k <= 0) return false;
      in.append(buf, static_cast<size_t>(k));
    }
  };
  const BenchProtocol& proto = **protocol;
  std::vector<Fd> fds;
  for (int i = 0; i < n; ++i) {
    bool in_progress = false;
    auto fd = StartConnect(*target, i, &in_progress);
    if (!fd.ok()) return fd.status();
    pollfd p{fd->get(), POLLOUT, 0};
    if (in_progress && (::poll(&p, 1, 5000) != 1 || ConnectError(fd->get()) != 0)) {
      return absl::UnavailableError(absl::StrFormat("idle connection %d did not connect", i));
    }
    const uint32_t c = static_cast<uint32_t>(i);
    std::string hello = proto.Hello(c), request;
    proto.AppendRequest(c, 0, request);
    if ((!hello.empty() &&
         !exchange(fd->get(), hello,
                   [&](std::string_view in) { return proto.CheckHello(c, in); })) ||
        !exchange(fd->get(), request,
                  [&](std::string_view in) { return proto.CheckReply(c, 0, in); })) {
      return absl::DataLossError(absl::StrFormat("idle connection %d did not answer", i));
    }
    fds.push_back(std::move(*fd));
  }
  return fds;
}

}  // namespace percore::tools
