// `percore bench`: drives echo servers over loopback with the byte-checking load client and
// tells a user which one to pick. With no --conns/--depth/--cases it runs the sweep that
// choice needs (50 and 1,000 connections at depth 1 and 32, then idle memory at 10,000
// connections) in about 30 s and prints one verdict line per case. Every --compare entry's
// server runs side by side (servers pinned to CPU 0, load to CPU 1) and short runs alternate
// between them (A B A B ...): on a noisy machine a ratio within one round is far steadier than
// two runs seconds apart. Rows are median rounds, ratios medians of per-round ratios to the
// first entry, server CPU per message from /proc; with --port it drives one running server.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tools/bench_contenders.h"
#include "tools/bench_fanout.h"
#include "tools/bench_live.h"
#include "tools/bench_plot.h"
#include "tools/bench_report.h"
#include "tools/commands.h"
#include "tools/load_client.h"
#include "tools/load_flags.h"
#include "tools/proc_stats.h"
#include "tools/syscall_counter.h"

namespace percore::tools {
namespace {

// The README's main job: what a user needs to choose a backend.
constexpr char kSweepCases[] = "50x1,50x32,1000x1,1000x32";
constexpr int kSweepIdleConns = 10000;

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

// "50x1,1000x32" -> {{50, 1}, {1000, 32}}.
std::vector<std::pair<int, int>> ParseCases(const std::string& list) {
  std::vector<std::pair<int, int>> out;
  for (absl::string_view part : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    std::vector<absl::string_view> cd = absl::StrSplit(part, 'x');
    int c = 0, d = 0;
    if (cd.size() != 2 || !absl::SimpleAtoi(cd[0], &c) || !absl::SimpleAtoi(cd[1], &d) || c <= 0 ||
        d <= 0) {
      throw CLI::ValidationError(
          "--cases", absl::StrFormat("'%s' is not CONNSxDEPTH (e.g. 50x1,1000x32)", part));
    }
    out.emplace_back(c, d);
  }
  if (out.empty()) throw CLI::ValidationError("--cases", "no case given (e.g. 50x1,1000x32)");
  return out;
}

// Combines one server's rounds: the median round's figures, medians of the per-message costs,
// the median per-round ratio to `base` (the case's first server), errors summed, every round's
// latency in one histogram.
BenchRow Combine(const std::vector<BenchRow>& runs, const std::vector<BenchRow>* base) {
  std::vector<const BenchRow*> by_rate;
  for (const BenchRow& run : runs) by_rate.push_back(&run);
  std::sort(by_rate.begin(), by_rate.end(),
            [](const BenchRow* a, const BenchRow* b) { return a->r.msgs_per_s < b->r.msgs_per_s; });
  BenchRow row = *by_rate[by_rate.size() / 2];
  row.rounds = static_cast<int>(runs.size());
  std::vector<double> cpu, calls, ratios;
  row.ok = true;
  row.r.errors = 0;
  row.r.errors_by_kind.clear();
  row.r.latency.clear();
  for (size_t k = 0; k < runs.size(); ++k) {
    cpu.push_back(runs[k].server_us_per_msg);
    calls.push_back(runs[k].syscalls_per_msg);
    if (base != nullptr && k < base->size() && (*base)[k].r.msgs_per_s > 0) {
      ratios.push_back(runs[k].r.msgs_per_s / (*base)[k].r.msgs_per_s);
    }
    row.ok &= runs[k].ok;
    row.r.errors += runs[k].r.errors;
    for (const auto& [kind, n] : runs[k].r.errors_by_kind) row.r.errors_by_kind[kind] += n;
    if (row.r.first_error.empty()) row.r.first_error = runs[k].r.first_error;
    row.r.latency.merge(runs[k].r.latency);
  }
  row.round_us_per_msg = cpu;
  row.server_us_per_msg = Median(cpu);  // -1 in every round when not measured
  row.syscalls_per_msg = Median(calls);
  row.ratio = ratios.empty() ? -1 : Median(ratios);
  return row;
}

struct Settings {
  std::vector<ContenderSpec> contenders;
  LoadOptions opt;
  int rounds = 0, server_threads = 1;
  bool pin = true;
};

using Clock = std::chrono::steady_clock;

class Bench {
 public:
  Bench(Settings s, LiveLine& live) : s_(std::move(s)), live_(live), start_(Clock::now()) {}

  BenchCase RunLoadCase(int conns, int depth, const std::string& step);
  BenchCase RunIdleCase(int conns, const std::string& step);

 private:
  struct Up {
    std::optional<LiveContender> c;
    std::optional<SyscallCounter> calls;
    std::string unavailable;
    std::vector<BenchRow> runs;
  };
  BenchRow Unavailable(const ContenderSpec& spec, std::string why) {
    BenchRow row;
    row.server = spec.name;
    row.kind = spec.kind_name();
    row.unavailable = std::move(why);
    return row;
  }
  double Elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }
  void Progress(const std::string& text) {
    live_.end();
    std::fprintf(stderr, "bench [%3.0f s] %s\n", Elapsed(), text.c_str());
  }

  Settings s_;
  LiveLine& live_;
  Clock::time_point start_;
  bool warned_syscalls_ = false;
};

BenchCase Bench::RunLoadCase(int conns, int depth, const std::string& step) {
  BenchCase bc;
  bc.conns = conns;
  bc.depth = depth;
  bc.size = s_.opt.size;
  LoadOptions opt = s_.opt;
  opt.conns = conns;
  opt.depth = depth;
  // Every server runs side by side; each is idle while another is driven.
  std::vector<Up> ups(s_.contenders.size());
  for (size_t i = 0; i < ups.size(); ++i) {
    auto c = StartContender(s_.contenders[i], s_.server_threads, s_.pin);
    if (!c.ok()) {
      ups[i].unavailable = std::string(c.status().message());
      std::fprintf(stderr, "%s: unavailable: %s\n", s_.contenders[i].name.c_str(),
                   ups[i].unavailable.c_str());
      continue;
    }
    ups[i].c = *std::move(c);
    if (ups[i].c->pid() <= 0) continue;
    std::string no_count;
    ups[i].calls = SyscallCounter::Open(ups[i].c->pid(), &no_count);
    if (!ups[i].calls && !warned_syscalls_) {
      std::fprintf(stderr, "bench: no syscall counts: %s\n", no_count.c_str());
      warned_syscalls_ = true;
    }
  }
  for (int round = 0; round < s_.rounds; ++round) {
    std::vector<std::string> rates;
    for (Up& u : ups) {
      if (!u.unavailable.empty()) continue;
      const ContenderSpec& spec = u.c->spec;
      BenchRow row;
      row.server = spec.name;
      row.kind = spec.kind_name();
      LoadOptions o = opt;
      o.host = u.c->host;
      o.port = u.c->port;
      o.on_second = live_.for_run(
          absl::StrFormat("%s %s round %d/%d:", bc.title(), spec.name, round + 1, s_.rounds));
      pid_t pid = u.c->pid();
      double cpu0 = pid > 0 ? CpuUs(pid) : 0;
      uint64_t calls0 = u.calls ? u.calls->read() : 0;
      auto r = RunEchoLoad(o);
      double cpu1 = pid > 0 ? CpuUs(pid) : 0;
      uint64_t calls1 = u.calls ? u.calls->read() : 0;
      live_.end();
      if (!r.ok()) {
        u.unavailable = std::string(r.status().message());
        rates.push_back(absl::StrFormat("%s failed: %s", spec.name, u.unavailable));
        continue;
      }
      row.r = *std::move(r);
      // CPU over warm-up + measured window, per message of the measured window scaled up.
      double share = o.duration_s / (o.warmup_s + o.duration_s);
      double msgs = static_cast<double>(row.r.msgs);
      if (pid > 0) row.server_us_per_msg = row.r.msgs ? (cpu1 - cpu0) * share / msgs : 0;
      if (u.calls && row.r.msgs) row.syscalls_per_msg = (calls1 - calls0) * share / msgs;
      row.ok = row.r.errors == 0 && row.r.msgs > 0;
      rates.push_back(absl::StrFormat(
          "%s %s msgs/s%s", spec.name, FormatNumber(row.r.msgs_per_s, 0, true),
          row.r.errors ? absl::StrFormat(" (%d errors)", row.r.errors) : std::string()));
      u.runs.push_back(std::move(row));
    }
    if (rates.empty()) break;  // no server left to drive
    Progress(absl::StrFormat("%s %s, round %d/%d: %s", step, bc.title(), round + 1, s_.rounds,
                             absl::StrJoin(rates, ", ")));
  }
  const std::vector<BenchRow>* base = nullptr;
  for (size_t i = 0; i < ups.size(); ++i) {
    Up& u = ups[i];
    if (!u.unavailable.empty() || u.runs.empty()) {  // counted as failed where it failed
      if (u.c) StopContender(*u.c);
      bc.rows.push_back(Unavailable(s_.contenders[i],
                                    u.unavailable.empty() ? "no run completed" : u.unavailable));
      continue;
    }
    if (base == nullptr) base = &u.runs;
    BenchRow row = Combine(u.runs, base);
    if (!StopContender(*u.c)) {
      std::fprintf(stderr, "%s: server did not exit cleanly\n", row.server.c_str());
      row.ok = false;
    }
    bc.rows.push_back(std::move(row));
  }
  return bc;
}

BenchCase Bench::RunIdleCase(int conns, const std::string& step) {
  BenchCase bc;
  bc.idle = true;
  bc.conns = conns;
  bc.size = s_.opt.size;
  // One server at a time: each holds `conns` sockets, and so does this process.
  for (const ContenderSpec& spec : s_.contenders) {
    auto c = StartContender(spec, s_.server_threads, s_.pin);
    if (!c.ok()) {
      bc.rows.push_back(Unavailable(spec, std::string(c.status().message())));
      continue;
    }
    BenchRow row;
    row.server = spec.name;
    row.kind = spec.kind_name();
    LoadOptions o = s_.opt;
    o.host = c->host;
    o.port = c->port;
    pid_t pid = c->pid();
    long before = pid > 0 ? RssKb(pid) : 0;
    auto held = OpenIdle(o, conns);
    if (!held.ok()) {
      row.unavailable = std::string(held.status().message());
    } else {
      ::usleep(500'000);  // let the server finish accepting and settle its buffers
      if (pid > 0) row.idle_bytes_per_conn = (RssKb(pid) - before) * 1024 / conns;
      row.ok = true;
    }
    held = absl::UnknownError("closed");  // close the connections before stopping the server
    if (!StopContender(*c)) {
      std::fprintf(stderr, "%s: server did not exit cleanly\n", spec.name.c_str());
      row.ok = false;
    }
    Progress(absl::StrFormat(
        "%s %s: %s %s", step, bc.title(), spec.name,
        !row.unavailable.empty() ? "failed: " + row.unavailable
        : row.idle_bytes_per_conn < 0
            ? std::string("held (no RSS for a running server)")
            : FormatNumber(static_cast<double>(row.idle_bytes_per_conn), 0, true) + " B/conn"));
    bc.rows.push_back(std::move(row));
  }
  return bc;
}

}  // namespace

int BenchMain(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--fanout") return FanoutBenchMain(argc, argv);
    if (std::string_view(argv[i]) == "--client-pool") return ClientPoolBenchMain(argc, argv);
  }
  CLI::App app(
      "percore bench: byte-checked echo load over loopback. With no --conns/--depth/--cases: the "
      "sweep a user needs to choose a backend (cases " +
          std::string(kSweepCases) + " as CONNSxDEPTH, then idle memory at " +
          FormatNumber(kSweepIdleConns, 0, true) +
          " connections), about 30 s for two servers, one verdict line per case.",
      "percore bench");
  Settings s;
  LoadOptions& opt = s.opt;
  int port = 0;
  std::string compare = "epoll,io_uring", conns_list = "50", depth_list = "32", cases_list;
  int idle = 0;
  s.rounds = 5;
  opt.warmup_s = 0.3;  // per round: the servers stay up, so only the connections warm up
  opt.duration_s = 1;
  bool no_pin = false, json = false, csv = false, live_flag = false, dry_run = false;
  std::string hdr_out, plot;
  app.add_option("--port", port, "drive a running server at --host:PORT instead of starting ones")
      ->check(CLI::Range(1, 65535));
  app.add_option("--host", opt.host, "server address for --port")->capture_default_str();
  app.add_option("--compare", compare,
                 std::string("servers to compare, comma separated, ratios to the first; each "
                             "entry is ") +
                     kContenderForms)
      ->capture_default_str();
  app.add_option(
      "--cases", cases_list,
      std::string("cases as CONNSxDEPTH, comma separated, run as the sweep runs its own (") +
          kSweepCases + ")");
  app.add_option("--conns", conns_list, "connections (a comma list runs each)")
      ->capture_default_str();
  app.add_option("--depth", depth_list, "messages in flight per connection (comma list)")
      ->capture_default_str();
  app.add_option("--size", opt.size, "message bytes")->capture_default_str();
  app.add_option("--duration", opt.duration_s,
                 "measured seconds per round; default 0.8 for the sweep and --cases, 1 for "
                 "--conns/--depth, 3 for --port");
  app.add_option("--warmup", opt.warmup_s,
                 "unmeasured seconds first, per round; default 0.2 for the sweep and --cases, 0.3 "
                 "for --conns/--depth, 1 for --port");
  app.add_option("--rounds", s.rounds,
                 "alternating rounds per server, medians; default 3 for the sweep and --cases, 5 "
                 "for --conns/--depth, 1 for --port")
      ->check(CLI::Range(1, 1000));
  // The load engine's own flags: --protocol, --target, --rate, --client-threads, ...
  AddLoadFlags(app, opt);
  app.add_option("--server-threads", s.server_threads, "reactors per server")
      ->capture_default_str();
  app.add_option("--idle", idle,
                 "also measure server RSS per idle connection with N conns, one server at a time "
                 "(sweep: 10000; 0 = off)")
      ->check(CLI::Range(0, 1000000));
  app.add_flag("--json", json,
               "print one JSON document (cases, rows, every figure, errors by kind) instead of "
               "the tables; progress stays on stderr");
  app.add_flag("--csv", csv, "print a CSV header and one row per server per case instead");
  app.add_option("--hdr-out", hdr_out,
                 "write each row's latency distribution (every round) in HdrHistogram percentile "
                 "format to FILE; with several rows, FILE gets .SERVER.cCONNS.dDEPTH before its "
                 "extension (lat.hgrm -> lat.epoll.c50.d1.hgrm)");
  app.add_option("--plot", plot,
                 "draw msgs/s against connections or depth per server into FILE.png and latency "
                 "by percentile into FILE-latency.png (needs gnuplot: Debian gnuplot-nox)");
  app.add_flag("--live", live_flag,
               "when stderr is not a terminal, print the live line (rate, p50/p99, errors, open "
               "connections) each second as plain lines; a terminal always gets it in place, a "
               "pipe otherwise only for a single run of 10 s or more");
  bool fanout = false;  // handled above; listed so that --help names the mode
  app.add_flag("--fanout", fanout,
               "one message to many members instead (chat app vs redis-server): "
               "percore bench --fanout --help");
  app.add_flag("--no-pin", no_pin, "do not pin servers to CPU 0 and load to CPU 1");
  app.add_flag("--dry-run", dry_run, "print the plan (cases, servers, rounds) and exit");
  std::vector<std::pair<int, int>> cases;
  bool sweep = false;
  try {
    app.parse(argc, argv);
    if (json && csv) throw CLI::ValidationError("--json", "choose one of --json and --csv");
    sweep = app.count("--conns") + app.count("--depth") + app.count("--cases") == 0 && port == 0 &&
            app.count("--target") == 0;
    if (app.count("--cases") > 0) {
      if (app.count("--conns") + app.count("--depth") > 0) {
        throw CLI::ValidationError("--cases", "give --cases or --conns/--depth, not both");
      }
      cases = ParseCases(cases_list);
    } else if (sweep) {
      cases = ParseCases(kSweepCases);
    } else {
      for (int c : ParseInts(conns_list, "--conns")) {
        for (int d : ParseInts(depth_list, "--depth")) cases.emplace_back(c, d);
      }
    }
    if (port > 0 || app.count("--target") > 0) {
      if (app.count("--compare") > 0) {
        throw CLI::ValidationError(port > 0 ? "--port" : "--target",
                                   "give it or --compare, not both");
      }
      if (port > 0) opt.port = static_cast<uint16_t>(port);
      // A Unix path rides as a remote entry with port 0; the engine dials opt.unix_path.
      compare = opt.unix_path.empty() ? absl::StrFormat("server@%s:%d", opt.host, opt.port)
                                      : std::string("server@unix:1");
      port = opt.port > 0 ? opt.port : 1;  // below: the single-run defaults of --port
    }
    auto specs = ParseContenders(compare);
    if (!specs.ok()) throw CLI::ValidationError("--compare", std::string(specs.status().message()));
    s.contenders = *std::move(specs);
    if (!opt.unix_path.empty() && app.count("--target") > 0) {
      s.contenders[0].host = opt.unix_path;  // port 0: a Unix socket, not probed over TCP
      s.contenders[0].port = 0;
    }
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (sweep || app.count("--cases") > 0) {
    if (app.count("--idle") == 0 && sweep) idle = kSweepIdleConns;
    // Short rounds: 4 cases x 2 servers x 3 rounds x 1 s, plus the idle case, is about 30 s.
    if (app.count("--rounds") == 0) s.rounds = 3;
    if (app.count("--warmup") == 0) opt.warmup_s = 0.2;
    if (app.count("--duration") == 0) opt.duration_s = 0.8;
  }
  if (port > 0) {  // one run per case, not rounds: longer single runs unless given
    if (app.count("--rounds") == 0) s.rounds = 1;
    if (app.count("--warmup") == 0) opt.warmup_s = 1;
    if (app.count("--duration") == 0) opt.duration_s = 3;
  }
  if (!plot.empty()) {
    if (absl::Status st = CheckGnuplot(); !st.ok()) {
      std::fprintf(stderr, "percore bench: %s\n", std::string(st.message()).c_str());
      return 1;
    }
  }
  s.pin = !no_pin;
  bool long_single =
      cases.size() == 1 && s.rounds == 1 && s.contenders.size() == 1 && opt.duration_s >= 10;
  LiveLine live(ChooseLiveMode(::isatty(2) == 1, live_flag, long_single), stderr);

  if (s.pin) Pin(0, 1);  // this process (and the load threads it starts) on CPU 1
  BenchRun run;
  run.rounds = s.rounds;
  run.warmup_s = opt.warmup_s;
  run.duration_s = opt.duration_s;
  size_t steps = cases.size() + (idle > 0 ? 1 : 0);
  double est = static_cast<double>(cases.size() * s.contenders.size() * s.rounds) *
               (opt.warmup_s + opt.duration_s);
  std::vector<std::string> names, case_names;
  for (const ContenderSpec& c : s.contenders) names.push_back(c.name);
  for (auto [c, d] : cases) case_names.push_back(absl::StrFormat("%dx%d", c, d));
  std::string plan = absl::StrFormat(
      "bench: cases %s (CONNSxDEPTH)%s; servers %s; %d round(s) of %.1f + %.1f s each: about %.0f "
      "s of load",
      absl::StrJoin(case_names, ", "),
      idle > 0 ? ", then idle memory at " + FormatNumber(idle, 0, true) + " connections" : "",
      absl::StrJoin(names, ", "), s.rounds, opt.warmup_s, opt.duration_s, est);
  if (dry_run) {
    std::printf("%s\n", plan.c_str());
    return 0;
  }
  std::fprintf(stderr, "%s\n", plan.c_str());
  Bench bench(s, live);
  size_t step = 0;
  for (auto [c, d] : cases) {
    run.cases.push_back(bench.RunLoadCase(c, d, absl::StrFormat("(%d/%d)", ++step, steps)));
  }
  if (idle > 0)
    run.cases.push_back(bench.RunIdleCase(idle, absl::StrFormat("(%d/%d)", ++step, steps)));
  live.end();

  bool all_ok = true;
  for (const BenchCase& c : run.cases) {
    for (const BenchRow& r : c.rows) all_ok &= r.ok;
  }
  if (json) {
    std::fputs(BenchJson(run).c_str(), stdout);
  } else if (csv) {
    std::fputs(BenchCsv(run).c_str(), stdout);
  } else {
    PrintReport(stdout, run, ::isatty(1) == 1);
  }
  if (json || csv) {  // the verdicts for the person watching stderr
    for (const BenchCase& c : run.cases) std::fprintf(stderr, "%s\n", Verdict(c).c_str());
  }
  std::fflush(stdout);
  if (!hdr_out.empty()) {
    std::vector<std::string> written;
    absl::Status st = WriteHdrFiles(hdr_out, run, &written);
    if (!st.ok()) {
      std::fprintf(stderr, "percore bench: %s\n", std::string(st.message()).c_str());
      all_ok = false;
    } else {
      std::fprintf(stderr, "bench: latency distributions in %s\n",
                   absl::StrJoin(written, ", ").c_str());
    }
  }
  if (!plot.empty()) {
    std::vector<std::string> written;
    absl::Status st = PlotRun(run, plot, &written);
    if (!st.ok()) {
      std::fprintf(stderr, "percore bench: %s\n", std::string(st.message()).c_str());
      all_ok = false;
    } else {
      std::fprintf(stderr, "bench: plots in %s\n", absl::StrJoin(written, ", ").c_str());
    }
  }
  return all_ok ? 0 : 1;
}

}  // namespace percore::tools
