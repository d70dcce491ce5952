// Helpers that make integration tests deterministic by synchronising with a running server's
// reactor threads through their task queues: wait for whole loop turns, or park reactors so
// that what peers do meanwhile lands in one turn. Test-only; call from the test thread.
#pragma once

#include <cstddef>
#include <future>

#include "net/tcp_server.h"

namespace percore::test {

// Waits until every reactor finished two whole loop turns from now (tasks, timers, turn end):
// afterwards each has seen the current (injected) clock.
void SyncTurns(TcpServer& server);
// The same for reactor `i` only.
void SyncReactor(TcpServer& server, size_t i);
// Parks every reactor in a task until the returned promise is set.
std::promise<void> BlockReactors(TcpServer& server);

// Holds reactor `i` inside a posted task until release() (or destruction). Declare it after
// the server, so it is released before the server shuts down.
class ReactorBlock {
 public:
  ReactorBlock(TcpServer& server, size_t i);
  ~ReactorBlock() { release(); }
  void release();

 private:
  std::promise<void> gate_;
  bool released_ = false;
};

}  // namespace percore::test
