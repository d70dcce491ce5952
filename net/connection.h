// Connection: one accepted stream socket, living in its reactor's slab slot with the
// handler's ConnState right after it. Owned by its reactor (net/ConnTable) and touched only on
// that reactor's thread. A Connection& is valid only inside the callback that received it;
// keep a ConnHandle beyond that. Kept small (see the static_assert in conn_table.cc): idle
// connections are most of a long-connection server's memory.
//
// What a callback may do with the Connection it received (all of it, in any callback):
// send(), close() in either mode, shutdown_write(), pause_reading(), resume_reading(); and
// use any ConnHandle. Nothing a callback does calls another callback of the same connection
// re-entrantly, except close(): on_close runs inside the close() call that ends the
// connection (so a handler must not touch its ConnState after calling close()).
#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <new>
#include <span>
#include <string_view>

#include "net/conn_handle.h"
#include "net/input_buffer.h"
#include "pool/payload.h"
#include "reactor/channel.h"
#include "reactor/stats.h"
#include "reactor/timer_wheel.h"

namespace percore {

class ConnTable;
class Reactor;

// Where a connection is in its life. Transitions (ConnTable, net/conn_close.cc):
//   kOpen        -> kPeerShut     the peer's FIN reached a handler with on_peer_shutdown
//   kOpen        -> kShutPending  shutdown_write() with output queued
//   kOpen        -> kWriteShut    shutdown_write() with nothing queued (FIN now)
//   kShutPending -> kWriteShut    output drained: FIN
//   kPeerShut, kShutPending + shutdown_write()/peer FIN -> kClosing (flush, then close)
//   any open     -> kClosing      close(kGraceful) with output queued (reading stops)
//   any open     -> kClosed       close() with nothing queued, close(kReset), errors,
//                                 timeouts, the peer's FIN in kWriteShut; kClosing when
//                                 its output drained
//   (kClosed)    -> kLingering    instead of kClosed when the peer has not yet acknowledged
//                                 our output and may still send: FIN, read and discard
//   kLingering   -> kClosed       the peer closed, or linger_timeout
//   kConnecting  -> kOpen         an outgoing connect() succeeded: on_open
//   kConnecting  -> kClosed       it failed, timed out or was cancelled: no on_open, no
//                                 on_close (the ConnectObserver hears it; net/conn_connect.cc)
// on_close runs exactly once, on leaving the open states (everything above kClosing).
enum class Lifecycle : uint8_t {
  kOpen,         // reading and writing
  kPeerShut,     // the peer's FIN was delivered (on_peer_shutdown); still writing
  kShutPending,  // shutdown_write(): FIN once queued output is flushed; still reading
  kWriteShut,    // our FIN is sent; reading until the peer's FIN
  kClosing,      // graceful close: not reading, flushing, then close
  kLingering,    // on_close ran; FIN sent; discarding input until the peer closes
  kClosed,       // on_close ran; the slot is released once the kernel lets go of it
  kConnecting,   // outgoing, connect() under way; no handler has seen it (not open)
};

enum class SendResult : uint8_t {
  kOk,            // queued; flushed at the end of this loop turn
  kBackpressure,  // queued, but output is above the high watermark: stop producing
  kClosed,        // not queued: the connection is closed or closing (or just hit out_cap)
};

enum class CloseMode : uint8_t {
  kGraceful,  // stop reading, flush queued output, then FIN
  kReset,     // drop queued output, RST (SO_LINGER 0)
};

class Connection {
 public:
  Connection(ConnTable* table, BufferPool* pool) : ch_(pool), table_(table) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  SendResult send(std::string_view bytes);
  // Several parts (a header and a body, say) as one send: one check of the state, the cap
  // and the watermark instead of one per part.
  SendResult send(std::span<const std::string_view> parts);
  SendResult send(std::initializer_list<std::string_view> parts) {
    return send(std::span<const std::string_view>(parts.begin(), parts.size()));
  }
  // A shared payload (a broadcast): from kShareFrom bytes on the output queue holds a
  // reference, not a copy, until the kernel has taken the bytes; smaller ones are copied
  // (cheaper than the reference). Counts its full size against the watermarks and out_cap.
  static constexpr size_t kShareFrom = 512;
  SendResult send(const Payload& p);
  // Spans (what on_data receives) too; strings and literals take the string_view overload.
  template <class Bytes>
  requires(std::convertible_to<const Bytes&, std::span<const char>> &&
           !std::convertible_to<const Bytes&, std::string_view>) SendResult
      send(const Bytes& bytes) {
    std::span<const char> s = bytes;
    return send(std::string_view(s.data(), s.size()));
  }
  void close(CloseMode mode = CloseMode::kGraceful);
  // The same, with the reason on_close and the stats will show (a codec error, say).
  void close(CloseMode mode, CloseReason reason);
  // Half-close: FIN after queued output, keep reading until the peer closes.
  void shutdown_write();
  // While paused no input reaches the handler, the peer's FIN included; bytes already read
  // are kept and handed over, in order, at the end of the turn that resumes.
  void pause_reading();
  void resume_reading();
  bool reading_paused() const { return marks_ & kPaused; }
  bool closing() const { return lifecycle_ >= Lifecycle::kClosing; }
  Lifecycle lifecycle() const { return lifecycle_; }
  size_t output_bytes() const { return ch_.out.size(); }
  // A send took output above Config::out_high_watermark and it has not yet drained to the low
  // one: stop producing (pause_reading) until on_drain. Handlers that send through an encoder
  // (which does not return the SendResult) ask here.
  bool above_high_watermark() const { return marks_ & kAboveHigh; }
  size_t input_bytes() const { return in_.size(); }
  int fd() const { return ch_.fd; }
  ConnHandle handle() const { return ConnHandle(table_, ch_.slot, ch_.gen); }
  Reactor& reactor() const;

  // The handler's ConnState, stored right after this object in the slab slot.
  template <class S>
  S& state();

 private:
  friend class ConnTable;
  friend void CountFrames(Connection& c, uint64_t n);
  friend uint64_t MessageBudget(Connection& c);
  template <class>
  friend class PerReactor;  // reaches the connection's table (per-reactor state of Rooms...)

  // marks_: list memberships and the read-side toggles; not the lifecycle.
  static constexpr uint8_t kPaused = 1;      // the handler paused reading
  static constexpr uint8_t kDirty = 2;       // on the flush list
  static constexpr uint8_t kRedeliver = 4;   // on the redelivery list
  static constexpr uint8_t kAboveHigh = 8;   // above the high watermark: on_drain owed
  static constexpr uint8_t kEofKept = 16;    // the peer's FIN, queued behind kept input
  static constexpr uint8_t kPeerFin = 64;    // the peer's FIN was read (delivered or kept)
  static constexpr uint8_t kFdCounted = 32;  // holds one of max_connections' fds
  static constexpr uint8_t kPinged = 128;    // on_heartbeat ran; input since clears it

  Channel ch_;  // first member: a Channel& from the backend converts back to its Connection
  ConnTable* table_;
  InputBuffer in_;
  TimerWheel::TimerId timer_ = TimerWheel::kNoTimer;
  uint32_t timer_due_ = 0;   // low 32 bits of the ms tick the timer is set for
  uint32_t last_input_ = 0;  // low 32 bits of the ms tick of the last input
  uint32_t last_write_ = 0;  // ... of the last output progress (or first pending byte)
  Lifecycle lifecycle_ = Lifecycle::kOpen;
  uint8_t marks_ = 0;
  CloseReason reason_ = CloseReason::kLocal;
};

inline constexpr size_t kConnStateOffset = (sizeof(Connection) + 15) & ~size_t{15};

template <class S>
S& Connection::state() {
  return *std::launder(reinterpret_cast<S*>(reinterpret_cast<char*>(this) + kConnStateOffset));
}

}  // namespace percore
