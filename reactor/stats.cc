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
    case CloseReason::kSlowConsumer:
      return "slow_consumer";
    case CloseReason::kKicked:
      return "kicked";
    case CloseReason::kAuthTimeout:
      return "auth_timeout";
    case CloseReason::kHeartbeatTimeout:
      return "heartbeat_timeout";
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
  rooms += s.rooms.get();
  room_members += s.room_members.get();
  room_deliveries += s.room_deliveries.get();
  room_dropped += s.room_dropped.get();
  pool_chunks_in_use += s.pool_chunks_in_use.get();
  pool_failures += s.pool_failures.get();
  for (size_t i = 0; i < closed.size(); ++i) closed[i] += s.closed[i].get();
  open_per_reactor.push_back(s.open.get());
  {
    StatsSnapshot one;
    one.reactors = 1;
    one.accepted = s.accepted.get();
    one.open = s.open.get();
    one.rejected_max_conns = s.rejected_max_conns.get();
    one.accept_errors = s.accept_errors.get();
    one.bytes_in = s.bytes_in.get();
    one.bytes_out = s.bytes_out.get();
    one.backpressure = s.backpressure.get();
    one.evictions = s.evictions.get();
    one.loop_turns = s.loop_turns.get();
    one.events = s.events.get();
    one.tasks = s.tasks.get();
    one.stale_handles = s.stale_handles.get();
    one.posts_dropped = s.posts_dropped.get();
    one.handle_refused = s.handle_refused.get();
    one.frames_in = s.frames_in.get();
    one.handoffs_failed = s.handoffs_failed.get();
    one.lingered = s.lingered.get();
    one.lingering = s.lingering.get();
    one.rooms = s.rooms.get();
    one.room_members = s.room_members.get();
    one.room_deliveries = s.room_deliveries.get();
    one.room_dropped = s.room_dropped.get();
    one.pool_chunks_in_use = s.pool_chunks_in_use.get();
    one.pool_failures = s.pool_failures.get();
    for (size_t i = 0; i < closed.size(); ++i) one.closed[i] = s.closed[i].get();
    per_reactor.push_back(std::move(one));
  }
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

namespace {
struct Metric {
  const char* name;
  const char* type;
  uint64_t StatsSnapshot::*value;
};
constexpr Metric kMetrics[] = {
    {"connections_accepted_total", "counter", &StatsSnapshot::accepted},
    {"connections_open", "gauge", &StatsSnapshot::open},
    {"connections_rejected_max_total", "counter", &StatsSnapshot::rejected_max_conns},
    {"accept_errors_total", "counter", &StatsSnapshot::accept_errors},
    {"bytes_in_total", "counter", &StatsSnapshot::bytes_in},
    {"bytes_out_total", "counter", &StatsSnapshot::bytes_out},
    {"backpressure_events_total", "counter", &StatsSnapshot::backpressure},
    {"evictions_total", "counter", &StatsSnapshot::evictions},
    {"lingering_closes_total", "counter", &StatsSnapshot::lingered},
    {"connections_lingering", "gauge", &StatsSnapshot::lingering},
    {"loop_turns_total", "counter", &StatsSnapshot::loop_turns},
    {"events_total", "counter", &StatsSnapshot::events},
    {"tasks_total", "counter", &StatsSnapshot::tasks},
    {"stale_handles_total", "counter", &StatsSnapshot::stale_handles},
    {"frames_in_total", "counter", &StatsSnapshot::frames_in},
    {"handle_sends_refused_total", "counter", &StatsSnapshot::handle_refused},
    {"handoffs_failed_total", "counter", &StatsSnapshot::handoffs_failed},
    {"posts_dropped_total", "counter", &StatsSnapshot::posts_dropped},
    {"room_shards", "gauge", &StatsSnapshot::rooms},
    {"room_members", "gauge", &StatsSnapshot::room_members},
    {"room_deliveries_total", "counter", &StatsSnapshot::room_deliveries},
    {"room_slow_dropped_total", "counter", &StatsSnapshot::room_dropped},
    {"buffer_chunks_in_use", "gauge", &StatsSnapshot::pool_chunks_in_use},
    {"buffer_pool_failures_total", "counter", &StatsSnapshot::pool_failures},
};
}  // namespace

std::string StatsSnapshot::ToPrometheus() const {
  std::string out;
  for (const Metric& m : kMetrics) {
    absl::StrAppend(&out, "# TYPE percore_", m.name, " ", m.type, "\npercore_", m.name, " ",
                    this->*m.value, "\n");
  }
  absl::StrAppend(&out, "# TYPE percore_connections_closed_total counter\n");
  for (size_t i = 0; i < closed.size(); ++i) {
    absl::StrAppend(&out, "percore_connections_closed_total{reason=\"",
                    CloseReasonName(static_cast<CloseReason>(i)), "\"} ", closed[i], "\n");
  }
  for (const Metric& m : kMetrics) {
    absl::StrAppend(&out, "# TYPE percore_reactor_", m.name, " ", m.type, "\n");
    for (size_t r = 0; r < per_reactor.size(); ++r) {
      absl::StrAppend(&out, "percore_reactor_", m.name, "{reactor=\"", r, "\"} ",
                      per_reactor[r].*m.value, "\n");
    }
  }
  absl::StrAppend(&out, "# TYPE percore_reactor_connections_closed_total counter\n");
  for (size_t r = 0; r < per_reactor.size(); ++r) {
    for (size_t i = 0; i < closed.size(); ++i) {
      absl::StrAppend(&out, "percore_reactor_connections_closed_total{reactor=\"", r,
                      "\",reason=\"", CloseReasonName(static_cast<CloseReason>(i)), "\"} ",
                      per_reactor[r].closed[i], "\n");
    }
  }
  return out;
}

}  // namespace percore
