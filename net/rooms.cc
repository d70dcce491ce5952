#include "net/rooms.h"

#include <algorithm>
#include <bit>

#include "absl/container/inlined_vector.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/str_format.h"
#include "net/conn_table.h"

namespace percore {

// One reactor's memberships, touched only by that reactor's thread.
struct Rooms::Local final : CloseObserver {
  struct Member {
    uint32_t slot, gen;
  };
  static constexpr uint32_t kGone = UINT32_MAX;  // a member removed while a fan-out runs
  struct Group {
    std::vector<Member> members;
    uint32_t live = 0;
  };
  // Where a connection sits in each of its rooms, so a leave or close removes it without a
  // search (a search made closing a whole room quadratic). One room inline: most members
  // are in one, and then they cost no allocation here.
  struct Pos {
    Id room;
    uint32_t index;  // in groups[room].members
  };
  using Positions = absl::InlinedVector<Pos, 1>;

  Local(Rooms& rooms, ConnTable& table) : rooms(rooms), table(table) {}
  void on_conn_closed(Connection& c) override {
    Positions* found = positions(c.handle().slot());
    if (found == nullptr || found->empty()) return;
    Positions ps = std::move(*found);
    found->clear();
    for (const Pos& p : ps) rooms.remove_member(*this, p.room, p.index);
  }
  uint32_t index() { return table.reactor().index(); }
  Positions* positions(uint32_t slot) { return slot < joined.size() ? &joined[slot] : nullptr; }
  Positions& positions_for_join(uint32_t slot) {
    GrowToSlot(joined, slot);
    return joined[slot];
  }
  ReactorStats& stats() { return table.reactor().stats(); }

  Rooms& rooms;
  ConnTable& table;
  // node_hash_map: a Group stays put while a fan-out walks it, whatever callbacks it triggers
  // join elsewhere.
  absl::node_hash_map<Id, Group> groups;
  // By connection slot: what a close must undo. A vector, not a map: 24 bytes a slot, and
  // connection slots are dense (the slab reuses them).
  std::vector<Positions> joined;
  // While a fan-out walks a group, removals (a slow member closed, its on_close leaving other
  // rooms) only mark members kGone and list their group; the fan-out compacts those after.
  bool fanning_out = false;
  std::vector<Id> to_compact;
};

Rooms::Id Rooms::Named(std::string_view name) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a: the same id in every process
  for (char ch : name) h = (h ^ static_cast<uint8_t>(ch)) * 1099511628211ull;
  return h;
}

Rooms::Rooms() = default;

Rooms::~Rooms() = default;

Rooms::Local& Rooms::local_of(Connection& c) {
  return locals_.of(c, [this](ConnTable& table) { return new Local(*this, table); });
}

bool Rooms::join(Connection& c, Id room) {
  Local& l = local_of(c);
  const ConnHandle h = c.handle();
  Local::Positions& ps = l.positions_for_join(h.slot());
  for (const Local::Pos& p : ps) {
    if (p.room == room) return false;
  }
  Local::Group& g = l.groups[room];
  ps.push_back({room, static_cast<uint32_t>(g.members.size())});
  g.members.push_back({h.slot(), h.generation()});
  const bool first_here = ++g.live == 1;
  l.stats().room_members.add();
  if (first_here) l.stats().rooms.add();
  joined(room, l.index(), first_here);
  return true;
}

bool Rooms::leave(Connection& c, Id room) {
  Local& l = local_of(c);
  Local::Positions* found = l.positions(c.handle().slot());
  if (found == nullptr) return false;
  Local::Positions& ps = *found;
  for (size_t i = 0; i < ps.size(); ++i) {
    if (ps[i].room != room) continue;
    const uint32_t index = ps[i].index;
    ps[i] = ps.back();
    ps.pop_back();
    remove_member(l, room, index);
    return true;
  }
  return false;
}

bool Rooms::contains(Connection& c, Id room) {
  Local::Positions* ps = local_of(c).positions(c.handle().slot());
  if (ps == nullptr) return false;
  for (const Local::Pos& p : *ps) {
    if (p.room == room) return true;
  }
  return false;
}

void Rooms::visit(Id room, std::function<void(Connection&)> each,
                  absl::AnyInvocable<void(absl::Status) &&> done) {
  uint64_t reactors = 0;
  {
    const Stripe& s = stripe_of(room);
    std::lock_guard<std::mutex> lock(s.mu);
    if (auto it = s.rooms.find(room); it != s.rooms.end()) reactors = it->second.reactors;
  }
  if (reactors == 0) return std::move(done)(absl::OkStatus());
  struct Walk {
    std::function<void(Connection&)> each;
    absl::AnyInvocable<void(absl::Status) &&> done;
    std::atomic<int> left;
    std::atomic<int> refused{0};
    void finish() {
      if (left.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
      std::move(done)(refused.load() == 0
                          ? absl::OkStatus()
                          : absl::ResourceExhaustedError(absl::StrFormat(
                                "room visit: %d reactor task queue(s) full", refused.load())));
    }
  };
  auto walk = std::make_shared<Walk>(std::move(each), std::move(done), std::popcount(reactors));
  for (uint32_t i = 0; reactors != 0; ++i, reactors >>= 1) {
    if (!(reactors & 1)) continue;
    Local* l = locals_.at(i);
    bool posted = l->table.reactor().post([l, room, walk] {
      if (auto it = l->groups.find(room); it != l->groups.end()) {
        // Copied: each() may close members, and their removal would reorder the list.
        const std::vector<Local::Member> members = it->second.members;
        for (const Local::Member& m : members) {
          if (m.slot == Local::kGone) continue;
          if (Connection* c = l->table.lookup(m.slot, m.gen)) walk->each(*c);
        }
      }
      walk->finish();
    });
    if (!posted) {
      walk->refused.fetch_add(1);
      walk->finish();
    }
  }
}

void Rooms::moved(Local& l, Id room, uint32_t slot, uint32_t index) {
  Local::Positions* ps = l.positions(slot);
  if (ps == nullptr) return;
  for (Local::Pos& p : *ps) {
    if (p.room == room) {
      p.index = index;
      return;
    }
  }
}

void Rooms::remove_member(Local& l, Id room, uint32_t index) {
  auto it = l.groups.find(room);
  if (it == l.groups.end() || index >= it->second.members.size()) return;
  Local::Group& g = it->second;
  if (l.fanning_out) {
    g.members[index].slot = Local::kGone;  // the walk's indices must stay put
    l.to_compact.push_back(room);
  } else {
    g.members[index] = g.members.back();
    g.members.pop_back();
    if (index < g.members.size()) moved(l, room, g.members[index].slot, index);
  }
  const bool last_here = --g.live == 0;
  l.stats().room_members.sub();
  if (last_here) {
    l.stats().rooms.sub();
    if (!l.fanning_out) l.groups.erase(it);
  }
  left(room, l.index(), last_here);
}

void Rooms::joined(Id room, uint32_t r, bool first_here) {
  Stripe& s = stripe_of(room);
  std::lock_guard<std::mutex> lock(s.mu);
  Stripe::Entry& e = s.rooms[room];
  ++e.members;
  if (first_here) e.reactors |= uint64_t{1} << r;
}

void Rooms::left(Id room, uint32_t r, bool last_here) {
  Stripe& s = stripe_of(room);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.rooms.find(room);
  if (it == s.rooms.end()) return;
  --it->second.members;
  if (last_here) it->second.reactors &= ~(uint64_t{1} << r);
  if (it->second.members == 0) s.rooms.erase(it);
}

absl::StatusOr<int> Rooms::publish(Id room, const Payload& payload, Slow slow) {
  uint64_t reactors;
  {
    const Stripe& s = stripe_of(room);
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.rooms.find(room);
    if (it == s.rooms.end()) return 0;
    reactors = it->second.reactors;
  }
  int posted = 0, refused = 0;
  for (uint32_t i = 0; reactors != 0; ++i, reactors >>= 1) {
    if (!(reactors & 1)) continue;
    Local* l = locals_.at(i);
    // Posted even from reactor i itself: a direct fan-out would overtake this thread's
    // earlier publishes still in the queue.
    if (l->table.reactor().post(
            [this, l, room, payload, slow] { fan_out(*l, room, payload, slow); })) {
      ++posted;
    } else {
      ++refused;
    }
  }
  if (refused > 0) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("room publish: %d reactor task queue(s) full (task_queue_cap); %d reached",
                        refused, posted));
  }
  return posted;
}

void Rooms::fan_out(Local& l, Id room, const Payload& payload, Slow slow) {
  auto it = l.groups.find(room);
  if (it == l.groups.end()) return;
  Local::Group& g = it->second;
  ReactorStats& st = l.stats();
  l.fanning_out = true;  // (never nested: fan-outs run from posted tasks, one at a time)
  // By index: a callback run from here (on_close of a member closed as slow) may join this
  // room and grow the vector; members who join now start with the next message.
  const size_t n = g.members.size();
  for (size_t i = 0; i < n; ++i) {
    const Local::Member m = g.members[i];
    if (m.slot == Local::kGone) continue;
    Connection* c = l.table.lookup(m.slot, m.gen);
    if (c == nullptr) continue;
    if (c->above_high_watermark()) {
      if (slow == Slow::kDrop) {
        st.room_dropped.add();
      } else {
        c->close(CloseMode::kReset, CloseReason::kSlowConsumer);
      }
      continue;
    }
    if (c->send(payload) != SendResult::kClosed) st.room_deliveries.add();
  }
  l.fanning_out = false;
  // Usually empty: nothing to scan on a quiet publish. Once per group however many of its
  // members went (a slow room closed wholesale lists it once per member).
  std::sort(l.to_compact.begin(), l.to_compact.end());
  l.to_compact.erase(std::unique(l.to_compact.begin(), l.to_compact.end()), l.to_compact.end());
  for (Id id : l.to_compact) {
    auto gi = l.groups.find(id);
    if (gi == l.groups.end()) continue;
    std::vector<Local::Member>& members = gi->second.members;
    std::erase_if(members, [](const Local::Member& m) { return m.slot == Local::kGone; });
    if (gi->second.live == 0) {
      l.groups.erase(gi);
      continue;
    }
    for (size_t i = 0; i < members.size(); ++i) {
      moved(l, id, members[i].slot, static_cast<uint32_t>(i));
    }
  }
  l.to_compact.clear();
}

size_t Rooms::size(Id room) const {
  const Stripe& s = stripe_of(room);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.rooms.find(room);
  return it == s.rooms.end() ? 0 : it->second.members;
}

size_t Rooms::count() const {
  size_t n = 0;
  for (const Stripe& s : stripes_) {
    std::lock_guard<std::mutex> lock(s.mu);
    n += s.rooms.size();
  }
  return n;
}

}  // namespace percore
