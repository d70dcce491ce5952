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

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "net/address.h"
#include "net/conn_table.h"
#include "net/handler.h"
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

 private:
  Config config_;
  std::unique_ptr<HandlerOps> handler_;
  ReactorGroup group_;
  ServerShared shared_;
  std::vector<std::unique_ptr<ConnTable>> tables_;
  Address bound_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace percore
