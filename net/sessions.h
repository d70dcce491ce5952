// Sessions: which connection a user is on, for IM and game servers. bind() names the user of a
// connection (after its login); a second login with the same user id either kicks the older
// connection (closed gracefully, reason kicked, so it still gets what was queued for it, a
// "logged in elsewhere" notice included) or is refused. Any thread can look a user up and send
// to it. The registry is striped by user id (no global lock); each reactor forgets the users
// of its connections as they close. Owned by the application (typically a handler member); it
// must outlive the server whose connections bind, and serve one server.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "net/connection.h"
#include "net/per_reactor.h"
#include "pool/payload.h"

namespace percore {

class Sessions {
 public:
  enum class OnDuplicate : uint8_t {
    kKick,    // the new login wins; the older connection is closed (reason kicked)
    kRefuse,  // the older one stays; bind() answers AlreadyExists
  };
  explicit Sessions(OnDuplicate on_duplicate = OnDuplicate::kKick);
  ~Sessions();
  Sessions(const Sessions&) = delete;
  Sessions& operator=(const Sessions&) = delete;

  // On c's reactor thread (inside one of its callbacks). FailedPrecondition when c is already
  // bound (to any user); AlreadyExists when the user is online elsewhere and the policy is
  // kRefuse. With kKick the older connection is closed gracefully: what was queued for it
  // still goes out, so a "logged in elsewhere" notice sent through find() first arrives.
  absl::Status bind(Connection& c, std::string_view user);
  // On c's reactor thread (on_open, typically): unless c binds a user within `within`, it is
  // closed gracefully (reason auth_timeout; a "login first" notice queued before still goes
  // out). One timer on the reactor's wheel; nothing to cancel: binding is checked when it fires.
  void require_bind(Connection& c, absl::Duration within);
  // Optional, set before the server starts: called on a connection's own reactor thread right
  // before Sessions closes it (reason kKicked or kAuthTimeout), while it can still send, so the
  // application can queue a goodbye in that connection's framing (a line, a WebSocket frame):
  // only the application knows it, and a kicked connection may live on another reactor. The
  // close that follows is graceful, so the goodbye goes out first.
  using Farewell = std::function<void(Connection&, CloseReason)>;
  void set_farewell(Farewell farewell) { farewell_ = std::move(farewell); }
  // On c's reactor thread: the user c is bound to; empty when it is not (yet). Valid until c
  // closes (or the next bind on that reactor).
  std::string_view user(Connection& c);
  // Any thread. NotFound when the user is not online.
  absl::StatusOr<ConnHandle> find(std::string_view user) const;
  absl::StatusOr<SendResult> send(std::string_view user, Payload payload) const;
  // Any thread: users online.
  size_t size() const;

 private:
  struct Local;
  // Transparent, so lookups by string_view build no std::string (Debian's abseil hashes
  // absl::string_view, not std::string_view).
  struct UserHash {
    using is_transparent = void;
    size_t operator()(std::string_view u) const { return std::hash<std::string_view>{}(u); }
  };
  struct Stripe {
    mutable std::mutex mu;
    absl::flat_hash_map<std::string, ConnHandle, UserHash, std::equal_to<>> users;
  };
  static constexpr size_t kStripes = 16;
  Stripe& stripe_of(std::string_view user);
  const Stripe& stripe_of(std::string_view user) const;
  Local& local_of(Connection& c);
  void forget(std::string_view user, const ConnHandle& h);  // only if h still holds user
  void kick(const ConnHandle& older);

  OnDuplicate on_duplicate_;
  Farewell farewell_;
  PerReactor<Local> locals_;
  std::array<Stripe, kStripes> stripes_;
};

}  // namespace percore
