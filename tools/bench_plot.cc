#include "tools/bench_plot.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace percore::tools {
namespace {

std::string FindOnPath(const std::string& prog) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
    std::string candidate = absl::StrCat(dir, "/", prog);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// gnuplot quotes: single-quoted strings, quotes doubled.
std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// A temporary directory, removed with everything in it when this goes out of scope.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/percore-plot-XXXXXX";
    if (::mkdtemp(tmpl) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

absl::Status RunGnuplot(const std::string& script) {
  std::string gnuplot = FindOnPath("gnuplot");
  pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError("--plot: fork failed");
  if (pid == 0) {
    ::execl(gnuplot.c_str(), "gnuplot", script.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    // The temporary directory goes away: keep the script for whoever reads the error above.
    std::string kept = absl::StrFormat("/tmp/percore-plot-%d.gp", ::getpid());
    std::error_code ec;
    std::filesystem::copy_file(script, kept, std::filesystem::copy_options::overwrite_existing, ec);
    return absl::InternalError(
        absl::StrFormat("--plot: gnuplot failed (status %d); its script: %s", status, kept));
  }
  return absl::OkStatus();
}

// One series of the throughput plot: a server (and, when both vary, a depth).
struct Series {
  std::string title;
  std::vector<std::pair<int, double>> points;  // x, msgs/s
};

// The percentile points of a row: every line of its HdrHistogram text when the load engine
// filled the histogram, else the percentiles the result carries.
std::vector<std::pair<double, double>> LatencyPoints(const BenchRow& r) {
  std::vector<std::pair<double, double>> pts;  // 1/(1-p), us
  if (r.r.latency.count() > 0) {
    std::istringstream in(r.r.latency.hdr_percentiles());
    std::string line;
    while (std::getline(in, line)) {
      double v, p, inv;
      long n;
      if (std::sscanf(line.c_str(), "%lf %lf %ld %lf", &v, &p, &n, &inv) == 4) {
        pts.emplace_back(inv, v);
      }
    }
    return pts;
  }
  const std::pair<double, double> known[] = {
      {0.5, r.r.p50_us}, {0.9, r.r.p90_us}, {0.99, r.r.p99_us}, {0.999, r.r.p999_us}};
  for (auto [p, v] : known) {
    if (v > 0) pts.emplace_back(1 / (1 - p), v);
  }
  return pts;
}

}  // namespace

std::string LatencyPlotName(const std::string& file) {
  size_t slash = file.rfind('/');
  size_t dot = file.rfind('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) {
    return file + "-latency.png";
  }
  return file.substr(0, dot) + "-latency" + file.substr(dot);
}

absl::Status CheckGnuplot() {
  if (FindOnPath("gnuplot").empty()) {
    return absl::FailedPreconditionError(
        "--plot needs gnuplot, which is not on PATH: install the Debian package gnuplot-nox "
        "(apt-get install gnuplot-nox) or run without --plot");
  }
  return absl::OkStatus();
}

absl::Status PlotRun(const BenchRun& run, const std::string& file,
                     std::vector<std::string>* written) {
  if (absl::Status st = CheckGnuplot(); !st.ok()) return st;
  TempDir tmp;
  if (tmp.path().empty()) return absl::InternalError("--plot: no temporary directory");
  std::set<int> conns, depths;
  for (const BenchCase& c : run.cases) {
    if (c.idle) continue;
    conns.insert(c.conns);
    depths.insert(c.depth);
  }
  bool by_depth = conns.size() == 1 && depths.size() > 1;
  bool line_per_depth = conns.size() > 1 && depths.size() > 1;
  // A colour per server and a dash pattern per depth, the same in every panel.
  std::vector<std::string> servers;
  auto colour = [&](const std::string& server) {
    auto it = std::find(servers.begin(), servers.end(), server);
    if (it == servers.end()) it = servers.insert(servers.end(), server);
    return static_cast<int>(it - servers.begin()) + 1;
  };
  std::vector<int> depth_list(depths.begin(), depths.end());
  auto dash = [&](int depth) {
    return line_per_depth
               ? static_cast<int>(std::find(depth_list.begin(), depth_list.end(), depth) -
                                  depth_list.begin()) +
                     1
               : 1;
  };
  std::map<std::string, Series> series;  // by title, in order of first appearance below
  std::vector<std::string> order;
  std::map<std::string, std::pair<int, int>> style;  // title -> colour, dash
  for (const BenchCase& c : run.cases) {
    if (c.idle) continue;
    for (const BenchRow& r : c.rows) {
      if (!r.unavailable.empty() || r.r.msgs == 0) continue;
      std::string title =
          line_per_depth ? absl::StrFormat("%s, depth %d", r.server, c.depth) : r.server;
      if (!series.count(title)) order.push_back(title);
      series[title].title = title;
      series[title].points.emplace_back(by_depth ? c.depth : c.conns, r.r.msgs_per_s);
      style[title] = {colour(r.server), dash(c.depth)};
    }
  }
  if (order.empty()) return absl::FailedPreconditionError("--plot: no measured rows to plot");

  std::vector<int> xs(by_depth ? depths.begin() : conns.begin(),
                      by_depth ? depths.end() : conns.end());  // sorted, as the sets are
  std::string tput_data = tmp.path() + "/throughput.dat";
  std::ofstream td(tput_data);
  for (const std::string& t : order) {
    for (auto [x, y] : series[t].points) td << x << " " << y << "\n";
    td << "\n\n";  // a gnuplot data block per series (index N)
  }
  td.close();
  std::string case_note =
      by_depth ? absl::StrFormat("%d connections", *conns.begin())
               : (line_per_depth ? std::string("") : absl::StrFormat("depth %d", *depths.begin()));
  std::string s = absl::StrCat(
      "set terminal pngcairo noenhanced size 900,540 font 'sans,10'\nset output ", Quote(file),
      "\n", "set title ",
      Quote(absl::StrCat("percore bench: msgs/s", case_note.empty() ? "" : ", ", case_note)),
      "\nset xlabel ",
      Quote(by_depth ? "depth (messages in flight per connection)" : "connections"),
      "\nset ylabel 'msgs/s'\nset logscale x 2\nset grid\nset key outside right\n"
      "set yrange [0:*]\nset format y '%.1s%c'\nset xrange [",
      xs.front() / 1.4, ":", xs.back() * 1.4, "]\nset xtics (", absl::StrJoin(xs, ", "),
      ")\nplot ");
  for (size_t i = 0; i < order.size(); ++i) {
    absl::StrAppendFormat(&s, "%s%s index %d using 1:2 with linespoints lw 2 lc %d dt %d title %s",
                          i ? ", " : "", Quote(tput_data), i, style[order[i]].first,
                          style[order[i]].second, Quote(order[i]));
  }
  s += "\n";

  // Latency: a panel per case, a line per server.
  std::string lat_data = tmp.path() + "/latency.dat";
  std::ofstream ld(lat_data);
  struct Panel {
    std::string title;
    std::vector<std::pair<int, std::string>> lines;  // data block index, server
  };
  std::vector<Panel> panels;
  int block = 0;
  double max_x = 100;
  for (const BenchCase& c : run.cases) {
    if (c.idle) continue;
    Panel& panel = panels.emplace_back();
    panel.title = c.title();
    for (const BenchRow& r : c.rows) {
      if (!r.unavailable.empty() || r.r.msgs == 0) continue;
      auto pts = LatencyPoints(r);
      if (pts.empty()) continue;
      for (auto [x, y] : pts) {
        ld << x << " " << y << "\n";
        max_x = std::max(max_x, x);
      }
      ld << "\n\n";
      panel.lines.emplace_back(block++, r.server);
    }
  }
  ld.close();
  int cols = panels.size() > 1 ? 2 : 1;
  int rows = static_cast<int>((panels.size() + 1) / 2);
  std::string lat_file = LatencyPlotName(file);
  absl::StrAppend(
      &s, "set terminal pngcairo noenhanced size ", cols * 600, ",", std::max(rows, 1) * 400 + 40,
      " font 'sans,9'\nset output ", Quote(lat_file),
      "\nunset xrange\nset xlabel 'percentile'\nset ylabel 'latency (us)'\nset logscale x 10\n"
      "set logscale y 10\nset format y '%g'\nset yrange [*:*]\nset key top left\nset xrange [1:",
      max_x * 2,
      "]\nset xtics ('0%%' 1, '50%%' 2, '90%%' 10, '99%%' 100, '99.9%%' 1000, '99.99%%' 10000, "
      "'99.999%%' 100000, '99.9999%%' 1000000)\n",
      "set multiplot layout ", std::max(rows, 1), ",", cols,
      " title 'percore bench: latency by percentile (x: 1/(1-p), as HdrHistogram plots it)'\n");
  for (const Panel& panel : panels) {
    absl::StrAppend(&s, "set title ", Quote(panel.title), "\nplot ");
    for (size_t i = 0; i < panel.lines.size(); ++i) {
      absl::StrAppendFormat(&s,
                            "%s%s index %d using 1:2 with linespoints lw 1.5 pt 7 ps 0.4 lc %d "
                            "title %s",
                            i ? ", " : "", Quote(lat_data), panel.lines[i].first,
                            colour(panel.lines[i].second), Quote(panel.lines[i].second));
    }
    if (panel.lines.empty()) s += "NaN notitle";
    s += "\n";
  }
  s += "unset multiplot\n";
  std::string script = tmp.path() + "/plot.gp";
  std::ofstream(script) << s;
  if (absl::Status st = RunGnuplot(script); !st.ok()) return st;
  written->push_back(file);
  written->push_back(lat_file);
  return absl::OkStatus();
}

}  // namespace percore::tools
