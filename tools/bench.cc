// `percore bench`: drives echo servers over loopback with the byte-checking load client and
// prints a side-by-side table. With --compare it starts one `percore serve` per backend, side
// by side (servers pinned to CPU 0, load to CPU 1), and alternates short runs between them
// (A B A B ...): on a noisy machine a ratio within one round is far steadier than two runs
// seconds apart. It reports per backend the median round, the median of the per-round ratios
// to the first backend, the server's CPU per message from /proc, and with --idle its RSS per
// idle connection; with --port it drives a running server.
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "reactor/config.h"
#include "tools/bench_fanout.h"
#include "tools/commands.h"
#include "tools/load_client.h"
#include "tools/proc_stats.h"
#include "tools/server_process.h"
#include "tools/syscall_counter.h"

namespace percore::tools {
namespace {

struct Row {
  std::string backend;
  int conns = 0, depth = 0;
  std::string unavailable;  // why the server did not start
  LoadResult r;
  double ratio = -1;  // median of the per-round ratios to the case's first backend; -1: none
  double server_us_per_msg = 0;
  double syscalls_per_msg = -1;  // -1: could not count here
  long idle_bytes_per_conn = -1;
  bool ok = false;
};

// "framed@epoll" -> {"framed", "epoll"}; "epoll" -> {"echo", "epoll"}.
std::pair<std::string, std::string> SplitContender(const std::string& entry) {
  size_t at = entry.find('@');
  if (at == std::string::npos) return {"echo", entry};
  return {entry.substr(0, at), entry.substr(at + 1)};
}

std::vector<int> ParseInts(const std::string& list, const char* what) {
  std::vector<int> out;
  for (absl::string_view part : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    int v = 0;
    if (!absl::SimpleAtoi(part, &v) || v <= 0) {
      throw CLI::ValidationError(what, absl::StrFormat("'%s' is not a positive number", part));
    }
    out.push_back(v);
  }
  return out;
}

void PrintTable(const std::vector<Row>& rows, size_t size, bool idle) {
  std::printf("\n%-9s %6s %5s %5s %12s %8s %9s %9s %9s %10s %8s %6s %6s%s\n", "backend", "conns",
              "size", "depth", "msgs/s", "MB/s", "p50 us", "p99 us", "p999 us", "srv us/msg",
              "sys/msg", "ratio", "errors", idle ? "  idle B/conn" : "");
  for (const Row& row : rows) {
    if (!row.unavailable.empty()) {
      std::printf("%-9s %6d %5zu %5d  unavailable: %s\n", row.backend.c_str(), row.conns, size,
                  row.depth, row.unavailable.c_str());
      continue;
    }
    std::string sys =
        row.syscalls_per_msg < 0 ? "-" : absl::StrFormat("%.3f", row.syscalls_per_msg);
    std::string ratio = row.ratio < 0 ? "-" : absl::StrFormat("%.2f", row.ratio);
    std::printf("%-9s %6d %5zu %5d %12.0f %8.1f %9.1f %9.1f %9.1f %10.2f %8s %6s %6llu",
                row.backend.c_str(), row.conns, size, row.depth, row.r.msgs_per_s, row.r.mb_per_s,
                row.r.p50_us, row.r.p99_us, row.r.p999_us, row.server_us_per_msg, sys.c_str(),
                ratio.c_str(), static_cast<unsigned long long>(row.r.errors));
    if (idle) std::printf("  %12ld", row.idle_bytes_per_conn);
    std::printf("\n");
  }
  for (const Row& row : rows) {
    if (!row.unavailable.empty()) continue;
    std::printf(
        "BENCH backend=%s conns=%d size=%zu depth=%d msgs_per_s=%.0f mb_per_s=%.2f p50_us=%.1f "
        "p99_us=%.1f p999_us=%.1f server_us_per_msg=%.3f syscalls_per_msg=%.3f ratio=%.3f "
        "errors=%llu idle_bytes_per_conn=%ld\n",
        row.backend.c_str(), row.conns, size, row.depth, row.r.msgs_per_s, row.r.mb_per_s,
        row.r.p50_us, row.r.p99_us, row.r.p999_us, row.server_us_per_msg, row.syscalls_per_msg,
        row.ratio, static_cast<unsigned long long>(row.r.errors), row.idle_bytes_per_conn);
  }
}

// One backend's rounds as one row: the median round's figures, medians of the per-message
// costs, the median per-round ratio to `base` (the case's first backend), errors summed.
Row Combine(const std::vector<Row>& runs, const std::vector<Row>& base) {
  std::vector<const Row*> by_rate;
  for (const Row& run : runs) by_rate.push_back(&run);
  std::sort(by_rate.begin(), by_rate.end(),
            [](const Row* a, const Row* b) { return a->r.msgs_per_s < b->r.msgs_per_s; });
  Row row = *by_rate[by_rate.size() / 2];
  std::vector<double> cpu, calls, ratios;
  row.ok = true;
  row.r.errors = 0;
  for (size_t k = 0; k < runs.size(); ++k) {
    cpu.push_back(runs[k].server_us_per_msg);
    calls.push_back(runs[k].syscalls_per_msg);
    if (k < base.size() && base[k].r.msgs_per_s > 0) {
      ratios.push_back(runs[k].r.msgs_per_s / base[k].r.msgs_per_s);
    }
    row.ok &= runs[k].ok;
    row.r.errors += runs[k].r.errors;
  }
  row.server_us_per_msg = Median(cpu);
  row.syscalls_per_msg = Median(calls);  // -1 in every round when not counted
  row.ratio = Median(ratios);
  return row;
}

}  // namespace

int BenchMain(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--fanout") return FanoutBenchMain(argc, argv);
    if (std::string_view(argv[i]) == "--client-pool") return ClientPoolBenchMain(argc, argv);
  }
  CLI::App app("percore bench: byte-checked echo load over loopback", "percore bench");
  LoadOptions opt;
  int port = 0;
  std::string compare = "epoll,io_uring", conns_list = "50", depth_list = "32";
  int server_threads = 1, idle = 0, rounds = 5;
  opt.warmup_s = 0.3;  // per round: the servers stay up, so only the connections warm up
  opt.duration_s = 1;
  bool no_pin = false;
  app.add_option("--port", port, "drive a running server instead of starting ones")
      ->check(CLI::Range(1, 65535));
  app.add_option("--host", opt.host, "server address for --port")->capture_default_str();
  app.add_option("--compare", compare,
                 "servers to start and compare: BACKEND or APP@BACKEND (app: echo, framed, ...)")
      ->capture_default_str();
  app.add_option("--frame-header", opt.frame_header,
                 "2: every message is [u16 length][body] (for --compare framed@BACKEND)")
      ->check(CLI::IsMember({0, 2}))
      ->capture_default_str();
  app.add_option("--conns", conns_list, "connections (a comma list runs each)")
      ->capture_default_str();
  app.add_option("--depth", depth_list, "messages in flight per connection (comma list)")
      ->capture_default_str();
  app.add_option("--size", opt.size, "message bytes")->capture_default_str();
  app.add_option("--duration", opt.duration_s, "measured seconds (per round with --compare)")
      ->capture_default_str();
  app.add_option("--warmup", opt.warmup_s, "unmeasured seconds first (per round)")
      ->capture_default_str();
  app.add_option("--rounds", rounds, "alternating rounds per backend (--compare); medians")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--client-threads", opt.threads, "load threads")->capture_default_str();
  app.add_option("--server-threads", server_threads, "reactors per server")->capture_default_str();
  app.add_option("--spread", opt.spread, "source addresses 127.0.0.1..N")->capture_default_str();
  app.add_option("--idle", idle,
                 "also measure server RSS per idle connection with N conns (0 = off)")
      ->capture_default_str();
  bool fanout = false;  // handled above; listed so that --help names the mode
  app.add_flag("--fanout", fanout,
               "one message to many members instead (chat app vs redis-server): "
               "percore bench --fanout --help");
  app.add_flag("--no-pin", no_pin, "do not pin server to CPU 0 and load to CPU 1");
  std::vector<int> conns, depths;
  try {
    app.parse(argc, argv);
    conns = ParseInts(conns_list, "--conns");
    depths = ParseInts(depth_list, "--depth");
    for (absl::string_view entry : absl::StrSplit(compare, ',', absl::SkipEmpty())) {
      std::string b = SplitContender(std::string(entry.data(), entry.size())).second;
      BackendKind kind;
      if (absl::Status st = ParseBackend(b, &kind); !st.ok()) {
        throw CLI::ValidationError("--compare", std::string(st.message()));
      }
    }
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  std::vector<Row> rows;
  bool all_ok = true, warned_syscalls = false;
  if (port > 0) {  // one row per case against the given server
    // One run per case, not rounds: keep the longer single-run defaults unless given.
    if (app.count("--warmup") == 0) opt.warmup_s = 1;
    if (app.count("--duration") == 0) opt.duration_s = 3;
    opt.port = static_cast<uint16_t>(port);
    for (int c : conns) {
      for (int d : depths) {
        opt.conns = c;
        opt.depth = d;
        Row row;
        row.backend = "external";
        row.conns = c;
        row.depth = d;
        auto r = RunEchoLoad(opt);
        if (!r.ok()) {
          row.unavailable = std::string(r.status().message());
          all_ok = false;
        } else {
          row.r = *r;
          all_ok &= r->errors == 0 && r->msgs > 0;
        }
        rows.push_back(row);
      }
    }
    PrintTable(rows, opt.size, false);
    return all_ok ? 0 : 1;
  }

  std::vector<std::string> backends = absl::StrSplit(compare, ',', absl::SkipEmpty());
  if (!no_pin) Pin(0, 1);  // this process (and the load threads it starts) on CPU 1
  // Below the usual ephemeral range (32768+), where the load's own sockets would collide.
  uint16_t next_port = static_cast<uint16_t>(10000 + ::getpid() % 20000);
  for (int c : conns) {
    for (int d : depths) {
      opt.conns = c;
      opt.depth = d;
      // Every backend's server runs side by side; each is idle while another is driven.
      struct Contender {
        std::string backend;
        ServerProcess srv;
        uint16_t port = 0;
        std::optional<SyscallCounter> calls;
        std::string unavailable;
        std::vector<Row> runs;
      };
      std::vector<Contender> cs;
      for (const std::string& b : backends) {
        Contender& k = cs.emplace_back();
        k.backend = b;
        k.port = next_port++;
        auto [app_name, backend] = SplitContender(b);
        k.srv = ServerProcess::Start(
            {"percore", "serve", "--app", app_name, "--backend", backend, "--threads",
             std::to_string(server_threads), "--listen", absl::StrFormat("127.0.0.1:%d", k.port)},
            true, k.port, !no_pin);
        if (!k.srv.WaitReady(&k.unavailable)) {
          k.srv.Stop();
          std::fprintf(stderr, "%s: unavailable: %s\n", b.c_str(), k.unavailable.c_str());
          continue;
        }
        std::string no_count;
        k.calls = SyscallCounter::Open(k.srv.pid(), &no_count);
        if (!k.calls && !warned_syscalls) {
          std::fprintf(stderr, "bench: no syscall counts: %s\n", no_count.c_str());
          warned_syscalls = true;
        }
      }
      for (int round = 0; round < rounds; ++round) {
        for (Contender& k : cs) {
          if (!k.unavailable.empty()) continue;
          Row row;
          row.backend = k.backend;
          row.conns = c;
          row.depth = d;
          LoadOptions o = opt;
          o.port = k.port;
          double cpu0 = CpuUs(k.srv.pid());
          uint64_t calls0 = k.calls ? k.calls->read() : 0;
          auto r = RunEchoLoad(o);
          double cpu1 = CpuUs(k.srv.pid());
          uint64_t calls1 = k.calls ? k.calls->read() : 0;
          if (!r.ok()) {
            k.unavailable = std::string(r.status().message());
            all_ok = false;
            continue;
          }
          row.r = *r;
          // CPU over warm-up + measured window, per message of the measured window scaled up.
          double share = o.duration_s / (o.warmup_s + o.duration_s);
          row.server_us_per_msg =
              r->msgs ? (cpu1 - cpu0) * share / static_cast<double>(r->msgs) : 0;
          if (k.calls && r->msgs) {
            row.syscalls_per_msg =
                static_cast<double>(calls1 - calls0) * share / static_cast<double>(r->msgs);
          }
          row.ok = r->errors == 0 && r->msgs > 0;
          if (!row.ok) {
            std::fprintf(stderr, "%s: %llu errors (%s), %llu msgs\n", k.backend.c_str(),
                         static_cast<unsigned long long>(r->errors), r->first_error.c_str(),
                         static_cast<unsigned long long>(r->msgs));
          }
          k.runs.push_back(row);
        }
      }
      const std::vector<Row>* base = nullptr;
      for (Contender& k : cs) {
        if (!k.unavailable.empty() || k.runs.empty()) {  // counted as failed where it failed
          Row row;
          row.backend = k.backend;
          row.conns = c;
          row.depth = d;
          row.unavailable = k.unavailable.empty() ? "no run completed" : k.unavailable;
          if (k.srv.pid() > 0) k.srv.Stop();
          rows.push_back(row);
          continue;
        }
        if (base == nullptr) base = &k.runs;
        Row row = Combine(k.runs, *base);
        if (idle > 0 && row.ok) {
          LoadOptions o = opt;
          o.port = k.port;
          long before = RssKb(k.srv.pid());
          auto held = OpenIdle(o, idle);
          ::usleep(500'000);
          long after = RssKb(k.srv.pid());
          if (held.ok()) row.idle_bytes_per_conn = (after - before) * 1024 / idle;
        }
        if (!k.srv.Stop()) {
          std::fprintf(stderr, "%s: server did not exit cleanly\n", k.backend.c_str());
          row.ok = false;
        }
        all_ok &= row.ok;
        rows.push_back(row);
      }
    }
  }
  PrintTable(rows, opt.size, idle > 0);
  return all_ok ? 0 : 1;
}

}  // namespace percore::tools
