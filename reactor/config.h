// Config: every tunable of a percore server in one struct, with defaults that work.
// Filled by the embedding program (or by `percore` from flags and a TOML file) and copied
// into each reactor at start-up; never mutated while running.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace percore {

enum class BackendKind : uint8_t { kEpoll, kIoUring, kAuto };
enum class AcceptMode : uint8_t { kReusePort, kRoundRobin, kLeastConns };

struct Config {
  // Reactors.
  BackendKind backend = BackendKind::kEpoll;
  int threads = 0;  // 0: one reactor per online CPU
  bool pin_cpus = false;

  // Listening.
  // "host:port", "[v6]:port" or "unix:/path". Loopback by default: facing the network is
  // asked for explicitly ("0.0.0.0:9000", "[::]:9000").
  std::string listen = "127.0.0.1:9000";
  int backlog = 4096;
  AcceptMode accept_mode = AcceptMode::kReusePort;
  uint32_t max_connections = 0;  // 0: unlimited; excess is accepted and closed at once
  // Admission limits (net/admission.h); excess is accepted and reset at once, counted by
  // reason. Connections per source IP address (Unix-domain peers exempt); 0: off.
  uint32_t max_conns_per_ip = 0;
  // Accepted connections per second over the whole server, a token bucket holding
  // accept_burst (0: one second's worth); 0: off.
  uint32_t accept_rate = 0;
  uint32_t accept_burst = 0;

  // Socket options.
  bool tcp_nodelay = true;
  bool keepalive = false;
  int rcvbuf = 0;  // 0: kernel default
  int sndbuf = 0;
  // Accept a connection only once its first bytes arrived (TCP_DEFER_ACCEPT, whole seconds):
  // fewer wake-ups per connection, for protocols where the client speaks first (echo, HTTP,
  // RESP). A client that stays silent is accepted after about this long. 0: off.
  absl::Duration defer_accept = absl::ZeroDuration();

  // Before a reactor with nothing to do goes to sleep, it polls without blocking for up to
  // this long. Work arriving meanwhile is picked up with no wake-up: a sleeping reactor costs
  // its peer the wake-up (an interrupt to an idle CPU, dear on virtual machines) and costs
  // the request that latency. The price is CPU: a quiet reactor spins this long every time it
  // runs out of work. Opt-in, for latency-bound servers on dedicated cores; at most 1 s.
  absl::Duration busy_poll = absl::ZeroDuration();

  // Timeouts (zero disables).
  absl::Duration idle_timeout = absl::ZeroDuration();
  absl::Duration write_timeout = absl::Seconds(30);  // output pending with no progress
  absl::Duration drain_timeout = absl::Seconds(5);   // graceful shutdown bound
  // After a graceful close whose output the peer has not yet acknowledged: send FIN and keep
  // reading (discarding) until the peer closes or this passes, so input that arrives late does
  // not make the kernel answer with RST and drop the tail of our output.
  absl::Duration linger_timeout = absl::Seconds(2);
  // Application heartbeat, for handlers with on_heartbeat: a connection that sent nothing for
  // this long gets on_heartbeat (the handler sends its protocol's ping); one that then sends
  // nothing for as long again is closed (reason heartbeat_timeout). Zero disables.
  absl::Duration heartbeat_interval = absl::ZeroDuration();

  // Output flow control, per connection.
  uint32_t out_high_watermark = 256 * 1024;  // send() reports backpressure above this
  uint32_t out_low_watermark = 64 * 1024;    // on_drain() once output falls below this
  uint32_t out_cap = 4 * 1024 * 1024;        // a peer that never reads is closed here

  // Input.
  uint32_t read_budget = 256 * 1024;  // bytes read per connection per wake-up
  uint32_t max_frame = 1024 * 1024;   // bytes a handler may leave unconsumed
  // Input rate limits per connection (0: off), each a token bucket holding one second's
  // worth: above them reading pauses until the bucket refills (TCP pushes back on the peer);
  // nothing is closed. Messages are what a handler's codec hands to on_message.
  uint32_t in_bytes_per_sec = 0;
  uint32_t in_messages_per_sec = 0;

  // Memory, per reactor.
  uint32_t chunk_size = 16 * 1024;  // BufferPool chunk (power of two)
  uint32_t max_chunks = 65536;      // BufferPool bound
  uint32_t task_queue_cap = 65536;  // cross-thread posts waiting
  // Bytes of ConnHandle sends posted to a reactor and not yet applied; above it a foreign
  // send is refused (ResourceExhausted) instead of growing memory without bound.
  uint64_t handle_queue_bytes = 64ull << 20;

  // io_uring.
  uint32_t uring_entries = 1024;  // submission queue size; CQ is 8x
  uint32_t uring_buffers = 64;    // provided receive buffers per reactor (power of two)
  uint32_t uring_buffer_size = 16 * 1024;

  absl::Status Validate() const;
};

const char* BackendName(BackendKind kind);
absl::Status ParseBackend(std::string_view text, BackendKind* out);
const char* AcceptModeName(AcceptMode mode);
absl::Status ParseAcceptMode(std::string_view text, AcceptMode* out);

}  // namespace percore
