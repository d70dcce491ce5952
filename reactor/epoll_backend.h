// EpollBackend: the readiness engine behind the completion-style Backend interface.
// One epoll_ctl(ADD, IN|PRI|OUT|RDHUP|ET) per socket for its whole life; reads into one scratch
// buffer per reactor with a byte budget per wake-up and a ready list for fairness; writes with
// one sendmsg per flush until the kernel takes less than offered. Owned by one reactor thread.
#pragma once

#include <sys/epoll.h>

#include <memory>
#include <vector>

#include "reactor/backend.h"
#include "reactor/fd.h"

namespace percore {

class EpollBackend final : public Backend {
 public:
  static absl::StatusOr<std::unique_ptr<Backend>> Create(const Config& config, IoSink* sink);
  ~EpollBackend() override;

  BackendInfo info() const override { return {"epoll", "edge_triggered,ready_list"}; }
  absl::Status add_listener(int fd, uint32_t id) override;
  void remove_listener(uint32_t id) override;
  absl::Status open(Channel& ch) override;
  absl::Status connect(Channel& ch) override;
  void pause_recv(Channel& ch) override;
  void resume_recv(Channel& ch) override;
  void flush(Channel& ch) override;
  void close(Channel& ch) override;
  bool busy(const Channel&) const override { return false; }
  int poll(int timeout_ms) override;
  // Listeners waiting for a retry are not pending: poll() sleeps until their deadline.
  bool has_pending() const override { return !ready_.empty() || !ready_listeners_.empty(); }
  void wake() override;

 private:
  struct Listener {
    Fd fd;
    uint32_t id = 0;
    bool active = false;
    uint32_t backoff_ms = 0;  // > 0 while out of fds with nothing to reject
    bool retry_queued = false;
  };
  struct Retry {
    uint64_t at_ms;
    uint32_t id;
  };

  EpollBackend(const Config& config, IoSink* sink, Fd epfd, Fd wakefd);
  void read_ready(Channel& ch);
  void connect_ready(Channel& ch);
  void write_ready(Channel& ch);
  void accept_ready(Listener& l);
  enum class Reject { kRejected, kBacklogEmpty, kNoReserve };
  Reject reject_one(int listen_fd);
  void retry_later(Listener& l);
  int retry_timeout(int timeout_ms);
  Listener* listener(uint32_t id);

  IoSink* sink_;
  Fd epfd_;
  Fd wakefd_;
  Fd reserve_fd_;  // given up on EMFILE to accept-and-close one pending peer
  uint32_t budget_;
  std::unique_ptr<char[]> scratch_;
  std::vector<epoll_event> events_;
  std::vector<uint64_t> ready_;  // tokens whose edge was left unconsumed
  std::vector<uint64_t> ready_swap_;
  std::vector<uint32_t> ready_listeners_;
  std::vector<Retry> retries_;  // listeners whose backlog no edge will announce again
  std::vector<Listener> listeners_;
};

}  // namespace percore
