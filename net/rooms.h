// Rooms: groups of connections that may span every reactor of a server (a chat room, a guild,
// the players of one area), for fan-out. Each reactor holds the memberships of its own
// connections, so joins, leaves and closes touch only the member's reactor; publish() posts
// the payload once to each reactor that has members in the room, and that reactor queues a
// reference to the one shared Payload on each of its members. A member is removed when its
// connection closes. Owned by the application (typically a handler member); it must outlive
// the server whose connections join it, and serve one server.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "net/connection.h"
#include "net/per_reactor.h"
#include "pool/payload.h"

namespace percore {

class ConnTable;

class Rooms {
 public:
  using Id = uint64_t;
  static Id Named(std::string_view name);  // a stable id for a room name

  // What a publish does to a member whose output is above its high watermark (it stopped
  // reading, or reads slower than the room talks): skip it for this message (counted as
  // room_dropped) or close it (reset, reason slow_consumer). The other members never wait.
  enum class Slow : uint8_t { kDrop, kClose };

  Rooms();
  ~Rooms();
  Rooms(const Rooms&) = delete;
  Rooms& operator=(const Rooms&) = delete;

  // On c's reactor thread (inside one of its callbacks). False when c was already a member
  // (join) or was not one (leave).
  bool join(Connection& c, Id room);
  bool leave(Connection& c, Id room);
  // Any thread. Returns the number of reactors the payload was posted to (0: the room has no
  // members); ResourceExhausted when a reactor's task queue was full (that reactor's members
  // miss this message; the others get it). Messages one thread publishes to a room arrive in
  // that order at every member.
  absl::StatusOr<int> publish(Id room, const Payload& payload, Slow slow = Slow::kDrop);
  // Any thread: members of a room (0 if none), and rooms with at least one member.
  size_t size(Id room) const;
  size_t count() const;

 private:
  struct Local;
  class Observer;
  struct Stripe {
    mutable std::mutex mu;
    // Per room: the reactors holding members (bit i: reactor i) and the member count.
    struct Entry {
      uint64_t reactors = 0;
      size_t members = 0;
    };
    absl::flat_hash_map<Id, Entry> rooms;
  };
  static constexpr size_t kStripes = 16;

  Local& local_of(Connection& c);  // c's reactor's memberships
  Stripe& stripe_of(Id room) { return stripes_[room % kStripes]; }
  const Stripe& stripe_of(Id room) const { return stripes_[room % kStripes]; }
  // The directory's side of a join or leave on reactor `r`: the count, and the reactor's bit
  // when its first member arrives or its last one goes.
  void joined(Id room, uint32_t r, bool first_here);
  void left(Id room, uint32_t r, bool last_here);
  void fan_out(Local& l, Id room, const Payload& payload, Slow slow);
  void remove_member(Local& l, Id room, uint32_t index);
  // The member on `slot` now sits at `index` of the room's member list.
  void moved(Local& l, Id room, uint32_t slot, uint32_t index);

  PerReactor<Local> locals_;
  std::array<Stripe, kStripes> stripes_;
};

}  // namespace percore
