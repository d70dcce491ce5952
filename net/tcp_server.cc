#include "net/tcp_server.h"

#include <chrono>
#include <future>
#include <thread>

#include "absl/strings/str_cat.h"
#include "net/socket.h"

namespace percore {

TcpServer::TcpServer(const Config& config, std::unique_ptr<HandlerOps> handler,
                     Reactor::Clock clock)
    : config_(config), handler_(std::move(handler)), group_(config, std::move(clock)) {
  tables_.resize(group_.size());
  shared_.tables.resize(group_.size());
  for (size_t i = 0; i < group_.size(); ++i) sinks_.push_back(std::make_unique<ReactorTables>());
}

TcpServer::~TcpServer() {
  if (started_) shutdown();
}

absl::Status TcpServer::start() {
  if (started_) return absl::FailedPreconditionError("server already started");
  if (absl::Status s = config_.Validate(); !s.ok()) return s;
  auto addr = Address::Parse(config_.listen);
  if (!addr.ok()) return addr.status();
  bool reuse = config_.accept_mode == AcceptMode::kReusePort && !addr->is_unix();
  if (addr->is_unix() && config_.accept_mode == AcceptMode::kReusePort) {
    config_.accept_mode = AcceptMode::kRoundRobin;  // no SO_REUSEPORT for Unix sockets
  }
  // Bind every listener here, so a port in use fails start() before any thread runs.
  std::vector<Fd> listeners;
  size_t n = reuse ? group_.size() : 1;
  Address a = *addr;
  for (size_t i = 0; i < n; ++i) {
    auto fd = Listen(a, config_.backlog, reuse, &config_);
    if (!fd.ok()) return fd.status();
    if (i == 0) {
      auto local = LocalAddress(fd->get());
      if (!local.ok()) return local.status();
      bound_ = addr->is_unix() ? *addr : *local;
      a = bound_;  // the others join the same port, also when port 0 picked it
    }
    listeners.push_back(std::move(*fd));
  }
  shared_.admission.configure(config_);
  // Tables are built on their reactor's thread; publish the list before any accept happens.
  for (size_t i = 0; i < group_.size(); ++i) {
    tables_[i] = std::make_unique<ConnTable>(group_.at(i), *handler_, shared_);
    shared_.tables[i] = tables_[i].get();
    sinks_[i]->set_server(tables_[i].get());
  }
  absl::Status st = group_.start(
      [&](Reactor& r) -> absl::Status {
        ConnTable* t = tables_[r.index()].get();
        ReactorTables* sink = sinks_[r.index()].get();
        if (absl::Status s = r.init(sink); !s.ok()) return s;
        r.set_turn_end([sink] { sink->turn_end(); });
        if (r.index() < listeners.size()) {
          uint32_t id = r.index();
          if (absl::Status s = r.backend().add_listener(listeners[id].release(), id); !s.ok()) {
            return s;
          }
          t->add_listener_id(id);
        }
        return absl::OkStatus();
      },
      [this](Reactor& r) { sinks_[r.index()]->close_all(); });
  if (!st.ok()) {
    for (auto& sink : sinks_) sink->drop_client();  // attached before start: no loop to leave
    return st;
  }
  started_ = true;
  return absl::OkStatus();
}

void TcpServer::shutdown() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  for (size_t i = 0; i < group_.size(); ++i) {
    ReactorTables* t = sinks_[i].get();
    // A full queue is transient: the reactor drains it every turn.
    while (!group_.at(i).post([t] { t->begin_shutdown(); })) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  group_.join();
}

void TcpServer::wait() { group_.wait_exited(); }

absl::Status TcpServer::attach_clients(std::span<ConnTable* const> tables,
                                       std::function<void(size_t)> on_detached) {
  if (stopped_) return absl::FailedPreconditionError("the server is shut down");
  if (tables.size() != sinks_.size()) {
    return absl::InvalidArgumentError("attach_clients: one table per reactor");
  }
  auto detached_from = [on_detached](size_t i) { return [on_detached, i] { on_detached(i); }; };
  size_t refused = 0;
  if (!started_) {
    for (size_t i = 0; i < sinks_.size(); ++i) {
      refused += sinks_[i]->attach(tables[i], detached_from(i)) ? 0 : 1;
    }
  } else {
    std::vector<std::future<bool>> applied;
    for (size_t i = 0; i < sinks_.size(); ++i) {
      auto done = std::make_shared<std::promise<bool>>();
      applied.push_back(done->get_future());
      TaskQueue::Task task = [sink = sinks_[i].get(), t = tables[i], d = detached_from(i), done] {
        done->set_value(sink->attach(t, d));
      };
      while (!group_.at(i).post_or_keep(task)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    for (auto& a : applied) refused += a.get() ? 0 : 1;
  }
  if (refused != 0) {
    return absl::FailedPreconditionError(
        "attach_clients: the server is shutting down, or a client group is attached already");
  }
  return absl::OkStatus();
}

std::string TcpServer::startup_note() const {
  StatsSnapshot s = group_.stats();
  std::string note = absl::StrCat("percore: listening on ", bound_.ToString(), ", ", s.reactors,
                                  " reactor(s), backend ", s.backend, ", accept ",
                                  AcceptModeName(config_.accept_mode));
  if (group_.size() > 0) {
    const std::string& fb = const_cast<ReactorGroup&>(group_).at(0).fallback_note();
    if (!fb.empty()) absl::StrAppend(&note, "\n", fb);
  }
  return note;
}

}  // namespace percore
