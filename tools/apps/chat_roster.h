// ChatRoster: the nicks in each chat room, on every reactor, for WHO. Rooms (net/rooms.h) keeps
// memberships per reactor as connection slots, which is what a publish needs and cannot answer
// "who is in here"; this keeps names. Joins, leaves and WHO are rare next to MSG, so a mutex per
// stripe of rooms is enough; MSG never touches it. Owned by the chat handler; any thread.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"

namespace percore::apps {

class ChatRoster {
 public:
  void add(std::string_view room, std::string_view nick);
  void remove(std::string_view room, std::string_view nick);
  // "WHO room nick1 nick2 ..." sorted by nick, each nick once.
  std::string who(std::string_view room) const;

 private:
  // A nick counts twice for a moment while a kicked connection and the one that replaced it are
  // both in the room.
  using Nicks = std::map<std::string, int, std::less<>>;
  // Transparent, so lookups by string_view build no std::string (as in net/sessions.h).
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Stripe {
    mutable std::mutex mu;
    absl::flat_hash_map<std::string, Nicks, Hash, std::equal_to<>> rooms;
  };
  static constexpr size_t kStripes = 16;
  Stripe& stripe_of(std::string_view room);
  const Stripe& stripe_of(std::string_view room) const;

  std::array<Stripe, kStripes> stripes_;
};

}  // namespace percore::apps
