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

namespace {
// Each reactor counter and the snapshot field it sums into.
struct Field {
  Counter ReactorStats::*counter;
  uint64_t StatsSnapshot::*value;
};
constexpr Field kFields[] = {
    {&ReactorStats::accepted, &StatsSnapshot::accepted},
    {&ReactorStats::open, &StatsSnapshot::open},
    {&ReactorStats::rejected_max_conns, &StatsSnapshot::rejected_max_conns},
    {&ReactorStats::accept_errors, &StatsSnapshot::accept_errors},
    {&ReactorStats::bytes_in, &StatsSnapshot::bytes_in},
    {&ReactorStats::bytes_out, &StatsSnapshot::bytes_out},
    {&ReactorStats::backpressure, &StatsSnapshot::backpressure},
    {&ReactorStats::evictions, &StatsSnapshot::evictions},
    {&ReactorStats::loop_turns, &StatsSnapshot::loop_turns},
    {&ReactorStats::events, &StatsSnapshot::events},
    {&ReactorStats::sleeps, &StatsSnapshot::sleeps},
    {&ReactorStats::busy_polls, &StatsSnapshot::busy_polls},
    {&ReactorStats::tasks, &StatsSnapshot::tasks},
    {&ReactorStats::stale_handles, &StatsSnapshot::stale_handles},
    {&ReactorStats::posts_dropped, &StatsSnapshot::posts_dropped},
    {&ReactorStats::handle_refused, &StatsSnapshot::handle_refused},
    {&ReactorStats::frames_in, &StatsSnapshot::frames_in},
    {&ReactorStats::handoffs_failed, &StatsSnapshot::handoffs_failed},
    {&ReactorStats::lingered, &StatsSnapshot::lingered},
    {&ReactorStats::lingering, &StatsSnapshot::lingering},
    {&ReactorStats::rooms, &StatsSnapshot::rooms},
    {&ReactorStats::room_members, &StatsSnapshot::room_members},
    {&ReactorStats::room_deliveries, &StatsSnapshot::room_deliveries},
    {&ReactorStats::room_dropped, &StatsSnapshot::room_dropped},
    {&ReactorStats::offload_dropped, &StatsSnapshot::offload_dropped},
    {&ReactorStats::rejected_per_ip, &StatsSnapshot::rejected_per_ip},
    {&ReactorStats::rejected_accept_rate, &StatsSnapshot::rejected_accept_rate},
    {&ReactorStats::throttled, &StatsSnapshot::throttled},
    {&ReactorStats::pool_chunks_in_use, &StatsSnapshot::pool_chunks_in_use},
    {&ReactorStats::pool_failures, &StatsSnapshot::pool_failures},
};
}  // namespace

void StatsSnapshot::add(const ReactorStats& s) {
  StatsSnapshot one;
  one.reactors = 1;
  for (const Field& f : kFields) {
    one.*f.value = (s.*f.counter).get();
    this->*f.value += one.*f.value;
  }
  for (size_t i = 0; i < closed.size(); ++i) {
    one.closed[i] = s.closed[i].get();
    closed[i] += one.closed[i];
  }
  ++reactors;
  open_per_reactor.push_back(one.open);
  per_reactor.push_back(std::move(one));
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
    {"connections_rejected_per_ip_total", "counter", &StatsSnapshot::rejected_per_ip},
    {"connections_rejected_accept_rate_total", "counter", &StatsSnapshot::rejected_accept_rate},
    {"accept_errors_total", "counter", &StatsSnapshot::accept_errors},
    {"bytes_in_total", "counter", &StatsSnapshot::bytes_in},
    {"bytes_out_total", "counter", &StatsSnapshot::bytes_out},
    {"backpressure_events_total", "counter", &StatsSnapshot::backpressure},
    {"evictions_total", "counter", &StatsSnapshot::evictions},
    {"lingering_closes_total", "counter", &StatsSnapshot::lingered},
    {"connections_lingering", "gauge", &StatsSnapshot::lingering},
    {"loop_turns_total", "counter", &StatsSnapshot::loop_turns},
    {"events_total", "counter", &StatsSnapshot::events},
    {"loop_sleeps_total", "counter", &StatsSnapshot::sleeps},
    {"loop_busy_polls_total", "counter", &StatsSnapshot::busy_polls},
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
    {"input_throttled_total", "counter", &StatsSnapshot::throttled},
    {"offload_results_dropped_total", "counter", &StatsSnapshot::offload_dropped},
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
