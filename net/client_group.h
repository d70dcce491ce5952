// ClientGroup: the reactors and connection tables that outgoing connections (TcpClient,
// ClientPool) live on when there is no server to share: a ReactorGroup of Config::threads
// loops, each with a ConnTable calling one handler, exactly as TcpServer runs them but with
// no listener. Owned by the application; the handler object must outlive it, and the clients
// on it must be destroyed (or stopped) before it.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "net/conn_table.h"
#include "net/handler.h"
#include "reactor/config.h"
#include "reactor/reactor_group.h"

namespace percore {

class ClientGroup {
 public:
  template <class H>
  ClientGroup(const Config& config, H& handler, Reactor::Clock clock = nullptr)
      : ClientGroup(config, std::make_unique<HandlerAdapter<H>>(handler), std::move(clock)) {}
  ClientGroup(const Config& config, std::unique_ptr<HandlerOps> handler, Reactor::Clock clock);
  ~ClientGroup();  // shutdown() if still running
  ClientGroup(const ClientGroup&) = delete;
  ClientGroup& operator=(const ClientGroup&) = delete;

  // Starts the reactor threads (the backend Config::backend names).
  absl::Status start();
  // Cancels connects under way, closes every connection gracefully (reset after
  // drain_timeout) and joins the threads. Any thread but a reactor's.
  void shutdown();
  bool running() const { return running_.load(std::memory_order_acquire); }

  size_t size() const { return group_.size(); }
  Reactor& reactor(size_t i) { return group_.at(i); }
  ConnTable& table(size_t i) { return *tables_[i]; }
  StatsSnapshot stats() const { return group_.stats(); }
  const Config& config() const { return config_; }

 private:
  Config config_;
  std::unique_ptr<HandlerOps> handler_;
  ReactorGroup group_;
  ServerShared shared_;
  std::vector<std::unique_ptr<ConnTable>> tables_;
  std::atomic<bool> running_{false};
  bool stopped_ = false;
};

}  // namespace percore
