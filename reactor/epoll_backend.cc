#include "reactor/epoll_backend.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <mutex>
#include <shared_mutex>

#include "absl/strings/str_format.h"
#include "reactor/syscall_error.h"

namespace percore {
namespace {

constexpr uint64_t kTagListener = uint64_t{1} << 56;
constexpr uint64_t kTagWake = uint64_t{2} << 56;
constexpr uint64_t kTagMask = uint64_t{0xFF} << 56;

// Channel::io bits owned by this backend.
constexpr uint16_t kPaused = 1;
constexpr uint16_t kEdgeLeft = 2;  // bytes may remain in the socket that no edge will announce
constexpr uint16_t kQueued = 4;    // on the ready list
constexpr uint16_t kWaitOut = 8;   // the kernel took less than offered: wait for EPOLLOUT
constexpr uint16_t kRdHup = 16;    // peer sent FIN: read until 0
// Urgent data pending (EPOLLPRI): recv stops short at the urgent mark with bytes still queued
// behind it, so a short read does not mean drained: read until EAGAIN. The next recv skips the
// urgent byte (never SO_OOBINLINE, never read with MSG_OOB: handlers see the in-band bytes).
constexpr uint16_t kUrgent = 32;
constexpr uint16_t kConnecting = 64;  // connect() under way: the first EPOLLOUT/ERR ends it

constexpr size_t kScratch = 64 * 1024;
constexpr int kMaxEvents = 256;
constexpr int kAcceptBudget = 256;  // accepts per listener per turn
constexpr int kIovMax = 64;
constexpr uint32_t kRetryFirstMs = 10;
constexpr uint32_t kRetryMaxMs = 500;

// The reserve-fd dance only works if no other thread takes the fd number it frees: when a
// reactor's accept4 did, the reserve could not be reopened and was lost for good. So every epoll
// reactor of the process accepts under a shared lock and frees its reserve only under the
// exclusive one (taken only while out of fds, so the shared side stays uncontended).
std::shared_mutex& FdNumberLock() {
  static std::shared_mutex mu;
  return mu;
}

uint64_t MonotonicMs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

bool IsOutOfFds(int err) {
  return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Backend>> EpollBackend::Create(const Config& config, IoSink* sink) {
  Fd epfd(::epoll_create1(EPOLL_CLOEXEC));
  if (!epfd.valid()) return SyscallError("epoll_create1", errno);
  Fd wakefd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wakefd.valid()) return SyscallError("eventfd", errno);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.u64 = kTagWake;
  if (::epoll_ctl(epfd.get(), EPOLL_CTL_ADD, wakefd.get(), &ev) != 0) {
    return SyscallError("epoll_ctl(ADD eventfd)", errno);
  }
  return std::unique_ptr<Backend>(
      new EpollBackend(config, sink, std::move(epfd), std::move(wakefd)));
}

EpollBackend::EpollBackend(const Config& config, IoSink* sink, Fd epfd, Fd wakefd)
    : sink_(sink),
      epfd_(std::move(epfd)),
      wakefd_(std::move(wakefd)),
      reserve_fd_(::open("/dev/null", O_RDONLY | O_CLOEXEC)),
      budget_(config.read_budget),
      scratch_(new char[kScratch]),
      events_(kMaxEvents) {}

EpollBackend::~EpollBackend() = default;

EpollBackend::Listener* EpollBackend::listener(uint32_t id) {
  for (Listener& l : listeners_) {
    if (l.id == id && l.active) return &l;
  }
  return nullptr;
}

absl::Status EpollBackend::add_listener(int fd, uint32_t id) {
  Fd owned(fd);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.u64 = kTagListener | id;
  if (::epoll_ctl(epfd_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    return SyscallError("epoll_ctl(ADD listener)", errno);
  }
  listeners_.push_back({std::move(owned), id, true});
  // Connections may already wait in the backlog: their edge happened before we registered.
  ready_listeners_.push_back(id);
  return absl::OkStatus();
}

void EpollBackend::remove_listener(uint32_t id) {
  for (Listener& l : listeners_) {
    if (l.id == id && l.active) {
      l.active = false;
      l.fd.reset();  // closing removes it from the epoll set
    }
  }
}

absl::Status EpollBackend::open(Channel& ch) {
  epoll_event ev{};
  // EPOLLPRI costs nothing here (same epoll_ctl) and is the only sign of an urgent mark.
  ev.events = EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = ch.token();
  if (::epoll_ctl(epfd_.get(), EPOLL_CTL_ADD, ch.fd, &ev) != 0) {
    return SyscallError("epoll_ctl(ADD)", errno);
  }
  ch.io = 0;
  return absl::OkStatus();
}

absl::Status EpollBackend::connect(Channel& ch) {
  // The same registration as open(): the edge that ends the connect is EPOLLOUT (or ERR/HUP),
  // and from then on the socket is an ordinary connection.
  if (absl::Status s = open(ch); !s.ok()) return s;
  ch.io = kConnecting;
  return absl::OkStatus();
}

void EpollBackend::connect_ready(Channel& ch) {
  ch.io &= ~kConnecting;
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(ch.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  sink_->on_connected(ch, err);
}

void EpollBackend::pause_recv(Channel& ch) { ch.io |= kPaused; }

void EpollBackend::resume_recv(Channel& ch) {
  ch.io &= ~kPaused;
  // While paused we left the edge unconsumed; no new edge will come for those bytes.
  if ((ch.io & kEdgeLeft) && !(ch.io & kQueued)) {
    ch.io |= kQueued;
    ready_.push_back(ch.token());
  }
}

void EpollBackend::close(Channel& ch) {
  if (ch.fd >= 0) ::close(ch.fd);  // also drops it from the epoll set
  ch.fd = -1;
  ch.io = 0;
}

void EpollBackend::flush(Channel& ch) {
  if (!(ch.io & kWaitOut)) write_ready(ch);
}

void EpollBackend::wake() {
  uint64_t one = 1;
  // EAGAIN means the counter is already non-zero: a wake-up is pending anyway.
  [[maybe_unused]] ssize_t n = ::write(wakefd_.get(), &one, sizeof one);
}

void EpollBackend::read_ready(Channel& ch) {
  size_t total = 0;
  while (ch.fd >= 0) {
    if (ch.io & kPaused) {
      ch.io |= kEdgeLeft;
      return;
    }
    ssize_t n = ::recv(ch.fd, scratch_.get(), kScratch, 0);
    if (n > 0) {
      total += static_cast<size_t>(n);
      sink_->on_recv(ch, {scratch_.get(), static_cast<size_t>(n)});
      // A short read drained the socket: a new edge will announce more. Skip the EAGAIN read.
      if (static_cast<size_t>(n) < kScratch && !(ch.io & (kRdHup | kUrgent))) {
        ch.io &= ~kEdgeLeft;
        return;
      }
      if (total >= budget_ && ch.fd >= 0) {
        ch.io |= kEdgeLeft;
        if (!(ch.io & (kQueued | kPaused))) {
          ch.io |= kQueued;
          ready_.push_back(ch.token());
        }
        return;
      }
      continue;
    }
    if (n == 0) {
      ch.io &= ~(kEdgeLeft | kUrgent);
      sink_->on_recv_end(ch, 0);
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      ch.io &= ~(kEdgeLeft | kUrgent);
      return;
    }
    sink_->on_recv_end(ch, errno);
    return;
  }
}

void EpollBackend::write_ready(Channel& ch) {
  iovec iov[kIovMax];
  while (ch.fd >= 0 && !ch.out.empty()) {
    size_t cnt = ch.out.peek_iov(iov, kIovMax);
    size_t offered = 0;
    for (size_t i = 0; i < cnt; ++i) offered += iov[i].iov_len;
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = cnt;
    ssize_t n = ::sendmsg(ch.fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      ch.out.consume(static_cast<size_t>(n));
      if (static_cast<size_t>(n) < offered) ch.io |= kWaitOut;
      sink_->on_sent(ch, static_cast<size_t>(n));
      if (ch.io & kWaitOut) return;
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      ch.io |= kWaitOut;
      return;
    }
    sink_->on_send_error(ch, errno);
    return;
  }
}

EpollBackend::Reject EpollBackend::reject_one(int listen_fd) {
  // Out of fds: free the reserve, accept the oldest pending peer and close it at once, so the
  // backlog does not fill with peers we cannot serve and the edge is not lost.
  std::unique_lock lock(FdNumberLock());
  // A reserve lost earlier (another thread of the host took its number) comes back as soon
  // as any fd is free.
  if (!reserve_fd_.valid()) reserve_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!reserve_fd_.valid()) return Reject::kNoReserve;
  reserve_fd_.reset();
  int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  int err = errno;
  if (fd >= 0) ::close(fd);
  reserve_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (fd >= 0) return Reject::kRejected;
  return err == EAGAIN ? Reject::kBacklogEmpty : Reject::kNoReserve;
}

void EpollBackend::retry_later(Listener& l) {
  // Nothing could be accepted or rejected, and under edge triggering nothing would wake this
  // listener again while peers wait in its backlog: look again after a back-off.
  if (l.retry_queued) return;
  l.retry_queued = true;
  l.backoff_ms = l.backoff_ms == 0 ? kRetryFirstMs : std::min(l.backoff_ms * 2, kRetryMaxMs);
  retries_.push_back({MonotonicMs() + l.backoff_ms, l.id});
}

int EpollBackend::retry_timeout(int timeout_ms) {
  uint64_t now = MonotonicMs();
  uint64_t first = UINT64_MAX;
  for (const Retry& r : retries_) first = std::min(first, r.at_ms);
  int until = first <= now ? 0 : static_cast<int>(std::min<uint64_t>(first - now, INT_MAX));
  return timeout_ms < 0 ? until : std::min(timeout_ms, until);
}

void EpollBackend::accept_ready(Listener& l) {
  for (int i = 0; i < kAcceptBudget; ++i) {
    if (!l.active) return;
    int fd;
    {
      std::shared_lock lock(FdNumberLock());
      fd = ::accept4(l.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    }
    if (fd >= 0) {
      l.backoff_ms = 0;
      sink_->on_accept(l.id, fd);
      continue;
    }
    int err = errno;
    if (err == EAGAIN) {
      l.backoff_ms = 0;
      return;
    }
    if (err == EINTR || err == ECONNABORTED || err == EPERM || err == EPROTO) continue;
    sink_->on_accept(l.id, -err);
    if (!IsOutOfFds(err)) return;
    Reject r = reject_one(l.fd.get());
    if (r == Reject::kBacklogEmpty) return;  // the next peer brings a new edge
    if (r == Reject::kNoReserve) {
      retry_later(l);
      return;
    }
  }
  ready_listeners_.push_back(l.id);  // budget used up: continue next turn
}

int EpollBackend::poll(int timeout_ms) {
  if (has_pending()) timeout_ms = 0;
  if (!retries_.empty()) timeout_ms = retry_timeout(timeout_ms);
  int n = ::epoll_wait(epfd_.get(), events_.data(), static_cast<int>(events_.size()), timeout_ms);
  if (n < 0) n = 0;  // EINTR: the caller loops
  sink_->on_wake();
  for (int i = 0; i < n; ++i) {
    const epoll_event& ev = events_[i];
    uint64_t tag = ev.data.u64 & kTagMask;
    if (tag == kTagWake) {
      uint64_t v;
      [[maybe_unused]] ssize_t r = ::read(wakefd_.get(), &v, sizeof v);
      continue;
    }
    if (tag == kTagListener) {
      if (Listener* l = listener(static_cast<uint32_t>(ev.data.u64))) accept_ready(*l);
      continue;
    }
    Channel* ch = sink_->find(ev.data.u64);
    if (ch == nullptr || ch->fd < 0) continue;  // a late event for a closed connection
    if (ch->io & kConnecting) {
      if (!(ev.events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) continue;
      connect_ready(*ch);
      // Connected: bytes the peer sent at once came with the same edge (EPOLLIN below).
      if (ch->fd < 0 || (ch->io & kConnecting)) continue;
    }
    if (ev.events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) ch->io |= kRdHup;
    if (ev.events & EPOLLPRI) ch->io |= kUrgent;
    if ((ev.events & EPOLLOUT) && (ch->io & kWaitOut)) {
      ch->io &= ~kWaitOut;
      write_ready(*ch);
    }
    if (ev.events & (EPOLLIN | EPOLLPRI | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      if (ch->io & kQueued) continue;  // already waiting its turn on the ready list
      read_ready(*ch);
    }
  }
  // Connections left with unread bytes last turn, in order, each with a fresh budget.
  if (!ready_.empty()) {
    ready_swap_.swap(ready_);
    for (uint64_t token : ready_swap_) {
      Channel* ch = sink_->find(token);
      if (ch == nullptr || ch->fd < 0) continue;
      ch->io &= ~kQueued;
      read_ready(*ch);
      ++n;
    }
    ready_swap_.clear();
  }
  if (!retries_.empty()) {
    uint64_t now = MonotonicMs();
    auto due = std::stable_partition(retries_.begin(), retries_.end(),
                                     [now](const Retry& r) { return r.at_ms > now; });
    for (auto it = due; it != retries_.end(); ++it) {
      if (Listener* l = listener(it->id)) {
        l->retry_queued = false;
        ready_listeners_.push_back(it->id);
      }
    }
    retries_.erase(due, retries_.end());
  }
  if (!ready_listeners_.empty()) {
    std::vector<uint32_t> ids;
    ids.swap(ready_listeners_);
    for (uint32_t id : ids) {
      if (Listener* l = listener(id)) {
        accept_ready(*l);
        ++n;
      }
    }
  }
  return n;
}

absl::StatusOr<std::unique_ptr<Backend>> MakeEpollBackend(const Config& config, IoSink* sink) {
  return EpollBackend::Create(config, sink);
}

}  // namespace percore
