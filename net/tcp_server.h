// TcpServer: a listening server spread over a ReactorGroup, calling one Handler (see
// net/handler.h) for every connection. It owns the reactors, the listeners and the connection
// tables; the handler object is the caller's and must outlive the server.
//
//   EchoHandler h;
//   percore::TcpServer server(config, h);
//   if (auto s = server.start(); !s.ok()) { ... }   // port in use, bad config, no io_uring
//   ...
//   server.shutdown();                               // graceful: drain, then close
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "net/address.h"
#include "net/conn_table.h"
#include "net/handler.h"
#include "net/reactor_tables.h"
#include "reactor/config.h"
#include "reactor/reactor_group.h"

namespace percore {

class TcpServer {
 public:
  template <class H>
  TcpServer(const Config& config, H& handler, Reactor::Clock clock = nullptr)
      : TcpServer(config, std::make_unique<HandlerAdapter<H>>(handler), std::move(clock)) {}
  TcpServer(const Config& config, std::unique_ptr<HandlerOps> handler, Reactor::Clock clock);
  ~TcpServer();  // shutdown() if still running
  TcpServer(const TcpServer&) = delete;
  TcpServer& operator=(const TcpServer&) = delete;

  // Validates the config, binds the listeners and starts the reactor threads.
  absl::Status start();
  // Graceful shutdown: stop accepting, call on_shutdown, flush what is queued, wait up to
  // drain_timeout, reset the rest. Blocks until every reactor thread has exited. Any thread
  // but a reactor's.
  void shutdown();
  // Blocks until the reactors have exited (after shutdown() from another thread).
  void wait();

  const Address& address() const { return bound_; }  // the real port when asked for port 0
  uint16_t port() const { return bound_.port(); }
  StatsSnapshot stats() const { return group_.stats(); }
  ReactorGroup& reactors() { return group_; }
  // One line for the log: backend in use and features, or why auto fell back to epoll.
  std::string startup_note() const;

  // ClientGroup's side (net/client_group.h): puts tables[i] on reactor i next to the server's
  // own table. Before start(): at once; while running: applied on each reactor, waited for
  // (call it from a thread that is not a reactor's, not concurrently with shutdown()).
  // on_detached(i) runs on reactor i once table i has left it: shut down alone and empty, or
  // the loops ended. FailedPrecondition when the server is shutting down or shut down, or a
  // table is attached already; tables attached before the failure leave as said.
  absl::Status attach_clients(std::span<ConnTable* const> tables,
                              std::function<void(size_t)> on_detached);

 private:
  Config config_;
  std::unique_ptr<HandlerOps> handler_;
  ReactorGroup group_;
  ServerShared shared_;
  std::vector<std::unique_ptr<ConnTable>> tables_;
  std::vector<std::unique_ptr<ReactorTables>> sinks_;  // per reactor; made with the server
  Address bound_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace percore
