#include "tools/latency_histogram.h"

#include <cmath>

#include "absl/strings/str_format.h"

namespace percore::tools {

// HdrHistogram's outputPercentileDistribution with 5 ticks per half distance: 10% steps up to
// the median, 5% to p75, 2.5% to p87.5, ..., each row the bucket's value where the running
// count first covers the level.
std::string LatencyHistogram::hdr_percentiles() const {
  std::string out = absl::StrFormat("%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount",
                                    "1/(1-Percentile)");
  constexpr int kTicksPerHalf = 5;
  double sum = 0, sum_sq = 0;
  size_t used = 0;
  for (size_t i = 0; i < b_.size(); ++i) {
    if (b_[i] == 0) continue;
    double v = static_cast<double>(value(i)) / 1000.0;
    sum += v * static_cast<double>(b_[i]);
    sum_sq += v * v * static_cast<double>(b_[i]);
    used = i + 1;
  }
  if (total_ > 0) {
    size_t i = 0;
    uint64_t seen = b_[0];
    for (double level = 0;;) {
      // The first bucket whose running count covers `level` percent of the total.
      double want = level / 100.0 * static_cast<double>(total_);
      while (i + 1 < used && (static_cast<double>(seen) < want || seen == 0)) seen += b_[++i];
      double v = static_cast<double>(i + 1 == used ? max_ : value(i)) / 1000.0;
      if (level >= 100.0 || seen >= total_) {
        out += absl::StrFormat("%12.3f %2.12f %10d\n", v, 1.0, total_);
        break;
      }
      out += absl::StrFormat("%12.3f %2.12f %10d %14.2f\n", v, level / 100.0, seen,
                             1.0 / (1.0 - level / 100.0));
      double halvings = std::floor(std::log2(100.0 / (100.0 - level)));
      level += 100.0 / (kTicksPerHalf * std::pow(2.0, halvings + 1));
    }
  }
  double n = static_cast<double>(total_);
  double mean = n > 0 ? sum / n : 0;
  double sd = n > 0 ? std::sqrt(std::max(0.0, sum_sq / n - mean * mean)) : 0;
  out += absl::StrFormat("#[Mean    = %12.3f, StdDeviation   = %12.3f]\n", mean, sd);
  out += absl::StrFormat("#[Max     = %12.3f, Total count    = %12d]\n", max_us(), total_);
  out += absl::StrFormat("#[Buckets = %12d, SubBuckets     = %12d]\n", 64, 1 << kSub);
  return out;
}

}  // namespace percore::tools
