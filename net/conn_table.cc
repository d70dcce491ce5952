#include "net/conn_table.h"

#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <limits>

#include "net/socket.h"

namespace percore {
namespace {

using namespace conn_flags;  // NOLINT: the bits are this file's vocabulary

constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();

uint64_t Ms(absl::Duration d) { return static_cast<uint64_t>(absl::ToInt64Milliseconds(d)); }

}  // namespace

static_assert(std::is_standard_layout_v<Connection>, "Channel must convert to its Connection");
static_assert(sizeof(Connection) <= 96, "keep the per-connection object within 96 bytes");

ConnTable::ConnTable(Reactor& reactor, HandlerOps& handler, ServerShared& shared)
    : r_(reactor),
      cfg_(reactor.config()),
      h_(handler),
      shared_(shared),
      slab_(kConnStateOffset + handler.state_size(), 16) {}

ConnTable::~ConnTable() {
  for (uint32_t slot = 0; slot < slab_.capacity(); ++slot) {
    if (!slab_.is_live(slot)) continue;
    Connection& c = *conn_at(slot);
    if (c.ch_.fd >= 0) ::close(c.ch_.fd);
    c.ch_.fd = -1;
    release(slot);
  }
}

template <class Fn>
void ConnTable::for_each_live(Fn fn) {
  for (uint32_t slot = 0; slot < slab_.capacity(); ++slot) {
    if (slab_.is_live(slot)) fn(*conn_at(slot));
  }
}

Channel* ConnTable::find(uint64_t token) {
  uint32_t slot = static_cast<uint32_t>(token);
  uint32_t gen = static_cast<uint32_t>(token >> 32) & 0xFFFFFF;
  if (slot >= slab_.capacity() || !slab_.is_live(slot)) return nullptr;
  if ((slab_.generation(slot) & 0xFFFFFF) != gen) return nullptr;
  return &conn_at(slot)->ch_;
}

Connection* ConnTable::slot_conn(uint32_t slot, uint32_t gen) {
  if (slot >= slab_.capacity() || !slab_.is_live(slot) || slab_.generation(slot) != gen) {
    return nullptr;
  }
  return conn_at(slot);
}

Connection* ConnTable::lookup(uint32_t slot, uint32_t gen) {
  Connection* c = slot_conn(slot, gen);
  return (c == nullptr || (c->flags_ & kClosed)) ? nullptr : c;
}

void ConnTable::on_accept(uint32_t, int fd) {
  if (fd < 0) {
    r_.stats().accept_errors.add();
    return;
  }
  if (cfg_.accept_mode == AcceptMode::kReusePort || shared_.tables.size() <= 1) {
    adopt(fd);
    return;
  }
  ConnTable* target = nullptr;
  if (cfg_.accept_mode == AcceptMode::kRoundRobin) {
    target = shared_.tables[shared_.next_rr.fetch_add(1, std::memory_order_relaxed) %
                            shared_.tables.size()];
  } else {
    for (ConnTable* t : shared_.tables) {
      if (target == nullptr || t->r_.stats().open.get() < target->r_.stats().open.get()) target = t;
    }
  }
  if (target == this) {
    adopt(fd);
    return;
  }
  // The Fd closes the socket if the task never runs (reactor stopped, queue destroyed).
  if (!target->r_.post([target, f = Fd(fd)]() mutable { target->adopt(f.release()); })) {
    r_.stats().rejected_max_conns.add();
  }
}

void ConnTable::adopt(int fd) {
  ReactorStats& st = r_.stats();
  if (shutting_down_) {
    ::close(fd);
    return;
  }
  if (cfg_.max_connections > 0 &&
      shared_.open_total.fetch_add(1, std::memory_order_relaxed) >= cfg_.max_connections) {
    shared_.open_total.fetch_sub(1, std::memory_order_relaxed);
    st.rejected_max_conns.add();
    SetLingerZero(fd);
    ::close(fd);
    return;
  }
  if (cfg_.max_connections == 0) shared_.open_total.fetch_add(1, std::memory_order_relaxed);
  uint32_t slot = slab_.allocate();
  if (slot == SlabStorage::kNoSlot) {
    shared_.open_total.fetch_sub(1, std::memory_order_relaxed);
    st.rejected_max_conns.add();
    ::close(fd);
    return;
  }
  ApplySocketOptions(fd, cfg_);
  Connection* c = new (slab_.at(slot)) Connection(this, &r_.pool());
  c->ch_.fd = fd;
  c->ch_.slot = slot;
  c->ch_.gen = slab_.generation(slot);
  c->last_active_ = c->last_write_ = now32();
  h_.construct_state(state_of(*c));
  if (absl::Status s = r_.backend().open(c->ch_); !s.ok()) {
    shared_.open_total.fetch_sub(1, std::memory_order_relaxed);
    st.accept_errors.add();
    ::close(fd);
    c->ch_.fd = -1;
    release(slot);
    return;
  }
  ++open_;
  st.accepted.add();
  st.open.add();
  arm_timer(*c);
  h_.on_open(*c);
}

void ConnTable::on_recv(Channel& ch, std::span<const char> data) {
  Connection& c = conn_of(ch);
  if (c.flags_ & (kClosed | kClosing)) return;  // closing: input is no longer wanted
  r_.stats().bytes_in.add(data.size());
  c.last_active_ = now32();
  if (c.flags_ & kPaused) {
    // A completion that was already under way when the handler paused: keep it for resume.
    if (c.in_.size() + data.size() > cfg_.max_frame + cfg_.read_budget) {
      close_now(c, CloseReason::kFrameTooLarge, true);
    } else if (!c.in_.append(r_.pool(), data)) {
      close_now(c, CloseReason::kNoMemory, true);
    }
    return;
  }
  deliver(c, data);
}

void ConnTable::deliver(Connection& c, std::span<const char> data) {
  if (c.in_.empty()) {
    size_t used = std::min(h_.on_data(c, data), data.size());
    if (c.flags_ & (kClosed | kClosing)) return;
    data = data.subspan(used);
    if (data.empty()) return;
    if (data.size() > cfg_.max_frame) {
      close_now(c, CloseReason::kFrameTooLarge, true);
    } else if (!c.in_.append(r_.pool(), data)) {
      close_now(c, CloseReason::kNoMemory, true);
    }
    return;
  }
  // A partial frame is waiting: join the new bytes to it, at most max_frame at a time.
  while (!data.empty()) {
    size_t room = cfg_.max_frame - std::min<size_t>(c.in_.size(), cfg_.max_frame);
    if (room == 0) {
      close_now(c, CloseReason::kFrameTooLarge, true);
      return;
    }
    size_t take = std::min(room, data.size());
    if (!c.in_.append(r_.pool(), data.first(take))) {
      close_now(c, CloseReason::kNoMemory, true);
      return;
    }
    data = data.subspan(take);
    size_t used = std::min(h_.on_data(c, c.in_.view()), c.in_.size());
    if (c.flags_ & (kClosed | kClosing)) return;
    c.in_.consume(r_.pool(), used);
    if (c.flags_ & kPaused) {
      // Keep the rest for resume() without calling the handler again.
      if (!data.empty() && !c.in_.append(r_.pool(), data))
        close_now(c, CloseReason::kNoMemory, true);
      return;
    }
  }
  if (c.in_.size() >= cfg_.max_frame) close_now(c, CloseReason::kFrameTooLarge, true);
}

void ConnTable::on_recv_end(Channel& ch, int err) {
  Connection& c = conn_of(ch);
  if (c.flags_ & kClosed) {
    if (c.flags_ & kLinger) end_linger(c);  // the peer closed too: nothing left to protect
    return;
  }
  if (err != 0) {
    close_now(c, (err == ECONNRESET || err == EPIPE) ? CloseReason::kReset : CloseReason::kError,
              false);
    return;
  }
  c.flags_ |= kPeerEof;
  // Bytes kept while paused come first: the handler sees the FIN after them (on resume).
  if ((c.flags_ & kPaused) && !c.in_.empty()) return;
  peer_shutdown(c);
}

void ConnTable::peer_shutdown(Connection& c) {
  if (c.flags_ & (kClosed | kClosing)) return;  // already flushing towards close
  if (c.flags_ & kShutWr) {
    close_now(c, CloseReason::kPeerClosed, false);  // both directions are done
    return;
  }
  if (!h_.on_peer_shutdown(c)) close(c, CloseMode::kGraceful, CloseReason::kPeerClosed);
}

void ConnTable::on_sent(Channel& ch, size_t n) {
  Connection& c = conn_of(ch);
  r_.stats().bytes_out.add(n);
  if (c.flags_ & kClosed) return;
  c.last_write_ = c.last_active_ = now32();
  if ((c.flags_ & kAboveHigh) && ch.out.size() <= cfg_.out_low_watermark) {
    c.flags_ &= ~kAboveHigh;
    if (!(c.flags_ & kNoMoreOutput)) h_.on_drain(c);
    if (c.flags_ & kClosed) return;
  }
  if (!ch.out.empty()) return;
  if (c.flags_ & kClosing) {
    close_now(c, c.reason_, false);
  } else if (c.flags_ & kWantShutWr) {
    c.flags_ = (c.flags_ & ~kWantShutWr) | kShutWr;
    ::shutdown(ch.fd, SHUT_WR);
    if (c.flags_ & kPeerEof) close_now(c, CloseReason::kPeerClosed, false);
  }
}

void ConnTable::on_send_error(Channel& ch, int err) {
  Connection& c = conn_of(ch);
  if (c.flags_ & kClosed) return;
  close_now(c, (err == EPIPE || err == ECONNRESET) ? CloseReason::kReset : CloseReason::kError,
            false);
}

SendResult ConnTable::send(Connection& c, std::string_view bytes) {
  if (c.flags_ & kNoMoreOutput) return SendResult::kClosed;
  size_t after = c.ch_.out.size() + bytes.size();
  if (after > cfg_.out_cap) {
    close_now(c, CloseReason::kOutputOverflow, true);
    return SendResult::kClosed;
  }
  bool was_empty = c.ch_.out.empty();
  if (!c.ch_.out.append(bytes)) {
    close_now(c, CloseReason::kNoMemory, true);
    return SendResult::kClosed;
  }
  mark_dirty(c);
  if (was_empty && !bytes.empty()) {
    c.last_write_ = now32();
    // The write timeout may fall before the idle deadline the timer is set for.
    if (cfg_.write_timeout > absl::ZeroDuration() && c.timer_ != TimerWheel::kNoTimer &&
        static_cast<int32_t>(c.timer_due_ - (c.last_write_ + Ms(cfg_.write_timeout))) > 0) {
      r_.timers().cancel(c.timer_);
      c.timer_ = TimerWheel::kNoTimer;
    }
    arm_timer(c);
  }
  if (after > cfg_.out_high_watermark) {
    if (!(c.flags_ & kAboveHigh)) {
      c.flags_ |= kAboveHigh;
      r_.stats().backpressure.add();
    }
    return SendResult::kBackpressure;
  }
  return SendResult::kOk;
}

void ConnTable::mark_dirty(Connection& c) {
  if (c.flags_ & kDirty) return;
  c.flags_ |= kDirty;
  dirty_.push_back(c.ch_.slot);
}

void ConnTable::close(Connection& c, CloseMode mode, CloseReason reason) {
  if (c.flags_ & kClosed) return;
  if (mode == CloseMode::kReset) {
    close_now(c, reason, true);
    return;
  }
  if (c.flags_ & kClosing) return;
  if (c.ch_.out.empty()) {
    close_now(c, reason, false);
    return;
  }
  c.flags_ |= kClosing;
  c.reason_ = reason;
  r_.backend().pause_recv(c.ch_);
  arm_timer(c);  // the write timeout bounds a flush that never ends
}

void ConnTable::shutdown_write(Connection& c) {
  if (c.flags_ & kNoMoreOutput) return;
  if (!c.ch_.out.empty()) {
    c.flags_ |= kWantShutWr;
    return;
  }
  c.flags_ |= kShutWr;
  ::shutdown(c.ch_.fd, SHUT_WR);
  if (c.flags_ & kPeerEof) close_now(c, CloseReason::kPeerClosed, false);
}

void ConnTable::pause(Connection& c) {
  if (c.flags_ & (kPaused | kClosed)) return;
  c.flags_ |= kPaused;
  r_.backend().pause_recv(c.ch_);
}

void ConnTable::resume(Connection& c) {
  if (!(c.flags_ & kPaused) || (c.flags_ & kClosed)) return;
  c.flags_ &= ~kPaused;
  if (c.flags_ & kClosing) return;
  if (!(c.flags_ & kPeerEof)) r_.backend().resume_recv(c.ch_);
  if ((!c.in_.empty() || (c.flags_ & kPeerEof)) && !(c.flags_ & kRedeliver)) {
    c.flags_ |= kRedeliver;
    redeliver_.push_back(c.ch_.slot);
  }
}

void ConnTable::close_now(Connection& c, CloseReason reason, bool reset) {
  if (c.flags_ & kClosed) return;
  c.flags_ |= kClosed;
  c.reason_ = reason;
  if (c.timer_ != TimerWheel::kNoTimer) {
    r_.timers().cancel(c.timer_);
    c.timer_ = TimerWheel::kNoTimer;
  }
  --open_;
  shared_.open_total.fetch_sub(1, std::memory_order_relaxed);
  ReactorStats& st = r_.stats();
  st.open.sub();
  st.closed[static_cast<size_t>(reason)].add();
  if (reason == CloseReason::kIdleTimeout) st.evictions.add();
  h_.on_close(c, reason);
  if (reset) {
    if (c.ch_.fd >= 0) SetLingerZero(c.ch_.fd);
  } else if (reason != CloseReason::kReset && reason != CloseReason::kError && start_linger(c)) {
    return;
  }
  r_.backend().close(c.ch_);
  closing_.push_back(c.ch_.slot);
}

// close() on a socket with unread input makes the kernel send RST and drop whatever of our
// output it still holds, so a peer that was still sending when we closed (a kicked client's
// heartbeat, a pipelined request) would lose the tail of its last reply. Instead: FIN, then
// read and discard until the peer closes or linger_timeout passes. Only when the peer has not
// yet acknowledged all our output; otherwise a reset costs it nothing.
bool ConnTable::start_linger(Connection& c) {
  if (cfg_.linger_timeout <= absl::ZeroDuration() || (c.flags_ & kPeerEof) || c.ch_.fd < 0 ||
      !c.ch_.out.empty()) {
    return false;
  }
  int unacked = 0;
  if (::ioctl(c.ch_.fd, SIOCOUTQ, &unacked) != 0 || unacked <= 0) return false;
  if (!(c.flags_ & kShutWr)) ::shutdown(c.ch_.fd, SHUT_WR);
  c.flags_ |= kLinger;
  ++lingering_;
  r_.stats().lingered.add();
  r_.stats().lingering.add();
  r_.backend().resume_recv(c.ch_);
  c.timer_ = r_.timers().add(r_.now_ms() + Ms(cfg_.linger_timeout), &ConnTable::on_timer, this,
                             uint64_t{c.ch_.slot} | (uint64_t{c.ch_.gen} << 32));
  return true;
}

void ConnTable::end_linger(Connection& c) {
  c.flags_ &= ~kLinger;
  --lingering_;
  r_.stats().lingering.sub();
  if (c.timer_ != TimerWheel::kNoTimer) {
    r_.timers().cancel(c.timer_);
    c.timer_ = TimerWheel::kNoTimer;
  }
  r_.backend().close(c.ch_);
  closing_.push_back(c.ch_.slot);
}

void ConnTable::release(uint32_t slot) {
  Connection& c = *conn_at(slot);
  c.ch_.out.clear();
  c.in_.release(r_.pool());
  h_.destroy_state(state_of(c));
  c.~Connection();
  slab_.free(slot);
}

void ConnTable::arm_timer(Connection& c) {
  if (c.timer_ != TimerWheel::kNoTimer || (c.flags_ & kClosed)) return;
  uint64_t now = r_.now_ms();
  uint64_t due = kNever;
  auto since = [&](uint32_t then) {
    return static_cast<uint32_t>(static_cast<uint32_t>(now) - then);
  };
  if (cfg_.idle_timeout > absl::ZeroDuration()) {
    uint64_t idle = Ms(cfg_.idle_timeout);
    due = now + (idle > since(c.last_active_) ? idle - since(c.last_active_) : 0);
  }
  if (cfg_.write_timeout > absl::ZeroDuration() && !c.ch_.out.empty()) {
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
  if (c->flags_ & kLinger) {
    t->end_linger(*c);
  } else if (!(c->flags_ & kClosed)) {
    t->check_timer(*c);
  }
}

void ConnTable::check_timer(Connection& c) {
  // Activity only stamps last_active_/last_write_; the deadline is re-derived here, lazily.
  uint32_t now = now32();
  if (cfg_.idle_timeout > absl::ZeroDuration() && now - c.last_active_ >= Ms(cfg_.idle_timeout)) {
    close_now(c, CloseReason::kIdleTimeout, false);
    return;
  }
  if (cfg_.write_timeout > absl::ZeroDuration() && !c.ch_.out.empty() &&
      now - c.last_write_ >= Ms(cfg_.write_timeout)) {
    close_now(c, CloseReason::kWriteTimeout, true);
    return;
  }
  arm_timer(c);
}

absl::Status ConnTable::handle_send(uint32_t slot, uint32_t gen, std::string_view bytes) {
  Connection* c = lookup(slot, gen);
  if (c == nullptr) {
    r_.stats().stale_handles.add();
    return absl::FailedPreconditionError("connection handle is stale (closed or reused)");
  }
  if (send(*c, bytes) == SendResult::kClosed) {
    return absl::FailedPreconditionError("connection is closing");
  }
  return absl::OkStatus();
}

absl::Status ConnTable::handle_close(uint32_t slot, uint32_t gen) {
  Connection* c = lookup(slot, gen);
  if (c == nullptr) {
    r_.stats().stale_handles.add();
    return absl::FailedPreconditionError("connection handle is stale (closed or reused)");
  }
  close(*c, CloseMode::kGraceful);
  return absl::OkStatus();
}

void ConnTable::turn_end() {
  // Input kept while paused goes to the handler once it resumed.
  while (!redeliver_.empty()) {
    redeliver_swap_.swap(redeliver_);
    for (uint32_t slot : redeliver_swap_) {
      Connection& c = *conn_at(slot);
      c.flags_ &= ~kRedeliver;
      if (c.flags_ & (kClosed | kClosing | kPaused)) continue;
      if (!c.in_.empty()) {
        size_t used = std::min(h_.on_data(c, c.in_.view()), c.in_.size());
        if (c.flags_ & (kClosed | kClosing)) continue;
        c.in_.consume(r_.pool(), used);
      }
      if ((c.flags_ & kPeerEof) && !(c.flags_ & kPaused)) peer_shutdown(c);
    }
    redeliver_swap_.clear();
  }
  // One flush per connection per turn, whatever number of send() calls queued it.
  while (!dirty_.empty()) {
    dirty_swap_.swap(dirty_);
    for (uint32_t slot : dirty_swap_) {
      Connection& c = *conn_at(slot);
      c.flags_ &= ~kDirty;
      if (!(c.flags_ & kClosed) && !c.ch_.out.empty()) r_.backend().flush(c.ch_);
    }
    dirty_swap_.clear();
  }
  // Slots are reused only when the kernel holds nothing of theirs.
  if (!closing_.empty()) {
    for (uint32_t slot : closing_) {
      if (r_.backend().busy(conn_at(slot)->ch_)) {
        closing_keep_.push_back(slot);
      } else {
        release(slot);
      }
    }
    closing_.swap(closing_keep_);
    closing_keep_.clear();
  }
  r_.stats().pool_chunks_in_use.set(r_.pool().stats().in_use);
  if (shutting_down_ && open_ == 0 && lingering_ == 0 && closing_.empty()) r_.stop();
}

void ConnTable::begin_shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  for (uint32_t id : listener_ids_) r_.backend().remove_listener(id);
  for_each_live([&](Connection& c) {
    if (c.flags_ & kClosed) return;
    h_.on_shutdown(c);
    if (!(c.flags_ & kClosed)) close(c, CloseMode::kGraceful, CloseReason::kShutdown);
  });
  if (open_ + lingering_ > 0 && cfg_.drain_timeout > absl::ZeroDuration()) {
    drain_timer_ = r_.timers().add(r_.now_ms() + Ms(cfg_.drain_timeout), [this] { reset_all(); });
  } else if (open_ + lingering_ > 0) {
    reset_all();
  }
}

void ConnTable::reset_all() {
  for_each_live([&](Connection& c) {
    if (c.flags_ & kLinger) {
      end_linger(c);
    } else {
      close_now(c, CloseReason::kShutdown, true);
    }
  });
}

void ConnTable::close_all() {
  reset_all();
  turn_end();
}

}  // namespace percore
