// ClientGroup: the reactors and connection tables that outgoing connections (TcpClient,
// ClientPool) live on. Two modes:
//  - standalone, ClientGroup(config, handler): a ReactorGroup of Config::threads loops of its
//    own, each with a ConnTable calling one handler, run as TcpServer runs them, no listener;
//  - on a server, ClientGroup(server, handler): no threads; one more ConnTable (its own
//    handler and slot size) on each of the TcpServer's reactors, next to the server's table,
//    under the server's Config. A connection's events are handled on the reactor that owns
//    it, the server's connections' reactor: no thread hop between the two.
// Owned by the application; the handler object must outlive it, and the clients on it must be
// destroyed (or stopped) before it. On a server, the group ends when either ends first:
// ClientGroup::shutdown() closes its connections and leaves the server running; the server's
// shutdown() closes the group's connections with its own (the loops end when both tables are
// empty), after which the group is no longer running() and may be destroyed after the server.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/status/status.h"
#include "net/conn_table.h"
#include "net/handler.h"
#include "net/reactor_tables.h"
#include "net/resolver_thread.h"
#include "reactor/config.h"
#include "reactor/reactor_group.h"

namespace percore {

class TcpServer;

class ClientGroup {
 public:
  template <class H>
  ClientGroup(const Config& config, H& handler, Reactor::Clock clock = nullptr)
      : ClientGroup(config, std::make_unique<HandlerAdapter<H>>(handler), std::move(clock)) {}
  ClientGroup(const Config& config, std::unique_ptr<HandlerOps> handler, Reactor::Clock clock);
  template <class H>
  ClientGroup(TcpServer& server, H& handler)
      : ClientGroup(server, std::make_unique<HandlerAdapter<H>>(handler)) {}
  ClientGroup(TcpServer& server, std::unique_ptr<HandlerOps> handler);
  ~ClientGroup();  // shutdown() if still running
  ClientGroup(const ClientGroup&) = delete;
  ClientGroup& operator=(const ClientGroup&) = delete;

  // Standalone: starts the reactor threads (the backend Config::backend names). On a server:
  // attaches the tables to its reactors, before the server's start() or while it runs
  // (FailedPrecondition once it is shutting down).
  absl::Status start();
  // Cancels connects under way, closes every connection gracefully (reset after
  // drain_timeout); standalone it joins the threads, on a server it returns once the tables
  // left the reactors (which run on). Any thread but a reactor's.
  void shutdown();
  bool running() const { return running_.load(std::memory_order_acquire); }

  size_t size() const { return reactors_->size(); }
  Reactor& reactor(size_t i) { return reactors_->at(i); }
  ConnTable& table(size_t i) { return *tables_[i]; }
  // On a server: the server's reactors' counters, which the group's connections count in.
  StatsSnapshot stats() const { return reactors_->stats(); }
  const Config& config() const { return config_; }
  bool on_server() const { return own_ == nullptr; }
  // Where the group's clients resolve host names again before a reconnect: one thread for
  // the whole group, started by its first lookup, joined by shutdown().
  ResolverThread& resolver() { return resolver_; }

 private:
  void make_tables(uint8_t sink);
  void detached(size_t i);

  Config config_;
  std::unique_ptr<HandlerOps> handler_;
  std::unique_ptr<ReactorGroup> own_;  // standalone only
  TcpServer* server_ = nullptr;        // on a server only
  ReactorGroup* reactors_;
  ServerShared shared_;
  std::vector<std::unique_ptr<ConnTable>> tables_;
  std::vector<std::unique_ptr<ReactorTables>> sinks_;  // standalone: each reactor's IoSink
  std::atomic<bool> running_{false};
  bool stopped_ = false;
  ResolverThread resolver_;
  // On a server: tables still on their reactor (detached() counts them down).
  std::mutex mu_;
  std::condition_variable cv_;
  size_t attached_ = 0;
};

}  // namespace percore
