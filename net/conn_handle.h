// ConnHandle: names a connection from anywhere and for any time (reactor table, slot,
// generation). From a foreign thread, send() and close() post to the owning reactor; once the
// connection has closed and its slot was reused, the generation no longer matches and the
// call does nothing (counted as stale_handles). A handle must not outlive its TcpServer.
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pool/payload.h"

namespace percore {

class ConnTable;
class Connection;
enum class SendResult : uint8_t;
enum class CloseReason : uint8_t;

class ConnHandle {
 public:
  ConnHandle() = default;
  ConnHandle(ConnTable* table, uint32_t slot, uint32_t gen)
      : table_(table), slot_(slot), gen_(gen) {}

  // Queues bytes for the connection, any thread. kOk: queued. kBackpressure: queued, but
  // the connection's output (counting handle sends not yet applied) is above
  // out_high_watermark: stop producing until output_bytes() falls (or on_drain). Errors,
  // nothing queued: ResourceExhausted when the owning reactor's task queue is full or it
  // already holds handle_queue_bytes of handle sends; FailedPrecondition when the handle is
  // known stale or (on the owning thread) the connection is closing. Copies the bytes.
  absl::StatusOr<SendResult> send(std::string_view bytes) const;
  // The same, taking the string without a copy; a refused string is consumed too.
  template <class S>
  requires std::same_as<S, std::string> absl::StatusOr<SendResult> send(S&& bytes)
  const { return send_owned(std::move(bytes)); }
  // A shared payload: one more reference, no copy (see Connection::send(const Payload&)).
  absl::StatusOr<SendResult> send(Payload payload) const;
  // Graceful close (flush, then FIN). Same errors as send.
  absl::Status close() const;
  // The same, with the reason on_close and the stats will show (a kicked session, say).
  absl::Status close(CloseReason reason) const;
  // Any thread: bytes queued for the connection and not yet taken by the kernel, counting
  // handle sends not yet applied; 0 once the connection closed. A drained connection reads 0.
  size_t output_bytes() const;
  // Runs fn later on the connection's reactor thread, in a task (never inside the caller),
  // with the connection, or with nullptr when it has closed by then: how work done elsewhere
  // (a WorkerPool job, a backend's answer) comes home. Any thread. ResourceExhausted when the
  // reactor's task queue is full: then fn was not taken (it is still in `fn`; retry or drop).
  using Visit = absl::AnyInvocable<void(Connection*) &&>;
  absl::Status run(Visit& fn) const;

  bool valid() const { return table_ != nullptr; }
  uint32_t slot() const { return slot_; }
  uint32_t generation() const { return gen_; }
  uint32_t reactor_index() const;
  bool operator==(const ConnHandle&) const = default;

 private:
  absl::StatusOr<SendResult> send_owned(std::string&& bytes) const;

  ConnTable* table_ = nullptr;
  uint32_t slot_ = 0;
  uint32_t gen_ = 0;
};

}  // namespace percore
