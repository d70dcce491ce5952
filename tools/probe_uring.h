// UringFacts: whether percore's io_uring backend can run here, and if not why. The probe does
// what reactor/uring_backend.cc does, on a throw-away ring: the same setup flags, a provided-
// buffer ring, a multishot accept and a multishot recv over a loopback connection, a sparse
// registered file table; so "available" means that backend would start, not only that the
// io_uring_setup syscall exists.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tools/probe_host.h"

namespace percore::tools {

struct UringFacts {
  bool built = false;      // this binary was built with liburing
  bool available = false;  // io_uring_queue_init succeeded
  int setup_errno = 0;
  std::string why;    // when not available: the errno and what on this host explains it
  std::string setup;  // the strongest setup flags the kernel accepted
  unsigned features = 0;
  std::vector<std::string> feature_names;          // every IORING_FEAT_* the kernel reports
  std::vector<std::pair<std::string, bool>> used;  // the ones percore relies on
  std::vector<std::string> missing_ops;            // opcodes percore submits, not supported
  std::optional<bool> buf_ring, multishot_accept, multishot_recv, registered_files;
  std::string detail_error;  // the first failing step after setup, with its errno
};

UringFacts ProbeUring(const HostFacts& host);

// What a failed io_uring_setup means on this host: EPERM from the sysctl or a seccomp filter,
// ENOSYS from a kernel without io_uring (or a filter that answers ENOSYS), ENOMEM from the
// locked-memory limit.
std::string ExplainUringError(int err, const HostFacts& host);

}  // namespace percore::tools
