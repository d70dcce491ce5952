// Connection: one accepted stream socket, living in its reactor's slab slot with the
// handler's ConnState right after it. Owned by its reactor (net/ConnTable) and touched only on
// that reactor's thread. A Connection& is valid only inside the callback that received it;
// keep a ConnHandle beyond that. Kept small (see the static_assert): idle connections are
// most of a long-connection server's memory.
#pragma once

#include <concepts>
#include <cstdint>
#include <new>
#include <span>
#include <string_view>

#include "net/conn_handle.h"
#include "net/input_buffer.h"
#include "reactor/channel.h"
#include "reactor/stats.h"
#include "reactor/timer_wheel.h"

namespace percore {

class ConnTable;
class Reactor;

// Connection::flags_ bits (shared by Connection and ConnTable).
namespace conn_flags {
inline constexpr uint16_t kClosed = 1;       // on_close ran; waiting for release
inline constexpr uint16_t kClosing = 2;      // graceful close: flushing, then close
inline constexpr uint16_t kWantShutWr = 4;   // half-close once output is flushed
inline constexpr uint16_t kShutWr = 8;       // FIN sent
inline constexpr uint16_t kPaused = 16;      // handler paused reading
inline constexpr uint16_t kDirty = 32;       // on the flush list
inline constexpr uint16_t kAboveHigh = 64;   // above the high watermark: on_drain owed
inline constexpr uint16_t kPeerEof = 128;    // peer sent FIN
inline constexpr uint16_t kRedeliver = 256;  // kept input to hand over after resume
inline constexpr uint16_t kLinger = 512;     // closed, FIN sent, reading until the peer closes
inline constexpr uint16_t kNoMoreOutput = kClosed | kClosing | kWantShutWr | kShutWr;
}  // namespace conn_flags

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
  // Spans (what on_data receives) too; strings and literals take the string_view overload.
  template <class Bytes>
  requires(std::convertible_to<const Bytes&, std::span<const char>> &&
           !std::convertible_to<const Bytes&, std::string_view>) SendResult
      send(const Bytes& bytes) {
    std::span<const char> s = bytes;
    return send(std::string_view(s.data(), s.size()));
  }
  void close(CloseMode mode = CloseMode::kGraceful);
  // Half-close: FIN after queued output, keep reading until the peer closes.
  void shutdown_write();
  void pause_reading();
  void resume_reading();
  bool reading_paused() const;
  bool closing() const;
  size_t output_bytes() const { return ch_.out.size(); }
  size_t input_bytes() const { return in_.size(); }
  int fd() const { return ch_.fd; }
  ConnHandle handle() const { return ConnHandle(table_, ch_.slot, ch_.gen); }
  Reactor& reactor() const;

  // The handler's ConnState, stored right after this object in the slab slot.
  template <class S>
  S& state();

 private:
  friend class ConnTable;

  Channel ch_;  // first member: a Channel& from the backend converts back to its Connection
  ConnTable* table_;
  InputBuffer in_;
  TimerWheel::TimerId timer_ = TimerWheel::kNoTimer;
  uint32_t timer_due_ = 0;    // low 32 bits of the ms tick the timer is set for
  uint32_t last_active_ = 0;  // low 32 bits of the ms tick of the last traffic
  uint32_t last_write_ = 0;   // ... of the last output progress (or first pending byte)
  uint16_t flags_ = 0;
  CloseReason reason_ = CloseReason::kLocal;
};

inline constexpr size_t kConnStateOffset = (sizeof(Connection) + 15) & ~size_t{15};

template <class S>
S& Connection::state() {
  return *std::launder(reinterpret_cast<S*>(reinterpret_cast<char*>(this) + kConnStateOffset));
}

}  // namespace percore
