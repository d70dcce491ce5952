#include "net/tcp_client.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <chrono>
#include <cstring>
#include <future>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "net/connection.h"

namespace percore {
namespace {

constexpr uint64_t kNoConn = ~uint64_t{0};

absl::Status FailureStatus(const std::string& endpoint, ConnectError e, int err) {
  std::string msg = absl::StrCat("connect to ", endpoint, ": ", ConnectErrorName(e));
  if (err != 0) absl::StrAppend(&msg, " (", std::strerror(err), ")");
  switch (e) {
    case ConnectError::kTimeout:
      return absl::DeadlineExceededError(msg);
    case ConnectError::kCancelled:
      return absl::CancelledError(msg);
    case ConnectError::kResolve:
      return absl::NotFoundError(msg);
    default:
      return absl::UnavailableError(msg);
  }
}

}  // namespace

// The client's state on its reactor: everything here but the atomics is touched only on that
// thread. Shared by the TcpClient, the table (while a connect or connection is under way) and
// posted tasks; the retry timer holds it weakly.
class TcpClient::Core final : public ConnectObserver, public std::enable_shared_from_this<Core> {
 public:
  Core(ConnTable& table, Address addr, std::string endpoint, ClientOptions options,
       ResolverThread* resolver, ResolverThread::Resolve resolve)
      : table_(table),
        addr_(addr),
        endpoint_(std::move(endpoint)),
        opts_(std::move(options)),
        resolver_(resolver),
        resolve_(std::move(resolve)),
        backoff_(opts_.reconnect, opts_.rng) {}

  // The retry timer fired: a host name is resolved again first (its address may have moved).
  void reconnect_now() {
    retry_ = TimerWheel::kNoTimer;
    if (stopping_) return;
    if (resolver_ == nullptr) {
      connect_now();
      return;
    }
    state_.store(ClientState::kResolving, std::memory_order_relaxed);
    resolver_->request(table_.reactor(), endpoint_, resolve_,
                       [w = weak_from_this()](absl::StatusOr<Address> a) {
                         if (std::shared_ptr<Core> self = w.lock()) self->on_resolved(std::move(a));
                       });
  }

  void on_resolved(absl::StatusOr<Address> a) {
    if (stopping_) return;
    if (!a.ok()) {
      if (opts_.on_connect_failed) {
        opts_.on_connect_failed(
            {ConnectError::kResolve,
             absl::NotFoundError(absl::StrCat("connect to ", endpoint_, ": ",
                                              ConnectErrorName(ConnectError::kResolve), " (",
                                              a.status().message(), ")"))});
      }
      retry_later();
      return;
    }
    addr_ = *a;
    connect_now();
  }

  void connect_now() {
    if (stopping_) return;
    state_.store(ClientState::kConnecting, std::memory_order_relaxed);
    ConnHandle h = table_.connect(addr_, opts_.connect_timeout, shared_from_this());
    // A failure inside connect() already scheduled the retry; a Unix socket may be open by now.
    if (h.valid() && state_.load(std::memory_order_relaxed) == ClientState::kConnecting) conn_ = h;
  }

  void stop_now() {
    if (stopping_) return;
    stopping_ = true;
    if (retry_ != TimerWheel::kNoTimer) table_.reactor().timers().cancel(retry_);
    retry_ = TimerWheel::kNoTimer;
    if (conn_.valid() && !table_.cancel_connect(conn_.slot(), conn_.generation())) {
      if (Connection* c = table_.lookup(conn_.slot(), conn_.generation())) c->close();
    }
    conn_ = {};
    open_.store(kNoConn, std::memory_order_relaxed);
    state_.store(ClientState::kStopped, std::memory_order_relaxed);
  }

  void on_connected(Connection& c) override {
    conn_ = c.handle();
    connected_at_ = table_.reactor().now_ms();
    open_.store(uint64_t{conn_.slot()} | (uint64_t{conn_.generation()} << 32),
                std::memory_order_release);
    state_.store(ClientState::kConnected, std::memory_order_release);
  }

  void on_connect_failed(ConnectError e, int err) override {
    conn_ = {};
    if (stopping_) return;
    if (opts_.on_connect_failed) opts_.on_connect_failed({e, FailureStatus(endpoint_, e, err)});
    retry_later();
  }

  void on_disconnected(CloseReason) override {
    conn_ = {};
    open_.store(kNoConn, std::memory_order_relaxed);
    if (stopping_) return;
    // A connection that stayed up long enough proves the peer healthy again: start over.
    const uint64_t up = table_.reactor().now_ms() - connected_at_;
    if (up >= static_cast<uint64_t>(absl::ToInt64Milliseconds(opts_.reconnect.reset_after))) {
      backoff_.reset();
    }
    retry_later();
  }

  ConnHandle handle() const {
    uint64_t v = open_.load(std::memory_order_acquire);
    if (v == kNoConn) return {};
    return ConnHandle(&table_, static_cast<uint32_t>(v), static_cast<uint32_t>(v >> 32));
  }

  std::atomic<ClientState> state_{ClientState::kIdle};
  std::atomic<uint64_t> last_delay_{0};
  std::atomic<uint32_t> attempts_{0};

 private:
  void retry_later() {
    if (!opts_.reconnect.enabled || table_.shutting_down()) {
      state_.store(ClientState::kStopped, std::memory_order_relaxed);
      return;
    }
    const uint64_t delay = backoff_.next_ms();
    last_delay_.store(delay, std::memory_order_relaxed);
    attempts_.store(backoff_.attempts(), std::memory_order_relaxed);
    state_.store(ClientState::kWaiting, std::memory_order_relaxed);
    if (opts_.on_reconnect_scheduled) opts_.on_reconnect_scheduled(delay);
    Reactor& r = table_.reactor();
    retry_ = r.timers().add(r.now_ms() + delay, [w = weak_from_this()] {
      if (std::shared_ptr<Core> self = w.lock()) self->reconnect_now();
    });
  }

  ConnTable& table_;
  Address addr_;  // resolved again before each reconnect for a host name
  const std::string endpoint_;
  const ClientOptions opts_;
  ResolverThread* const resolver_;  // the group's; null: nothing to resolve
  const ResolverThread::Resolve resolve_;
  Backoff backoff_;
  TimerWheel::TimerId retry_ = TimerWheel::kNoTimer;
  ConnHandle conn_;  // the connection connecting or open, for stop()
  uint64_t connected_at_ = 0;
  bool stopping_ = false;
  std::atomic<uint64_t> open_{kNoConn};  // slot | gen << 32 of the open connection
};

bool IsHostName(const std::string& endpoint) {
  if (endpoint.rfind("unix:", 0) == 0) return false;
  size_t colon = endpoint.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;  // Parse says what is wrong
  std::string host = endpoint.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') return false;
  in6_addr buf;
  return ::inet_pton(AF_INET, host.c_str(), &buf) != 1 &&
         ::inet_pton(AF_INET6, host.c_str(), &buf) != 1;
}

absl::StatusOr<Address> ResolveEndpoint(const std::string& endpoint) {
  // Address::Parse maps "localhost" to 127.0.0.1 for listeners; a client asks the resolver
  // (/etc/hosts may say ::1, or something else entirely).
  if (!IsHostName(endpoint)) return Address::Parse(endpoint);
  auto literal = Address::Parse(endpoint);
  size_t colon = endpoint.rfind(':');
  if (colon == std::string::npos || colon == 0) return literal.status();
  std::string host = endpoint.substr(0, colon);
  std::string port = endpoint.substr(colon + 1);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    // "localhost" is loopback whatever the host's files say (RFC 6761 6.3): a bare container
    // root without /etc/hosts must not lose it. Address::Parse maps it to 127.0.0.1.
    if (literal.ok() && absl::AsciiStrToLower(host) == "localhost") return literal;
    return absl::NotFoundError(absl::StrFormat("resolve '%s': %s", endpoint, ::gai_strerror(rc)));
  }
  Address a = Address::FromSockaddr(res->ai_addr, res->ai_addrlen);
  ::freeaddrinfo(res);
  return a;
}

TcpClient::TcpClient(ClientGroup& group, size_t reactor, std::string endpoint,
                     ClientOptions options)
    : group_(group),
      reactor_(reactor % group.size()),
      endpoint_(std::move(endpoint)),
      options_(std::move(options)) {}

TcpClient::~TcpClient() { stop(); }

absl::Status TcpClient::start() {
  if (Reactor::current() != nullptr) {
    return absl::FailedPreconditionError("TcpClient::start resolves names: not on a reactor");
  }
  if (core_ != nullptr) return absl::FailedPreconditionError("TcpClient already started");
  // Literals and Unix paths need no resolver (nor a thread for it).
  const bool name = IsHostName(endpoint_);
  ResolverThread::Resolve resolve = options_.resolver;
  if (resolve == nullptr) resolve = ResolveEndpoint;
  auto addr = name ? resolve(endpoint_) : ResolveEndpoint(endpoint_);
  if (!addr.ok()) return addr.status();
  addr_ = *addr;
  core_ = std::make_shared<Core>(group_.table(reactor_), addr_, endpoint_, std::move(options_),
                                 name ? &group_.resolver() : nullptr, std::move(resolve));
  core_->state_.store(ClientState::kConnecting);
  if (!group_.reactor(reactor_).post([c = core_] { c->connect_now(); })) {
    return absl::ResourceExhaustedError("TcpClient::start: the reactor's task queue is full");
  }
  return absl::OkStatus();
}

void TcpClient::stop() { stop_core(); }

void TcpClient::stop_core() {
  if (core_ == nullptr || !group_.running()) return;
  Reactor& r = group_.reactor(reactor_);
  if (r.in_loop_thread()) {
    core_->stop_now();
    return;
  }
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> applied = done->get_future();
  TaskQueue::Task task = [c = core_, done] {
    c->stop_now();
    done->set_value();
  };
  while (!r.post_or_keep(task)) {
    if (!group_.running()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // Another reactor's thread must not block on this one; a foreign thread waits, so no
  // option callback runs after stop() returned (unless the loops ended meanwhile).
  if (Reactor::current() != nullptr) return;
  while (applied.wait_for(std::chrono::milliseconds(10)) != std::future_status::ready) {
    if (!group_.running()) return;
  }
}

ConnHandle TcpClient::handle() const { return core_ ? core_->handle() : ConnHandle(); }

ClientState TcpClient::state() const {
  return core_ ? core_->state_.load(std::memory_order_acquire) : ClientState::kIdle;
}

uint64_t TcpClient::last_delay_ms() const {
  return core_ ? core_->last_delay_.load(std::memory_order_relaxed) : 0;
}

uint32_t TcpClient::attempts() const {
  return core_ ? core_->attempts_.load(std::memory_order_relaxed) : 0;
}

}  // namespace percore
