// ConnTable, timeouts: one timer-wheel entry per connection at most. Traffic only stamps
// last_input_/last_write_ (no wheel operation per read); the timer, when it fires, re-derives
// the deadline and re-arms lazily. The rules, by state:
//   open states: output pending with no progress for write_timeout -> reset (kWriteTimeout);
//     no traffic either way for idle_timeout -> close; with output still queued that close is
//     graceful (flush, then FIN), so the peer never sees a clean EOF after lost bytes.
//   kOpen, reading, with a heartbeat (heartbeat_interval and a handler with on_heartbeat): no
//     input for the interval -> on_heartbeat (kPinged); no input for twice the interval ->
//     close (kHeartbeatTimeout). Any input clears kPinged.
//   kClosing: the write timeout alone (or, when it is disabled, the idle timeout) -> reset.
//   kLingering: linger_timeout -> the fd is closed.
//   kConnecting: the connect timeout -> the connect fails (kTimeout).
#include "net/conn_table.h"

namespace percore {
namespace {

constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();

uint64_t Ms(absl::Duration d) { return static_cast<uint64_t>(absl::ToInt64Milliseconds(d)); }

}  // namespace

void ConnTable::cancel_timer(Connection& c) {
  if (c.timer_ == TimerWheel::kNoTimer) return;
  r_.timers().cancel(c.timer_);
  c.timer_ = TimerWheel::kNoTimer;
}

// A paused connection reads nothing, so its silence says nothing about the peer: no heartbeat
// then (a peer that stopped reading our output is the write timeout's business).
bool ConnTable::heartbeat_applies(const Connection& c) const {
  return heartbeat_ms_ != 0 && c.lifecycle_ == Lifecycle::kOpen && !held(c);
}

void ConnTable::arm_timer(Connection& c) {
  if (c.timer_ != TimerWheel::kNoTimer || c.lifecycle_ >= Lifecycle::kLingering) return;
  bool write_rule = cfg_.write_timeout > absl::ZeroDuration() && !c.ch_.out.empty();
  bool idle_rule =
      cfg_.idle_timeout > absl::ZeroDuration() &&
      (c.lifecycle_ != Lifecycle::kClosing || cfg_.write_timeout <= absl::ZeroDuration());
  uint64_t now = r_.now_ms();
  auto since = [&](uint32_t then) {
    return static_cast<uint32_t>(static_cast<uint32_t>(now) - then);
  };
  auto after = [&](uint64_t span, uint32_t then) {
    return now + (span > since(then) ? span - since(then) : 0);
  };
  uint64_t due = kNever;
  if (idle_rule) {
    // The later of the two stamps: traffic either way keeps a connection from being idle.
    uint32_t last = since(c.last_input_) < since(c.last_write_) ? c.last_input_ : c.last_write_;
    due = after(Ms(cfg_.idle_timeout), last);
  }
  if (write_rule) due = std::min(due, after(Ms(cfg_.write_timeout), c.last_write_));
  if (throttled(c)) due = std::min(due, now + rate_resume_ms(c));
  if (heartbeat_ms_ != 0 && c.lifecycle_ == Lifecycle::kOpen) {
    if (held(c)) {
      due = std::min(due, now + heartbeat_ms_);  // look again later; resume() does not re-arm
    } else {
      bool pinged = c.marks_ & Connection::kPinged;
      due = std::min(due, after(heartbeat_ms_ * (pinged ? 2 : 1), c.last_input_));
    }
  }
  if (due == kNever) return;
  c.timer_due_ = static_cast<uint32_t>(due);
  c.timer_ = r_.timers().add(due, &ConnTable::on_timer, this,
                             uint64_t{c.ch_.slot} | (uint64_t{c.ch_.gen} << 32));
}

void ConnTable::on_timer(void* ctx, uint64_t arg) {
  auto* t = static_cast<ConnTable*>(ctx);
  Connection* c = t->slot_conn(static_cast<uint32_t>(arg), static_cast<uint32_t>(arg >> 32));
  if (c == nullptr) return;
  c->timer_ = TimerWheel::kNoTimer;
  if (c->lifecycle_ == Lifecycle::kConnecting) {
    t->connect_failed(*c, ConnectError::kTimeout, 0);
  } else if (c->lifecycle_ == Lifecycle::kLingering) {
    t->finish(*c);
  } else if (c->lifecycle_ != Lifecycle::kClosed) {
    t->check_timer(*c);
  }
}

void ConnTable::check_timer(Connection& c) {
  uint32_t now = now32();
  bool output = !c.ch_.out.empty();
  if (cfg_.write_timeout > absl::ZeroDuration() && output &&
      now - c.last_write_ >= Ms(cfg_.write_timeout)) {
    close_now(c, CloseReason::kWriteTimeout, true);
    return;
  }
  if (throttled(c)) {
    rate_check(c);
    if (c.lifecycle_ >= Lifecycle::kLingering || c.timer_ != TimerWheel::kNoTimer) return;
  }
  if (heartbeat_applies(c)) {
    uint32_t quiet = now - c.last_input_;
    if ((c.marks_ & Connection::kPinged) && quiet >= 2 * heartbeat_ms_) {
      close(c, CloseMode::kGraceful, CloseReason::kHeartbeatTimeout);
      return;
    }
    if (!(c.marks_ & Connection::kPinged) && quiet >= heartbeat_ms_) {
      c.marks_ |= Connection::kPinged;
      h_.on_heartbeat(c);
      if (c.lifecycle_ >= Lifecycle::kLingering || c.timer_ != TimerWheel::kNoTimer) return;
    }
  }
  bool idle_rule =
      cfg_.idle_timeout > absl::ZeroDuration() &&
      (c.lifecycle_ != Lifecycle::kClosing || cfg_.write_timeout <= absl::ZeroDuration());
  uint32_t quiet = std::min(now - c.last_input_, now - c.last_write_);
  if (idle_rule && quiet >= Ms(cfg_.idle_timeout)) {
    if (c.lifecycle_ == Lifecycle::kClosing) {
      close_now(c, CloseReason::kIdleTimeout, true);  // stuck output, no write timeout
    } else {
      close(c, CloseMode::kGraceful, CloseReason::kIdleTimeout);
    }
    return;
  }
  arm_timer(c);
}

}  // namespace percore
