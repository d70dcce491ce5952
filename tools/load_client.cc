#include "tools/load_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <thread>

#include "absl/strings/str_format.h"

namespace percore::tools {
namespace {

uint64_t NowNs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

// The byte at offset i of connection c's stream: cheap, and differs between connections.
inline char StreamByte(uint32_t c, uint64_t i) {
  return static_cast<char>((i * 131 + (i >> 9) * 7 + c * 97) & 0xFF);
}

// The byte at offset i, with each message's length header in front when framing.
inline char MessageByte(const LoadOptions& opt, uint32_t c, uint64_t i) {
  if (opt.frame_header == 2) {
    uint64_t m = i % opt.size;
    uint64_t body = opt.size - 2;
    if (m == 0) return static_cast<char>(body >> 8);
    if (m == 1) return static_cast<char>(body & 0xFF);
  }
  return StreamByte(c, i);
}

// Log-linear latency histogram: 32 sub-buckets per power of two (3% error), in ns.
class Histogram {
 public:
  void add(uint64_t ns) { ++b_[index(ns)]; }
  void merge(const Histogram& o) {
    for (size_t i = 0; i < b_.size(); ++i) b_[i] += o.b_[i];
  }
  double quantile_us(double q) const {
    uint64_t total = 0;
    for (uint64_t n : b_) total += n;
    if (total == 0) return 0;
    uint64_t want = static_cast<uint64_t>(q * static_cast<double>(total)), seen = 0;
    for (size_t i = 0; i < b_.size(); ++i) {
      seen += b_[i];
      if (seen > want) return static_cast<double>(value(i)) / 1000.0;
    }
    return 0;
  }

 private:
  static constexpr int kSub = 5;
  static size_t index(uint64_t v) {
    if (v < (2u << kSub)) return v;
    int e = 63 - std::countl_zero(v) - kSub;
    return static_cast<size_t>((e + 1) << kSub) + ((v >> e) - (1u << kSub));
  }
  static uint64_t value(size_t i) {
    if (i < (2u << kSub)) return i;
    int e = static_cast<int>(i >> kSub) - 1;
    return ((i & ((1u << kSub) - 1)) + (1u << kSub)) << e;
  }
  std::array<uint64_t, 64 << kSub> b_{};
};

absl::StatusOr<Fd> ConnectOne(const LoadOptions& opt, int index) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return absl::InternalError(absl::StrFormat("socket: %s", std::strerror(errno)));
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (opt.spread > 0) {
    ::setsockopt(fd.get(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(0x7F000001u + static_cast<uint32_t>(index % opt.spread));
    ::bind(fd.get(), reinterpret_cast<sockaddr*>(&src), sizeof src);
  }
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(opt.port);
  if (::inet_pton(AF_INET, opt.host.c_str(), &dst.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrFormat("bad host '%s'", opt.host));
  }
  // Bounded connect: non-blocking, then poll.
  ::fcntl(fd.get(), F_SETFL, O_NONBLOCK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    if (errno != EINPROGRESS) {
      return absl::UnavailableError(absl::StrFormat("connect: %s", std::strerror(errno)));
    }
    pollfd p{fd.get(), POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (::poll(&p, 1, 5000) != 1 || ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
        err != 0) {
      return absl::UnavailableError(
          absl::StrFormat("connect: %s", err ? std::strerror(err) : "timed out"));
    }
  }
  return fd;
}

absl::Status CheckFdBudget(int n) {
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  if (static_cast<rlim_t>(n) + 64 > lim.rlim_cur) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "%d connections need %d fds but RLIMIT_NOFILE is %d: raise `ulimit -n` (docs/tuning.md)", n,
        n + 64, static_cast<long>(lim.rlim_cur)));
  }
  return absl::OkStatus();
}

struct Conn {
  Fd fd;
  uint32_t id = 0;
  uint64_t sent = 0, received = 0;  // stream offsets
  std::vector<uint64_t> send_ns;    // per in-flight message, indexed by message % depth
  bool dead = false;
};

struct Worker {
  std::vector<Conn> conns;
  Histogram hist;
  uint64_t msgs = 0, errors = 0;
  std::string first_error;
};

void Fail(Worker& w, Conn& c, const std::string& why) {
  if (c.dead) return;
  c.dead = true;
  ++w.errors;
  if (w.first_error.empty()) w.first_error = why;
}

// Writes until the stream offset reaches `upto` or the socket is full.
void Pump(const LoadOptions& opt, Worker& w, Conn& c, uint64_t upto, char* buf) {
  while (!c.dead && c.sent < upto) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(upto - c.sent, 65536));
    for (size_t i = 0; i < n; ++i) buf[i] = MessageByte(opt, c.id, c.sent + i);
    ssize_t k = ::send(c.fd.get(), buf, n, MSG_NOSIGNAL);
    if (k > 0) {
      c.sent += static_cast<uint64_t>(k);
    } else if (k < 0 && errno == EAGAIN) {
      return;
    } else if (k < 0 && errno != EINTR) {
      Fail(w, c, absl::StrFormat("send: %s", std::strerror(errno)));
    }
  }
}

void RunWorker(Worker& w, const LoadOptions& opt, uint64_t start_ns, uint64_t measure_ns,
               uint64_t end_ns) {
  Fd ep(::epoll_create1(EPOLL_CLOEXEC));
  std::vector<char> buf(65536), out(65536);
  const uint64_t size = opt.size;
  const uint64_t depth = static_cast<uint64_t>(opt.depth);
  for (size_t i = 0; i < w.conns.size(); ++i) {
    Conn& c = w.conns[i];
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
    ev.data.u64 = i;
    ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, c.fd.get(), &ev);
    c.send_ns.assign(depth, start_ns);
    Pump(opt, w, c, depth * size, out.data());
  }
  std::vector<epoll_event> events(256);
  for (;;) {
    uint64_t now = NowNs();
    if (now >= end_ns) break;
    int n = ::epoll_wait(ep.get(), events.data(), static_cast<int>(events.size()),
                         static_cast<int>((end_ns - now) / 1'000'000 + 1));
    for (int e = 0; e < n; ++e) {
      Conn& c = w.conns[events[e].data.u64];
      if (c.dead) continue;
      if (events[e].events & EPOLLIN) {
        for (;;) {
          ssize_t k = ::recv(c.fd.get(), buf.data(), buf.size(), 0);
          if (k == 0) {
            Fail(w, c, "server closed a connection");
            break;
          }
          if (k < 0) {
            if (errno != EAGAIN && errno != EINTR) {
              Fail(w, c, absl::StrFormat("recv: %s", std::strerror(errno)));
            }
            if (errno != EINTR) break;
            continue;
          }
          uint64_t t = NowNs();
          for (ssize_t i = 0; i < k; ++i) {
            if (buf[i] != MessageByte(opt, c.id, c.received + static_cast<uint64_t>(i))) {
              Fail(w, c,
                   absl::StrFormat("byte %d of connection %d differs",
                                   c.received + static_cast<uint64_t>(i), c.id));
              break;
            }
          }
          if (c.dead) break;
          uint64_t before = c.received / size;
          c.received += static_cast<uint64_t>(k);
          for (uint64_t m = before; m < c.received / size; ++m) {  // messages completed
            if (t >= measure_ns) {
              w.hist.add(t - c.send_ns[m % depth]);
              ++w.msgs;
            }
            c.send_ns[m % depth] = t;  // message m + depth is sent now
          }
          Pump(opt, w, c, (c.received / size + depth) * size, out.data());
          if (static_cast<size_t>(k) < buf.size()) break;
        }
      }
      if ((events[e].events & EPOLLOUT) && !c.dead) {
        Pump(opt, w, c, (c.received / size + depth) * size, out.data());
      }
    }
  }
}

}  // namespace

absl::StatusOr<LoadResult> RunEchoLoad(const LoadOptions& opt) {
  if (opt.conns <= 0 || opt.size == 0 || opt.depth <= 0 || opt.threads <= 0) {
    return absl::InvalidArgumentError("conns, size, depth and threads must be positive");
  }
  if (opt.frame_header != 0 && (opt.frame_header != 2 || opt.size < 3 || opt.size > 65537)) {
    return absl::InvalidArgumentError("--frame-header 2 needs a size in [3, 65537]");
  }
  if (absl::Status s = CheckFdBudget(opt.conns); !s.ok()) return s;
  std::vector<Worker> workers(static_cast<size_t>(std::min(opt.threads, opt.conns)));
  for (int i = 0; i < opt.conns; ++i) {
    auto fd = ConnectOne(opt, i);
    if (!fd.ok()) return fd.status();
    Conn c;
    c.fd = std::move(*fd);
    c.id = static_cast<uint32_t>(i);
    workers[static_cast<size_t>(i) % workers.size()].conns.push_back(std::move(c));
  }
  uint64_t start = NowNs();
  uint64_t measure = start + static_cast<uint64_t>(opt.warmup_s * 1e9);
  uint64_t end = measure + static_cast<uint64_t>(opt.duration_s * 1e9);
  std::vector<std::thread> threads;
  for (Worker& w : workers) {
    threads.emplace_back(
        [&w, &opt, start, measure, end] { RunWorker(w, opt, start, measure, end); });
  }
  for (auto& t : threads) t.join();
  LoadResult r;
  Histogram all;
  for (Worker& w : workers) {
    r.msgs += w.msgs;
    r.errors += w.errors;
    if (r.first_error.empty()) r.first_error = w.first_error;
    all.merge(w.hist);
  }
  r.seconds = opt.duration_s;
  r.msgs_per_s = static_cast<double>(r.msgs) / opt.duration_s;
  r.mb_per_s = r.msgs_per_s * static_cast<double>(opt.size) / 1e6;
  r.p50_us = all.quantile_us(0.5);
  r.p99_us = all.quantile_us(0.99);
  r.p999_us = all.quantile_us(0.999);
  return r;
}

absl::StatusOr<std::vector<Fd>> OpenIdle(const LoadOptions& opt, int n) {
  if (absl::Status s = CheckFdBudget(n); !s.ok()) return s;
  std::vector<Fd> fds;
  std::string msg(opt.size, 'i'), got(opt.size, '\0');
  if (opt.frame_header == 2) {  // a framing server answers whole frames only
    msg[0] = MessageByte(opt, 0, 0);
    msg[1] = MessageByte(opt, 0, 1);
  }
  for (int i = 0; i < n; ++i) {
    auto fd = ConnectOne(opt, i);
    if (!fd.ok()) return fd.status();
    int flags = ::fcntl(fd->get(), F_GETFL);
    ::fcntl(fd->get(), F_SETFL, flags & ~O_NONBLOCK);
    timeval tv{5, 0};
    ::setsockopt(fd->get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (::send(fd->get(), msg.data(), msg.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(msg.size()) ||
        ::recv(fd->get(), got.data(), got.size(), MSG_WAITALL) !=
            static_cast<ssize_t>(got.size()) ||
        got != msg) {
      return absl::DataLossError(absl::StrFormat("idle connection %d did not echo", i));
    }
    fds.push_back(std::move(*fd));
  }
  return fds;
}

}  // namespace percore::tools
