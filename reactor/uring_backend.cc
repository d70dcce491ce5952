#include "reactor/uring_backend.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "reactor/syscall_error.h"

namespace percore {
namespace {

// user_data: operation in the top byte; a channel token (slot + 24-bit generation), a
// listener index or a send-op index below it.
enum Op : uint64_t {
  kRecv = 1,
  kSend,
  kCancel,
  kCloseCancel,
  kAccept,
  kAcceptCancel,
  kBackoff,
  kWake,
  kReject,
  kRejectClose,
  kConnectPoll,  // POLLOUT on a socket whose connect() is under way
  kAcceptPoll,   // POLLIN on a listener out of fds: the next peer to reject (or to take)
};
constexpr uint64_t Tag(Op op, uint64_t low) { return (uint64_t{op} << 56) | low; }
constexpr uint16_t kBufGroup = 0;
constexpr int kRejectBudget = 256;  // peers rejected per failed accept while out of fds
// Accept fails with EAGAIN on an empty backlog instead of waiting (kernel 6.10+; liburing 2.3
// predates the name). An older kernel answers EINVAL and the reserve fd takes over.
constexpr uint16_t kAcceptDontWait = 1U << 1;
constexpr unsigned kRejectSlot = 0;  // the one registered file: where rejected peers land

// Channel::io bits owned by this backend.
constexpr uint16_t kRecvArmed = 1;
constexpr uint16_t kSendInFlight = 2;
constexpr uint16_t kCancelPending = 4;
constexpr uint16_t kPaused = 8;
constexpr uint16_t kClosed = 16;
constexpr uint16_t kRecvDone = 32;            // EOF or error seen: never re-arm
constexpr uint16_t kCloseCancelPending = 64;  // close() cancelled everything on the fd
constexpr uint16_t kConnectArmed = 128;       // a poll for the end of connect() is in flight
constexpr uint16_t kBusy =
    kRecvArmed | kSendInFlight | kCancelPending | kCloseCancelPending | kConnectArmed;

std::string RefusedHint(int err) {
  std::string msg = absl::StrFormat("io_uring_setup: %s (errno %d)", std::strerror(err), err);
  if (err == EPERM) {
    absl::StrAppend(&msg,
                    ": io_uring is blocked (seccomp profile of a container runtime, or sysctl "
                    "kernel.io_uring_disabled); allow it (sysctl kernel.io_uring_disabled=0, or "
                    "permit io_uring_setup in the seccomp profile) or use backend = epoll");
  } else if (err == ENOSYS) {
    absl::StrAppend(&msg, ": the kernel has no io_uring; use backend = epoll");
  } else if (err == ENOMEM) {
    absl::StrAppend(&msg, ": locked memory limit too low (ulimit -l) or out of memory");
  }
  return msg;
}

}  // namespace

UringBackend::UringBackend(const Config& config, IoSink* sink)
    : sink_(sink),
      nbufs_(config.uring_buffers),
      buf_size_(config.uring_buffer_size),
      reserve_fd_(::open("/dev/null", O_RDONLY | O_CLOEXEC)) {}

absl::StatusOr<std::unique_ptr<Backend>> UringBackend::Create(const Config& config, IoSink* sink) {
  std::unique_ptr<UringBackend> b(new UringBackend(config, sink));
  if (absl::Status s = b->init(config); !s.ok()) return s;
  return std::unique_ptr<Backend>(std::move(b));
}

absl::Status UringBackend::init(const Config& config) {
  // The best setup the kernel accepts: every connection holds a multishot recv, so the
  // completion queue is sized well above the submission queue.
  const unsigned flag_sets[] = {
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
      IORING_SETUP_COOP_TASKRUN,
      0,
  };
  const char* names[] = {"single_issuer,defer_taskrun", "coop_taskrun", "plain"};
  int err = 0;
  for (size_t i = 0; i < 3; ++i) {
    io_uring_params p{};
    p.flags = flag_sets[i] | IORING_SETUP_CQSIZE;
    p.cq_entries = config.uring_entries * 8;
    err = io_uring_queue_init_params(config.uring_entries, &ring_, &p);
    if (err == 0) {
      features_ = absl::StrCat(names[i], ",cq=", p.cq_entries);
      break;
    }
    if (err != -EINVAL) break;  // refused outright: no point trying weaker flags
  }
  if (err != 0) return absl::UnavailableError(RefusedHint(-err));
  ring_ready_ = true;

  // Provided-buffer ring (liburing 2.3 has no io_uring_setup_buf_ring: map it ourselves).
  buf_ring_bytes_ = sizeof(io_uring_buf) * nbufs_;
  void* ring_mem =
      ::mmap(nullptr, buf_ring_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  bufs_bytes_ = size_t{nbufs_} * buf_size_;
  void* buf_mem =
      ::mmap(nullptr, bufs_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (ring_mem == MAP_FAILED || buf_mem == MAP_FAILED) return SyscallError("mmap", errno);
  buf_ring_ = static_cast<io_uring_buf_ring*>(ring_mem);
  bufs_ = static_cast<char*>(buf_mem);
  io_uring_buf_ring_init(buf_ring_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(buf_ring_);
  reg.ring_entries = nbufs_;
  reg.bgid = kBufGroup;
  if (int r = io_uring_register_buf_ring(&ring_, &reg, 0); r != 0) {
    return absl::UnavailableError(absl::StrCat(
        "io_uring_register_buf_ring: ", std::strerror(-r),
        ": the kernel lacks provided-buffer rings (needs 5.19+); use backend = epoll"));
  }
  for (uint32_t i = 0; i < nbufs_; ++i) {
    io_uring_buf_ring_add(buf_ring_, bufs_ + size_t{i} * buf_size_, buf_size_,
                          static_cast<unsigned short>(i), io_uring_buf_ring_mask(nbufs_),
                          static_cast<int>(i));
  }
  io_uring_buf_ring_advance(buf_ring_, static_cast<int>(nbufs_));
  absl::StrAppend(&features_, ",multishot_accept,multishot_recv,buf_ring(", nbufs_, "x", buf_size_,
                  "),sendmsg");

  // Rejecting into a registered file needs no fd number, which the reserve fd cannot promise:
  // another reactor's accept may take the number it frees, and then it is gone for good.
  direct_reject_ = io_uring_register_files_sparse(&ring_, 1) == 0;
  if (direct_reject_) absl::StrAppend(&features_, ",direct_reject");

  wakefd_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wakefd_.valid()) return SyscallError("eventfd", errno);
  arm_wake();
  return absl::OkStatus();
}

UringBackend::~UringBackend() {
  if (ring_ready_) io_uring_queue_exit(&ring_);  // cancels everything still in flight
  if (buf_ring_ != nullptr) ::munmap(buf_ring_, buf_ring_bytes_);
  if (bufs_ != nullptr) ::munmap(bufs_, bufs_bytes_);
}

io_uring_sqe* UringBackend::sqe() {
  // Once one operation waits, every later one waits behind it: the kernel must see them in the
  // order they were asked for (an arm, then its cancel).
  if (!deferred_.empty()) return nullptr;
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  if (s == nullptr) {         // full: hand the batch to the kernel to make room
    io_uring_submit(&ring_);  // may fail (-EBUSY, -EINTR): then s stays null
    s = io_uring_get_sqe(&ring_);
  }
  return s;
}

void UringBackend::queue(uint64_t op, uint64_t low) {
  if (io_uring_sqe* s = sqe()) {
    prep(s, op, low);
  } else {
    deferred_.push_back({op, low});
  }
}

void UringBackend::replay_deferred() {
  size_t done = 0;
  for (; done < deferred_.size(); ++done) {
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    if (s == nullptr) {
      io_uring_submit(&ring_);
      s = io_uring_get_sqe(&ring_);
      if (s == nullptr) break;  // still refused: the rest waits for the next turn
    }
    prep(s, deferred_[done].op, deferred_[done].low);
  }
  deferred_.erase(deferred_.begin(), deferred_.begin() + static_cast<ptrdiff_t>(done));
}

void UringBackend::prep(io_uring_sqe* s, uint64_t op, uint64_t low) {
  switch (static_cast<Op>(op)) {
    case kRecv: {
      Channel* ch = sink_->find(low);
      io_uring_prep_recv_multishot(s, ch != nullptr ? ch->fd : -1, nullptr, 0, 0);
      s->flags |= IOSQE_BUFFER_SELECT;
      s->buf_group = kBufGroup;
      break;
    }
    case kSend: {
      SendOp& o = *sends_[low];
      Channel* ch = sink_->find(o.token);
      io_uring_prep_sendmsg(s, ch != nullptr ? ch->fd : -1, &o.msg, MSG_NOSIGNAL);
      break;
    }
    case kCancel:
      io_uring_prep_cancel64(s, Tag(kRecv, low), 0);
      break;
    case kCloseCancel: {
      Channel* ch = sink_->find(low);
      io_uring_prep_cancel_fd(s, ch != nullptr ? ch->fd : -1, IORING_ASYNC_CANCEL_ALL);
      break;
    }
    case kAccept:
      io_uring_prep_multishot_accept(s, listeners_[low].fd.get(), nullptr, nullptr,
                                     SOCK_NONBLOCK | SOCK_CLOEXEC);
      break;
    case kAcceptCancel:
      io_uring_prep_cancel64(s, Tag(listeners_[low].polling ? kAcceptPoll : kAccept, low), 0);
      break;
    case kAcceptPoll:
      io_uring_prep_poll_add(s, listeners_[low].fd.get(), POLLIN);
      break;
    case kBackoff:
      io_uring_prep_timeout(s, &listeners_[low].ts, 0, 0);
      break;
    case kWake:
      io_uring_prep_read(s, wakefd_.get(), &wake_value_, sizeof wake_value_, 0);
      break;
    case kReject:
      // Each accept into the slot closes the peer the previous one left there.
      io_uring_prep_accept_direct(s, listeners_[low].fd.get(), nullptr, nullptr, 0, kRejectSlot);
      s->ioprio |= kAcceptDontWait;
      break;
    case kRejectClose:
      io_uring_prep_close_direct(s, kRejectSlot);
      break;
    case kConnectPoll: {
      // A poll, not IORING_OP_CONNECT: the socket already started connecting, and a poll
      // needs no sockaddr kept alive until the completion.
      Channel* ch = sink_->find(low);
      io_uring_prep_poll_add(s, ch != nullptr ? ch->fd : -1, POLLOUT);
      break;
    }
  }
  io_uring_sqe_set_data64(s, Tag(static_cast<Op>(op), low));
}

void UringBackend::arm_wake() { queue(kWake, 0); }

void UringBackend::wake() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wakefd_.get(), &one, sizeof one);
}

absl::Status UringBackend::add_listener(int fd, uint32_t id) {
  Listener l;
  l.fd.reset(fd);
  l.id = id;
  l.active = true;
  listeners_.push_back(std::move(l));
  arm_accept(listeners_.size() - 1);
  return absl::OkStatus();
}

void UringBackend::arm_accept(size_t index) {
  queue(kAccept, index);
  listeners_[index].armed = true;
}

void UringBackend::remove_listener(uint32_t id) {
  for (size_t i = 0; i < listeners_.size(); ++i) {
    Listener& l = listeners_[i];
    if (l.id != id || !l.active) continue;
    l.active = false;
    if (l.armed) {
      queue(kAcceptCancel, i);
    } else {
      l.fd.reset();
    }
  }
}

bool UringBackend::reject_pending(int listen_fd) {
  // Out of fds: free the reserve and accept-and-close the pending peers, so none waits in the
  // backlog for a back-off to end. A reserve lost earlier (another reactor's accept took its
  // number) comes back as soon as any fd is free.
  if (!reserve_fd_.valid()) reserve_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!reserve_fd_.valid()) return false;
  reserve_fd_.reset();
  bool drained = true;  // the backlog emptied, or the budget was spent on it
  for (int i = 0; i < kRejectBudget; ++i) {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      drained = errno == EAGAIN || errno == EWOULDBLOCK;
      break;
    }
    ::close(fd);
  }
  reserve_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  return drained;
}

void UringBackend::await_peer(size_t index, bool rejected_all) {
  // After a reject round that emptied the backlog, the next event worth waking for is the
  // next peer: wait for it with a poll, so that it is rejected (or, once fds are free again,
  // accepted) at once instead of waiting in the backlog for a timer. A round that could not
  // reject (no reserve, ENFILE) would find the same peers again at once: back off instead.
  Listener& l = listeners_[index];
  if (!l.active || l.armed) return;
  if (!rejected_all) {
    back_off(index);
    return;
  }
  l.armed = true;
  l.polling = true;
  queue(kAcceptPoll, index);
}

void UringBackend::back_off(size_t index) {
  // Re-arming at once would spin: an accept that failed for good fails again at once (the
  // kernel even checks for a free fd before it looks at the backlog).
  Listener& l = listeners_[index];
  l.backoff_ms = l.backoff_ms == 0 ? 10 : std::min<uint32_t>(l.backoff_ms * 2, 1000);
  l.ts.tv_sec = l.backoff_ms / 1000;
  l.ts.tv_nsec = static_cast<long long>(l.backoff_ms % 1000) * 1000000;
  queue(kBackoff, index);
}

void UringBackend::on_accept_cqe(size_t index, const io_uring_cqe& cqe) {
  Listener& l = listeners_[index];
  bool more = cqe.flags & IORING_CQE_F_MORE;
  if (!more) l.armed = false;
  if (!l.active) {  // removed: close once the kernel let go of it
    if (cqe.res >= 0) ::close(cqe.res);
    if (!l.armed) l.fd.reset();
    return;
  }
  if (cqe.res >= 0) {
    l.backoff_ms = 0;
    sink_->on_accept(l.id, cqe.res);
    if (!l.armed) arm_accept(index);  // ended by a full CQ, say: nothing wrong with it
    return;
  }
  sink_->on_accept(l.id, cqe.res);
  if (cqe.res == -EMFILE || cqe.res == -ENFILE || cqe.res == -ENOBUFS || cqe.res == -ENOMEM) {
    if (!direct_reject_) {
      await_peer(index, reject_pending(l.fd.get()));
    } else if (!l.rejecting) {
      l.rejecting = true;
      l.rejected = 0;
      queue(kReject, index);
    }
    return;  // the round's end (kRejectClose) re-arms
  }
  if (!l.armed) back_off(index);
}

void UringBackend::on_reject_cqe(size_t index, const io_uring_cqe& cqe) {
  Listener& l = listeners_[index];
  if (cqe.res >= 0 && l.active && ++l.rejected < kRejectBudget) {
    queue(kReject, index);  // one peer rejected: look for the next
    return;
  }
  l.rejected_all = cqe.res == -EAGAIN || cqe.res >= 0;
  if (cqe.res == -EINVAL && l.active) {  // no DONTWAIT in this kernel: use the reserve fd
    direct_reject_ = false;
    l.rejected_all = reject_pending(l.fd.get());
  }
  // Backlog empty (EAGAIN), budget spent or listener removed: release the slot's last peer.
  queue(kRejectClose, index);
}

absl::Status UringBackend::open(Channel& ch) {
  ch.io = 0;
  arm_recv(ch);
  return absl::OkStatus();
}

absl::Status UringBackend::connect(Channel& ch) {
  ch.io = kConnectArmed;
  queue(kConnectPoll, ch.token());
  return absl::OkStatus();
}

void UringBackend::on_connect_cqe(Channel& ch, const io_uring_cqe& cqe) {
  ch.io &= ~kConnectArmed;
  if (ch.io & kClosed) {
    finish_close(ch);
    return;
  }
  int err = 0;
  socklen_t len = sizeof err;
  if (cqe.res < 0) {
    err = -cqe.res;
  } else if (::getsockopt(ch.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
    err = errno;
  }
  if (err == 0) arm_recv(ch);  // an ordinary connection from here on, as after open()
  sink_->on_connected(ch, err);
}

void UringBackend::arm_recv(Channel& ch) {
  queue(kRecv, ch.token());
  ch.io |= kRecvArmed;
}

void UringBackend::cancel_recv(Channel& ch) {
  if (!(ch.io & kRecvArmed) || (ch.io & kCancelPending)) return;
  queue(kCancel, ch.token());
  ch.io |= kCancelPending;
}

void UringBackend::pause_recv(Channel& ch) {
  // Cancel, so a paused fast sender cannot drain the shared buffer ring and TCP flow
  // control pushes back on it.
  ch.io |= kPaused;
  cancel_recv(ch);
}

void UringBackend::resume_recv(Channel& ch) {
  ch.io &= ~kPaused;
  // Still armed (its cancel not yet completed): the final CQE re-arms it.
  if (!(ch.io & (kRecvArmed | kClosed | kRecvDone))) arm_recv(ch);
}

void UringBackend::flush(Channel& ch) {
  if (!(ch.io & (kSendInFlight | kClosed)) && !ch.out.empty()) submit_send(ch);
}

void UringBackend::submit_send(Channel& ch) {
  uint32_t index;
  if (!free_sends_.empty()) {
    index = free_sends_.back();
    free_sends_.pop_back();
  } else {
    index = static_cast<uint32_t>(sends_.size());
    sends_.push_back(std::make_unique<SendOp>());
  }
  SendOp& op = *sends_[index];
  op.token = ch.token();
  op.msg = msghdr{};
  op.msg.msg_iov = op.iov;
  op.msg.msg_iovlen = ch.out.peek_iov(op.iov, kIovMax);
  queue(kSend, index);
  ch.io |= kSendInFlight;
}

void UringBackend::close(Channel& ch) {
  ch.io |= kClosed;
  // A send to a peer that never reads would wait forever: cancel it with the recv.
  if ((ch.io & (kRecvArmed | kSendInFlight | kConnectArmed)) && !(ch.io & kCloseCancelPending)) {
    queue(kCloseCancel, ch.token());
    ch.io |= kCloseCancelPending;
  }
  finish_close(ch);
}

void UringBackend::finish_close(Channel& ch) {
  if ((ch.io & kClosed) && !(ch.io & kBusy) && ch.fd >= 0) {
    ::close(ch.fd);
    ch.fd = -1;
  }
}

bool UringBackend::busy(const Channel& ch) const { return ch.io & kBusy; }

void UringBackend::give_back(uint16_t bid) {
  io_uring_buf_ring_add(buf_ring_, bufs_ + size_t{bid} * buf_size_, buf_size_, bid,
                        io_uring_buf_ring_mask(nbufs_), 0);
  io_uring_buf_ring_advance(buf_ring_, 1);
}

void UringBackend::on_recv_cqe(Channel& ch, const io_uring_cqe& cqe) {
  bool more = cqe.flags & IORING_CQE_F_MORE;
  if (!more) ch.io &= ~kRecvArmed;
  if (cqe.res > 0) {
    uint16_t bid = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    // The sink copies whatever the handler leaves, so the buffer goes back at once.
    if (!(ch.io & kClosed)) {
      sink_->on_recv(ch, {bufs_ + size_t{bid} * buf_size_, static_cast<size_t>(cqe.res)});
    }
    give_back(bid);
  } else if (cqe.res == 0) {
    ch.io |= kRecvDone;
    if (!(ch.io & kClosed)) sink_->on_recv_end(ch, 0);
  } else if (cqe.res == -ENOBUFS) {
    if (!more && !(ch.io & kClosed)) rearm_.push_back(ch.token());  // in order, next turn
    return;
  } else if (cqe.res != -ECANCELED) {
    ch.io |= kRecvDone;
    if (!(ch.io & kClosed)) sink_->on_recv_end(ch, -cqe.res);
  }
  if (!(ch.io & kRecvArmed)) {
    if (!(ch.io & (kClosed | kPaused | kRecvDone | kCancelPending))) arm_recv(ch);
    finish_close(ch);
  }
}

void UringBackend::on_send_cqe(uint32_t index, const io_uring_cqe& cqe) {
  uint64_t token = sends_[index]->token;
  free_sends_.push_back(index);
  Channel* ch = sink_->find(token);
  if (ch == nullptr) return;
  ch->io &= ~kSendInFlight;
  if (ch->io & kClosed) {
    finish_close(*ch);
    return;
  }
  if (cqe.res >= 0) {
    ch->out.consume(static_cast<size_t>(cqe.res));
    sink_->on_sent(*ch, static_cast<size_t>(cqe.res));
  } else if (cqe.res != -EAGAIN && cqe.res != -EINTR) {
    sink_->on_send_error(*ch, -cqe.res);
  }
  if (ch->io & kClosed) {
    finish_close(*ch);
  } else {
    flush(*ch);  // a partial send, or output queued while this one was in flight
  }
}

void UringBackend::on_cqe(const io_uring_cqe& cqe) {
  uint64_t data = cqe.user_data;
  uint64_t low = data & Channel::kTokenMask;
  switch (static_cast<Op>(data >> 56)) {
    case kRecv:
      if (Channel* ch = sink_->find(low)) {
        on_recv_cqe(*ch, cqe);
      } else if (cqe.flags & IORING_CQE_F_BUFFER) {  // never expected: busy() holds the slot
        give_back(static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT));
      }
      break;
    case kSend:
      on_send_cqe(static_cast<uint32_t>(low), cqe);
      break;
    case kCancel:
      if (Channel* ch = sink_->find(low)) {
        ch->io &= ~kCancelPending;
        // The recv ended before the cancel completed: re-arm if resumed meanwhile.
        if (!(ch->io & (kRecvArmed | kClosed | kPaused | kRecvDone))) arm_recv(*ch);
        finish_close(*ch);
      }
      break;
    case kCloseCancel:
      if (Channel* ch = sink_->find(low)) {
        ch->io &= ~kCloseCancelPending;
        finish_close(*ch);
      }
      break;
    case kAccept:
      on_accept_cqe(low, cqe);
      break;
    case kAcceptCancel:
      break;
    case kBackoff:
      if (low < listeners_.size() && listeners_[low].active && !listeners_[low].armed) {
        arm_accept(low);
      }
      break;
    case kWake:
      arm_wake();  // the read consumed the counter
      break;
    case kReject:
      on_reject_cqe(low, cqe);
      break;
    case kRejectClose:
      if (low < listeners_.size()) {
        listeners_[low].rejecting = false;
        await_peer(low, listeners_[low].rejected_all);
      }
      break;
    case kAcceptPoll: {
      Listener& l = listeners_[low];
      l.armed = false;
      l.polling = false;
      if (!l.active) {
        l.fd.reset();  // removed while waiting: the cancel ended the poll
      } else {
        arm_accept(low);
      }
      break;
    }
    case kConnectPoll:
      if (Channel* ch = sink_->find(low)) on_connect_cqe(*ch, cqe);
      break;
  }
}

int UringBackend::poll(int timeout_ms) {
  if (!deferred_.empty()) replay_deferred();
  if (!rearm_.empty()) {
    std::vector<uint64_t> tokens;
    tokens.swap(rearm_);
    for (uint64_t t : tokens) {
      Channel* ch = sink_->find(t);
      if (ch != nullptr && !(ch->io & (kRecvArmed | kClosed | kPaused | kRecvDone))) arm_recv(*ch);
    }
  }
  if (has_pending()) timeout_ms = 0;
  // One syscall per turn: submit what this turn prepared, and wait for completions.
  if (timeout_ms == 0) {
    io_uring_submit_and_get_events(&ring_);
  } else {
    io_uring_cqe* cqe = nullptr;
    __kernel_timespec ts{timeout_ms / 1000, static_cast<long long>(timeout_ms % 1000) * 1000000};
    io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, timeout_ms < 0 ? nullptr : &ts, nullptr);
  }
  sink_->on_wake();
  int n = 0;
  unsigned head;
  io_uring_cqe* cqe;
  // Handlers may queue new SQEs while we reap; they go out with the next submit.
  io_uring_for_each_cqe(&ring_, head, cqe) {
    on_cqe(*cqe);
    ++n;
  }
  io_uring_cq_advance(&ring_, static_cast<unsigned>(n));
  return n;
}

absl::StatusOr<std::unique_ptr<Backend>> MakeUringBackend(const Config& config, IoSink* sink) {
  return UringBackend::Create(config, sink);
}

}  // namespace percore
