// `percore probe`: what this host allows a long-connection server, in one page: kernel,
// io_uring (and why not), open-file and network limits, memory; with --target-conns N,
// whether N connections fit and the lines that make them fit. Reads, never writes, settings.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "reactor/config.h"
#include "tools/commands.h"
#include "tools/probe_conn_bytes.h"
#include "tools/probe_host.h"
#include "tools/probe_report.h"
#include "tools/probe_sockets.h"
#include "tools/probe_target.h"
#include "tools/probe_uring.h"
#include "tools/version.h"

namespace percore::tools {
namespace {

constexpr int kMeasurePairs = 2000;  // 4,000 sockets: well above the slab's noise, quick

std::string Limit(int64_t v, bool bytes) {
  if (v == INT64_MAX) return "unlimited";
  return bytes ? Bytes(double(v)) : Thousands(v);
}

std::string OrNull(const std::optional<int64_t>& v) { return v ? absl::StrCat(*v) : "null"; }

std::string Shown(const std::optional<int64_t>& v, const std::string& note = "") {
  if (!v) return "unreadable";
  return note.empty() ? Thousands(*v) : absl::StrCat(Thousands(*v), "  (", note, ")");
}

ProbeSection Kernel(const HostFacts& h) {
  ProbeSection s{"kernel", "kernel"};
  s.add_text("release", "release", h.kernel_release);
  s.add_text("version", "build", h.kernel_version);
  s.add_text("machine", "machine", h.machine);
  return s;
}

std::string YesNo(const std::optional<bool>& v) {
  if (!v) return "not tried";
  return *v ? "yes" : "no";
}

ProbeSection Uring(const HostFacts& h, const UringFacts& u) {
  ProbeSection s{"io_uring", "io_uring"};
  const bool complete = u.available && u.missing_ops.empty() && u.buf_ring.value_or(false) &&
                        u.multishot_accept.value_or(false) && u.multishot_recv.value_or(false);
  std::string status = complete      ? "available: backend = io_uring will start"
                       : u.available ? "incomplete: the io_uring backend needs all below; use epoll"
                                     : "unavailable: backend = auto falls back to epoll";
  const char* state = complete ? "available" : u.available ? "incomplete" : "unavailable";
  s.add("status", "status", status, JsonString(state));
  if (!u.why.empty()) s.add_text("why", "why", u.why);
  const char* disabled_meaning[] = {"allowed", "only for kernel.io_uring_group", "refused"};
  if (h.io_uring_disabled) {
    const int64_t d = *h.io_uring_disabled;
    s.add("io_uring_disabled", "kernel.io_uring_disabled",
          absl::StrCat(d, "  (", d >= 0 && d <= 2 ? disabled_meaning[d] : "?", ")"),
          absl::StrCat(d));
  } else {
    s.add("io_uring_disabled", "kernel.io_uring_disabled", "absent (a kernel before 6.6)", "null");
  }
  const char* seccomp_meaning[] = {"off", "strict", "filter"};
  if (h.seccomp) {
    const int64_t m = *h.seccomp;
    s.add("seccomp", "seccomp",
          absl::StrCat(
              m, "  (", m >= 0 && m <= 2 ? seccomp_meaning[m] : "?",
              m == 2 ? absl::StrCat(", ", h.seccomp_filters.value_or(0), " filter(s)") : "", ")"),
          absl::StrCat(m));
  } else {
    s.add("seccomp", "seccomp", "unreadable (/proc/self/status)", "null");
  }
  s.add("memlock_bytes", "locked memory (ulimit -l)",
        absl::StrCat(Limit(h.memlock_soft, true), " soft, ", Limit(h.memlock_hard, true),
                     " hard  (kernels before 5.12 charge the rings to it)"),
        absl::StrCat("{\"soft\": ", h.memlock_soft, ", \"hard\": ", h.memlock_hard, "}"));
  if (!u.available) return s;
  s.add_text("setup", "setup", u.setup);
  std::vector<std::string> used, used_json;
  for (const auto& [name, on] : u.used) {
    used.push_back(absl::StrCat(name, on ? " yes" : " NO"));
    used_json.push_back(absl::StrCat(JsonString(name), ": ", on ? "true" : "false"));
  }
  s.add("features_used", "features percore uses", absl::StrJoin(used, ", "),
        absl::StrCat("{", absl::StrJoin(used_json, ", "), "}"));
  std::vector<std::string> names_json;
  for (const std::string& n : u.feature_names) names_json.push_back(JsonString(n));
  s.add("features", "all features", absl::StrJoin(u.feature_names, " "),
        absl::StrCat("[", absl::StrJoin(names_json, ", "), "]"));
  std::vector<std::string> missing_json;
  for (const std::string& op : u.missing_ops) missing_json.push_back(JsonString(op));
  s.add("missing_opcodes", "opcodes percore submits",
        u.missing_ops.empty() ? "all supported"
                              : absl::StrCat("missing: ", absl::StrJoin(u.missing_ops, " ")),
        absl::StrCat("[", absl::StrJoin(missing_json, ", "), "]"));
  auto opt = [](const std::optional<bool>& v) { return v ? (*v ? "true" : "false") : "null"; };
  s.add("buf_ring", "provided-buffer ring", YesNo(u.buf_ring), opt(u.buf_ring));
  s.add("multishot_accept", "multishot accept", YesNo(u.multishot_accept), opt(u.multishot_accept));
  s.add("multishot_recv", "multishot recv", YesNo(u.multishot_recv), opt(u.multishot_recv));
  s.add("registered_files", "registered files", YesNo(u.registered_files), opt(u.registered_files));
  if (!u.detail_error.empty()) s.add_text("error", "first failure", u.detail_error);
  return s;
}

ProbeSection Files(const HostFacts& h) {
  ProbeSection s{"open_files", "open files"};
  s.add("nofile_soft", "open files, soft (ulimit -n)", Limit(h.nofile_soft, false),
        absl::StrCat(h.nofile_soft));
  s.add(
      "nofile_hard", "open files, hard (ulimit -Hn)",
      absl::StrCat(Limit(h.nofile_hard, false), "  (percore serve raises its soft limit to this)"),
      absl::StrCat(h.nofile_hard));
  s.add("nr_open", "fs.nr_open", Shown(h.nr_open, "ceiling of any hard limit"), OrNull(h.nr_open));
  s.add("file_max", "fs.file-max",
        h.file_max ? absl::StrCat(Limit(*h.file_max, false), "  (system-wide; ",
                                  Thousands(h.files_allocated.value_or(0)), " in use)")
                   : "unreadable",
        OrNull(h.file_max));
  return s;
}

ProbeSection Network(const HostFacts& h) {
  ProbeSection s{"network", "network"};
  s.add("somaxconn", "net.core.somaxconn",
        Shown(h.somaxconn,
              absl::StrCat("listen backlog ceiling; percore asks ", Thousands(Config{}.backlog))),
        OrNull(h.somaxconn));
  s.add("tcp_max_syn_backlog", "net.ipv4.tcp_max_syn_backlog", Shown(h.tcp_max_syn_backlog),
        OrNull(h.tcp_max_syn_backlog));
  if (h.port_low && h.port_high) {
    const int64_t n = *h.port_high - *h.port_low + 1;
    s.add("ip_local_port_range", "net.ipv4.ip_local_port_range",
          absl::StrCat(*h.port_low, " ", *h.port_high, "  (", Thousands(n),
                       " ports per client address and server address)"),
          absl::StrCat("[", *h.port_low, ", ", *h.port_high, "]"));
  } else {
    s.add("ip_local_port_range", "net.ipv4.ip_local_port_range", "unreadable", "null");
  }
  const char* tw_meaning[] = {"off", "on", "loopback only"};
  s.add("tcp_tw_reuse", "net.ipv4.tcp_tw_reuse",
        h.tcp_tw_reuse && *h.tcp_tw_reuse >= 0 && *h.tcp_tw_reuse <= 2
            ? absl::StrCat(*h.tcp_tw_reuse, "  (", tw_meaning[*h.tcp_tw_reuse], ")")
            : Shown(h.tcp_tw_reuse),
        OrNull(h.tcp_tw_reuse));
  if (h.tcp_mem.size() == 3) {
    std::vector<std::string> bytes;
    for (int64_t p : h.tcp_mem) bytes.push_back(Bytes(double(p) * h.page_size));
    s.add("tcp_mem_pages", "net.ipv4.tcp_mem",
          absl::StrCat(absl::StrJoin(h.tcp_mem, " "), " pages  (", absl::StrJoin(bytes, ", "),
                       ": min, pressure, max)"),
          absl::StrCat("[", absl::StrJoin(h.tcp_mem, ", "), "]"));
    s.add_int("page_size", "page size", h.page_size, " B");
  } else {
    s.add("tcp_mem_pages", "net.ipv4.tcp_mem", "unreadable", "null");
  }
  return s;
}

ProbeSection Memory(const HostFacts& h, const ConnBytes& c, const SocketCost& k) {
  ProbeSection s{"memory", "memory"};
  s.add("mem_total", "MemTotal", h.mem_total ? Bytes(double(*h.mem_total)) : "unreadable",
        OrNull(h.mem_total));
  s.add("mem_available", "MemAvailable",
        h.mem_available ? Bytes(double(*h.mem_available)) : "unreadable", OrNull(h.mem_available));
  s.add("percore_per_conn", "percore per connection",
        absl::StrCat(c.per_conn, " B  (Connection ", c.connection, " B in a ", c.slot,
                     " B slab slot, + slab bookkeeping; a handler's ConnState adds its size)"),
        absl::StrCat(c.per_conn));
  s.add("kernel_per_socket", "kernel per TCP socket",
        k.measured ? absl::StrCat(Thousands(k.bytes_per_socket), " B  (", k.note, ")") : k.note,
        k.measured ? absl::StrCat(k.bytes_per_socket) : "null");
  return s;
}

}  // namespace

int ProbeMain(int argc, char** argv) {
  CLI::App app("percore probe: what this host allows a long-connection server", "percore probe");
  int64_t target = 0;
  bool json = false;
  app.add_option("--target-conns", target,
                 "also judge whether this host can hold N connections, and print the lines "
                 "that raise each limit that falls short")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 32));
  app.add_flag("--json", json, "one JSON object instead of text")->default_str("false");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "percore probe: %s\n(percore probe --help lists the flags)\n", e.what());
    return 1;
  }

  // The limits as this process inherited them, before the socket measurement raises its own.
  HostFacts host = ReadHostFacts();
  UringFacts uring = ProbeUring(host);
  ConnBytes conn = PercoreConnBytes();
  SocketCost sockets = MeasureSocketCost(kMeasurePairs);

  std::vector<ProbeSection> sections;
  ProbeSection about{"percore", "percore"};
  about.add_text("version", "version", VersionString());
  sections.push_back(std::move(about));
  sections.push_back(Kernel(host));
  sections.push_back(Uring(host, uring));
  sections.push_back(Files(host));
  sections.push_back(Network(host));
  sections.push_back(Memory(host, conn, sockets));
  if (target > 0) sections.push_back(PlanTarget(target, host, conn, sockets));
  std::string out = json ? RenderJson(sections) : RenderText(sections);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace percore::tools
