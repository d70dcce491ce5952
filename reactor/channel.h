// Channel: the per-socket I/O state a Backend works on: the fd, the token that names it in
// events and completions, backend-private flags and the output queue. A Channel lives inside
// its Connection's slab slot and is touched only by the owning reactor's thread.
#pragma once

#include <cstdint>

#include "pool/ring_buffer.h"

namespace percore {

struct Channel {
  // Tokens carry 24 bits of generation so a backend may keep 8 bits of its own in the top byte.
  static constexpr uint64_t kTokenMask = (uint64_t{1} << 56) - 1;

  explicit Channel(BufferPool* pool) : out(pool) {}

  // A reactor may serve two tables (a server's and a ClientGroup's, net/reactor_tables.h): the
  // slot's top bit names the channel's table, so a backend's event finds its way back.
  // Slots stay far below 2^31 (each is a slab slot of ~100 bytes or more).
  static constexpr uint32_t kSinkBit = uint32_t{1} << 31;

  uint64_t token() const {
    return uint64_t{slot | (sink != 0 ? kSinkBit : 0)} | (uint64_t{gen & 0xFFFFFF} << 32);
  }

  int fd = -1;
  uint32_t slot = 0;
  uint32_t gen = 0;
  uint16_t io = 0;   // backend-private bits
  uint8_t sink = 0;  // which table of the reactor owns it (kSinkBit in the token)
  RingBuffer out;    // bytes queued for the kernel; never moved while a send is in flight
};

}  // namespace percore
