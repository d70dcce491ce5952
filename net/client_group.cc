#include "net/client_group.h"

#include <chrono>
#include <thread>

#include "net/tcp_server.h"

namespace percore {

ClientGroup::ClientGroup(const Config& config, std::unique_ptr<HandlerOps> handler,
                         Reactor::Clock clock)
    : config_(config),
      handler_(std::move(handler)),
      own_(std::make_unique<ReactorGroup>(config, std::move(clock))),
      reactors_(own_.get()) {
  tables_.resize(reactors_->size());
  shared_.tables.resize(reactors_->size());
}

ClientGroup::ClientGroup(TcpServer& server, std::unique_ptr<HandlerOps> handler)
    : config_(server.reactors().at(0).config()),
      handler_(std::move(handler)),
      server_(&server),
      reactors_(&server.reactors()) {
  tables_.resize(reactors_->size());
  shared_.tables.resize(reactors_->size());
}

ClientGroup::~ClientGroup() { shutdown(); }

void ClientGroup::make_tables(uint8_t sink) {
  for (size_t i = 0; i < reactors_->size(); ++i) {
    tables_[i] = std::make_unique<ConnTable>(reactors_->at(i), *handler_, shared_, sink);
    shared_.tables[i] = tables_[i].get();
  }
}

absl::Status ClientGroup::start() {
  if (running() || stopped_) return absl::FailedPreconditionError("client group already started");
  if (absl::Status s = config_.Validate(); !s.ok()) return s;
  if (server_ != nullptr) {
    make_tables(/*sink=*/1);
    std::vector<ConnTable*> tables;
    for (auto& t : tables_) tables.push_back(t.get());
    {
      std::lock_guard lock(mu_);
      attached_ = tables.size();
    }
    running_.store(true, std::memory_order_release);
    absl::Status s = server_->attach_clients(tables, [this](size_t i) { detached(i); });
    if (!s.ok()) shutdown();  // the tables attached leave with the server's loops
    return s;
  }
  make_tables(/*sink=*/0);
  for (auto& t : tables_) {
    sinks_.push_back(std::make_unique<ReactorTables>());
    sinks_.back()->set_server(t.get());
  }
  absl::Status st = reactors_->start(
      [&](Reactor& r) -> absl::Status {
        ReactorTables* sink = sinks_[r.index()].get();
        if (absl::Status s = r.init(sink); !s.ok()) return s;
        r.set_turn_end([sink] { sink->turn_end(); });
        return absl::OkStatus();
      },
      [this](Reactor& r) { tables_[r.index()]->close_all(); });
  if (!st.ok()) return st;
  running_.store(true, std::memory_order_release);
  return absl::OkStatus();
}

void ClientGroup::detached(size_t) {
  std::lock_guard lock(mu_);
  if (--attached_ == 0) {
    running_.store(false, std::memory_order_release);
    cv_.notify_all();
  }
}

void ClientGroup::shutdown() {
  resolver_.shutdown();  // first: no answer is posted to a reactor that is about to stop
  if (!running() || stopped_) return;
  stopped_ = true;
  for (size_t i = 0; i < reactors_->size(); ++i) {
    ConnTable* t = tables_[i].get();
    // begin_shutdown cancels connects under way and closes what is open; the table leaves (or
    // the loop stops) once nothing of it is left. A full queue is transient.
    TaskQueue::Task task = [t] { t->begin_shutdown(); };
    while (!reactors_->at(i).post_or_keep(task)) {
      if (!running()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  if (own_ != nullptr) {
    own_->join();
    running_.store(false, std::memory_order_release);
    return;
  }
  // On a server: the tables leave when empty, or when the server's loops end (which may
  // already have happened: then the posted tasks never run, and nothing is waited for).
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return attached_ == 0; });
}

}  // namespace percore
