#include "reactor/config.h"

#include "absl/strings/str_format.h"

namespace percore {
namespace {

bool IsPowerOfTwo(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

absl::Status Config::Validate() const {
  auto bad = [](std::string_view what) {
    return absl::InvalidArgumentError(absl::StrFormat("config: %s", what));
  };
  if (threads < 0 || threads > 1024) return bad("threads must be in [0, 1024] (0 = one per CPU)");
  if (listen.empty()) return bad("listen address is empty");
  if (backlog <= 0) return bad("backlog must be positive");
  if (rcvbuf < 0 || sndbuf < 0) return bad("rcvbuf/sndbuf must be >= 0");
  if (idle_timeout < absl::ZeroDuration() || write_timeout < absl::ZeroDuration() ||
      drain_timeout < absl::ZeroDuration() || linger_timeout < absl::ZeroDuration() ||
      defer_accept < absl::ZeroDuration() || heartbeat_interval < absl::ZeroDuration()) {
    return bad("timeouts must be >= 0");
  }
  if (busy_poll < absl::ZeroDuration() || busy_poll > absl::Seconds(1)) {
    return bad("busy_poll must be in [0, 1s]");
  }
  if (out_low_watermark > out_high_watermark) {
    return bad("out_low_watermark must not exceed out_high_watermark");
  }
  if (out_high_watermark == 0) return bad("out_high_watermark must be positive");
  if (out_cap < out_high_watermark) return bad("out_cap must be >= out_high_watermark");
  if (read_budget < 16 * 1024) return bad("read_budget must be >= 16384");
  if (max_frame == 0) return bad("max_frame must be positive");
  if (!IsPowerOfTwo(chunk_size) || chunk_size < 4096 || chunk_size > (1u << 24)) {
    return bad("chunk_size must be a power of two in [4096, 16 MiB]");
  }
  if (max_chunks < 16) return bad("max_chunks must be >= 16");
  if (task_queue_cap == 0) return bad("task_queue_cap must be positive");
  if (handle_queue_bytes == 0) return bad("handle_queue_bytes must be positive");
  if (uring_entries < 8 || uring_entries > 32768 || !IsPowerOfTwo(uring_entries)) {
    return bad("uring_entries must be a power of two in [8, 32768]");
  }
  if (!IsPowerOfTwo(uring_buffers) || uring_buffers > 32768) {
    return bad("uring_buffers must be a power of two <= 32768");
  }
  if (uring_buffer_size < 1024 || uring_buffer_size > (1u << 24)) {
    return bad("uring_buffer_size must be in [1024, 16 MiB]");
  }
  return absl::OkStatus();
}

const char* BackendName(BackendKind kind) {
  switch (kind) {
    case BackendKind::kEpoll:
      return "epoll";
    case BackendKind::kIoUring:
      return "io_uring";
    case BackendKind::kAuto:
      return "auto";
  }
  return "?";
}

absl::Status ParseBackend(std::string_view text, BackendKind* out) {
  for (BackendKind k : {BackendKind::kEpoll, BackendKind::kIoUring, BackendKind::kAuto}) {
    if (text == BackendName(k)) {
      *out = k;
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("config: backend '%s' is not one of epoll, io_uring, auto", text));
}

const char* AcceptModeName(AcceptMode mode) {
  switch (mode) {
    case AcceptMode::kReusePort:
      return "reuseport";
    case AcceptMode::kRoundRobin:
      return "round_robin";
    case AcceptMode::kLeastConns:
      return "least_conns";
  }
  return "?";
}

absl::Status ParseAcceptMode(std::string_view text, AcceptMode* out) {
  for (AcceptMode m : {AcceptMode::kReusePort, AcceptMode::kRoundRobin, AcceptMode::kLeastConns}) {
    if (text == AcceptModeName(m)) {
      *out = m;
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "config: accept_mode '%s' is not one of reuseport, round_robin, least_conns", text));
}

}  // namespace percore
