// ConnTable, outgoing connections: a slot in kConnecting while the backend waits for the
// non-blocking connect() to end, then the same path as an accepted connection (on_open), or a
// failure the ConnectObserver hears (the handler never sees a connection that did not open).
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>

#include "net/conn_table.h"
#include "reactor/fd.h"

namespace percore {
namespace {

ConnectError Classify(int err) {
  switch (err) {
    case ECONNREFUSED:
    case ENOENT:  // a Unix path nobody bound
    case EAGAIN:  // a Unix listener whose backlog is full
      return ConnectError::kRefused;
    case ETIMEDOUT:
      return ConnectError::kTimeout;
    case ENETUNREACH:
    case EHOSTUNREACH:
    case EADDRNOTAVAIL:
    case ENETDOWN:
      return ConnectError::kUnreachable;
    default:
      return ConnectError::kOther;
  }
}

}  // namespace

const char* ConnectErrorName(ConnectError e) {
  switch (e) {
    case ConnectError::kRefused:
      return "refused";
    case ConnectError::kTimeout:
      return "timeout";
    case ConnectError::kUnreachable:
      return "unreachable";
    case ConnectError::kResolve:
      return "resolve";
    case ConnectError::kCancelled:
      return "cancelled";
    case ConnectError::kOther:
      return "other";
  }
  return "?";
}

ConnHandle ConnTable::connect(const Address& addr, absl::Duration timeout,
                              std::shared_ptr<ConnectObserver> observer) {
  if (shutting_down_) {
    observer->on_connect_failed(ConnectError::kCancelled, 0);
    return {};
  }
  Fd fd(::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    observer->on_connect_failed(Classify(errno), errno);
    return {};
  }
  if (!addr.is_unix() && cfg_.tcp_nodelay) {
    int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  const bool at_once = ::connect(fd.get(), addr.sa(), addr.len()) == 0;
  if (!at_once && errno != EINPROGRESS) {
    int err = errno;
    observer->on_connect_failed(Classify(err), err);
    return {};
  }
  uint32_t slot = slab_.allocate();
  if (slot == SlabStorage::kNoSlot) {
    observer->on_connect_failed(ConnectError::kOther, ENOMEM);
    return {};
  }
  Connection* c = new (slab_.at(slot)) Connection(this, &r_.pool());
  c->ch_.fd = fd.release();
  c->ch_.slot = slot;
  c->ch_.sink = sink_;
  c->ch_.gen = slab_.generation(slot);
  c->lifecycle_ = Lifecycle::kConnecting;
  h_.construct_state(state_of(*c));
  if (observers_.size() <= slot) observers_.resize(slot + 1);
  observers_[slot] = std::move(observer);
  const ConnHandle handle = c->handle();
  // A Unix socket connects (or fails) inside connect(); TCP answers later, through the backend.
  absl::Status s = at_once ? r_.backend().open(c->ch_) : r_.backend().connect(c->ch_);
  if (!s.ok()) {
    connect_failed(*c, ConnectError::kOther, EIO);
    return {};
  }
  if (at_once) {
    open_outgoing(*c);
    return handle;
  }
  if (timeout > absl::ZeroDuration()) {
    c->timer_ =
        r_.timers().add(r_.now_ms() + static_cast<uint64_t>(absl::ToInt64Milliseconds(timeout)),
                        &ConnTable::on_timer, this, uint64_t{slot} | (uint64_t{c->ch_.gen} << 32));
  }
  return handle;
}

void ConnTable::on_connected(Channel& ch, int err) {
  Connection& c = conn_of(ch);
  if (c.lifecycle_ != Lifecycle::kConnecting) return;
  if (err != 0) {
    connect_failed(c, Classify(err), err);
  } else if (shutting_down_) {
    connect_failed(c, ConnectError::kCancelled, 0);
  } else {
    open_outgoing(c);
  }
}

void ConnTable::open_outgoing(Connection& c) {
  cancel_timer(c);
  c.lifecycle_ = Lifecycle::kOpen;
  c.last_input_ = c.last_write_ = now32();
  if (rate_on_) rate_open(c);
  if (OutputGauges::Gauge* g = gauges_.ensure(c.ch_.slot)) {
    g->queued.store(0, std::memory_order_relaxed);
    g->gen.store(c.ch_.gen, std::memory_order_release);
  }
  ++open_;
  r_.stats().open.add();
  arm_timer(c);
  // A copy: the observer may be the last owner of itself once it hears of a close.
  if (std::shared_ptr<ConnectObserver> o = observers_[c.ch_.slot]) o->on_connected(c);
  if (is_open(c)) h_.on_open(c);
}

void ConnTable::connect_failed(Connection& c, ConnectError e, int err) {
  std::shared_ptr<ConnectObserver> o = std::move(observers_[c.ch_.slot]);
  cancel_timer(c);
  c.lifecycle_ = Lifecycle::kClosed;
  r_.backend().close(c.ch_);  // the slot waits for release until the backend lets go of it
  closing_.push_back(c.ch_.slot);
  if (o != nullptr) o->on_connect_failed(e, err);
}

bool ConnTable::cancel_connect(uint32_t slot, uint32_t gen) {
  Connection* c = slot_conn(slot, gen);
  if (c == nullptr || c->lifecycle_ != Lifecycle::kConnecting) return false;
  connect_failed(*c, ConnectError::kCancelled, 0);
  return true;
}

void ConnTable::abort_connects() {
  for_each_live([&](Connection& c) {
    if (c.lifecycle_ == Lifecycle::kConnecting) connect_failed(c, ConnectError::kCancelled, 0);
  });
}

void ConnTable::notify_disconnected(Connection& c, CloseReason reason) {
  if (c.ch_.slot >= observers_.size() || observers_[c.ch_.slot] == nullptr) return;
  std::shared_ptr<ConnectObserver> o = std::move(observers_[c.ch_.slot]);
  o->on_disconnected(reason);
}

}  // namespace percore
