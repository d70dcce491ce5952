#include "test/reactor_sync.h"

#include "test/server_harness.h"

namespace percore::test {
namespace {

// Posts `task` to reactor `i`, retrying while its queue is full.
template <class Task>
void PostRetrying(TcpServer& server, size_t i, Task task) {
  while (!server.reactors().at(i).post(task)) SleepMs(1);
}

}  // namespace

void SyncReactor(TcpServer& server, size_t i) {
  for (int round = 0; round < 2; ++round) {
    std::promise<void> done;
    PostRetrying(server, i, [&done] { done.set_value(); });
    done.get_future().wait();
  }
}

void SyncTurns(TcpServer& server) {
  for (int round = 0; round < 2; ++round) {
    for (size_t i = 0; i < server.reactors().size(); ++i) {
      std::promise<void> done;
      PostRetrying(server, i, [&done] { done.set_value(); });
      done.get_future().wait();
    }
  }
}

std::promise<void> BlockReactors(TcpServer& server) {
  std::promise<void> release;
  std::shared_future<void> go = release.get_future().share();
  for (size_t i = 0; i < server.reactors().size(); ++i) {
    std::promise<void> parked;
    PostRetrying(server, i, [go, &parked] {
      parked.set_value();
      go.wait();
    });
    parked.get_future().wait();
  }
  return release;
}

ReactorBlock::ReactorBlock(TcpServer& server, size_t i) {
  std::shared_future<void> gate = gate_.get_future().share();
  std::promise<void> entered;
  PostRetrying(server, i, [gate, &entered] {
    entered.set_value();
    gate.wait();
  });
  entered.get_future().wait();
}

void ReactorBlock::release() {
  if (!released_) gate_.set_value();
  released_ = true;
}

}  // namespace percore::test
