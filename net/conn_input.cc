// ConnTable, input: bytes from the backend to the handler's on_data, the partial frame the
// handler leaves (at most max_frame bytes), pause and resume, input kept while paused and its
// redelivery, and the peer's FIN, which is input too and so never overtakes kept bytes.
#include <cerrno>

#include "net/conn_table.h"

namespace percore {

void ConnTable::on_recv(Channel& ch, std::span<const char> data) {
  Connection& c = conn_of(ch);
  if (c.lifecycle_ == Lifecycle::kLingering) {
    r_.stats().bytes_in.add(data.size());  // read only so the kernel does not reset
    return;
  }
  if (!reads(c)) return;  // closing: input is no longer wanted
  r_.stats().bytes_in.add(data.size());
  c.last_input_ = now32();
  c.marks_ &= ~Connection::kPinged;
  if (c.marks_ & (Connection::kPaused | Connection::kRedeliver)) {
    // Paused: a completion that was under way when the handler paused. Resumed but not yet
    // redelivered: behind the kept bytes. Either way the redelivery hands it over, in order.
    keep_input(c, data);
    return;
  }
  deliver(c, data);
}

// Kept without the max_frame check: the handler has not seen these bytes yet. Bounded by what
// one turn reads (epoll: read_budget) or had in flight when pausing (io_uring: the buffer
// ring); redeliver() applies max_frame once the handler has seen them.
bool ConnTable::keep_input(Connection& c, std::span<const char> data) {
  if (data.empty() || c.in_.append(r_.pool(), data)) return true;
  close_now(c, CloseReason::kNoMemory, true);
  return false;
}

void ConnTable::deliver(Connection& c, std::span<const char> data) {
  if (c.in_.empty()) {
    size_t used = std::min(h_.on_data(c, data), data.size());
    if (!reads(c)) return;
    data = data.subspan(used);
    if (data.empty()) return;
    if (!(c.marks_ & Connection::kPaused) && data.size() > cfg_.max_frame) {
      close_now(c, CloseReason::kFrameTooLarge, true);
      return;
    }
    keep_input(c, data);
    return;
  }
  // A partial frame is waiting: join the new bytes to it, so that it never holds more than
  // max_frame bytes; a handler that declines max_frame bytes has a frame that is too large.
  while (!data.empty()) {
    size_t room = cfg_.max_frame - std::min<size_t>(c.in_.size(), cfg_.max_frame);
    if (room == 0) {
      close_now(c, CloseReason::kFrameTooLarge, true);
      return;
    }
    size_t take = std::min(room, data.size());
    if (!keep_input(c, data.first(take))) return;
    data = data.subspan(take);
    size_t used = std::min(h_.on_data(c, c.in_.view()), c.in_.size());
    if (!reads(c)) return;
    c.in_.consume(r_.pool(), used);
    if (c.marks_ & Connection::kPaused) {
      keep_input(c, data);  // for the redelivery after resume(), without calling the handler
      return;
    }
  }
}

void ConnTable::on_recv_end(Channel& ch, int err) {
  Connection& c = conn_of(ch);
  if (c.lifecycle_ == Lifecycle::kLingering) {
    finish(c);  // the peer closed too: nothing left to protect
    return;
  }
  if (c.lifecycle_ == Lifecycle::kClosed) return;
  if (err != 0) {
    close_now(c, (err == ECONNRESET || err == EPIPE) ? CloseReason::kReset : CloseReason::kError,
              false);
    return;
  }
  c.marks_ |= Connection::kPeerFin;
  if (!reads(c)) return;  // already told (kPeerShut), or closing anyway
  if (c.marks_ & (Connection::kPaused | Connection::kRedeliver)) {
    c.marks_ |= Connection::kEofKept;  // after the kept bytes, at redelivery
    return;
  }
  peer_fin(c);
}

void ConnTable::peer_fin(Connection& c) {
  c.marks_ &= ~Connection::kEofKept;
  switch (c.lifecycle_) {
    case Lifecycle::kOpen:
      c.lifecycle_ = Lifecycle::kPeerShut;
      if (!h_.on_peer_shutdown(c)) close(c, CloseMode::kGraceful, CloseReason::kPeerClosed);
      break;
    case Lifecycle::kShutPending:  // our FIN waits for output: flush, then close
      close(c, CloseMode::kGraceful, CloseReason::kPeerClosed);
      break;
    case Lifecycle::kWriteShut:  // both directions are done
      close_now(c, CloseReason::kPeerClosed, false);
      break;
    default:
      break;
  }
}

void ConnTable::pause(Connection& c) {
  if ((c.marks_ & Connection::kPaused) || !is_open(c)) return;
  c.marks_ |= Connection::kPaused;
  if (reads(c)) r_.backend().pause_recv(c.ch_);
}

void ConnTable::resume(Connection& c) {
  if (!(c.marks_ & Connection::kPaused) || !is_open(c)) return;
  c.marks_ &= ~Connection::kPaused;
  // Nothing was read while paused: the heartbeat's silence starts again here.
  c.last_input_ = now32();
  c.marks_ &= ~Connection::kPinged;
  if (!reads(c)) return;
  if (!(c.marks_ & Connection::kPeerFin)) r_.backend().resume_recv(c.ch_);
  if (!c.in_.empty() || (c.marks_ & Connection::kEofKept)) queue_redelivery(c);
}

void ConnTable::queue_redelivery(Connection& c) {
  if (c.marks_ & Connection::kRedeliver) return;
  c.marks_ |= Connection::kRedeliver;
  redeliver_.push_back(c.ch_.slot);
}

void ConnTable::redeliver(Connection& c) {
  c.marks_ &= ~Connection::kRedeliver;
  if (!reads(c) || (c.marks_ & Connection::kPaused)) return;  // resume() queues it again
  if (!c.in_.empty()) {
    size_t used = std::min(h_.on_data(c, c.in_.view()), c.in_.size());
    if (!reads(c)) return;
    c.in_.consume(r_.pool(), used);
    if (c.marks_ & Connection::kPaused) return;  // the rest, and a kept FIN, wait again
    if (c.in_.size() > cfg_.max_frame) {
      close_now(c, CloseReason::kFrameTooLarge, true);
      return;
    }
  }
  if (c.marks_ & Connection::kEofKept) peer_fin(c);
}

}  // namespace percore
