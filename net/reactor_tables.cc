#include "net/reactor_tables.h"

namespace percore {

bool ReactorTables::attach(ConnTable* t, Detached on_detached) {
  if (client_ != nullptr || (server_ != nullptr && server_->shutting_down())) return false;
  client_ = t;
  on_detached_ = std::move(on_detached);
  return true;
}

void ReactorTables::detach() {
  client_ = nullptr;
  Detached done = std::move(on_detached_);
  on_detached_ = nullptr;
  if (done) done();
}

Channel* ReactorTables::find(uint64_t token) {
  if ((static_cast<uint32_t>(token) & Channel::kSinkBit) == 0) return server_->find(token);
  return client_ != nullptr ? client_->find(token) : nullptr;  // a late event of a gone table
}

void ReactorTables::begin_shutdown() {
  server_->begin_shutdown();
  if (client_ != nullptr) client_->begin_shutdown();
}

void ReactorTables::close_all() {
  if (client_ != nullptr) {
    client_->close_all();
    detach();
  }
  server_->close_all();
}

void ReactorTables::turn_end() {
  server_->turn_end();
  if (client_ != nullptr) {
    client_->turn_end();
    // Shut down alone (ClientGroup::shutdown) and empty: it leaves while the server runs on.
    if (client_->finished() && !server_->shutting_down()) detach();
  }
  if (server_->finished() && (client_ == nullptr || client_->finished())) {
    server_->reactor().stop();
  }
}

}  // namespace percore
