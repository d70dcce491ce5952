#include "tools/probe_target.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "reactor/config.h"

namespace percore::tools {
namespace {

// The whole range a client may use: below 1024 are the privileged ports.
constexpr int64_t kWidestPortRange = 65535 - 1024 + 1;

int64_t RoundUpPow2(int64_t v) {
  int64_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// How a limit that falls short counts: it stops the server holding N (a blocker), it stops
// clients on this host from opening N (local), or it only makes bursts worse (advice).
enum class Kind { kBlocker, kLocal, kAdvice };

// The judged limits, as rows, and how many fall short of each kind.
struct Judge {
  ProbeSection& out;
  int blockers = 0;
  int local = 0;
  int advice = 0;

  // Returns ok, counting a shortfall.
  bool check(std::string key, std::string label, Kind kind, int64_t have, int64_t need,
             std::string why) {
    const bool ok = have >= need;
    const char* tag = ok ? "ok" : kind == Kind::kAdvice ? "low" : "SHORT";
    if (!ok) ++(kind == Kind::kBlocker ? blockers : kind == Kind::kLocal ? local : advice);
    const char* kinds[] = {"blocker", "local", "advice"};
    out.add(std::move(key), std::move(label),
            absl::StrFormat("%-6s %s %s %s%s%s", tag, Thousands(have), ok ? ">=" : "<",
                            Thousands(need), why.empty() ? "" : "  ", why),
            absl::StrCat("{\"ok\": ", ok ? "true" : "false", ", \"have\": ", have,
                         ", \"need\": ", need, ", \"kind\": \"", kinds[int(kind)], "\"}"));
    return ok;
  }
  void unknown(std::string key, std::string label, std::string what) {
    out.add(std::move(key), std::move(label), absl::StrCat("?      ", what, " unreadable"), "null");
  }
};

}  // namespace

ProbeSection PlanTarget(int64_t n, const HostFacts& h, const ConnBytes& percore,
                        const SocketCost& kernel) {
  ProbeSection s("target", absl::StrCat("target: ", Thousands(n), " connections"));
  s.add_int("connections", "connections", n);
  // The verdict goes first; its rows are filled in once every limit was judged.
  s.add("can_hold", "can hold them", "", "");
  s.add("shortfalls", "shortfalls", "", "");
  Judge j{s};

  const int64_t need_fds = n + kSpareFds;
  const int64_t fds = RoundUpPow2(need_fds);  // the value every fix line sets
  std::vector<std::string> sysctl, limits, systemd, shell, local;

  const bool hard_ok = j.check("nofile_hard", "open files (hard)", Kind::kBlocker, h.nofile_hard,
                               need_fds, absl::StrCat("N + ", Thousands(kSpareFds), " spare"));
  if (!hard_ok) {
    limits = {absl::StrCat("*  soft  nofile  ", fds), absl::StrCat("*  hard  nofile  ", fds)};
    systemd = {absl::StrCat("LimitNOFILE=", fds)};
  }
  // percore serve raises its soft limit to the hard one, so a low soft limit alone is advice
  // (for other programs, and embedders that do not raise it).
  const bool soft_ok =
      j.check("nofile_soft", "open files (soft)", Kind::kAdvice, h.nofile_soft, need_fds,
              h.nofile_soft >= need_fds ? "" : "percore serve raises it to the hard limit");
  if (!hard_ok || !soft_ok) shell = {absl::StrCat("ulimit -n ", fds)};

  if (h.nr_open) {
    const bool ok = j.check("nr_open", "fs.nr_open", Kind::kBlocker, *h.nr_open, need_fds,
                            "ceiling of any hard limit");
    // The hard limit the lines above set must fit under it too.
    if (!ok || (!hard_ok && *h.nr_open < fds)) sysctl.push_back(absl::StrCat("fs.nr_open = ", fds));
  } else {
    j.unknown("nr_open", "fs.nr_open", "/proc/sys/fs/nr_open");
  }

  if (h.file_max) {
    const int64_t in_use = h.files_allocated.value_or(0);
    const int64_t need = std::min(need_fds, INT64_MAX - in_use) + in_use;
    if (!j.check("file_max", "fs.file-max", Kind::kBlocker, *h.file_max, need,
                 absl::StrCat("system-wide, with the ", Thousands(in_use), " in use now"))) {
      sysctl.push_back(absl::StrCat("fs.file-max = ", 2 * fds));
    }
  } else {
    j.unknown("file_max", "fs.file-max", "/proc/sys/fs/file-max");
  }

  if (h.tcp_mem.size() == 3) {
    // Idle sockets hold no buffers, but N connections that each have one page queued at once
    // (a broadcast, a burst) must fit under tcp_mem's max, or the kernel drops and stalls.
    if (!j.check("tcp_mem", "net.ipv4.tcp_mem max", Kind::kBlocker, h.tcp_mem[2], n,
                 absl::StrCat("pages (", Bytes(double(h.tcp_mem[2]) * h.page_size),
                              "): one page queued per connection at once"))) {
      // Scaled up as a whole, keeping the kernel's own proportions between the three.
      const double k = double(n) / double(std::max<int64_t>(h.tcp_mem[2], 1));
      sysctl.push_back(absl::StrCat("net.ipv4.tcp_mem = ", int64_t(h.tcp_mem[0] * k), " ",
                                    int64_t(h.tcp_mem[1] * k), " ", n));
    }
  } else {
    j.unknown("tcp_mem", "net.ipv4.tcp_mem max", "/proc/sys/net/ipv4/tcp_mem");
  }

  // Not ceilings on connections, but a burst of (re)connects overflows short queues.
  const int backlog = Config{}.backlog;
  if (h.somaxconn && !j.check("somaxconn", "net.core.somaxconn", Kind::kAdvice, *h.somaxconn,
                              backlog, "percore's listen backlog is clipped to it")) {
    sysctl.push_back(absl::StrCat("net.core.somaxconn = ", backlog));
  }
  if (h.tcp_max_syn_backlog &&
      !j.check("tcp_max_syn_backlog", "net.ipv4.tcp_max_syn_backlog", Kind::kAdvice,
               *h.tcp_max_syn_backlog, backlog, "half-open connections during a burst")) {
    sysctl.push_back(absl::StrCat("net.ipv4.tcp_max_syn_backlog = ", backlog));
  }

  if (h.port_low && h.port_high) {
    // Each (client address, server address) pair has one ephemeral port per connection.
    const int64_t range = *h.port_high - *h.port_low + 1;
    if (!j.check("local_ports", "ports (local load)", Kind::kLocal, range, n,
                 "ephemeral ports of one client address; only when the clients run here")) {
      int64_t widest = range;
      if (range < kWidestPortRange) {
        sysctl.push_back("net.ipv4.ip_local_port_range = 1024 65535");
        widest = kWidestPortRange;
      }
      if (widest < n) {
        const int64_t sources = CeilDiv(n, widest);
        local.push_back(absl::StrCat("# ", sources, " source addresses (127.0.0.1..127.0.0.",
                                     sources, "), ", Thousands(widest), " ports each:"));
        local.push_back(absl::StrCat("percore bench --spread ", sources, " ..."));
      }
    }
  }

  // Memory: percore's slot per connection plus the kernel's socket (the clients' sockets too
  // when they run here).
  const int64_t user = n * int64_t(percore.per_conn);
  s.add("memory_percore", "memory, percore",
        absl::StrCat(Bytes(double(user)), "  (", percore.per_conn,
                     " B per connection; a handler's ConnState adds its size)"),
        absl::StrCat(user));
  if (kernel.measured) {
    const int64_t sockets = n * kernel.bytes_per_socket;
    s.add("memory_kernel", "memory, kernel",
          absl::StrCat(Bytes(double(sockets)), "  (", Thousands(kernel.bytes_per_socket),
                       " B per socket, measured here; twice that with the clients here)"),
          absl::StrCat(sockets));
    if (h.mem_available) {
      const int64_t total = user + sockets;
      const bool ok = total <= *h.mem_available;
      if (!ok) ++j.blockers;
      s.add("memory", "memory, total",
            absl::StrFormat("%-6s %s %s %s available", ok ? "ok" : "SHORT", Bytes(double(total)),
                            ok ? "<=" : ">", Bytes(double(*h.mem_available))),
            absl::StrCat("{\"ok\": ", ok ? "true" : "false", ", \"have\": ", *h.mem_available,
                         ", \"need\": ", total, ", \"kind\": \"blocker\"}"));
    }
  } else {
    s.add_text("memory_kernel", "memory, kernel", kernel.note);
  }

  s.rows[1].shown = j.blockers == 0 ? "yes" : "no: raise the limits marked SHORT (below)";
  s.rows[1].json = j.blockers == 0 ? "true" : "false";
  s.rows[2].shown = absl::StrCat(j.blockers);
  if (j.local > 0) absl::StrAppend(&s.rows[2].shown, ", +", j.local, " when the clients run here");
  if (j.advice > 0) absl::StrAppend(&s.rows[2].shown, "; ", j.advice, " low (advice)");
  s.rows[2].json = absl::StrCat("{\"blockers\": ", j.blockers, ", \"local\": ", j.local,
                                ", \"advice\": ", j.advice, "}");

  auto block = [&s](const std::string& where, const std::vector<std::string>& lines) {
    if (lines.empty()) return;
    s.lines.push_back(where);
    for (const std::string& l : lines) s.lines.push_back("    " + l);
  };
  if (!sysctl.empty() || !shell.empty() || !local.empty()) {
    s.lines.push_back("");
    s.lines.push_back("to change (as root):");
  }
  block("/etc/sysctl.d/99-percore.conf, then: sysctl --system", sysctl);
  block("/etc/security/limits.conf (login sessions; log in again)", limits);
  block("systemd unit, [Service] section (then: systemctl daemon-reload and restart)", systemd);
  block("a shell, before starting percore (above the hard limit only as root)", shell);
  block("load from this host", local);
  return s;
}

}  // namespace percore::tools
