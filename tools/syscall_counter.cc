#include "tools/syscall_counter.h"

#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"

namespace percore::tools {
namespace {

std::optional<uint64_t> TracepointId() {
  for (const char* root : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
    std::ifstream f(absl::StrFormat("%s/events/raw_syscalls/sys_enter/id", root));
    uint64_t id = 0;
    if (f >> id) return id;
  }
  return std::nullopt;
}

}  // namespace

std::optional<SyscallCounter> SyscallCounter::Open(pid_t pid, std::string* why) {
  std::optional<uint64_t> id = TracepointId();
  if (!id) {
    *why = "no raw_syscalls tracepoint (tracefs not mounted?)";
    return std::nullopt;
  }
  SyscallCounter c;
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::directory_iterator(absl::StrFormat("/proc/%d/task", pid), ec)) {
    int tid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &tid)) continue;
    perf_event_attr attr{};
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_TRACEPOINT;
    attr.config = *id;
    int fd = static_cast<int>(::syscall(SYS_perf_event_open, &attr, tid, -1, -1, 0));
    if (fd < 0) {
      *why = absl::StrFormat("perf_event_open: %s (see /proc/sys/kernel/perf_event_paranoid)",
                             std::strerror(errno));
      return std::nullopt;
    }
    c.fds_.emplace_back(fd);
  }
  if (c.fds_.empty()) {
    *why = absl::StrFormat("no threads under /proc/%d/task", pid);
    return std::nullopt;
  }
  return c;
}

uint64_t SyscallCounter::read() const {
  uint64_t total = 0;
  for (const Fd& fd : fds_) {
    uint64_t v = 0;
    if (::read(fd.get(), &v, sizeof v) == sizeof v) total += v;
  }
  return total;
}

}  // namespace percore::tools
