// SyscallCounter: counts the system calls a running process makes (all its threads), through
// the kernel's raw_syscalls:sys_enter tracepoint and perf_event_open. `percore bench` uses it
// for syscalls per message. Owned by the caller; closes its counters on destruction.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "reactor/fd.h"

namespace percore::tools {

class SyscallCounter {
 public:
  // Opens one counter per thread of `pid` (threads started later are not counted). Empty when
  // tracepoints are not readable here (no tracefs, perf_event_paranoid, no CAP_PERFMON); *why
  // then says which.
  static std::optional<SyscallCounter> Open(pid_t pid, std::string* why);

  // Sum over the threads since Open.
  uint64_t read() const;

 private:
  std::vector<Fd> fds_;
};

}  // namespace percore::tools
