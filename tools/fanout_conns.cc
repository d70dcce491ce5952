#include "tools/fanout_conns.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/load_connect.h"

namespace percore::tools {
namespace {

uint64_t NowNs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

enum class Stage : uint8_t { kConnecting, kUpgrading, kJoining, kJoined };

struct Pending {
  Stage stage = Stage::kConnecting;
  int oks_left = 0;
  std::string key;  // ws-chat: the handshake's key
};

}  // namespace

bool Flush(FanoutConn& c) {
  size_t off = 0;
  while (off < c.out.size()) {
    ssize_t k = ::send(c.fd.get(), c.out.data() + off, c.out.size() - off, MSG_NOSIGNAL);
    if (k > 0) {
      off += static_cast<size_t>(k);
    } else if (k < 0 && errno == EINTR) {
      continue;
    } else {
      if (k < 0 && errno != EAGAIN) c.dead = true;
      break;
    }
  }
  c.out.erase(0, off);
  return !c.dead;
}

absl::StatusOr<std::vector<FanoutConn>> JoinAll(const FanoutTarget& target, int n,
                                                absl::FunctionRef<int(int, std::string&)> hello,
                                                double timeout_s) {
  if (absl::Status s = CheckFdBudget(n); !s.ok()) return s;
  // The load engine's connect: the same target resolution and source-address binding.
  LoadOptions where;
  where.host = target.host;
  where.port = target.port;
  where.spread = target.spread;
  absl::StatusOr<LoadTarget> dst = ResolveTarget(where);
  if (!dst.ok()) return dst.status();
  std::vector<FanoutConn> conns(static_cast<size_t>(n));
  std::vector<Pending> state(static_cast<size_t>(n));
  Fd ep(::epoll_create1(EPOLL_CLOEXEC));
  const uint64_t deadline = NowNs() + static_cast<uint64_t>(timeout_s * 1e9);
  const std::string host = absl::StrCat(target.host, ":", target.port);
  const bool ws = target.protocol == FanoutProtocol::kWsChat;
  constexpr int kConnectsInFlight = 256;
  int started = 0, connecting = 0, joined = 0;
  std::vector<char> buf(1 << 16);
  auto fail = [](int i, std::string_view why) {
    return absl::UnavailableError(absl::StrCat("client ", i, ": ", std::string(why)));
  };
  // Sends the client's commands once it speaks the protocol.
  auto greet = [&](int i) {
    FanoutConn& c = conns[static_cast<size_t>(i)];
    state[static_cast<size_t>(i)].oks_left = hello(i, c.out);
    state[static_cast<size_t>(i)].stage = Stage::kJoining;
  };
  std::vector<epoll_event> events(512);
  while (joined < n) {
    while (started < n && connecting < kConnectsInFlight) {
      bool in_progress = false;  // a finished connect still reports EPOLLOUT
      auto fd = StartConnect(*dst, started, &in_progress);
      if (!fd.ok()) return fail(started, std::string(fd.status().message()));
      FanoutConn& c = conns[static_cast<size_t>(started)];
      c.fd = std::move(*fd);
      c.id = static_cast<uint32_t>(started);
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
      ev.data.u64 = static_cast<uint64_t>(started);
      ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, c.fd.get(), &ev);
      ++started;
      ++connecting;
    }
    uint64_t now = NowNs();
    if (now >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrFormat("%d of %d clients joined within %.0f s (%d connecting)", joined, n,
                          timeout_s, connecting));
    }
    int k = ::epoll_wait(ep.get(), events.data(), static_cast<int>(events.size()),
                         static_cast<int>((deadline - now) / 1'000'000 + 1));
    for (int e = 0; e < k; ++e) {
      const int i = static_cast<int>(events[e].data.u64);
      FanoutConn& c = conns[static_cast<size_t>(i)];
      Pending& p = state[static_cast<size_t>(i)];
      if (p.stage == Stage::kConnecting) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(c.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) return fail(i, absl::StrCat("connect: ", std::strerror(err)));
        if ((events[e].events & EPOLLOUT) == 0) continue;
        --connecting;
        if (ws) {
          p.key = NewWsKey();
          c.out += WsRequest(host, p.key);
          p.stage = Stage::kUpgrading;
        } else {
          greet(i);
        }
      }
      if (!Flush(c)) return fail(i, "send failed");
      if (p.stage == Stage::kJoining && p.oks_left <= 0) {  // nothing to wait for
        p.stage = Stage::kJoined;
        ++joined;
      }
      if ((events[e].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) == 0) continue;
      for (;;) {
        ssize_t got = ::recv(c.fd.get(), buf.data(), buf.size(), 0);
        if (got == 0) return fail(i, "server closed the connection while joining");
        if (got < 0) {
          if (errno == EINTR) continue;
          if (errno == EAGAIN) break;
          return fail(i, absl::StrCat("recv: ", std::strerror(errno)));
        }
        c.in.append(buf.data(), static_cast<size_t>(got));
        if (static_cast<size_t>(got) < buf.size()) break;
      }
      if (p.stage == Stage::kUpgrading) {
        size_t head = WsResponseHeadSize(c.in);
        if (head == 0) continue;
        if (absl::Status s = CheckWsResponse(std::string_view(c.in).substr(0, head), p.key);
            !s.ok()) {
          return fail(i, std::string(s.message()));
        }
        c.in.erase(0, head);
        greet(i);
      }
      std::string error;
      size_t used = ParseIncoming(target.protocol, c.in, [&](const WireEvent& ev) {
        if (ev.kind == WireEvent::kOk) {
          --p.oks_left;
        } else if (ev.kind == WireEvent::kPing) {
          AppendCommand(target.protocol, c.out, {"PONG", ev.text});
        } else if (ev.kind == WireEvent::kWsPing) {
          AppendWsFrame(c.out, 10, ev.text);
        } else if (ev.kind == WireEvent::kError || ev.kind == WireEvent::kMalformed) {
          if (error.empty()) error = absl::StrCat("answered '", std::string(ev.text), "'");
        }
      });
      if (used == std::string_view::npos) return fail(i, "sent bytes that are not the protocol");
      if (!error.empty()) return fail(i, error);
      c.in.erase(0, used);
      if (!Flush(c)) return fail(i, "send failed");
      if (p.stage == Stage::kJoining && p.oks_left <= 0) {
        p.stage = Stage::kJoined;
        ++joined;
      }
    }
  }
  return conns;
}

}  // namespace percore::tools
