// ConnHandle: names a connection from anywhere and for any time (reactor table, slot,
// generation). Sending through it from a foreign thread posts to the owning reactor; when the
// connection has closed and its slot was reused, the generation no longer matches and the
// send does nothing (counted as stale_handles). A handle must not outlive its TcpServer.
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"

namespace percore {

class ConnTable;

class ConnHandle {
 public:
  ConnHandle() = default;
  ConnHandle(ConnTable* table, uint32_t slot, uint32_t gen)
      : table_(table), slot_(slot), gen_(gen) {}

  // OK when queued (or sent, on the owning thread); ResourceExhausted when the reactor's task
  // queue is full; FailedPrecondition when found stale on the owning thread.
  absl::Status send(std::string_view bytes) const;
  // Graceful close (flush, then FIN). Same answers as send.
  absl::Status close() const;

  bool valid() const { return table_ != nullptr; }
  uint32_t slot() const { return slot_; }
  uint32_t generation() const { return gen_; }
  uint32_t reactor_index() const;
  bool operator==(const ConnHandle&) const = default;

 private:
  ConnTable* table_ = nullptr;
  uint32_t slot_ = 0;
  uint32_t gen_ = 0;
};

}  // namespace percore
