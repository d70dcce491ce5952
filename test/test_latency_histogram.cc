// LatencyHistogram: quantiles within its 3% bucket error, and the HdrHistogram percentile
// text that --hdr-out writes (the shape HdrHistogram's plotters parse).
#include <catch2/catch.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tools/latency_histogram.h"

using percore::tools::LatencyHistogram;

TEST_CASE("histogram quantiles and max", "[histogram]") {
  LatencyHistogram h;
  for (uint64_t us = 1; us <= 1000; ++us) h.add(us * 1000);
  CHECK(h.count() == 1000);
  CHECK(h.quantile_us(0.5) == Approx(500).epsilon(0.04));
  CHECK(h.quantile_us(0.99) == Approx(990).epsilon(0.04));
  CHECK(h.max_us() == Approx(1000));
  LatencyHistogram g;
  g.add(5'000'000);
  h.merge(g);
  CHECK(h.count() == 1001);
  CHECK(h.max_us() == Approx(5000));
}

TEST_CASE("hdr percentile text", "[histogram]") {
  LatencyHistogram h;
  for (uint64_t us = 1; us <= 1000; ++us) h.add(us * 1000);
  std::istringstream text(h.hdr_percentiles());
  std::string line;
  std::getline(text, line);
  CHECK(line.find("Value") != std::string::npos);
  CHECK(line.find("1/(1-Percentile)") != std::string::npos);
  std::getline(text, line);
  CHECK(line.empty());
  std::vector<double> values, levels;
  uint64_t last_count = 0;
  bool saw_end = false;
  while (std::getline(text, line) && line[0] != '#') {
    std::istringstream row(line);
    double v = 0, p = 0;
    uint64_t count = 0;
    row >> v >> p >> count;
    REQUIRE(row);
    if (!values.empty()) {
      CHECK(v >= values.back());  // values and levels never go down
      CHECK(p >= levels.back());
    }
    CHECK(count >= last_count);
    values.push_back(v);
    levels.push_back(p);
    last_count = count;
    if (p == 1.0) saw_end = true;
  }
  CHECK(saw_end);
  CHECK(last_count == 1000);
  CHECK(values.back() == Approx(1000));
  // The median row: level 0.5, value near 500 us.
  for (size_t i = 0; i < levels.size(); ++i) {
    if (levels[i] == 0.5) CHECK(values[i] == Approx(500).epsilon(0.04));
  }
  CHECK(levels.size() > 20);  // 10 rows to the median, 5 per halving after it
  CHECK(line.rfind("#[Mean", 0) == 0);
  double mean = std::stod(line.substr(line.find('=') + 1));
  CHECK(mean == Approx(500).epsilon(0.04));
  std::getline(text, line);
  CHECK(line.find("Total count    =         1000") != std::string::npos);
}
