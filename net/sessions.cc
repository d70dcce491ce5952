#include "net/sessions.h"

#include <algorithm>
#include <deque>

#include "net/conn_table.h"

namespace percore {

// One reactor's bound connections (slot -> user), touched only by that reactor's thread, so a
// close can forget its user without a search. A vector by slot, not a map: 32 bytes a slot
// (names up to 15 bytes stay inside the string), where a hash map entry cost twice that.
struct Sessions::Local final : CloseObserver {
  Local(Sessions& s, ConnTable& table) : sessions(s), table(table) {}
  void on_conn_closed(Connection& c) override {
    const uint32_t slot = c.handle().slot();
    if (!bound(slot)) return;
    sessions.forget(users[slot], c.handle());
    std::string().swap(users[slot]);  // a long name's heap block goes too
  }
  bool bound(uint32_t slot) const { return slot < users.size() && !users[slot].empty(); }
  // A require_bind deadline that passed: arg is slot | generation << 32.
  void expire(uint64_t arg) {
    const auto slot = static_cast<uint32_t>(arg);
    Connection* c = table.lookup(slot, static_cast<uint32_t>(arg >> 32));
    if (c != nullptr && !bound(slot)) {
      if (sessions.farewell_) sessions.farewell_(*c, CloseReason::kAuthTimeout);
      c->close(CloseMode::kGraceful, CloseReason::kAuthTimeout);
    }
  }
  static void on_deadline(void* ctx, uint64_t arg) { static_cast<Local*>(ctx)->expire(arg); }
  // The queue's head is due: expire every deadline that has passed, then wait for the next.
  static void on_queue(void* ctx, uint64_t) {
    Local& l = *static_cast<Local*>(ctx);
    l.queue_timer = TimerWheel::kNoTimer;
    const uint64_t now = l.table.reactor().now_ms();
    while (!l.deadlines.empty() && l.deadlines.front().due <= now) {
      const uint64_t arg = l.deadlines.front().arg;
      l.deadlines.pop_front();
      l.expire(arg);  // may close: a close touches neither the queue nor its timer
    }
    l.arm_queue();
  }
  void arm_queue() {
    if (queue_timer != TimerWheel::kNoTimer || deadlines.empty()) return;
    queue_timer = table.reactor().timers().add(deadlines.front().due, &on_queue, this, 0);
  }
  Sessions& sessions;
  ConnTable& table;
  std::vector<std::string> users;  // by slot; empty: not bound
  // Login deadlines, in due order: with one `within` for all (the usual case) each new one is
  // the latest, so a FIFO and one wheel timer for its head hold them, 16 bytes each, where a
  // wheel node each cost 56 and stayed allocated in the wheel after the logins.
  struct Deadline {
    uint64_t due;
    uint64_t arg;
  };
  std::deque<Deadline> deadlines;
  TimerWheel::TimerId queue_timer = TimerWheel::kNoTimer;
};

Sessions::Sessions(OnDuplicate on_duplicate) : on_duplicate_(on_duplicate) {}

Sessions::~Sessions() = default;

Sessions::Stripe& Sessions::stripe_of(std::string_view user) {
  return stripes_[(UserHash{}(user) >> 40) % kStripes];  // high bits: the map uses the low
}
const Sessions::Stripe& Sessions::stripe_of(std::string_view user) const {
  return stripes_[(UserHash{}(user) >> 40) % kStripes];  // high bits: the map uses the low
}

Sessions::Local& Sessions::local_of(Connection& c) {
  return locals_.of(c, [this](ConnTable& table) { return new Local(*this, table); });
}

absl::Status Sessions::bind(Connection& c, std::string_view user) {
  Local& l = local_of(c);
  const ConnHandle h = c.handle();
  if (user.empty()) return absl::InvalidArgumentError("an empty user id");
  if (l.bound(h.slot())) {
    return absl::FailedPreconditionError("this connection is already bound to a user");
  }
  ConnHandle older;
  {
    Stripe& s = stripe_of(user);
    std::lock_guard<std::mutex> lock(s.mu);
    auto [it, fresh] = s.users.try_emplace(std::string(user), h);
    if (!fresh) {
      if (on_duplicate_ == OnDuplicate::kRefuse) {
        return absl::AlreadyExistsError("user '" + std::string(user) + "' is already online");
      }
      older = it->second;
      it->second = h;
    }
  }
  GrowToSlot(l.users, h.slot());
  l.users[h.slot()] = user;
  // Outside the stripe lock: on this thread the close runs on_close (and our observer) at once.
  // Stale by now (it closed meanwhile) is fine: there is nothing left to kick.
  if (older.valid()) kick(older);
  return absl::OkStatus();
}

std::string_view Sessions::user(Connection& c) {
  const Local& l = local_of(c);
  const uint32_t slot = c.handle().slot();
  return l.bound(slot) ? std::string_view(l.users[slot]) : std::string_view();
}

void Sessions::kick(const ConnHandle& older) {
  // The older connection's reactor holds its Local: it bound there.
  Local* l = farewell_ ? locals_.at(older.reactor_index()) : nullptr;
  if (l == nullptr) {
    older.close(CloseReason::kKicked).IgnoreError();
    return;
  }
  auto kick_there = [this, l, older] {
    Connection* c = l->table.lookup(older.slot(), older.generation());
    if (c == nullptr || c->closing()) return;  // gone meanwhile: nothing left to kick
    farewell_(*c, CloseReason::kKicked);
    c->close(CloseMode::kGraceful, CloseReason::kKicked);
  };
  if (l->table.reactor().in_loop_thread()) {
    kick_there();
  } else if (!l->table.reactor().post(kick_there)) {
    // Its reactor's task queue is full: try the plain close (likely refused too, and counted).
    older.close(CloseReason::kKicked).IgnoreError();
  }
}

void Sessions::require_bind(Connection& c, absl::Duration within) {
  Local& l = local_of(c);
  const ConnHandle h = c.handle();
  Reactor& r = l.table.reactor();
  const auto ms = static_cast<uint64_t>(std::max<int64_t>(0, absl::ToInt64Milliseconds(within)));
  const uint64_t due = r.now_ms() + ms;
  const uint64_t arg = uint64_t{h.slot()} | (uint64_t{h.generation()} << 32);
  if (!l.deadlines.empty() && due < l.deadlines.back().due) {
    // Out of order (a shorter `within` than before): a wheel timer of its own.
    r.timers().add(due, &Local::on_deadline, &l, arg);
    return;
  }
  l.deadlines.push_back({due, arg});
  l.arm_queue();
}

void Sessions::forget(std::string_view user, const ConnHandle& h) {
  Stripe& s = stripe_of(user);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.users.find(user);
  // A kicked connection's user already points at the newer one: leave that alone.
  if (it != s.users.end() && it->second == h) s.users.erase(it);
}

absl::StatusOr<ConnHandle> Sessions::find(std::string_view user) const {
  const Stripe& s = stripe_of(user);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.users.find(user);
  if (it == s.users.end()) {
    return absl::NotFoundError("user '" + std::string(user) + "' is not online");
  }
  return it->second;
}

absl::StatusOr<SendResult> Sessions::send(std::string_view user, Payload payload) const {
  absl::StatusOr<ConnHandle> h = find(user);
  if (!h.ok()) return h.status();
  return h->send(std::move(payload));
}

size_t Sessions::size() const {
  size_t n = 0;
  for (const Stripe& s : stripes_) {
    std::lock_guard<std::mutex> lock(s.mu);
    n += s.users.size();
  }
  return n;
}

}  // namespace percore
