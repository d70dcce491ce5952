// Loopback sockets for `percore probe`: a listener and connected pairs (the io_uring probe
// drives one through the ring), and the kernel's memory per idle TCP socket, measured by
// opening pairs and reading the slab before and after. That memory is in no process's RSS,
// and it is most of what an idle connection costs, so it is measured, never assumed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "reactor/fd.h"

namespace percore::tools {

struct LoopbackListener {
  Fd fd;
  uint16_t port = 0;
};

absl::StatusOr<LoopbackListener> ListenLoopback(int backlog);
// A blocking connect to 127.0.0.1:port; the peer is left in the listener's accept queue.
absl::StatusOr<Fd> ConnectLoopback(uint16_t port);

struct SocketCost {
  int pairs = 0;   // connected pairs held at once per round
  int rounds = 0;  // rounds measured; the median is kept
  int64_t bytes_per_socket = 0;
  bool measured = false;
  std::string note;  // why not measured, or how
};

// Opens up to `pairs` loopback connections (both ends are sockets of this process), reads
// /proc/meminfo Slab before and after, closes them all (reset, so nothing waits in
// TIME_WAIT). Fewer pairs when the open-files limit is low; bounded in time.
SocketCost MeasureSocketCost(int pairs);

}  // namespace percore::tools
