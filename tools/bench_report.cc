#include "tools/bench_report.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tools/probe_report.h"

namespace percore::tools {

std::string BenchCase::title() const {
  if (idle) return absl::StrCat("idle memory at ", FormatNumber(conns, 0, true), " connections");
  return absl::StrFormat("%d conns, depth %d", conns, depth);
}

std::string FormatNumber(double v, int decimals, bool group) {
  std::string s = absl::StrFormat("%.*f", decimals, v);
  if (!group) return s;
  size_t dot = s.find('.');
  size_t int_end = dot == std::string::npos ? s.size() : dot;
  size_t start = s[0] == '-' ? 1 : 0;
  for (size_t i = int_end; i > start + 3; i -= 3) s.insert(i - 3, ",");
  return s;
}

namespace {

bool Measured(const BenchRow& r) { return r.unavailable.empty() && r.r.msgs > 0; }

std::string ErrorsText(const BenchRow& row) {
  if (row.r.errors == 0) return "";
  std::vector<std::string> parts;
  for (const auto& [kind, n] : row.r.errors_by_kind) parts.push_back(absl::StrCat(kind, " ", n));
  if (parts.empty() && !row.r.first_error.empty()) parts.push_back("first: " + row.r.first_error);
  return absl::StrCat(row.r.errors, " errors", parts.empty() ? "" : ": ",
                      absl::StrJoin(parts, ", "));
}

// Percent by which `low` is below `high`, rounded to a whole number.
int PercentLess(double low, double high) {
  return high > 0 ? static_cast<int>(std::lround((high - low) / high * 100)) : 0;
}

// The best row by `figure` (lower is better) and the one it is compared with: the first
// server when the best is another, else the runner-up.
template <typename Figure>
bool PickPair(const std::vector<const BenchRow*>& rows, Figure figure, const BenchRow** best,
              const BenchRow** other) {
  if (rows.size() < 2) return false;
  std::vector<const BenchRow*> sorted = rows;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [&](const BenchRow* a, const BenchRow* b) { return figure(*a) < figure(*b); });
  *best = sorted[0];
  *other = sorted[0] == rows[0] ? sorted[1] : rows[0];
  return true;
}

}  // namespace

std::string Verdict(const BenchCase& c) {
  std::vector<const BenchRow*> rows;
  const BenchRow *best = nullptr, *other = nullptr;
  if (c.idle) {
    for (const BenchRow& r : c.rows) {
      if (r.unavailable.empty() && r.idle_bytes_per_conn >= 0) rows.push_back(&r);
    }
    auto bytes = [](const BenchRow& r) { return static_cast<double>(r.idle_bytes_per_conn); };
    if (!PickPair(rows, bytes, &best, &other)) {
      return absl::StrFormat("%s: no verdict: memory per connection known for %d server(s)",
                             c.title(), rows.size());
    }
    return absl::StrFormat("%s: %s took %d%% less memory per connection than %s (%s vs %s B)",
                           c.title(), best->server, PercentLess(bytes(*best), bytes(*other)),
                           other->server, FormatNumber(bytes(*best), 0, true),
                           FormatNumber(bytes(*other), 0, true));
  }
  for (const BenchRow& r : c.rows) {
    if (Measured(r) && r.server_us_per_msg >= 0) rows.push_back(&r);
  }
  auto cpu = [](const BenchRow& r) { return r.server_us_per_msg; };
  if (!PickPair(rows, cpu, &best, &other)) {
    return absl::StrFormat("%s: no verdict: server CPU per message known for %d server(s)",
                           c.title(), rows.size());
  }
  // Both ratios are medians of per-round ratios to the first server; their quotient compares
  // the pair without the drift between rounds.
  double tput = best->ratio > 0 && other->ratio > 0 ? best->ratio / other->ratio
                                                    : best->r.msgs_per_s / other->r.msgs_per_s;
  size_t n = std::min(best->round_us_per_msg.size(), other->round_us_per_msg.size()), lower = 0;
  int pct = PercentLess(cpu(*best), cpu(*other));
  if (pct == 0) {  // "0% less" would name a winner the figures do not show
    return absl::StrFormat(
        "%s: %s and %s spent the same server CPU per message, within 1%% (%.2f vs %.2f us); "
        "throughput %.2fx",
        c.title(), best->server, other->server, cpu(*best), cpu(*other), tput);
  }
  for (size_t k = 0; k < n; ++k) lower += best->round_us_per_msg[k] < other->round_us_per_msg[k];
  return absl::StrFormat(
      "%s: %s spent %d%% less server CPU per message than %s (%.2f vs %.2f us); throughput "
      "%.2fx; lower in %d of %d rounds",
      c.title(), best->server, pct, other->server, cpu(*best), cpu(*other), tput, lower, n);
}

void PrintReport(std::FILE* out, const BenchRun& run, bool group) {
  auto num = [&](double v, int d) { return FormatNumber(v, d, group); };
  for (const BenchCase& c : run.cases) {
    size_t w = 6;
    for (const BenchRow& r : c.rows) w = std::max(w, r.server.size());
    if (c.idle) {
      std::fprintf(out, "\n%s\n%-*s %12s\n", c.title().c_str(), static_cast<int>(w), "server",
                   "idle B/conn");
    } else {
      std::fprintf(out, "\n%s, %zu B messages, median of %d round(s)\n", c.title().c_str(), c.size,
                   run.rounds);
      std::fprintf(out, "%-*s %11s %7s %8s %8s %8s %9s %9s %9s %9s %6s %10s %7s %5s\n",
                   static_cast<int>(w), "server", "msgs/s", "MB/s", "p50 us", "p90 us", "p99 us",
                   "p99.9 us", "max us", "conn p50", "conn max", "errors", "srv us/msg", "sys/msg",
                   "ratio");
    }
    for (const BenchRow& r : c.rows) {
      if (!r.unavailable.empty()) {
        std::fprintf(out, "%-*s unavailable: %s\n", static_cast<int>(w), r.server.c_str(),
                     r.unavailable.c_str());
        continue;
      }
      if (c.idle) {
        std::string b = r.idle_bytes_per_conn < 0 ? "-" : num(r.idle_bytes_per_conn, 0);
        std::fprintf(out, "%-*s %12s\n", static_cast<int>(w), r.server.c_str(), b.c_str());
        continue;
      }
      std::string cpu =
          r.server_us_per_msg < 0 ? "-" : absl::StrFormat("%.2f", r.server_us_per_msg);
      std::string sys = r.syscalls_per_msg < 0 ? "-" : absl::StrFormat("%.3f", r.syscalls_per_msg);
      std::string ratio = r.ratio < 0 ? "-" : absl::StrFormat("%.2f", r.ratio);
      std::fprintf(
          out, "%-*s %11s %7s %8s %8s %8s %9s %9s %9s %9s %6s %10s %7s %5s\n", static_cast<int>(w),
          r.server.c_str(), num(r.r.msgs_per_s, 0).c_str(), num(r.r.mb_per_s, 1).c_str(),
          num(r.r.p50_us, 1).c_str(), num(r.r.p90_us, 1).c_str(), num(r.r.p99_us, 1).c_str(),
          num(r.r.p999_us, 1).c_str(), num(r.r.max_us, 1).c_str(),
          num(r.r.connect_p50_us, 1).c_str(), num(r.r.connect_max_us, 1).c_str(),
          num(static_cast<double>(r.r.errors), 0).c_str(), cpu.c_str(), sys.c_str(), ratio.c_str());
    }
    for (const BenchRow& r : c.rows) {
      if (r.r.errors > 0) std::fprintf(out, "  %s: %s\n", r.server.c_str(), ErrorsText(r).c_str());
      if (!c.idle && r.unavailable.empty() && r.r.errors == 0 && r.r.msgs == 0) {
        std::fprintf(out, "  %s: no reply completed in the measured window\n", r.server.c_str());
      }
    }
  }
  std::fprintf(out, "\n");
  for (const BenchCase& c : run.cases) std::fprintf(out, "%s\n", Verdict(c).c_str());
}

namespace {

// A figure for JSON and CSV: null/empty when it was not measured (negative).
std::string Opt(double v, bool json, int decimals = 3) {
  if (v < 0) return json ? "null" : "";
  return absl::StrFormat("%.*f", decimals, v);
}

std::string ErrorsJson(const BenchRow& r) {
  std::vector<std::string> parts;
  for (const auto& [kind, n] : r.r.errors_by_kind) {
    parts.push_back(absl::StrCat(JsonString(kind), ": ", n));
  }
  return absl::StrCat("{", absl::StrJoin(parts, ", "), "}");
}

}  // namespace

std::string BenchJson(const BenchRun& run) {
  std::string out = absl::StrFormat(
      "{\n  \"rounds\": %d, \"warmup_s\": %.3f, \"duration_s\": %.3f,\n  \"cases\": [", run.rounds,
      run.warmup_s, run.duration_s);
  bool all_ok = true;
  const char* case_sep = "\n";
  for (const BenchCase& c : run.cases) {
    absl::StrAppendFormat(&out,
                          "%s    {\"title\": %s, \"kind\": \"%s\", \"conns\": %d, \"depth\": %d, "
                          "\"size\": %d,\n     \"verdict\": %s,\n     \"rows\": [",
                          case_sep, JsonString(c.title()), c.idle ? "idle" : "load", c.conns,
                          c.idle ? 0 : c.depth, c.size, JsonString(Verdict(c)));
    case_sep = ",\n";
    const char* row_sep = "\n";
    for (const BenchRow& r : c.rows) {
      all_ok &= r.ok;
      bool m = r.unavailable.empty();
      absl::StrAppendFormat(
          &out,
          "%s      {\"server\": %s, \"kind\": \"%s\", \"ok\": %s, \"unavailable\": %s, "
          "\"rounds\": %d,\n       \"msgs\": %d, \"seconds\": %.3f, \"msgs_per_s\": %.1f, "
          "\"mb_per_s\": %.3f,\n       \"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, "
          "\"p999_us\": %.1f, \"max_us\": %.1f,\n       \"connect_p50_us\": %.1f, "
          "\"connect_max_us\": %.1f, \"errors\": %d, \"errors_by_kind\": %s, \"first_error\": "
          "%s,\n       \"server_us_per_msg\": %s, \"syscalls_per_msg\": %s, \"ratio\": %s, "
          "\"idle_bytes_per_conn\": %s, \"latency_count\": %d,\n       "
          "\"round_us_per_msg\": [%s]}",
          row_sep, JsonString(r.server), r.kind, r.ok ? "true" : "false",
          m ? "null" : JsonString(r.unavailable), r.rounds, r.r.msgs, r.r.seconds, r.r.msgs_per_s,
          r.r.mb_per_s, r.r.p50_us, r.r.p90_us, r.r.p99_us, r.r.p999_us, r.r.max_us,
          r.r.connect_p50_us, r.r.connect_max_us, r.r.errors, ErrorsJson(r),
          JsonString(r.r.first_error), Opt(r.server_us_per_msg, true),
          Opt(r.syscalls_per_msg, true), Opt(r.ratio, true),
          Opt(static_cast<double>(r.idle_bytes_per_conn), true, 0), r.r.latency.count(),
          absl::StrJoin(r.round_us_per_msg, ", ",
                        [](std::string* o, double v) { absl::StrAppendFormat(o, "%.3f", v); }));
      row_sep = ",\n";
    }
    out += "]}";
  }
  absl::StrAppend(&out, "\n  ],\n  \"ok\": ", all_ok ? "true" : "false", "\n}\n");
  return out;
}

std::string BenchCsv(const BenchRun& run) {
  std::string out =
      "case,kind,server,server_kind,conns,depth,size,rounds,msgs_per_s,mb_per_s,p50_us,p90_us,"
      "p99_us,p999_us,max_us,connect_p50_us,connect_max_us,errors,errors_by_kind,"
      "server_us_per_msg,syscalls_per_msg,ratio,idle_bytes_per_conn,unavailable\n";
  auto quote = [](std::string s) {
    std::string q = "\"";
    for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return q + "\"";
  };
  for (const BenchCase& c : run.cases) {
    for (const BenchRow& r : c.rows) {
      std::vector<std::string> kinds;
      for (const auto& [kind, n] : r.r.errors_by_kind) kinds.push_back(absl::StrCat(kind, "=", n));
      absl::StrAppendFormat(
          &out,
          "%s,%s,%s,%s,%d,%d,%d,%d,%.1f,%.3f,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,%d,%s,%s,%s,"
          "%s,%s,%s\n",
          quote(c.title()), c.idle ? "idle" : "load", quote(r.server), r.kind, c.conns,
          c.idle ? 0 : c.depth, c.size, r.rounds, r.r.msgs_per_s, r.r.mb_per_s, r.r.p50_us,
          r.r.p90_us, r.r.p99_us, r.r.p999_us, r.r.max_us, r.r.connect_p50_us, r.r.connect_max_us,
          r.r.errors, quote(absl::StrJoin(kinds, ";")), Opt(r.server_us_per_msg, false),
          Opt(r.syscalls_per_msg, false), Opt(r.ratio, false),
          Opt(static_cast<double>(r.idle_bytes_per_conn), false, 0), quote(r.unavailable));
    }
  }
  return out;
}

std::string HdrFileName(const std::string& file, const BenchCase& c, const BenchRow& row,
                        bool several) {
  if (!several) return file;
  std::string server;
  for (char ch : row.server) server += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  std::string tag = absl::StrFormat(".%s.c%d.d%d", server, c.conns, c.depth);
  size_t slash = file.rfind('/');
  size_t dot = file.rfind('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash) || dot == 0 ||
      dot == slash + 1) {
    return file + tag;
  }
  return file.substr(0, dot) + tag + file.substr(dot);
}

absl::Status WriteHdrFiles(const std::string& file, const BenchRun& run,
                           std::vector<std::string>* written) {
  size_t rows = 0;
  for (const BenchCase& c : run.cases) {
    if (c.idle) continue;
    for (const BenchRow& r : c.rows) rows += r.unavailable.empty() ? 1 : 0;
  }
  for (const BenchCase& c : run.cases) {
    if (c.idle) continue;
    for (const BenchRow& r : c.rows) {
      if (!r.unavailable.empty()) continue;
      std::string name = HdrFileName(file, c, r, rows > 1);
      std::ofstream f(name);
      f << r.r.latency.hdr_percentiles();
      if (!f.good()) return absl::UnavailableError(absl::StrCat("--hdr-out: cannot write ", name));
      written->push_back(name);
    }
  }
  return absl::OkStatus();
}

}  // namespace percore::tools
