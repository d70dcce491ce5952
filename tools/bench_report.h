// What `percore bench` found, per case and per server, and the ways it is shown: a table and a
// one-line verdict per case for people (thousands separators on a terminal), one JSON document
// or CSV rows for machines, and HdrHistogram percentile files for plotters. The bench fills
// these after its rounds; the printers only read them.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tools/load_client.h"

namespace percore::tools {

struct BenchRow {
  std::string server;       // the --compare entry's name
  std::string kind;         // "builtin", "command", "remote"
  std::string unavailable;  // why there are no figures (did not start, the load failed)
  LoadResult r;             // the median round; r.latency holds every round's requests
  int rounds = 0;
  double ratio = -1;                     // median per-round msgs/s ratio to the case's first server
  std::vector<double> round_us_per_msg;  // server CPU per message in each round, in order
  double server_us_per_msg = -1;         // -1: not measured (a server bench did not start)
  double syscalls_per_msg = -1;          // -1: not counted here
  long idle_bytes_per_conn = -1;         // idle case: server RSS growth per connection; -1: unknown
  bool ok = false;                       // figures present, no errors, a clean stop
};

struct BenchCase {
  bool idle = false;  // an idle-memory case: conns held open, no load
  int conns = 0, depth = 0;
  size_t size = 0;
  std::vector<BenchRow> rows;
  std::string title() const;  // "50 conns, depth 1" or "idle memory at 10,000 connections"
};

struct BenchRun {
  std::vector<BenchCase> cases;
  int rounds = 0;
  double warmup_s = 0, duration_s = 0;
};

// v with `decimals` digits, grouped by thousands when `group` ("1,234,567.8").
std::string FormatNumber(double v, int decimals, bool group);

// One line naming which server spent less server CPU per message (idle: less memory per
// connection) than the other, by how much, with the figures and the throughput ratio, and in
// how many rounds it was lower (fewer than all: the difference is within the noise).
std::string Verdict(const BenchCase& c);

// Tables (one per case), the errors of every row that had any, then the verdict lines.
void PrintReport(std::FILE* out, const BenchRun& run, bool group);
std::string BenchJson(const BenchRun& run);
std::string BenchCsv(const BenchRun& run);

// The file a row's latency distribution goes to: `file` itself for a single row, otherwise
// the row's server and case spliced in before the extension (lat.hgrm ->
// lat.epoll.c50.d1.hgrm).
std::string HdrFileName(const std::string& file, const BenchCase& c, const BenchRow& row,
                        bool several);
// Writes every measured row's distribution (LatencyHistogram::hdr_percentiles()); names the
// files written in *written.
absl::Status WriteHdrFiles(const std::string& file, const BenchRun& run,
                           std::vector<std::string>* written);

}  // namespace percore::tools
