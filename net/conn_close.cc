// ConnTable, the lifecycle (states and transitions in net/connection.h): graceful close
// (flush, then close), reset, half-close, the peer's FIN after ours, lingering, and the
// server's graceful shutdown.
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "net/conn_table.h"
#include "net/socket.h"

namespace percore {
namespace {

uint64_t Ms(absl::Duration d) { return static_cast<uint64_t>(absl::ToInt64Milliseconds(d)); }

}  // namespace

void ConnTable::close(Connection& c, CloseMode mode, CloseReason reason) {
  if (c.lifecycle_ >= Lifecycle::kLingering) return;  // on_close already ran
  if (mode == CloseMode::kReset) {
    close_now(c, reason, true);
    return;
  }
  if (c.lifecycle_ == Lifecycle::kClosing) return;
  if (c.ch_.out.empty()) {
    close_now(c, reason, false);
    return;
  }
  if (reads(c) && !held(c)) r_.backend().pause_recv(c.ch_);
  c.lifecycle_ = Lifecycle::kClosing;
  c.reason_ = reason;
  // Only the write timeout applies from now on: it bounds a flush that never ends.
  cancel_timer(c);
  arm_timer(c);
}

void ConnTable::shutdown_write(Connection& c) {
  switch (c.lifecycle_) {
    case Lifecycle::kOpen:
      if (c.ch_.out.empty()) {
        send_fin(c);
        c.lifecycle_ = Lifecycle::kWriteShut;
      } else {
        c.lifecycle_ = Lifecycle::kShutPending;
      }
      break;
    case Lifecycle::kPeerShut:  // both directions end once our output is out
      close(c, CloseMode::kGraceful, CloseReason::kPeerClosed);
      break;
    default:
      break;
  }
}

void ConnTable::send_fin(Connection& c) {
  if (c.ch_.fd >= 0) ::shutdown(c.ch_.fd, SHUT_WR);
}

void ConnTable::output_drained(Connection& c) {
  if (c.lifecycle_ == Lifecycle::kClosing) {
    close_now(c, c.reason_, false);
  } else if (c.lifecycle_ == Lifecycle::kShutPending) {
    send_fin(c);
    c.lifecycle_ = Lifecycle::kWriteShut;
  }
}

void ConnTable::close_now(Connection& c, CloseReason reason, bool reset) {
  if (c.lifecycle_ >= Lifecycle::kLingering) return;
  c.lifecycle_ = Lifecycle::kClosed;  // callbacks from here on see a closed connection
  c.reason_ = reason;
  cancel_timer(c);
  --open_;
  ReactorStats& st = r_.stats();
  st.open.sub();
  st.closed[static_cast<size_t>(reason)].add();
  if (reason == CloseReason::kIdleTimeout) st.evictions.add();
  if (OutputGauges::Gauge* g = gauges_.find(c.ch_.slot)) {
    g->queued.store(0, std::memory_order_relaxed);
  }
  h_.on_close(c, reason);
  for (CloseObserver* o : close_observers_) o->on_conn_closed(c);
  notify_disconnected(c, reason);
  if (reset) {
    if (c.ch_.fd >= 0) SetLingerZero(c.ch_.fd);
  } else if (reason != CloseReason::kReset && reason != CloseReason::kError &&
             start_linger(c, reason)) {
    return;
  }
  finish(c);
}

// close() on a socket with unread input makes the kernel send RST and drop whatever of our
// output it still holds, and input arriving after close() is answered with RST too, which the
// peer reads as ECONNRESET instead of EOF (and some stacks then discard the reply they hold).
// So a peer that may still be sending (a kicked client's heartbeat, a pipelined request, the
// rest of a message the codec rejected) gets FIN, then we read and discard until it closes or
// linger_timeout passes. "May still be sending": our output is not all acknowledged, input is
// unread, or the codec stopped in the middle of the peer's message (loopback acknowledges at
// once, so unacked output alone misses a bash client writing its request line by line).
// A quiet peer (an idle eviction) is closed outright: lingering would only hold its fd.
bool ConnTable::start_linger(Connection& c, CloseReason reason) {
  if (cfg_.linger_timeout <= absl::ZeroDuration() || (c.marks_ & Connection::kPeerFin) ||
      c.ch_.fd < 0 || !c.ch_.out.empty()) {
    return false;
  }
  const bool mid_message =
      reason == CloseReason::kMalformed || reason == CloseReason::kFrameTooLarge;
  int unacked = 0, unread = 0;
  if (!mid_message && (::ioctl(c.ch_.fd, SIOCOUTQ, &unacked) != 0 || unacked <= 0) &&
      (::ioctl(c.ch_.fd, FIONREAD, &unread) != 0 || unread <= 0)) {
    return false;
  }
  send_fin(c);
  c.lifecycle_ = Lifecycle::kLingering;
  ++lingering_;
  r_.stats().lingered.add();
  r_.stats().lingering.add();
  c.marks_ &= ~Connection::kPaused;
  if (throttled(c)) rates_[c.ch_.slot].throttled = false;
  r_.backend().resume_recv(c.ch_);
  c.timer_ = r_.timers().add(r_.now_ms() + Ms(cfg_.linger_timeout), &ConnTable::on_timer, this,
                             uint64_t{c.ch_.slot} | (uint64_t{c.ch_.gen} << 32));
  return true;
}

void ConnTable::finish(Connection& c) {
  if (c.lifecycle_ == Lifecycle::kLingering) {
    --lingering_;
    r_.stats().lingering.sub();
  }
  c.lifecycle_ = Lifecycle::kClosed;
  cancel_timer(c);
  r_.backend().close(c.ch_);
  if (c.marks_ & Connection::kFdCounted) {
    c.marks_ &= ~Connection::kFdCounted;
    shared_.fds_total.fetch_sub(1, std::memory_order_relaxed);
    if (c.ch_.slot < ip_keys_.size()) {
      shared_.admission.release(ip_keys_[c.ch_.slot]);
      ip_keys_[c.ch_.slot] = {};
    }
  }
  closing_.push_back(c.ch_.slot);
}

void ConnTable::begin_shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  for (uint32_t id : listener_ids_) r_.backend().remove_listener(id);
  abort_connects();  // their observers hear kCancelled; they would never open now anyway
  for_each_live([&](Connection& c) {
    if (!is_open(c)) return;
    h_.on_shutdown(c);
    close(c, CloseMode::kGraceful, CloseReason::kShutdown);
  });
  if (open_ + lingering_ > 0 && cfg_.drain_timeout > absl::ZeroDuration()) {
    drain_timer_ = r_.timers().add(r_.now_ms() + Ms(cfg_.drain_timeout), [this] { reset_all(); });
  } else if (open_ + lingering_ > 0) {
    reset_all();
  }
}

void ConnTable::reset_all() {
  abort_connects();
  for_each_live([&](Connection& c) {
    if (c.lifecycle_ == Lifecycle::kLingering) {
      finish(c);
    } else if (c.lifecycle_ != Lifecycle::kClosed) {
      close_now(c, CloseReason::kShutdown, true);
    }
  });
}

}  // namespace percore
