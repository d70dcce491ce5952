// Echo load generation for `percore bench`: connections that keep `depth` messages in flight,
// verify every echoed byte against a per-connection pseudo-random stream, and record latency
// in a log-linear histogram. Plain epoll, independent of percore's reactor, so it measures
// any echo server the same way. Each call owns its sockets and threads for its duration.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "reactor/fd.h"

namespace percore::tools {

struct LoadOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  int conns = 50;
  size_t size = 64;
  int depth = 32;
  double warmup_s = 1;
  double duration_s = 3;
  int threads = 1;
  int spread = 0;  // >0: bind sources 127.0.0.1 .. 127.0.0.<spread> to pass 28k ports
  // 2: each message starts with its body length as a big-endian u16 ([len][body], `size`
  // bytes in all), for servers that frame (the `framed` app); an echo server echoes it as is.
  int frame_header = 0;
};

struct LoadResult {
  uint64_t msgs = 0;  // completed in the measured window
  double seconds = 0;
  double msgs_per_s = 0, mb_per_s = 0;
  double p50_us = 0, p99_us = 0, p999_us = 0;
  uint64_t errors = 0;      // mismatched bytes, unexpected closes, failed connects
  std::string first_error;  // what the first error was
};

absl::StatusOr<LoadResult> RunEchoLoad(const LoadOptions& opt);

// Opens n connections, completes one echo on each (so the server certainly serviced them),
// and holds them until destroyed.
absl::StatusOr<std::vector<Fd>> OpenIdle(const LoadOptions& opt, int n);

}  // namespace percore::tools
