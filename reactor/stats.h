// ReactorStats: the counters of one reactor, written only by its own thread (relaxed
// load + store, no lock, no read-modify-write) and read by anyone for a snapshot.
// StatsSnapshot is the plain sum over reactors that tools print and export.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace percore {

enum class CloseReason : uint8_t {
  kPeerClosed,        // orderly FIN from the peer
  kLocal,             // the handler called close()
  kReset,             // the peer reset the connection (ECONNRESET, EPIPE)
  kError,             // another socket error
  kIdleTimeout,       // no traffic for idle_timeout
  kWriteTimeout,      // output pending with no progress for write_timeout
  kOutputOverflow,    // output exceeded out_cap: the peer does not read
  kFrameTooLarge,     // the handler left more than max_frame bytes unconsumed
  kNoMemory,          // the reactor's buffer pool ran out
  kShutdown,          // graceful shutdown closed it
  kMalformed,         // the connection's codec found input the protocol does not allow
  kSlowConsumer,      // a room publish found it above its high watermark (policy: close)
  kKicked,            // a second login with the same user id replaced it (Sessions)
  kAuthTimeout,       // it did not bind a user within its deadline (Sessions::require_bind)
  kHeartbeatTimeout,  // silent for heartbeat_interval after the heartbeat ping
  kCount
};

const char* CloseReasonName(CloseReason r);

class Counter {
 public:
  void add(uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void sub(uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
  }
  // For the rare counters that several threads bump (a full queue seen by posters).
  void add_shared(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  void set(uint64_t v) { v_.store(v, std::memory_order_relaxed); }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

struct ReactorStats {
  Counter accepted, open, rejected_max_conns, accept_errors, bytes_in, bytes_out, backpressure,
      evictions, loop_turns, events, tasks, stale_handles, posts_dropped;
  // Waits that could block (the reactor slept unless work was already there), and turns whose
  // work a busy poll found (Config::busy_poll) without sleeping.
  Counter sleeps, busy_polls;
  Counter frames_in;            // whole messages a codec handed to on_message
  Counter handle_refused;       // ConnHandle sends/closes refused: queue or byte bound full
  Counter handoffs_failed;      // accepted fds a sibling could not take (adopted here instead)
  Counter lingered, lingering;  // lingering closes started; in progress (fd still held)
  // Rooms (net/rooms.h): rooms with a member on this reactor (summed over reactors: room
  // shards, a room on two reactors counts twice), memberships here, payloads sent to members,
  // members skipped as slow (policy: drop).
  Counter rooms, room_members, room_deliveries, room_dropped;
  Counter rejected_per_ip, rejected_accept_rate;
  Counter throttled;        // input rate limits paused a connection's reading  // admission limits
                            // (net/admission.h)
  Counter offload_dropped;  // Offload results whose connection had closed (net/offload.h)
  std::array<Counter, static_cast<size_t>(CloseReason::kCount)> closed;
  Counter pool_chunks_in_use, pool_failures;
};

struct StatsSnapshot {
  uint64_t reactors = 0, accepted = 0, open = 0, rejected_max_conns = 0, accept_errors = 0,
           bytes_in = 0, bytes_out = 0, backpressure = 0, evictions = 0, loop_turns = 0, events = 0,
           tasks = 0, stale_handles = 0, posts_dropped = 0, sleeps = 0, busy_polls = 0,
           frames_in = 0, handle_refused = 0, handoffs_failed = 0, pool_chunks_in_use = 0,
           pool_failures = 0, lingered = 0, lingering = 0, rooms = 0, room_members = 0,
           room_deliveries = 0, room_dropped = 0, offload_dropped = 0, rejected_per_ip = 0,
           rejected_accept_rate = 0, throttled = 0;
  std::array<uint64_t, static_cast<size_t>(CloseReason::kCount)> closed{};
  std::vector<uint64_t> open_per_reactor;  // balance across reactors
  std::vector<StatsSnapshot> per_reactor;  // each reactor's own counters (their per_reactor empty)
  std::string backend;                     // "epoll" / "io_uring" and the features in use

  void add(const ReactorStats& s);
  uint64_t closed_total() const;
  std::string ToLine() const;  // one human line for --stats
  // Text exposition format: every counter as percore_<name>, and again per reactor as
  // percore_reactor_<name>{reactor="i"} (a separate family, so sums do not double count).
  std::string ToPrometheus() const;
};

}  // namespace percore
