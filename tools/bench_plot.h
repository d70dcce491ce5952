// `percore bench --plot FILE.png`: draws a finished run with gnuplot, run as a child process on
// data in a temporary directory. FILE.png: msgs/s against connections or depth (whichever the
// run varied; both: against connections, a line per depth) for each server. FILE-latency.png:
// each row's latency by percentile on HdrHistogram's log 1/(1-p) axis.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tools/bench_report.h"

namespace percore::tools {

// "out.png" -> "out-latency.png".
std::string LatencyPlotName(const std::string& file);

// Fails with a message naming gnuplot and its Debian package when it is not on PATH, before
// any load runs.
absl::Status CheckGnuplot();

// Writes both PNGs; names them in *written.
absl::Status PlotRun(const BenchRun& run, const std::string& file,
                     std::vector<std::string>* written);

}  // namespace percore::tools
