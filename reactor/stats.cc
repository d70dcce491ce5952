#include "reactor/stats.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace percore {

const char* CloseReasonName(CloseReason r) {
  switch (r) {
    case CloseReason::kPeerClosed:
      return "peer_closed";
    case CloseReason::kLocal:
      return "local";
    case CloseReason::kReset:
      return "reset";
    case CloseReason::kError:
      return "error";
    case CloseReason::kIdleTimeout:
      return "idle_timeout";
    case CloseReason::kWriteTimeout:
      return "write_timeout";
    case CloseReason::kOutputOverflow:
      return "output_overflow";
    case CloseReason::kFrameTooLarge:
      return "frame_too_large";
    case CloseReason::kNoMemory:
      return "no_memory";
    case CloseReason::kShutdown:
      return "shutdown";
    case CloseReason::kMalformed:
      return "malformed";
    case CloseReason::kCount:
      break;
  }
  return "?";
}

void StatsSnapshot::add(const ReactorStats& s) {
  ++reactors;
  accepted += s.accepted.get();
  open += s.open.get();
  rejected_max_conns += s.rejected_max_conns.get();
  accept_errors += s.accept_errors.get();
  bytes_in += s.bytes_in.get();
  bytes_out += s.bytes_out.get();
  backpressure += s.backpressure.get();
  evictions += s.evictions.get();
  loop_turns += s.loop_turns.get();
  events += s.events.get();
  tasks += s.tasks.get();
  stale_handles += s.stale_handles.get();
  posts_dropped += s.posts_dropped.get();
  handle_refused += s.handle_refused.get();
  frames_in += s.frames_in.get();
  handoffs_failed += s.handoffs_failed.get();
  lingered += s.lingered.get();
  lingering += s.lingering.get();
  pool_chunks_in_use += s.pool_chunks_in_use.get();
  pool_failures += s.pool_failures.get();
  for (size_t i = 0; i < closed.size(); ++i) closed[i] += s.closed[i].get();
  open_per_reactor.push_back(s.open.get());
}

uint64_t StatsSnapshot::closed_total() const {
  uint64_t t = 0;
  for (uint64_t c : closed) t += c;
  return t;
}

std::string StatsSnapshot::ToLine() const {
  std::string per;
  for (size_t i = 0; i < open_per_reactor.size(); ++i) {
    absl::StrAppend(&per, i ? "/" : "", open_per_reactor[i]);
  }
  std::string reasons;
  for (size_t i = 0; i < closed.size(); ++i) {
    if (closed[i]) {
      absl::StrAppend(&reasons, " ", CloseReasonName(static_cast<CloseReason>(i)), "=", closed[i]);
    }
  }
  return absl::StrFormat(
      "open=%d (%s) accepted=%d rejected=%d accept_errors=%d in=%dB out=%dB backpressure=%d "
      "evictions=%d lingering=%d turns=%d events/turn=%.2f stale_handles=%d chunks=%d "
      "closed=%d%s",
      open, per, accepted, rejected_max_conns, accept_errors, bytes_in, bytes_out, backpressure,
      evictions, lingering, loop_turns, loop_turns ? double(events) / double(loop_turns) : 0.0,
      stale_handles, pool_chunks_in_use, closed_total(), reasons);
}

std::string StatsSnapshot::ToPrometheus() const {
  std::string out;
  auto metric = [&](const char* name, const char* type, uint64_t v) {
    absl::StrAppend(&out, "# TYPE percore_", name, " ", type, "\npercore_", name, " ", v, "\n");
  };
  metric("connections_accepted_total", "counter", accepted);
  metric("connections_open", "gauge", open);
  metric("connections_rejected_max_total", "counter", rejected_max_conns);
  metric("accept_errors_total", "counter", accept_errors);
  metric("bytes_in_total", "counter", bytes_in);
  metric("bytes_out_total", "counter", bytes_out);
  metric("backpressure_events_total", "counter", backpressure);
  metric("evictions_total", "counter", evictions);
  metric("lingering_closes_total", "counter", lingered);
  metric("connections_lingering", "gauge", lingering);
  metric("loop_turns_total", "counter", loop_turns);
  metric("events_total", "counter", events);
  metric("stale_handles_total", "counter", stale_handles);
  metric("frames_in_total", "counter", frames_in);
  metric("handle_sends_refused_total", "counter", handle_refused);
  metric("handoffs_failed_total", "counter", handoffs_failed);
  metric("posts_dropped_total", "counter", posts_dropped);
  metric("buffer_chunks_in_use", "gauge", pool_chunks_in_use);
  absl::StrAppend(&out, "# TYPE percore_connections_closed_total counter\n");
  for (size_t i = 0; i < closed.size(); ++i) {
    absl::StrAppend(&out, "percore_connections_closed_total{reason=\"",
                    CloseReasonName(static_cast<CloseReason>(i)), "\"} ", closed[i], "\n");
  }
  absl::StrAppend(&out, "# TYPE percore_reactor_connections_open gauge\n");
  for (size_t i = 0; i < open_per_reactor.size(); ++i) {
    absl::StrAppend(&out, "percore_reactor_connections_open{reactor=\"", i, "\"} ",
                    open_per_reactor[i], "\n");
  }
  return out;
}

}  // namespace percore
