#include "tools/probe_sockets.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "reactor/syscall_error.h"
#include "tools/probe_host.h"
#include "tools/probe_report.h"

namespace percore::tools {
namespace {

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// The pairs this process can hold: each pair is two fds, and stdio, the listener and the
// libraries' own fds need a few more.
int PairsWithinLimit(int wanted) {
  constexpr int kSpareFds = 64;
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return 0;
  const rlim_t need = rlim_t(wanted) * 2 + kSpareFds;
  if (r.rlim_cur < need && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = std::min(need, r.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &r);
    ::getrlimit(RLIMIT_NOFILE, &r);
  }
  if (r.rlim_cur >= need) return wanted;
  return r.rlim_cur > kSpareFds ? static_cast<int>((r.rlim_cur - kSpareFds) / 2) : 0;
}

void ResetClose(Fd& fd) {
  linger l{1, 0};  // RST: the probe must not leave thousands of sockets in TIME_WAIT
  ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
  fd.reset();
}

// One round: the slab growth while `pairs` connections are open, or an error.
absl::StatusOr<int64_t> SlabGrowth(int pairs) {
  auto listener = ListenLoopback(std::min(pairs, 128));
  if (!listener.ok()) return listener.status();
  std::vector<Fd> fds;
  fds.reserve(size_t(pairs) * 2);
  std::optional<int64_t> before = ReadProcField("/proc/meminfo", "Slab");
  if (!before) return absl::UnavailableError("/proc/meminfo has no Slab line");
  absl::Status status;
  for (int i = 0; i < pairs && status.ok(); ++i) {
    auto c = ConnectLoopback(listener->port);
    if (!c.ok()) {
      status = c.status();
      break;
    }
    fds.push_back(std::move(*c));
    // Accept at once: the accept queue stays short whatever net.core.somaxconn is.
    int a = ::accept4(listener->fd.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (a < 0) status = SyscallError("accept4", errno);
    fds.emplace_back(a);
  }
  std::optional<int64_t> after = ReadProcField("/proc/meminfo", "Slab");
  for (Fd& fd : fds) ResetClose(fd);
  if (!status.ok()) return status;
  if (!after) return absl::UnavailableError("/proc/meminfo has no Slab line");
  return *after - *before;
}

}  // namespace

absl::StatusOr<LoopbackListener> ListenLoopback(int backlog) {
  LoopbackListener l;
  l.fd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!l.fd.valid()) return SyscallError("socket", errno);
  sockaddr_in a = Loopback(0);
  if (::bind(l.fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    return SyscallError("bind 127.0.0.1:0", errno);
  }
  if (::listen(l.fd.get(), backlog) != 0) return SyscallError("listen", errno);
  socklen_t len = sizeof a;
  if (::getsockname(l.fd.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    return SyscallError("getsockname", errno);
  }
  l.port = ntohs(a.sin_port);
  return l;
}

absl::StatusOr<Fd> ConnectLoopback(uint16_t port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return SyscallError("socket", errno);
  sockaddr_in a = Loopback(port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    return SyscallError("connect 127.0.0.1", errno);
  }
  return fd;
}

SocketCost MeasureSocketCost(int wanted) {
  SocketCost cost;
  cost.pairs = PairsWithinLimit(wanted);
  constexpr int kMinPairs = 200;  // below this the slab's own noise dominates
  if (cost.pairs < kMinPairs) {
    cost.note = absl::StrCat("not measured: the open-files limit leaves room for ", cost.pairs,
                             " connections only");
    return cost;
  }
  // The slab is shared with every other process, so one round can be off either way; the
  // median of three is not. The pause lets the previous round's sockets, freed after an RCU
  // grace period, leave the slab before the next "before".
  constexpr int kRounds = 3;
  std::vector<int64_t> growth;
  for (int i = 0; i < kRounds; ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    absl::StatusOr<int64_t> g = SlabGrowth(cost.pairs);
    if (!g.ok()) {
      cost.note = absl::StrCat("not measured: ", g.status().message());
      return cost;
    }
    growth.push_back(*g);
  }
  std::sort(growth.begin(), growth.end());
  cost.rounds = kRounds;
  const int64_t median = growth[kRounds / 2];
  if (median <= 0) {
    cost.note = "not measured: the slab did not grow (other activity on the host freed memory)";
    return cost;
  }
  cost.measured = true;
  cost.bytes_per_socket = median / (2 * int64_t{cost.pairs});
  cost.note = absl::StrCat("measured here: ", Thousands(cost.pairs),
                           " idle loopback pairs, Slab in /proc/meminfo, ", "median of ", kRounds,
                           " rounds");
  return cost;
}

}  // namespace percore::tools
