#include "net/connection.h"

#include "net/conn_table.h"

namespace percore {

SendResult Connection::send(std::string_view bytes) { return table_->send(*this, bytes); }
void Connection::close(CloseMode mode) { table_->close(*this, mode); }
void Connection::shutdown_write() { table_->shutdown_write(*this); }
void Connection::pause_reading() { table_->pause(*this); }
void Connection::resume_reading() { table_->resume(*this); }
bool Connection::reading_paused() const { return flags_ & conn_flags::kPaused; }
bool Connection::closing() const { return flags_ & (conn_flags::kClosed | conn_flags::kClosing); }
Reactor& Connection::reactor() const { return table_->reactor(); }

uint32_t ConnHandle::reactor_index() const { return table_ ? table_->reactor().index() : 0; }

absl::Status ConnHandle::send(std::string_view bytes) const {
  if (table_ == nullptr) return absl::FailedPreconditionError("empty connection handle");
  Reactor& r = table_->reactor();
  if (r.in_loop_thread()) return table_->handle_send(slot_, gen_, bytes);
  ConnTable* t = table_;
  if (!r.post([t, slot = slot_, gen = gen_, s = std::string(bytes)] {
        t->handle_send(slot, gen, s).IgnoreError();
      })) {
    return absl::ResourceExhaustedError("reactor task queue is full");
  }
  return absl::OkStatus();
}

absl::Status ConnHandle::close() const {
  if (table_ == nullptr) return absl::FailedPreconditionError("empty connection handle");
  Reactor& r = table_->reactor();
  if (r.in_loop_thread()) return table_->handle_close(slot_, gen_);
  ConnTable* t = table_;
  if (!r.post([t, slot = slot_, gen = gen_] { t->handle_close(slot, gen).IgnoreError(); })) {
    return absl::ResourceExhaustedError("reactor task queue is full");
  }
  return absl::OkStatus();
}

}  // namespace percore
