#include "net/client_pool.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "net/connection.h"
#include "net/tcp_server.h"
#include "protocol/length_field_codec.h"

namespace percore {
namespace {

constexpr size_t kIdBytes = 8;
constexpr size_t kHeadBytes = 4 + kIdBytes;

LengthFieldCodec::Options Frames(size_t max_frame) {
  LengthFieldCodec::Options o;
  o.length_field_length = 4;
  o.initial_bytes_to_strip = 4;  // message = [u64 id][payload]
  o.max_frame = max_frame;
  return o;
}

uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

void PutBE(char* p, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<char>(v >> (8 * (n - 1 - i)));
}

uint64_t SteadyMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace

// The pool's handler on its ClientGroup. Ids on a connection are consecutive and every
// request has the same timeout, so a connection's pending requests are a FIFO in send order
// (deadlines ascending): an answer finds its request by index (id - base_id), and one timer
// per connection, on the oldest one's deadline, does every request's timeout. An entry whose
// request ended stays until those before it end too; with a backend answering out of order,
// the FIFO spans at most one request timeout's worth of sends.
class ClientPool::Handler {
 public:
  struct Pending {
    Callback done;  // empty once answered or failed
    uint64_t due;   // reactor ms
    uint32_t client;
  };
  struct ConnState {
    uint64_t base_id = 1;  // the id of pending.front()
    std::deque<Pending> pending;
    TimerWheel::TimerId timer = TimerWheel::kNoTimer;  // on pending.front().due
  };

  explicit Handler(ClientPool& pool) : codec(Frames(pool.opts_.max_frame)), pool_(pool) {}

  LengthFieldCodec codec;

  void on_message(Connection& c, std::span<const char> m) {
    if (m.size() < kIdBytes) {
      c.close(CloseMode::kGraceful, CloseReason::kMalformed);
      return;
    }
    ConnState& st = c.state<ConnState>();
    const uint64_t at = GetU64(m.data()) - st.base_id;      // ids below base_id wrap to huge
    if (at >= st.pending.size() || !st.pending[at].done) {  // timed out: nobody waits for it
      pool_.counters(c).late.add();
      return;
    }
    Callback done = std::move(st.pending[at].done);
    st.pending[at].done = nullptr;
    const uint32_t client = st.pending[at].client;
    drop_ended(st);
    pool_.counters(c).answered.add();
    std::move(done)(std::string(m.data() + kIdBytes, m.size() - kIdBytes));
    pool_.finish_one(client);
  }

  void on_close(Connection& c, CloseReason reason) {
    ConnState& st = c.state<ConnState>();
    std::deque<Pending> lost;
    lost.swap(st.pending);
    if (st.timer != TimerWheel::kNoTimer) c.reactor().timers().cancel(st.timer);
    st.timer = TimerWheel::kNoTimer;
    for (Pending& p : lost) {
      if (!p.done) continue;
      pool_.counters(c).failed_disconnect.add();
      std::move(p.done)(
          absl::UnavailableError(absl::StrCat("connection to ", pool_.opts_.endpoint, " closed (",
                                              CloseReasonName(reason), ") before the answer")));
      pool_.finish_one(p.client);
    }
  }

  // On the connection's reactor: the oldest request's deadline passed (or the request the
  // timer was set for ended, and a later one is the oldest now).
  void on_timer(ConnHandle h) {
    Connection* c = pool_.group_->table(h.reactor_index()).lookup(h.slot(), h.generation());
    if (c == nullptr) return;  // closed: on_close failed what was pending
    ConnState& st = c->state<ConnState>();
    st.timer = TimerWheel::kNoTimer;
    const uint64_t now = c->reactor().now_ms();
    // A callback may send on this connection (and arm the timer): the FIFO is re-read each time.
    while (!st.pending.empty() && st.pending.front().due <= now) {
      Pending p = std::move(st.pending.front());
      st.pending.pop_front();
      ++st.base_id;
      if (!p.done) continue;
      pool_.counters(*c).timed_out.add();
      std::move(p.done)(absl::DeadlineExceededError(
          absl::StrCat("request to ", pool_.opts_.endpoint, " timed out after ",
                       absl::FormatDuration(pool_.opts_.request_timeout))));
      pool_.finish_one(p.client);
    }
    drop_ended(st);
    if (st.timer != TimerWheel::kNoTimer) c->reactor().timers().cancel(st.timer);
    st.timer = TimerWheel::kNoTimer;
    arm(*c, st);
  }

  // On the connection's reactor: one frame, one send.
  void send(Connection& c, uint32_t client, std::string_view request, Callback& done) {
    ConnState& st = c.state<ConnState>();
    const uint64_t id = st.base_id + st.pending.size();
    char head[kHeadBytes];
    PutBE(head, kIdBytes + request.size(), 4);
    PutBE(head + 4, id, kIdBytes);
    if (c.send({std::string_view(head, kHeadBytes), request}) == SendResult::kClosed) {
      pool_.fail(client, std::move(done), "connection closing");
      return;
    }
    st.pending.push_back(Pending{std::move(done), c.reactor().now_ms() + timeout_ms_, client});
    if (st.timer == TimerWheel::kNoTimer) arm(c, st);
    pool_.counters(c).sent.add();
  }

 private:
  // Pops the ended requests at the front, so the front is the oldest one still waiting.
  static void drop_ended(ConnState& st) {
    while (!st.pending.empty() && !st.pending.front().done) {
      st.pending.pop_front();
      ++st.base_id;
    }
  }
  // The timer stays on an older deadline when that request ends first: it then fires early,
  // and re-arms for the oldest one. One timer operation per connection per timeout period.
  void arm(Connection& c, ConnState& st) {
    if (st.pending.empty()) return;
    st.timer =
        c.reactor().timers().add(st.pending.front().due, [this, h = c.handle()] { on_timer(h); });
  }

  ClientPool& pool_;
  const uint64_t timeout_ms_ =
      static_cast<uint64_t>(absl::ToInt64Milliseconds(pool_.opts_.request_timeout));
};

ClientPool::ClientPool(const Config& config, ClientPoolOptions options)
    : opts_(std::move(options)),
      handler_(std::make_unique<Handler>(*this)),
      group_(std::make_unique<ClientGroup>(config, *handler_)),
      pending_(new std::atomic<uint32_t>[std::max<size_t>(1, opts_.connections)]()),
      bucket_(opts_.rate, opts_.burst, opts_.clock ? opts_.clock : TokenBucket::Clock(SteadyMs)),
      on_reactor_(new OnReactor[group_->size()]) {}

ClientPool::ClientPool(TcpServer& server, ClientPoolOptions options)
    : opts_(std::move(options)),
      handler_(std::make_unique<Handler>(*this)),
      group_(std::make_unique<ClientGroup>(server, *handler_)),
      pending_(new std::atomic<uint32_t>[std::max<size_t>(1, opts_.connections)]()),
      bucket_(opts_.rate, opts_.burst, opts_.clock ? opts_.clock : TokenBucket::Clock(SteadyMs)),
      on_reactor_(new OnReactor[group_->size()]) {}

ClientPool::~ClientPool() { shutdown(); }

absl::Status ClientPool::start() {
  if (absl::Status s = group_->start(); !s.ok()) return s;
  // The whole list first: a client's start() posts to its reactor, which (on a server's
  // reactors) may already call dispatch() and read the list.
  for (size_t i = 0; i < std::max<size_t>(1, opts_.connections); ++i) {
    clients_.push_back(
        std::make_unique<TcpClient>(*group_, i % group_->size(), opts_.endpoint, opts_.client));
  }
  for (auto& c : clients_) {
    if (absl::Status s = c->start(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

void ClientPool::shutdown() {
  // Also when the group already ended (the server's shutdown closed its connections): the
  // queued calls still get their answer.
  clients_.clear();    // no reconnects; open connections close (their pending fail)
  group_->shutdown();  // the rest closes, the loops end
  std::deque<Queued> left;
  {
    std::lock_guard lock(mu_);
    left.swap(queue_);
  }
  for (Queued& q : left) std::move(q.done)(absl::CancelledError("client pool shut down"));
}

absl::Status ClientPool::call(std::string request, Callback done) {
  if (locked_admission()) return admit_locked(request, done);
  size_t now = in_flight_.load(std::memory_order_relaxed);
  do {
    if (opts_.max_in_flight != 0 && now >= opts_.max_in_flight) {
      n_.rejected_in_flight.fetch_add(1, std::memory_order_relaxed);
      return absl::ResourceExhaustedError(
          absl::StrCat("client pool: ", opts_.max_in_flight, " requests in flight, queue full"));
    }
  } while (!in_flight_.compare_exchange_weak(now, now + 1, std::memory_order_relaxed));
  n_.calls.fetch_add(1, std::memory_order_relaxed);
  note_peak(now + 1);
  dispatch(std::move(request), std::move(done));
  return absl::OkStatus();
}

absl::Status ClientPool::admit_locked(std::string& request, Callback& done) {
  std::unique_lock lock(mu_);
  if (!bucket_.take()) {
    n_.rejected_rate.fetch_add(1, std::memory_order_relaxed);
    return absl::ResourceExhaustedError("client pool: rate limit");
  }
  const size_t now = in_flight_.load(std::memory_order_relaxed);
  if (opts_.max_in_flight == 0 || now < opts_.max_in_flight) {
    in_flight_.store(now + 1, std::memory_order_relaxed);
    n_.calls.fetch_add(1, std::memory_order_relaxed);
    note_peak(now + 1);
    lock.unlock();
    dispatch(std::move(request), std::move(done));
    return absl::OkStatus();
  }
  if (queue_.size() < opts_.max_queued) {
    queue_.push_back({std::move(request), std::move(done)});
    n_.calls.fetch_add(1, std::memory_order_relaxed);
    n_.queued_total.fetch_add(1, std::memory_order_relaxed);
    return absl::OkStatus();
  }
  n_.rejected_in_flight.fetch_add(1, std::memory_order_relaxed);
  return absl::ResourceExhaustedError(
      absl::StrCat("client pool: ", opts_.max_in_flight, " requests in flight, queue full"));
}

void ClientPool::note_peak(size_t in_flight) {
  uint64_t peak = n_.peak.load(std::memory_order_relaxed);
  while (in_flight > peak &&
         !n_.peak.compare_exchange_weak(peak, in_flight, std::memory_order_relaxed)) {
  }
}

int ClientPool::own_reactor() {
  Reactor* r = Reactor::current();
  if (!opts_.local_first || r == nullptr || r->index() >= group_->size() ||
      &group_->reactor(r->index()) != r) {
    return -1;
  }
  return static_cast<int>(r->index());
}

void ClientPool::dispatch(std::string request, Callback done) {
  const size_t n = clients_.size();
  const int own = own_reactor();
  int pick = -1;
  ConnHandle h;
  // Pass 0: the connections on the caller's own reactor (local_first); pass 1: all.
  for (int pass = own >= 0 ? 0 : 1; pass < 2 && pick < 0; ++pass) {
    auto eligible = [&](size_t i) {
      return pass == 1 || clients_[i]->reactor_index() == static_cast<size_t>(own);
    };
    if (opts_.pick == ClientPoolOptions::Pick::kRoundRobin) {
      const uint32_t start = next_rr_.fetch_add(1, std::memory_order_relaxed);
      for (size_t k = 0; k < n && pick < 0; ++k) {
        const size_t i = (start + k) % n;
        if (eligible(i) && (h = clients_[i]->handle()).valid()) pick = static_cast<int>(i);
      }
    } else {
      // The least loaded by the counts alone first: one handle() read, not one per connection,
      // when that one is up (as it almost always is); else the scan that skips those down.
      uint32_t best = UINT32_MAX;
      for (size_t i = 0; i < n; ++i) {
        const uint32_t load = pending_[i].load(std::memory_order_relaxed);
        if (load < best && eligible(i)) {
          best = load;
          pick = static_cast<int>(i);
        }
      }
      if (pick >= 0 && (h = clients_[pick]->handle()).valid()) break;
      pick = -1;
      best = UINT32_MAX;
      for (size_t i = 0; i < n; ++i) {
        if (!eligible(i)) continue;
        ConnHandle c = clients_[i]->handle();
        uint32_t load = pending_[i].load(std::memory_order_relaxed);
        if (c.valid() && load < best) {
          best = load;
          h = c;
          pick = static_cast<int>(i);
        }
      }
    }
  }
  if (pick < 0) {
    n_.no_connection.fetch_add(1, std::memory_order_relaxed);
    fail(kNoClient, std::move(done), "no connection is up");
    return;
  }
  const auto client = static_cast<uint32_t>(pick);
  pending_[client].fetch_add(1, std::memory_order_relaxed);
  if (own >= 0 && h.reactor_index() == static_cast<uint32_t>(own)) {  // no task, no hop
    if (Connection* c = group_->table(own).lookup(h.slot(), h.generation())) {
      handler_->send(*c, client, request, done);
    } else {
      fail(client, std::move(done), "connection closed before the request was sent");
    }
    return;
  }
  ConnHandle::Visit visit = [this, client, request = std::move(request),
                             done = std::move(done)](Connection* c) mutable {
    if (c == nullptr) {
      fail(client, std::move(done), "connection closed before the request was sent");
    } else {
      handler_->send(*c, client, request, done);
    }
  };
  if (!h.run(visit).ok()) std::move(visit)(nullptr);  // the reactor's queue is full
}

void ClientPool::fail(uint32_t client, Callback done, std::string_view why) {
  std::move(done)(
      absl::UnavailableError(absl::StrCat("request to ", opts_.endpoint, ": ", std::string(why))));
  finish_one(client);
}

void ClientPool::finish_one(uint32_t client) {
  if (client != kNoClient) pending_[client].fetch_sub(1, std::memory_order_relaxed);
  if (!locked_admission()) {
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  std::unique_lock lock(mu_);
  if (queue_.empty()) {
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  Queued next = std::move(queue_.front());  // takes over the ending request's room
  queue_.pop_front();
  lock.unlock();
  dispatch(std::move(next.request), std::move(next.done));
}

ClientPool::OnReactor& ClientPool::counters(const Connection& c) {
  return on_reactor_[c.handle().reactor_index()];
}

size_t ClientPool::connected() const {
  size_t n = 0;
  for (const auto& c : clients_) n += c->handle().valid() ? 1 : 0;
  return n;
}

ClientPool::Stats ClientPool::stats() const {
  Stats s;
  s.calls = n_.calls.load();
  s.no_connection = n_.no_connection.load();
  s.rejected_in_flight = n_.rejected_in_flight.load();
  s.rejected_rate = n_.rejected_rate.load();
  s.queued_total = n_.queued_total.load();
  s.peak_in_flight = n_.peak.load();
  s.per_reactor.resize(group_->size());
  for (size_t r = 0; r < group_->size(); ++r) {
    ReactorStats& p = s.per_reactor[r];
    const OnReactor& n = on_reactor_[r];
    p.sent = n.sent.get();
    p.answered = n.answered.get();
    p.timed_out = n.timed_out.get();
    p.failed_disconnect = n.failed_disconnect.get();
    p.late_replies = n.late.get();
    s.sent += p.sent;
    s.answered += p.answered;
    s.timed_out += p.timed_out;
    s.failed_disconnect += p.failed_disconnect;
    s.late_replies += p.late_replies;
  }
  for (const auto& c : clients_) {
    if (c->handle().valid()) ++s.per_reactor[c->reactor_index()].connected;
  }
  for (const ReactorStats& p : s.per_reactor) s.connected += p.connected;
  s.connections = clients_.size();
  std::lock_guard lock(mu_);
  s.in_flight = in_flight_.load(std::memory_order_relaxed);
  s.queued = queue_.size();
  return s;
}

}  // namespace percore

namespace percore {
namespace {

// A label value: backslash, quote and newline escaped, as the text format asks.
std::string LabelValue(std::string_view v) {
  std::string out;
  for (char ch : v) {
    if (ch == '\\' || ch == '"') out += '\\';
    out += ch == '\n' ? 'n' : ch;
  }
  return out;
}

struct PoolMetric {
  const char* name;
  const char* type;
  uint64_t ClientPool::Stats::*value;
};
constexpr PoolMetric kPoolMetrics[] = {
    {"calls_total", "counter", &ClientPool::Stats::calls},
    {"sent_total", "counter", &ClientPool::Stats::sent},
    {"replies_total", "counter", &ClientPool::Stats::answered},
    {"timeouts_total", "counter", &ClientPool::Stats::timed_out},
    {"late_replies_dropped_total", "counter", &ClientPool::Stats::late_replies},
    {"failed_disconnect_total", "counter", &ClientPool::Stats::failed_disconnect},
    {"failed_no_connection_total", "counter", &ClientPool::Stats::no_connection},
    {"refused_in_flight_total", "counter", &ClientPool::Stats::rejected_in_flight},
    {"refused_rate_total", "counter", &ClientPool::Stats::rejected_rate},
    {"queued_total", "counter", &ClientPool::Stats::queued_total},
    {"in_flight", "gauge", &ClientPool::Stats::in_flight},
    {"queued", "gauge", &ClientPool::Stats::queued},
    {"peak_in_flight", "gauge", &ClientPool::Stats::peak_in_flight},
    {"connected", "gauge", &ClientPool::Stats::connected},
    {"connections", "gauge", &ClientPool::Stats::connections},
};

struct ReactorMetric {
  const char* name;
  const char* type;
  uint64_t ClientPool::ReactorStats::*value;
};
constexpr ReactorMetric kReactorMetrics[] = {
    {"sent_total", "counter", &ClientPool::ReactorStats::sent},
    {"replies_total", "counter", &ClientPool::ReactorStats::answered},
    {"timeouts_total", "counter", &ClientPool::ReactorStats::timed_out},
    {"late_replies_dropped_total", "counter", &ClientPool::ReactorStats::late_replies},
    {"failed_disconnect_total", "counter", &ClientPool::ReactorStats::failed_disconnect},
    {"connected", "gauge", &ClientPool::ReactorStats::connected},
};

}  // namespace

void ClientPool::Stats::AppendPrometheus(std::string& out, std::string_view pool) const {
  const std::string label = LabelValue(pool);
  for (const PoolMetric& m : kPoolMetrics) {
    absl::StrAppend(&out, "# TYPE percore_client_pool_", m.name, " ", m.type,
                    "\npercore_client_pool_", m.name, "{pool=\"", label, "\"} ", this->*m.value,
                    "\n");
  }
  for (const ReactorMetric& m : kReactorMetrics) {
    absl::StrAppend(&out, "# TYPE percore_client_pool_reactor_", m.name, " ", m.type, "\n");
    for (size_t r = 0; r < per_reactor.size(); ++r) {
      absl::StrAppend(&out, "percore_client_pool_reactor_", m.name, "{pool=\"", label,
                      "\",reactor=\"", r, "\"} ", per_reactor[r].*m.value, "\n");
    }
  }
}

MetricsRegistry::Registration ClientPool::export_metrics(MetricsRegistry& registry) const {
  std::string name = opts_.name.empty() ? opts_.endpoint : opts_.name;
  return registry.add([this, name](std::string& out) { stats().AppendPrometheus(out, name); });
}

}  // namespace percore
