// Where the load connects and from where: the target address (TCP host:port or a Unix socket
// path) resolved once, the source addresses connections bind to round-robin, the fd budget,
// and a non-blocking connect. Used by the load engine's threads (tools/load_worker.h).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "reactor/fd.h"
#include "tools/load_client.h"

namespace percore::tools {

struct LoadTarget {
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  bool unix_socket = false;
  std::vector<uint32_t> sources;  // IPv4, host order; empty: the kernel picks
};

// From opt.host/port or opt.unix_path, and opt.source_ips (or the older opt.spread).
absl::StatusOr<LoadTarget> ResolveTarget(const LoadOptions& opt);

// "127.0.0.2-127.0.0.9" or "10.0.0.1,10.0.0.2" (or a mix), in order.
absl::StatusOr<std::vector<uint32_t>> ParseSourceIps(const std::string& list);

// n connections need n fds plus a margin: a clear error naming `ulimit -n` beyond the limit.
absl::Status CheckFdBudget(int n);

// A non-blocking socket with connect() started for connection `index` (bound to its source
// address). *in_progress: the connect completes later (EPOLLOUT), else it already has.
absl::StatusOr<Fd> StartConnect(const LoadTarget& t, int index, bool* in_progress);

// The pending error of a connect that finished (SO_ERROR), 0 if it succeeded.
int ConnectError(int fd);

}  // namespace percore::tools
