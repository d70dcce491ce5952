// ConnTable, the table itself: slots and lookups, and the end of a loop turn (its phases are
// described in conn_table.h).
#include "net/conn_table.h"

#include <unistd.h>

namespace percore {

static_assert(std::is_standard_layout_v<Connection>, "Channel must convert to its Connection");
static_assert(sizeof(Connection) <= 96, "keep the per-connection object within 96 bytes");

ConnTable::ConnTable(Reactor& reactor, HandlerOps& handler, ServerShared& shared, uint8_t sink)
    : r_(reactor),
      cfg_(reactor.config()),
      h_(handler),
      shared_(shared),
      heartbeat_ms_(handler.heartbeats()
                        ? static_cast<uint64_t>(absl::ToInt64Milliseconds(cfg_.heartbeat_interval))
                        : 0),
      slab_(kConnStateOffset + handler.state_size(), 16),
      rate_on_(cfg_.in_bytes_per_sec != 0 || cfg_.in_messages_per_sec != 0),
      sink_(sink) {}

ConnTable::~ConnTable() {
  for (uint32_t slot = 0; slot < slab_.capacity(); ++slot) {
    if (!slab_.is_live(slot)) continue;
    Connection& c = *conn_at(slot);
    if (c.ch_.fd >= 0) ::close(c.ch_.fd);
    c.ch_.fd = -1;
    release(slot);
  }
}

Channel* ConnTable::find(uint64_t token) {
  uint32_t slot = static_cast<uint32_t>(token) & ~Channel::kSinkBit;
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
  return (c == nullptr || !is_open(*c)) ? nullptr : c;
}

void ConnTable::release(uint32_t slot) {
  Connection& c = *conn_at(slot);
  c.ch_.out.clear();
  c.in_.release(r_.pool());
  h_.destroy_state(state_of(c));
  c.~Connection();
  slab_.free(slot);
}

bool ConnTable::release_closed() {
  // Taken out of closing_ first: a ConnState destructor may close another connection, which
  // appends to closing_.
  closing_swap_.clear();
  closing_swap_.swap(closing_);
  bool released = false;
  for (uint32_t slot : closing_swap_) {
    if (r_.backend().busy(conn_at(slot)->ch_)) {
      closing_.push_back(slot);  // the kernel still holds its memory: next turn
    } else {
      release(slot);
      released = true;
    }
  }
  closing_swap_.clear();
  return released;
}

void ConnTable::turn_end() {
  do {
    while (!redeliver_.empty() || !dirty_.empty()) {
      // 1. Input kept while paused goes to the handlers that resumed.
      while (!redeliver_.empty()) {
        redeliver_swap_.swap(redeliver_);
        for (uint32_t slot : redeliver_swap_) redeliver(*conn_at(slot));
        redeliver_swap_.clear();
      }
      // 2. One flush per connection per turn, whatever number of send() calls queued it.
      while (!dirty_.empty()) {
        dirty_swap_.swap(dirty_);
        for (uint32_t slot : dirty_swap_) {
          Connection& c = *conn_at(slot);
          c.marks_ &= ~Connection::kDirty;
          if (c.lifecycle_ >= Lifecycle::kLingering || c.ch_.out.empty()) continue;
          r_.backend().flush(c.ch_);
          publish_output(c);
        }
        dirty_swap_.clear();
      }
    }
    // 3. Slots are reused only when the kernel holds nothing of theirs.
  } while (release_closed() && (!redeliver_.empty() || !dirty_.empty() || !closing_.empty()));
  r_.stats().pool_chunks_in_use.set(r_.pool().stats().in_use);
  if (shutting_down_ && open_ == 0 && lingering_ == 0 && closing_.empty() && !finished_) {
    finished_ = true;  // nothing of it is left on the reactor: no drain timer either
    r_.timers().cancel(drain_timer_);
    drain_timer_ = TimerWheel::kNoTimer;
  }
}

void ConnTable::close_all() {
  reset_all();
  turn_end();
}

}  // namespace percore
