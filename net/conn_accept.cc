// ConnTable, accepting: the listener's fds go to this table or, in the single-acceptor modes,
// are handed to a sibling's; adopt() applies the limits and registers the connection.
#include <unistd.h>

#include "net/conn_table.h"
#include "net/socket.h"

namespace percore {

void ConnTable::on_accept(uint32_t, int fd) {
  if (fd < 0) {
    r_.stats().accept_errors.add();
    return;
  }
  ConnTable* target = hand_off_target();
  if (target == this) {
    adopt(fd);
    return;
  }
  target->incoming_.fetch_add(1, std::memory_order_relaxed);
  // Adopts into the table of the reactor that runs it: the sibling, or this one when the
  // sibling's queue is full (it is busy, and the peer is better served here than dropped).
  // The Fd closes the socket if the task never runs (reactor stopped, queue destroyed).
  ServerShared* shared = &shared_;
  TaskQueue::Task task = [shared, f = Fd(fd)]() mutable {
    ConnTable* t = shared->tables[Reactor::current()->index()];
    t->incoming_.fetch_sub(1, std::memory_order_relaxed);
    t->adopt(f.release());
  };
  if (!target->r_.post_or_keep(task)) {
    target->incoming_.fetch_sub(1, std::memory_order_relaxed);
    incoming_.fetch_add(1, std::memory_order_relaxed);
    r_.stats().handoffs_failed.add();
    std::move(task)();
  }
}

ConnTable* ConnTable::hand_off_target() {
  if (cfg_.accept_mode == AcceptMode::kReusePort || shared_.tables.size() <= 1) return this;
  if (cfg_.accept_mode == AcceptMode::kRoundRobin) {
    return shared_
        .tables[shared_.next_rr.fetch_add(1, std::memory_order_relaxed) % shared_.tables.size()];
  }
  // Least connections, counting the hand-offs still in flight: the open counter moves only
  // when a posted adopt runs, so without them a whole accept burst would go to one reactor.
  ConnTable* best = nullptr;
  uint64_t best_load = 0;
  for (ConnTable* t : shared_.tables) {
    uint64_t load = t->r_.stats().open.get() + t->incoming_.load(std::memory_order_relaxed);
    if (best == nullptr || load < best_load) {
      best = t;
      best_load = load;
    }
  }
  return best;
}

void ConnTable::adopt(int fd) {
  ReactorStats& st = r_.stats();
  if (shutting_down_) {
    ::close(fd);
    return;
  }
  // max_connections bounds the fds connections hold, lingering ones included.
  if (shared_.fds_total.fetch_add(1, std::memory_order_relaxed) >= cfg_.max_connections &&
      cfg_.max_connections > 0) {
    shared_.fds_total.fetch_sub(1, std::memory_order_relaxed);
    st.rejected_max_conns.add();
    SetLingerZero(fd);
    ::close(fd);
    return;
  }
  Admission::IpKey ip{};
  if (shared_.admission.enabled()) {
    Admission::Verdict v = shared_.admission.admit(fd, r_.now_ms(), &ip);
    if (v != Admission::Verdict::kAdmit) {
      shared_.fds_total.fetch_sub(1, std::memory_order_relaxed);
      (v == Admission::Verdict::kRate ? st.rejected_accept_rate : st.rejected_per_ip).add();
      SetLingerZero(fd);
      ::close(fd);
      return;
    }
  }
  uint32_t slot = slab_.allocate();
  if (slot == SlabStorage::kNoSlot) {
    shared_.admission.release(ip);
    shared_.fds_total.fetch_sub(1, std::memory_order_relaxed);
    st.rejected_max_conns.add();
    ::close(fd);
    return;
  }
  if (shared_.admission.per_ip()) {
    if (ip_keys_.size() <= slot) ip_keys_.resize(slab_.capacity());
    ip_keys_[slot] = ip;
  }
  Connection* c = new (slab_.at(slot)) Connection(this, &r_.pool());
  c->ch_.fd = fd;
  c->ch_.slot = slot;
  c->ch_.sink = sink_;
  c->ch_.gen = slab_.generation(slot);
  c->marks_ = Connection::kFdCounted;
  c->last_input_ = c->last_write_ = now32();
  if (rate_on_) rate_open(*c);
  h_.construct_state(state_of(*c));
  if (absl::Status s = r_.backend().open(c->ch_); !s.ok()) {
    shared_.fds_total.fetch_sub(1, std::memory_order_relaxed);
    shared_.admission.release(ip);
    if (slot < ip_keys_.size()) ip_keys_[slot] = {};
    st.accept_errors.add();
    ::close(fd);
    c->ch_.fd = -1;
    release(slot);
    return;
  }
  if (OutputGauges::Gauge* g = gauges_.ensure(slot)) {
    g->queued.store(0, std::memory_order_relaxed);
    g->gen.store(c->ch_.gen, std::memory_order_release);
  }
  ++open_;
  st.accepted.add();
  st.open.add();
  arm_timer(*c);
  h_.on_open(*c);
}

}  // namespace percore
