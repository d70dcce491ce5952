// A latency histogram for the load client: log-linear buckets, 32 per power of two (3% error),
// in ns. One per load thread, merged at the end; plain counters, no locking.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <string>

namespace percore::tools {

class LatencyHistogram {
 public:
  void add(uint64_t ns) {
    ++b_[index(ns)];
    ++total_;
    if (ns > max_) max_ = ns;
  }
  void merge(const LatencyHistogram& o) {
    for (size_t i = 0; i < b_.size(); ++i) b_[i] += o.b_[i];
    total_ += o.total_;
    if (o.max_ > max_) max_ = o.max_;
  }
  void clear() { *this = LatencyHistogram(); }
  uint64_t count() const { return total_; }
  double max_us() const { return static_cast<double>(max_) / 1000.0; }
  double quantile_us(double q) const {
    if (total_ == 0) return 0;
    uint64_t want = static_cast<uint64_t>(q * static_cast<double>(total_)), seen = 0;
    for (size_t i = 0; i < b_.size(); ++i) {
      seen += b_[i];
      if (seen > want) return static_cast<double>(value(i)) / 1000.0;
    }
    return max_us();
  }
  // The distribution in HdrHistogram's percentile text format (what HistogramLogProcessor
  // and the usual plotters read), values in microseconds.
  std::string hdr_percentiles() const;

 private:
  static constexpr int kSub = 5;
  static size_t index(uint64_t v) {
    if (v < (2u << kSub)) return v;
    int e = 63 - std::countl_zero(v) - kSub;
    return static_cast<size_t>((e + 1) << kSub) + ((v >> e) - (1u << kSub));
  }
  static uint64_t value(size_t i) {
    if (i < (2u << kSub)) return i;
    int e = static_cast<int>(i >> kSub) - 1;
    return ((i & ((1u << kSub) - 1)) + (1u << kSub)) << e;
  }
  std::array<uint64_t, 64 << kSub> b_{};
  uint64_t total_ = 0, max_ = 0;
};

}  // namespace percore::tools
