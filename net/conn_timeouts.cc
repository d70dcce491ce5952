// ConnTable, timeouts: one timer-wheel entry per connection at most. Traffic only stamps
// last_active_/last_write_ (no wheel operation per read); the timer, when it fires, re-derives
// the deadline and re-arms lazily. The rules, by state:
//   open states: output pending with no progress for write_timeout -> reset (kWriteTimeout);
//     no traffic for idle_timeout -> close; with output still queued that close is graceful
//     (flush, then FIN), so the peer never sees a clean EOF after lost bytes.
//   kClosing: the write timeout alone (or, when it is disabled, the idle timeout) -> reset.
//   kLingering: linger_timeout -> the fd is closed.
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
  uint64_t due = kNever;
  if (idle_rule) {
    uint64_t idle = Ms(cfg_.idle_timeout);
    due = now + (idle > since(c.last_active_) ? idle - since(c.last_active_) : 0);
  }
  if (write_rule) {
    uint64_t wt = Ms(cfg_.write_timeout);
    due = std::min(due, now + (wt > since(c.last_write_) ? wt - since(c.last_write_) : 0));
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
  if (c->lifecycle_ == Lifecycle::kLingering) {
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
  bool idle_rule =
      cfg_.idle_timeout > absl::ZeroDuration() &&
      (c.lifecycle_ != Lifecycle::kClosing || cfg_.write_timeout <= absl::ZeroDuration());
  if (idle_rule && now - c.last_active_ >= Ms(cfg_.idle_timeout)) {
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
