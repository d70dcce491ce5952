#include "tools/fanout_load.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tools/proc_stats.h"

namespace percore::tools {
namespace {

uint64_t NowNs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

constexpr uint64_t kPublisherTag = ~uint64_t{0} - 1;
constexpr uint64_t kWakeTag = ~uint64_t{0};
// Open loop: past this much unsent output the publisher stops making messages (the server, or
// the loopback, is not keeping up; the achieved rate says so).
constexpr size_t kMaxPublisherBacklog = 64 << 20;

}  // namespace

// What the round's threads share. The window: done[k % window] counts the threads all of
// whose members in message k's room have it; the publisher may send k + window once it
// reaches the number of threads with members there.
struct FanoutLoad::Shared {
  uint64_t start = 0, measure = 0, end = 0, deadline = 0;
  std::vector<std::atomic<uint32_t>> done;
  std::vector<uint32_t> threads_with_room;
  std::vector<std::vector<uint32_t>> local_members;  // [thread][room]
  std::vector<std::string> room_names;
  std::vector<std::atomic<uint64_t>> final_sent;  // per room, once publishing stopped
  std::atomic<bool> stopped{false};
  std::atomic<bool> publisher_waiting{false};
  Fd wake;  // eventfd: another thread completed a message the publisher waits for
  pid_t server_pid = 0;
  double cpu0 = 0, cpu1 = 0;
};

std::string FanoutLoad::RoomName(int rooms, uint32_t room) {
  return rooms == 1 ? std::string("lobby") : absl::StrCat("lobby", room);
}

absl::StatusOr<std::unique_ptr<FanoutLoad>> FanoutLoad::Connect(const FanoutOptions& opt) {
  if (opt.members < 1 || opt.rooms < 1 || opt.members < opt.rooms || opt.size == 0 ||
      opt.window < 1 || opt.burst < 1 || opt.burst > opt.window || opt.threads < 1 ||
      opt.rate < 0) {
    return absl::InvalidArgumentError(
        "need members >= rooms >= 1, size > 0, 1 <= burst <= window, threads >= 1, rate >= 0");
  }
  std::unique_ptr<FanoutLoad> load(new FanoutLoad());
  load->opt_ = opt;
  const FanoutProtocol p = opt.target.protocol;
  auto members = JoinAll(
      opt.target, opt.members,
      [&](int i, std::string& out) {
        std::string room = RoomName(opt.rooms, static_cast<uint32_t>(i % opt.rooms));
        if (p == FanoutProtocol::kRedis) {
          AppendCommand(p, out, {"SUBSCRIBE", room});
          return 1;
        }
        AppendCommand(p, out, {"NICK", absl::StrCat("m", i)});
        AppendCommand(p, out, {"JOIN", room});
        return 2;
      },
      10 + opt.members / 1000.0);
  if (!members.ok()) return members.status();
  load->members_ = std::move(*members);
  for (FanoutConn& c : load->members_) c.room = c.id % static_cast<uint32_t>(opt.rooms);
  // The publisher speaks plain lines to a chat server whatever the members use, and is a
  // member of every room in case the server lets only members talk there.
  FanoutTarget pub = opt.target;
  if (pub.protocol == FanoutProtocol::kWsChat) pub.protocol = FanoutProtocol::kChat;
  auto publisher = JoinAll(
      pub, 1,
      [&](int, std::string& out) {
        if (pub.protocol == FanoutProtocol::kRedis) return 0;
        AppendCommand(pub.protocol, out, {"NICK", "pub"});
        for (int r = 0; r < opt.rooms; ++r) {
          AppendCommand(pub.protocol, out, {"JOIN", RoomName(opt.rooms, static_cast<uint32_t>(r))});
        }
        return 1 + opt.rooms;
      },
      10);
  if (!publisher.ok()) return publisher.status();
  load->publisher_ = std::move(*publisher);
  load->sent_.assign(static_cast<size_t>(opt.rooms), 0);
  return load;
}

absl::StatusOr<std::unique_ptr<FanoutLoad>> FanoutLoad::ConnectIdle(const FanoutTarget& target,
                                                                    int n,
                                                                    std::string_view prefix) {
  std::unique_ptr<FanoutLoad> load(new FanoutLoad());
  load->opt_.target = target;
  load->opt_.members = n;
  auto members = JoinAll(
      target, n,
      [&](int i, std::string& out) {
        if (target.protocol == FanoutProtocol::kRedis) {
          AppendCommand(target.protocol, out, {"SUBSCRIBE", "lobby"});
          return 1;
        }
        AppendCommand(target.protocol, out, {"NICK", std::string(prefix) + std::to_string(i)});
        AppendCommand(target.protocol, out, {"JOIN", "lobby"});
        return 2;
      },
      10 + n / 1000.0);
  if (!members.ok()) return members.status();
  load->members_ = std::move(*members);
  return load;
}

FanoutLoad::~FanoutLoad() = default;

FanoutResult FanoutLoad::Run(pid_t server_pid) {
  const int threads = std::min(opt_.threads, opt_.members);
  Shared s;
  s.done = std::vector<std::atomic<uint32_t>>(static_cast<size_t>(opt_.window));
  s.threads_with_room.assign(static_cast<size_t>(opt_.rooms), 0);
  s.local_members.assign(static_cast<size_t>(threads),
                         std::vector<uint32_t>(static_cast<size_t>(opt_.rooms), 0));
  for (const FanoutConn& c : members_) ++s.local_members[c.id % threads][c.room];
  for (int t = 0; t < threads; ++t) {
    for (int r = 0; r < opt_.rooms; ++r) s.threads_with_room[r] += s.local_members[t][r] > 0;
  }
  for (int r = 0; r < opt_.rooms; ++r) {
    s.room_names.push_back(RoomName(opt_.rooms, static_cast<uint32_t>(r)));
  }
  s.final_sent = std::vector<std::atomic<uint64_t>>(static_cast<size_t>(opt_.rooms));
  s.wake = Fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  s.server_pid = server_pid;
  s.start = NowNs();
  s.measure = s.start + static_cast<uint64_t>(opt_.warmup_s * 1e9);
  s.end = s.measure + static_cast<uint64_t>(opt_.duration_s * 1e9);
  s.deadline = s.end + static_cast<uint64_t>(opt_.drain_s * 1e9);
  std::vector<FanoutResult> parts(static_cast<size_t>(threads));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) {
    pool.emplace_back([this, t, &s, &parts] { RunThread(t, s, parts[t]); });
  }
  RunThread(0, s, parts[0]);
  for (std::thread& th : pool) th.join();
  FanoutResult r;
  for (FanoutResult& p : parts) {
    r.published += p.published;
    r.deliveries += p.deliveries;
    r.errors.add(p.errors);
    if (r.first_error.empty()) r.first_error = p.first_error;
  }
  r.msgs_per_s = static_cast<double>(r.published) / opt_.duration_s;
  r.deliveries_per_s = static_cast<double>(r.deliveries) / opt_.duration_s;
  if (server_pid > 0) r.server_cpu_us = s.cpu1 - s.cpu0;
  return r;
}

void FanoutLoad::RunThread(int t, Shared& s, FanoutResult& r) {
  const FanoutProtocol proto = opt_.target.protocol;
  const int threads = static_cast<int>(s.local_members.size());
  const uint32_t window = static_cast<uint32_t>(opt_.window);
  const uint64_t rooms = static_cast<uint64_t>(opt_.rooms);
  const bool windowed = opt_.rate == 0;
  FanoutConn* pub = t == 0 && !publisher_.empty() ? &publisher_[0] : nullptr;
  Fd ep(::epoll_create1(EPOLL_CLOEXEC));
  auto watch = [&ep](int fd, uint64_t tag) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = tag;
    ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, fd, &ev);
  };
  std::vector<FanoutConn*> mine;
  for (FanoutConn& c : members_) {
    if (static_cast<int>(c.id % threads) != t) continue;
    watch(c.fd.get(), mine.size());
    mine.push_back(&c);
  }
  if (pub != nullptr) {
    watch(pub->fd.get(), kPublisherTag);
    watch(s.wake.get(), kWakeTag);
  }
  std::vector<uint32_t> got(window, 0);  // this thread's members that have message k % window
  const std::vector<uint32_t>& local = s.local_members[static_cast<size_t>(t)];
  // Publisher: every message before it is complete. Only the publisher's thread touches
  // next_k_ (the others read it here while the publisher may already be counting: a race).
  uint64_t frontier = pub != nullptr ? next_k_ : 0;
  uint64_t round_sent = 0;  // publisher: messages made this round (for the fixed rate)
  uint64_t now = NowNs();
  auto fail = [&r](FanoutError kind, std::string_view why) {
    ++r.errors[kind];
    if (r.first_error.empty()) r.first_error = std::string(why);
  };
  auto note_delivery = [&](uint32_t room, uint64_t seq) {
    if (now >= s.measure && now < s.end) ++r.deliveries;
    if (!windowed) return;
    const uint64_t slot = (seq * rooms + room) % window;
    if (++got[slot] < local[room]) return;
    got[slot] = 0;
    uint32_t d = s.done[slot].fetch_add(1) + 1;
    if (d == s.threads_with_room[room] && t != 0 && s.publisher_waiting.load()) {
      uint64_t one = 1;
      (void)!::write(s.wake.get(), &one, sizeof one);
    }
  };
  // Reads what the server sent to c and handles every whole unit in it.
  std::vector<char> buf(256 << 10);
  auto drain = [&](FanoutConn& c, bool member) {
    for (;;) {
      ssize_t k = ::recv(c.fd.get(), buf.data(), buf.size(), 0);
      if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
        c.dead = true;
        fail(FanoutError::kClosed,
             k == 0 ? "the server closed a client" : absl::StrCat("recv: ", std::strerror(errno)));
        return;
      }
      if (k < 0) {
        if (errno == EINTR) continue;
        return;
      }
      std::string_view in(buf.data(), static_cast<size_t>(k));
      if (!c.in.empty()) in = c.in.append(in);
      size_t used = ParseIncoming(
          proto == FanoutProtocol::kWsChat && !member ? FanoutProtocol::kChat : proto, in,
          [&](const WireEvent& ev) {
            switch (ev.kind) {
              case WireEvent::kMessage: {
                if (!member) return;  // the publisher's own copies
                uint64_t seq = 0;
                if (ev.room != s.room_names[c.room] || !ParseSeq(ev.text, &seq)) {
                  fail(FanoutError::kMalformed,
                       absl::StrCat("bad delivery in ", std::string(ev.room), ": '",
                                    std::string(ev.text.substr(0, 40)), "'"));
                } else if (c.seq.on(seq, r.errors)) {
                  note_delivery(c.room, seq);
                }
                return;
              }
              case WireEvent::kPing:
                AppendCommand(member ? proto : FanoutProtocol::kChat, c.out, {"PONG", ev.text});
                return;
              case WireEvent::kWsPing:
                AppendWsFrame(c.out, 10, ev.text);
                return;
              case WireEvent::kError:
                fail(FanoutError::kServerError,
                     absl::StrCat("server said '", std::string(ev.text), "'"));
                return;
              case WireEvent::kMalformed:
                fail(FanoutError::kMalformed,
                     absl::StrCat("malformed '", std::string(ev.text.substr(0, 40)), "'"));
                return;
              default:
                return;
            }
          });
      if (used == std::string_view::npos) {
        c.dead = true;
        fail(FanoutError::kMalformed, "bytes that are not the protocol");
        return;
      }
      if (c.in.empty()) {
        c.in.assign(in.substr(used));
      } else {
        c.in.erase(0, used);
      }
      if (!c.out.empty()) Flush(c);
      if (static_cast<size_t>(k) < buf.size()) return;  // a short read: the socket is drained
    }
  };
  // Publisher: sends what the window or the clock allows, `burst` messages per write().
  auto publish = [&]() {
    const uint64_t burst = static_cast<uint64_t>(opt_.burst);
    for (;;) {
      if (windowed) {
        while (frontier < next_k_ &&
               s.done[frontier % window].load() >= s.threads_with_room[frontier % rooms]) {
          s.done[frontier % window].store(0);
          ++frontier;
        }
        if (!pub->out.empty()) return;  // wait for EPOLLOUT
        if (next_k_ + burst - frontier > window) {
          if (s.publisher_waiting.exchange(true)) return;
          continue;  // look once more: a member thread may have completed one meanwhile
        }
        s.publisher_waiting.store(false);
      } else {
        const uint64_t due =
            static_cast<uint64_t>(static_cast<double>(now - s.start) * 1e-9 * opt_.rate);
        if (round_sent + burst > due || pub->out.size() > kMaxPublisherBacklog) return;
      }
      for (uint64_t j = 0; j < burst; ++j) {
        const uint64_t room = next_k_ % rooms;
        AppendPublish(proto == FanoutProtocol::kWsChat ? FanoutProtocol::kChat : proto, pub->out,
                      s.room_names[room], sent_[room]++, opt_.size);
        ++next_k_;
        ++round_sent;
        if (now >= s.measure && now < s.end) ++r.published;
      }
      if (!Flush(*pub)) {
        fail(FanoutError::kClosed, "the publisher's connection failed");
        return;
      }
    }
  };
  std::vector<epoll_event> events(512);
  bool cpu0_read = false, stopped = false;
  size_t caught_up = 0;  // after the stop: members known to have every message
  for (;;) {
    now = NowNs();
    if (pub != nullptr && !stopped) {
      if (!cpu0_read && now >= s.measure) {
        if (s.server_pid > 0) s.cpu0 = CpuUs(s.server_pid);
        cpu0_read = true;
      }
      if (now >= s.end) {
        if (s.server_pid > 0) s.cpu1 = CpuUs(s.server_pid);
        for (size_t room = 0; room < sent_.size(); ++room) s.final_sent[room].store(sent_[room]);
        s.stopped.store(true);
      } else if (!pub->dead) {
        publish();
      }
    }
    if (!stopped && s.stopped.load()) stopped = true;
    if (stopped) {
      while (caught_up < mine.size() &&
             (mine[caught_up]->dead ||
              mine[caught_up]->seq.next() >= s.final_sent[mine[caught_up]->room].load())) {
        ++caught_up;
      }
      if (caught_up == mine.size() && (pub == nullptr || pub->out.empty() || pub->dead)) break;
    }
    if (now >= s.deadline) break;
    uint64_t wait_ns = stopped ? 20'000'000 : s.end - now;
    if (pub != nullptr && !stopped && !windowed) {
      const uint64_t next =
          s.start +
          static_cast<uint64_t>(static_cast<double>(round_sent + opt_.burst) * 1e9 / opt_.rate);
      wait_ns = next > now ? std::min(wait_ns, next - now) : 0;
    }
    if (pub == nullptr && !stopped) wait_ns = std::min<uint64_t>(wait_ns, 20'000'000);
    timespec ts{static_cast<time_t>(wait_ns / 1'000'000'000),
                static_cast<long>(wait_ns % 1'000'000'000)};
    int n = ::epoll_pwait2(ep.get(), events.data(), static_cast<int>(events.size()), &ts, nullptr);
    now = NowNs();
    for (int e = 0; e < n; ++e) {
      const uint64_t tag = events[e].data.u64;
      if (tag == kWakeTag) {
        uint64_t v;
        (void)!::read(s.wake.get(), &v, sizeof v);
        continue;
      }
      FanoutConn& c = tag == kPublisherTag ? *pub : *mine[tag];
      if (c.dead) continue;
      if (events[e].events & EPOLLOUT) Flush(c);
      if (events[e].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        drain(c, tag != kPublisherTag);
      }
    }
  }
  for (FanoutConn* c : mine) c->seq.finish(s.final_sent[c->room].load(), r.errors);
}

}  // namespace percore::tools
