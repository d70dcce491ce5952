// ConnTable, output: send() queues into the connection's ring of pooled chunks or, for a
// shared Payload, a reference to it (bounded by out_cap, backpressure above the high watermark),
// one flush per connection at turn end, the kernel's progress (on_sent: on_drain below the low
// watermark), and sends through a ConnHandle from any thread (bounded in bytes per reactor, their
// output published in the table's OutputGauges so a foreign thread can see backpressure and drain).
#include <cerrno>

#include "absl/strings/str_format.h"
#include "net/conn_table.h"

namespace percore {
namespace {

uint64_t Ms(absl::Duration d) { return static_cast<uint64_t>(absl::ToInt64Milliseconds(d)); }

}  // namespace

// The one path every kind of send takes: state, out_cap, append, flush list, write timer,
// watermark. `append` queues `bytes` bytes into the ring and says whether it could.
template <class Append>
SendResult ConnTable::queue(Connection& c, size_t bytes, Append&& append) {
  if (!writes(c)) return SendResult::kClosed;
  size_t after = c.ch_.out.size() + bytes;
  if (after > cfg_.out_cap) {
    close_now(c, CloseReason::kOutputOverflow, true);
    return SendResult::kClosed;
  }
  bool was_empty = c.ch_.out.empty();
  if (!append(c.ch_.out)) {
    close_now(c, CloseReason::kNoMemory, true);
    return SendResult::kClosed;
  }
  mark_dirty(c);
  if (was_empty && bytes > 0) {
    c.last_write_ = now32();
    // The write timeout may fall before the idle deadline the timer is set for.
    if (cfg_.write_timeout > absl::ZeroDuration() && c.timer_ != TimerWheel::kNoTimer &&
        static_cast<int32_t>(c.timer_due_ - (c.last_write_ + Ms(cfg_.write_timeout))) > 0) {
      cancel_timer(c);
    }
    arm_timer(c);
  }
  if (after > cfg_.out_high_watermark) {
    if (!(c.marks_ & Connection::kAboveHigh)) {
      c.marks_ |= Connection::kAboveHigh;
      r_.stats().backpressure.add();
    }
    return SendResult::kBackpressure;
  }
  return SendResult::kOk;
}

SendResult ConnTable::send(Connection& c, std::span<const std::string_view> parts) {
  size_t bytes = 0;
  for (std::string_view part : parts) bytes += part.size();
  return queue(c, bytes, [parts](RingBuffer& out) {
    for (std::string_view part : parts) {
      if (!out.append(part)) return false;
    }
    return true;
  });
}

SendResult ConnTable::send(Connection& c, const Payload& p) {
  // Small payloads are copied: a few bytes in the tail chunk cost less than a descriptor and
  // two atomic operations on a count that every reactor's members touch.
  if (p.size() < Connection::kShareFrom) return send(c, p.view());
  return queue(c, p.size(), [&p](RingBuffer& out) { return out.append_shared(p); });
}

void ConnTable::mark_dirty(Connection& c) {
  if (c.marks_ & Connection::kDirty) return;
  c.marks_ |= Connection::kDirty;
  dirty_.push_back(c.ch_.slot);
}

void ConnTable::publish_output(Connection& c) {
  if (OutputGauges::Gauge* g = gauges_.find(c.ch_.slot)) {
    g->queued.store(static_cast<uint32_t>(c.ch_.out.size()), std::memory_order_relaxed);
  }
}

void ConnTable::on_sent(Channel& ch, size_t n) {
  Connection& c = conn_of(ch);
  r_.stats().bytes_out.add(n);
  if (c.lifecycle_ >= Lifecycle::kLingering) return;
  c.last_write_ = now32();
  publish_output(c);
  if ((c.marks_ & Connection::kAboveHigh) && ch.out.size() <= cfg_.out_low_watermark) {
    c.marks_ &= ~Connection::kAboveHigh;
    // Also after shutdown_write(): a handler that paused reading for this drain resumes here.
    if (is_open(c)) {
      h_.on_drain(c);
      if (c.lifecycle_ >= Lifecycle::kLingering) return;
    }
  }
  if (ch.out.empty()) output_drained(c);
}

void ConnTable::on_send_error(Channel& ch, int err) {
  Connection& c = conn_of(ch);
  if (c.lifecycle_ >= Lifecycle::kLingering) return;
  close_now(c, (err == EPIPE || err == ECONNRESET) ? CloseReason::kReset : CloseReason::kError,
            false);
}

template <class Bytes>
absl::Status ConnTable::apply_handle_send(uint32_t slot, uint32_t gen, const Bytes& bytes) {
  Connection* c = lookup(slot, gen);
  if (c == nullptr) {
    r_.stats().stale_handles.add_shared();
    return absl::FailedPreconditionError("connection handle is stale (closed or reused)");
  }
  if (send(*c, bytes) == SendResult::kClosed) {
    return absl::FailedPreconditionError("connection is closing");
  }
  return absl::OkStatus();
}

absl::StatusOr<SendResult> ConnTable::handle_send(uint32_t slot, uint32_t gen,
                                                  std::string&& bytes) {
  return handle_send_any(slot, gen, std::move(bytes));
}

absl::StatusOr<SendResult> ConnTable::handle_send(uint32_t slot, uint32_t gen, Payload payload) {
  return handle_send_any(slot, gen, std::move(payload));
}

// Bytes is std::string (owned bytes) or Payload (a shared reference); both count their size
// against handle_queue_bytes while the post is pending.
template <class Bytes>
absl::StatusOr<SendResult> ConnTable::handle_send_any(uint32_t slot, uint32_t gen, Bytes&& bytes) {
  if (r_.in_loop_thread()) {
    if (absl::Status s = apply_handle_send(slot, gen, bytes); !s.ok()) return s;
    Connection* c = lookup(slot, gen);
    return c != nullptr && c->ch_.out.size() > cfg_.out_high_watermark ? SendResult::kBackpressure
                                                                       : SendResult::kOk;
  }
  OutputGauges::Gauge* g = gauges_.find(slot);
  if (g != nullptr && g->gen.load(std::memory_order_acquire) != gen) {
    r_.stats().stale_handles.add_shared();
    return absl::FailedPreconditionError("connection handle is stale (closed and reused)");
  }
  size_t n = bytes.size();
  uint64_t held = handle_bytes_.fetch_add(n, std::memory_order_relaxed) + n;
  if (held > cfg_.handle_queue_bytes) {
    handle_bytes_.fetch_sub(n, std::memory_order_relaxed);
    r_.stats().handle_refused.add_shared();
    return absl::ResourceExhaustedError(
        absl::StrFormat("reactor %d already holds %d bytes of handle sends (handle_queue_bytes)",
                        r_.index(), held - n));
  }
  if (g != nullptr) g->pending.fetch_add(static_cast<uint32_t>(n), std::memory_order_relaxed);
  bool posted = r_.post([this, slot, gen, g, s = std::move(bytes)] {
    handle_bytes_.fetch_sub(s.size(), std::memory_order_relaxed);
    if (g != nullptr) g->pending.fetch_sub(static_cast<uint32_t>(s.size()));
    apply_handle_send(slot, gen, s).IgnoreError();
  });
  if (!posted) {
    handle_bytes_.fetch_sub(n, std::memory_order_relaxed);
    if (g != nullptr) g->pending.fetch_sub(static_cast<uint32_t>(n));
    r_.stats().handle_refused.add_shared();
    return absl::ResourceExhaustedError(
        absl::StrFormat("reactor %d task queue is full (task_queue_cap)", r_.index()));
  }
  if (g != nullptr && g->queued.load(std::memory_order_relaxed) +
                              uint64_t{g->pending.load(std::memory_order_relaxed)} >
                          cfg_.out_high_watermark) {
    return SendResult::kBackpressure;
  }
  return SendResult::kOk;
}

absl::Status ConnTable::handle_close(uint32_t slot, uint32_t gen, CloseReason reason) {
  auto close_it = [this, slot, gen, reason] {
    Connection* c = lookup(slot, gen);
    if (c == nullptr) {
      r_.stats().stale_handles.add_shared();
      return absl::FailedPreconditionError("connection handle is stale (closed or reused)");
    }
    close(*c, CloseMode::kGraceful, reason);
    return absl::OkStatus();
  };
  if (r_.in_loop_thread()) return close_it();
  if (!r_.post([close_it] { close_it().IgnoreError(); })) {
    r_.stats().handle_refused.add_shared();
    return absl::ResourceExhaustedError(
        absl::StrFormat("reactor %d task queue is full (task_queue_cap)", r_.index()));
  }
  return absl::OkStatus();
}

size_t ConnTable::handle_output_bytes(uint32_t slot, uint32_t gen) const {
  const OutputGauges::Gauge* g = gauges_.find(slot);
  if (g == nullptr || g->gen.load(std::memory_order_acquire) != gen) return 0;
  return g->queued.load(std::memory_order_relaxed) +
         size_t{g->pending.load(std::memory_order_relaxed)};
}

}  // namespace percore
