#include "net/connection.h"

#include "net/conn_table.h"

namespace percore {

SendResult Connection::send(std::string_view bytes) { return table_->send(*this, bytes); }
SendResult Connection::send(const Payload& p) { return table_->send(*this, p); }
SendResult Connection::send(std::span<const std::string_view> parts) {
  return table_->send(*this, parts);
}
void Connection::close(CloseMode mode) { table_->close(*this, mode); }
void Connection::close(CloseMode mode, CloseReason reason) { table_->close(*this, mode, reason); }
void Connection::shutdown_write() { table_->shutdown_write(*this); }
void Connection::pause_reading() { table_->pause(*this); }
void Connection::resume_reading() { table_->resume(*this); }
Reactor& Connection::reactor() const { return table_->reactor(); }
void CountFrames(Connection& c, uint64_t n) { c.table_->frames_counted(c, n); }
uint64_t MessageBudget(Connection& c) { return c.table_->message_budget(c); }

uint32_t ConnHandle::reactor_index() const { return table_ ? table_->reactor().index() : 0; }

absl::StatusOr<SendResult> ConnHandle::send(std::string_view bytes) const {
  return send_owned(std::string(bytes));
}

absl::StatusOr<SendResult> ConnHandle::send_owned(std::string&& bytes) const {
  if (table_ == nullptr) return absl::FailedPreconditionError("empty connection handle");
  return table_->handle_send(slot_, gen_, std::move(bytes));
}

absl::StatusOr<SendResult> ConnHandle::send(Payload payload) const {
  if (table_ == nullptr) return absl::FailedPreconditionError("empty connection handle");
  return table_->handle_send(slot_, gen_, std::move(payload));
}

absl::Status ConnHandle::close() const {
  if (table_ == nullptr) return absl::FailedPreconditionError("empty connection handle");
  return table_->handle_close(slot_, gen_);
}

absl::Status ConnHandle::close(CloseReason reason) const {
  if (table_ == nullptr) return absl::FailedPreconditionError("empty connection handle");
  return table_->handle_close(slot_, gen_, reason);
}

absl::Status ConnHandle::run(Visit& fn) const {
  if (table_ == nullptr) return absl::FailedPreconditionError("empty connection handle");
  return table_->handle_run(slot_, gen_, fn);
}

size_t ConnHandle::output_bytes() const {
  return table_ == nullptr ? 0 : table_->handle_output_bytes(slot_, gen_);
}

}  // namespace percore
