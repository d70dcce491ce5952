// UringBackend: the completion engine behind Backend, one io_uring per reactor, created on the
// reactor's thread (single issuer, deferred task running where the kernel has them).
// Multishot accept per listener; multishot recv on every connection into one small
// provided-buffer ring per reactor (buffers go back to the kernel right after the handler saw
// them, so memory does not grow with connections); one gathered sendmsg in flight per
// connection; one submit per loop turn. A connection's fd is closed only once no operation
// on it is outstanding. Owned by one reactor thread.
#pragma once

#include <liburing.h>

#include <memory>
#include <vector>

#include "reactor/backend.h"
#include "reactor/fd.h"

namespace percore {

class UringBackend final : public Backend {
 public:
  static absl::StatusOr<std::unique_ptr<Backend>> Create(const Config& config, IoSink* sink);
  ~UringBackend() override;

  BackendInfo info() const override { return {"io_uring", features_}; }
  absl::Status add_listener(int fd, uint32_t id) override;
  void remove_listener(uint32_t id) override;
  absl::Status open(Channel& ch) override;
  absl::Status connect(Channel& ch) override;
  void pause_recv(Channel& ch) override;
  void resume_recv(Channel& ch) override;
  void flush(Channel& ch) override;
  void close(Channel& ch) override;
  bool busy(const Channel& ch) const override;
  int poll(int timeout_ms) override;
  bool has_pending() const override {
    return !rearm_.empty() || !deferred_.empty() || io_uring_sq_ready(&ring_) > 0;
  }
  void wake() override;

 private:
  static constexpr size_t kIovMax = 32;
  struct SendOp {
    uint64_t token;
    msghdr msg;
    iovec iov[kIovMax];
  };
  struct Listener {
    Fd fd;
    uint32_t id = 0;
    bool active = false;
    bool armed = false;
    uint32_t backoff_ms = 0;
    __kernel_timespec ts{};
    bool rejecting = false;     // accept-into-slot-and-close rounds under way (out of fds)
    bool rejected_all = false;  // the last round emptied the backlog or spent its budget
    bool polling = false;       // armed with a kAcceptPoll, not the multishot accept
    int rejected = 0;
  };

  UringBackend(const Config& config, IoSink* sink);
  absl::Status init(const Config& config);
  // An operation is prepared by kind (the Op in the user_data's top byte) and its low bits
  // (a token, a listener or send-op index), so that one the ring could not take yet can wait
  // in deferred_ and be prepared later, in order, from the state it names.
  struct Deferred {
    uint64_t op;
    uint64_t low;
  };
  io_uring_sqe* sqe();
  void queue(uint64_t op, uint64_t low);
  void prep(io_uring_sqe* s, uint64_t op, uint64_t low);
  void replay_deferred();
  void arm_recv(Channel& ch);
  void arm_accept(size_t index);
  void arm_wake();
  void submit_send(Channel& ch);
  void cancel_recv(Channel& ch);
  void finish_close(Channel& ch);
  void give_back(uint16_t bid);
  void on_cqe(const io_uring_cqe& cqe);
  void on_recv_cqe(Channel& ch, const io_uring_cqe& cqe);
  void on_send_cqe(uint32_t op_index, const io_uring_cqe& cqe);
  void on_connect_cqe(Channel& ch, const io_uring_cqe& cqe);
  void on_accept_cqe(size_t index, const io_uring_cqe& cqe);
  bool reject_pending(int listen_fd);  // true: the backlog emptied or the budget was spent
  void await_peer(size_t index, bool rejected_all);
  void back_off(size_t index);
  void on_reject_cqe(size_t index, const io_uring_cqe& cqe);

  IoSink* sink_;
  mutable io_uring ring_{};
  bool ring_ready_ = false;
  std::string features_;
  io_uring_buf_ring* buf_ring_ = nullptr;
  size_t buf_ring_bytes_ = 0;
  char* bufs_ = nullptr;
  size_t bufs_bytes_ = 0;
  uint32_t nbufs_ = 0, buf_size_ = 0;
  Fd wakefd_;
  uint64_t wake_value_ = 0;
  Fd reserve_fd_;
  bool direct_reject_ = false;  // EMFILE rejects through a registered file, not reserve_fd_
  std::vector<Listener> listeners_;
  std::vector<std::unique_ptr<SendOp>> sends_;
  std::vector<uint32_t> free_sends_;
  std::vector<uint64_t> rearm_;     // tokens whose recv ended with ENOBUFS: re-arm next turn
  std::vector<Deferred> deferred_;  // operations the ring refused (submit failed): next turn
};

}  // namespace percore
