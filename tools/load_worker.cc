#include "tools/load_worker.h"

#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"

namespace percore::tools {
namespace {

constexpr uint64_t kPublishNs = 100'000'000;           // live figures every 100 ms
constexpr uint64_t kConnectTimeoutNs = 5'000'000'000;  // connect (+ handshake) or "timeout"
constexpr size_t kMinRead = 4096;  // free input space a recv asks for at least (it grows)

}  // namespace

uint64_t MonotonicNs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

struct LoadWorker::Conn {
  // kWaiting: not connected yet (connect_rate); kHello: waiting for the handshake's answer.
  enum class State : uint8_t { kWaiting, kConnecting, kHello, kRunning, kDead };
  State state = State::kWaiting;
  Fd fd;
  uint32_t id = 0;
  uint64_t connect_ns = 0;
  std::string out;  // unsent requests from out_at
  size_t out_at = 0;
  std::vector<char> in;  // received into directly; unchecked replies are in[in_at, in_end)
  size_t in_at = 0, in_end = 0;
  uint64_t sent = 0, done = 0;    // requests appended, replies checked
  uint64_t due = 0;               // open loop: requests whose time has come
  std::vector<uint64_t> started;  // closed loop: request k's start time at k % depth
  uint32_t generation = 0;        // reconnections so far (a read's EOF is the old socket's)
};

LoadWorker::LoadWorker(const LoadOptions& opt, const BenchProtocol& protocol,
                       const LoadTarget& target, int index, int stride)
    : opt_(opt), protocol_(protocol), target_(target), index_(index), stride_(stride) {
  for (int id = index; id < opt.conns; id += stride) {
    Conn& c = conns_.emplace_back();
    c.id = static_cast<uint32_t>(id);
  }
}

LoadWorker::~LoadWorker() = default;

void LoadWorker::Run(const LoadClock& clock) {
  clock_ = clock;
  // The default 50 us timer slack would delay every open-loop send by up to that much.
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  ep_ = Fd(::epoll_create1(EPOLL_CLOEXEC));
  next_publish_ns_ = clock.start_ns + kPublishNs;
  std::vector<epoll_event> events(256);
  for (;;) {
    uint64_t now = MonotonicNs();
    if (now >= clock_.end_ns) break;
    StartConnects(now);
    if (opt_.rate > 0) ScheduleDue(now);
    Publish(now, false);
    uint64_t wait = NextWakeNs(now) - now;
    timespec ts{static_cast<time_t>(wait / 1'000'000'000), static_cast<long>(wait % 1'000'000'000)};
    int n = ::epoll_pwait2(ep_.get(), events.data(), static_cast<int>(events.size()), &ts, nullptr);
    for (int e = 0; e < n; ++e) OnEvent(conns_[events[e].data.u64], events[e].events);
  }
  Publish(MonotonicNs(), true);
  conns_.clear();  // close them now, not when the results are read
}

LoadWorker::Live LoadWorker::Snapshot() {
  std::lock_guard lock(mu_);
  Live out = live_;
  live_.latency.clear();
  live_.msgs = 0;
  return out;
}

void LoadWorker::StartConnects(uint64_t now) {
  while (next_connect_ < conns_.size()) {
    Conn& c = conns_[next_connect_];
    if (opt_.connect_rate > 0 &&
        clock_.start_ns + static_cast<uint64_t>(c.id * 1e9 / opt_.connect_rate) > now) {
      return;
    }
    ++next_connect_;
    Connect(c, now);
  }
}

void LoadWorker::Connect(Conn& c, uint64_t now) {
  c.connect_ns = now;
  bool in_progress = false;
  auto fd = StartConnect(target_, static_cast<int>(c.id), &in_progress);
  if (!fd.ok()) {
    Fail(c, "connect", std::string(fd.status().message()));
    return;
  }
  c.fd = std::move(*fd);
  c.state = Conn::State::kConnecting;
  if (opt_.rate <= 0) c.started.assign(static_cast<size_t>(opt_.depth), 0);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = static_cast<uint64_t>(&c - conns_.data());
  ::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, c.fd.get(), &ev);
  if (!in_progress) ConnectDone(c, now);
}

void LoadWorker::Reconnect(Conn& c, uint64_t now) {
  --open_;
  c.fd = Fd();
  c.out.clear();
  c.in_at = c.in_end = c.out_at = 0;
  c.sent = c.done;  // requests pipelined behind the last answer are sent again
  ++c.generation;
  ++reconnects_;
  Connect(c, now);
}

void LoadWorker::ConnectDone(Conn& c, uint64_t now) {
  if (int err = ConnectError(c.fd.get()); err != 0) {
    Fail(c, "connect", absl::StrFormat("connect: %s", std::strerror(err)));
    return;
  }
  ++open_;
  ++connected_;
  c.out = protocol_.Hello(c.id);
  if (!c.out.empty()) {
    c.state = Conn::State::kHello;
  } else {
    c.state = Conn::State::kRunning;
    connect_.add(now - c.connect_ns);
    Fill(c, now);
  }
  Flush(c);
}

void LoadWorker::OnEvent(Conn& c, uint32_t events) {
  if (c.state == Conn::State::kConnecting) {
    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) return;
    ConnectDone(c, MonotonicNs());
  }
  if (c.state == Conn::State::kDead) return;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) ReadAll(c);
  if (c.state != Conn::State::kDead && (events & EPOLLOUT)) Flush(c);
}

void LoadWorker::ReadAll(Conn& c) {
  const uint32_t generation = c.generation;
  bool closed = false;
  for (;;) {
    if (c.in.size() - c.in_end < kMinRead) {
      if (c.in_at > 0) {  // what is left is less than a reply, mostly: move it to the front
        std::memmove(c.in.data(), c.in.data() + c.in_at, c.in_end - c.in_at);
        c.in_end -= c.in_at;
        c.in_at = 0;
      }
      if (c.in.size() - c.in_end < kMinRead) c.in.resize(std::max(2 * c.in.size(), kMinRead));
    }
    const size_t room = c.in.size() - c.in_end;
    ssize_t k = ::recv(c.fd.get(), c.in.data() + c.in_end, room, 0);
    if (k > 0) {
      c.in_end += static_cast<size_t>(k);
      if (static_cast<size_t>(k) < room) break;
      continue;
    }
    if (k == 0) {
      closed = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) break;
    CheckInput(c, MonotonicNs());  // what came before the reset still counts
    if (c.generation != generation) return;
    Fail(c, errno == ECONNRESET ? "closed by server" : "io",
         absl::StrFormat("recv on connection %d: %s", c.id, std::strerror(errno)));
    return;
  }
  CheckInput(c, MonotonicNs());
  if (closed && c.generation == generation) {
    Fail(c, "closed by server",
         absl::StrFormat("the server closed connection %d after %d replies", c.id, c.done));
  }
}

void LoadWorker::CheckInput(Conn& c, uint64_t now) {
  const bool measuring = now >= clock_.measure_ns && now < clock_.end_ns;
  if (measuring != samples_measuring_) {
    FlushSamples();
    samples_measuring_ = measuring;
  }
  while (c.state == Conn::State::kHello || c.state == Conn::State::kRunning) {
    std::string_view in(c.in.data() + c.in_at, c.in_end - c.in_at);
    if (in.empty()) break;
    if (c.state == Conn::State::kHello) {
      ReplyCheck r = protocol_.CheckHello(c.id, in);
      if (r.kind == ReplyCheck::Kind::kNeedMore) break;
      if (r.kind == ReplyCheck::Kind::kError) {
        Fail(c, r.error_kind, r.what);
        return;
      }
      c.in_at += r.consumed;
      c.state = Conn::State::kRunning;
      connect_.add(now - c.connect_ns);
      continue;
    }
    if (c.done == c.sent) {
      Fail(c, "bad reply",
           absl::StrFormat("connection %d received %d bytes nobody asked for", c.id, in.size()));
      return;
    }
    ReplyBatch b;
    protocol_.CheckReplies(c.id, c.done, in, c.sent - c.done, &b);
    c.in_at += b.consumed;
    for (uint64_t i = 0; i < b.replies; ++i, ++c.done) {
      uint64_t start = opt_.rate > 0
                           ? ScheduledNs(clock_.start_ns, opt_.rate, opt_.conns, c.id, c.done)
                           : c.started[c.done % c.started.size()];
      samples_.add(now > start ? now - start : 0);
    }
    if (b.error) {
      Fail(c, b.error_kind, b.what);
      return;
    }
    if (b.close_after) {  // the server said it closes now: a new connection goes on
      Reconnect(c, now);
      return;
    }
    if (b.replies == 0) break;  // the next reply is not all here yet
  }
  if (c.in_at == c.in_end) c.in_at = c.in_end = 0;
  if (c.state == Conn::State::kRunning) {
    Fill(c, now);
    Flush(c);
  }
}

void LoadWorker::Fill(Conn& c, uint64_t now) {
  if (c.state != Conn::State::kRunning) return;
  const uint64_t depth = static_cast<uint64_t>(opt_.depth);
  const uint64_t limit = opt_.rate > 0 ? std::min(c.due, c.done + depth) : c.done + depth;
  const bool measuring = now >= clock_.measure_ns && now < clock_.end_ns;
  if (c.sent >= limit) return;
  size_t before = c.out.size();
  protocol_.AppendRequests(c.id, c.sent, limit - c.sent, c.out);
  if (opt_.rate <= 0) {
    for (uint64_t k = c.sent; k < limit; ++k) c.started[k % c.started.size()] = now;
  }
  c.sent = limit;
  if (measuring) request_bytes_ += c.out.size() - before;
}

void LoadWorker::Flush(Conn& c) {
  if (c.state != Conn::State::kHello && c.state != Conn::State::kRunning) return;
  while (c.out_at < c.out.size()) {
    ssize_t k = ::send(c.fd.get(), c.out.data() + c.out_at, c.out.size() - c.out_at,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
    if (k > 0) {
      c.out_at += static_cast<size_t>(k);
      continue;
    }
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && errno == EAGAIN) return;  // EPOLLOUT (edge) says when to go on
    bool reset = k < 0 && (errno == EPIPE || errno == ECONNRESET);
    Fail(c, reset ? "closed by server" : "io",
         absl::StrFormat("send on connection %d: %s", c.id, std::strerror(errno)));
    return;
  }
  c.out.clear();
  c.out_at = 0;
}

void LoadWorker::Fail(Conn& c, const std::string& kind, const std::string& what) {
  if (c.state == Conn::State::kDead) return;
  if (c.state == Conn::State::kHello || c.state == Conn::State::kRunning) --open_;
  c.state = Conn::State::kDead;
  c.fd = Fd();  // closing it also takes it out of the epoll set
  c.in = std::vector<char>();
  c.in_at = c.in_end = 0;
  c.out = std::string();
  ++errors_;
  ++errors_by_kind_[kind];
  if (first_error_.empty()) {
    first_error_ = kind + ": " + what;
    first_error_ns_ = MonotonicNs();
  }
}

void LoadWorker::ScheduleDue(uint64_t now) {
  if (conns_.empty()) return;
  thread_local std::vector<size_t> touched;
  touched.clear();
  for (;;) {
    Conn& c = conns_[sched_li_];
    if (ScheduledNs(clock_.start_ns, opt_.rate, opt_.conns, c.id, sched_k_) > now) break;
    c.due = sched_k_ + 1;
    if (c.state == Conn::State::kRunning) touched.push_back(sched_li_);
    if (++sched_li_ == conns_.size()) {
      sched_li_ = 0;
      ++sched_k_;
    }
  }
  for (size_t li : touched) {
    Fill(conns_[li], now);
    Flush(conns_[li]);
  }
}

uint64_t LoadWorker::NextWakeNs(uint64_t now) const {
  uint64_t wake = std::min(clock_.end_ns, next_publish_ns_);
  if (next_connect_ < conns_.size() && opt_.connect_rate > 0) {
    wake = std::min(wake, clock_.start_ns + static_cast<uint64_t>(conns_[next_connect_].id * 1e9 /
                                                                  opt_.connect_rate));
  }
  if (opt_.rate > 0 && !conns_.empty()) {
    wake = std::min(
        wake, ScheduledNs(clock_.start_ns, opt_.rate, opt_.conns, conns_[sched_li_].id, sched_k_));
  }
  return std::max(wake, now);
}

void LoadWorker::Publish(uint64_t now, bool force) {
  if (now < next_publish_ns_ && !force) return;
  next_publish_ns_ = now + kPublishNs;
  for (Conn& c : conns_) {
    if ((c.state == Conn::State::kConnecting || c.state == Conn::State::kHello) &&
        now - c.connect_ns > kConnectTimeoutNs) {
      Fail(c, "timeout", absl::StrFormat("connection %d not established within 5 s", c.id));
    }
  }
  FlushSamples();
  std::lock_guard lock(mu_);
  live_.errors = errors_;
  live_.open_conns = open_;
}

void LoadWorker::FlushSamples() {
  if (samples_.count() == 0) return;
  if (samples_measuring_) {
    latency_.merge(samples_);
    msgs_ += samples_.count();
  }
  {
    std::lock_guard lock(mu_);
    live_.latency.merge(samples_);
    live_.msgs += samples_.count();
  }
  samples_.clear();
}

}  // namespace percore::tools
