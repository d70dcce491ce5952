#include "net/client_group.h"

#include <chrono>
#include <thread>

namespace percore {

ClientGroup::ClientGroup(const Config& config, std::unique_ptr<HandlerOps> handler,
                         Reactor::Clock clock)
    : config_(config), handler_(std::move(handler)), group_(config, std::move(clock)) {
  tables_.resize(group_.size());
  shared_.tables.resize(group_.size());
}

ClientGroup::~ClientGroup() { shutdown(); }

absl::Status ClientGroup::start() {
  if (running() || stopped_) return absl::FailedPreconditionError("client group already started");
  if (absl::Status s = config_.Validate(); !s.ok()) return s;
  for (size_t i = 0; i < group_.size(); ++i) {
    tables_[i] = std::make_unique<ConnTable>(group_.at(i), *handler_, shared_);
    shared_.tables[i] = tables_[i].get();
  }
  absl::Status st = group_.start(
      [&](Reactor& r) -> absl::Status {
        ConnTable* t = tables_[r.index()].get();
        if (absl::Status s = r.init(t); !s.ok()) return s;
        r.set_turn_end([t] { t->turn_end(); });
        return absl::OkStatus();
      },
      [this](Reactor& r) { tables_[r.index()]->close_all(); });
  if (!st.ok()) return st;
  running_.store(true, std::memory_order_release);
  return absl::OkStatus();
}

void ClientGroup::shutdown() {
  if (!running() || stopped_) return;
  stopped_ = true;
  for (size_t i = 0; i < group_.size(); ++i) {
    ConnTable* t = tables_[i].get();
    // begin_shutdown stops the loop once its open connections are gone; connects still under
    // way are cancelled when the loop ends (close_all), and back-off timers never fire.
    while (!group_.at(i).post([t] { t->begin_shutdown(); })) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  group_.join();
  running_.store(false, std::memory_order_release);
}

}  // namespace percore
