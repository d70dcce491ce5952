// ExplainUringError: built with or without liburing, so the reasoning is the same everywhere.
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/probe_report.h"
#include "tools/probe_uring.h"

namespace percore::tools {

std::string ExplainUringError(int err, const HostFacts& host) {
  std::string out = absl::StrFormat("io_uring_setup: %s (errno %d)", std::strerror(err), err);
  const bool filtered = host.seccomp.value_or(0) == 2;
  const int64_t disabled = host.io_uring_disabled.value_or(0);
  if (err == EPERM) {
    if (disabled == 2) {
      absl::StrAppend(&out, ": refused by sysctl kernel.io_uring_disabled=2; set it to 0");
    } else if (disabled == 1) {
      absl::StrAppend(&out,
                      ": sysctl kernel.io_uring_disabled=1 allows only kernel.io_uring_group (",
                      host.io_uring_group.value_or(-1), "); set it to 0 or run in that group");
    } else if (filtered) {
      absl::StrAppend(&out,
                      ": a seccomp filter blocks it (a container runtime's default profile); "
                      "allow io_uring_setup, io_uring_enter and io_uring_register in the profile");
    } else {
      absl::StrAppend(&out, ": refused by a security module (SELinux, AppArmor) or capability");
    }
  } else if (err == ENOSYS) {
    absl::StrAppend(&out, filtered ? ": a seccomp filter answers ENOSYS for it, or the kernel "
                                     "lacks io_uring (CONFIG_IO_URING)"
                                   : ": the kernel lacks io_uring (CONFIG_IO_URING, 5.1+)");
  } else if (err == ENOMEM) {
    absl::StrAppend(&out, ": locked-memory limit (ulimit -l, now ", Bytes(host.memlock_soft),
                    ") too low for the rings, or out of memory");
  } else if (err == EINVAL) {
    absl::StrAppend(&out, ": the kernel is too old for the setup percore asks for");
  }
  return out;
}

}  // namespace percore::tools
