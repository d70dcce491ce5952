// Load generation for `percore bench`: connections that keep `depth` requests in flight (closed
// loop) or send on a fixed timetable (open loop, --rate), verify every reply for the chosen
// protocol, and record latency in a log-linear histogram. Plain epoll, independent of
// percore's reactor, so it measures any server the same way. Each call owns its sockets and
// threads for its duration.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "reactor/fd.h"
#include "tools/latency_histogram.h"

namespace percore::tools {

// Once a second during the measured window (and the warm-up), for a live line.
struct LiveSample {
  double elapsed_s = 0;           // since the load started (warm-up included)
  bool measuring = false;         // false during the warm-up
  double msgs_per_s = 0;          // over the last second
  double p50_us = 0, p99_us = 0;  // over the last second
  uint64_t errors = 0;            // so far
  int open_conns = 0;
};

struct LoadOptions {
  // Where: host:port over TCP, or a Unix socket path (unix_path non-empty wins).
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string unix_path;

  // What each request is and how its reply is checked:
  //   raw     `size` pseudo-random bytes, echoed back byte for byte
  //   line    a line of `size` bytes with its "\n", echoed back
  //   length  [u16 big-endian length][body], `size` bytes in all, echoed back
  //   resp    the RESP commands in `commands`, in turn ("__rand__" in a command becomes a
  //           random key number below `keyspace`); replies checked for their command
  //   http    GET `path` with `headers`, HTTP/1.1 keep-alive; status 200 (or `expect_status`)
  //           and a complete body checked
  //   ws      a WebSocket handshake at `path`, then masked binary frames of `size` bytes,
  //           echoed back
  std::string protocol = "raw";
  std::vector<std::string> commands = {"SET key:__rand__ xxx", "GET key:__rand__"};
  uint64_t keyspace = 100000;
  std::string path = "/";
  std::vector<std::string> headers;  // "Name: value"
  int expect_status = 200;

  int conns = 50;
  size_t size = 64;
  int depth = 32;   // closed loop: requests in flight per connection
  double rate = 0;  // open loop: requests per second over all connections; 0 = closed loop
  double warmup_s = 1;
  double duration_s = 3;
  int threads = 1;
  double connect_rate = 0;  // new connections per second; 0 = as fast as they complete
  // Source addresses, e.g. "127.0.0.2-127.0.0.9": connections bind round-robin to pass the
  // ~28k ephemeral ports per source address. Empty: the kernel picks.
  std::string source_ips;
  int spread = 0;  // older form: sources 127.0.0.1 .. 127.0.0.<spread>
  // Older form of protocol "length": 2 = each message is [u16 length][body].
  int frame_header = 0;

  // Called on one of the load threads' behalf from the calling thread once a second; may be
  // empty.
  std::function<void(const LiveSample&)> on_second;
};

struct LoadResult {
  uint64_t msgs = 0;  // completed in the measured window
  double seconds = 0;
  double msgs_per_s = 0, mb_per_s = 0;  // MB/s counts request bytes sent
  double p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
  double connect_p50_us = 0, connect_max_us = 0;  // TCP connect (+ handshake for ws)
  uint64_t errors = 0;                            // all kinds together
  // Errors by kind ("closed by server", "mismatch", "bad status", "connect", "timeout", ...).
  std::map<std::string, uint64_t> errors_by_kind;
  std::string first_error;  // what the first error was, in words
  // Connections the server ended cleanly after an answer ("Connection: close", e.g. nginx's
  // keepalive_requests), replaced by new ones; not errors.
  uint64_t reconnects = 0;
  LatencyHistogram latency;  // every measured request (open loop: from its scheduled time)
  // Per load thread (connection i is on thread i mod threads): connections it established and
  // replies it checked in the measured window.
  struct ThreadShare {
    uint64_t connected = 0;
    uint64_t msgs = 0;
  };
  std::vector<ThreadShare> threads;
};

absl::StatusOr<LoadResult> RunEchoLoad(const LoadOptions& opt);

// Opens n connections, completes one request on each (so the server certainly serviced them),
// and holds them until destroyed.
absl::StatusOr<std::vector<Fd>> OpenIdle(const LoadOptions& opt, int n);

}  // namespace percore::tools
