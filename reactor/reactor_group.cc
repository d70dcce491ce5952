#include "reactor/reactor_group.h"

#include <pthread.h>
#include <sched.h>

#include "absl/strings/str_cat.h"

namespace percore {

ReactorGroup::ReactorGroup(const Config& config, Reactor::Clock clock) : config_(config) {
  unsigned n = config.threads > 0 ? static_cast<unsigned>(config.threads)
                                  : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) reactors_.push_back(std::make_unique<Reactor>(config, i, clock));
}

ReactorGroup::~ReactorGroup() {
  stop();
  join();
}

absl::Status ReactorGroup::start(std::function<absl::Status(Reactor&)> setup,
                                 std::function<void(Reactor&)> teardown) {
  teardown_ = std::move(teardown);
  // Shared with the threads, which may still be leaving the barrier after start() returns.
  struct StartState {
    std::mutex mu;
    std::condition_variable cv;
    size_t done = 0;
    absl::Status first_error;
  };
  auto state = std::make_shared<StartState>();
  const size_t n = reactors_.size();
  unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  running_ = n;
  for (size_t i = 0; i < n; ++i) {
    threads_.emplace_back([this, setup, state, n, cpus, i, r = reactors_[i].get()] {
      pthread_setname_np(pthread_self(), absl::StrCat("percore-", i).c_str());
      if (config_.pin_cpus) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(i % cpus, &set);
        pthread_setaffinity_np(pthread_self(), sizeof set, &set);
      }
      absl::Status st = setup(*r);
      bool ok;
      {
        // Every reactor must be set up before any loop runs: a hand-off acceptor posts to its
        // siblings from its first turn on.
        std::unique_lock<std::mutex> lock(state->mu);
        if (!st.ok() && state->first_error.ok()) state->first_error = st;
        if (++state->done == n) state->cv.notify_all();
        state->cv.wait(lock, [&] { return state->done == n; });
        ok = state->first_error.ok();
      }
      if (ok) {
        r->run();
        if (teardown_) teardown_(*r);
      }
      std::lock_guard<std::mutex> exit_lock(exit_mu_);
      if (--running_ == 0) exit_cv_.notify_all();
    });
  }
  absl::Status err;
  {
    std::unique_lock<std::mutex> lock(state->mu);
    state->cv.wait(lock, [&] { return state->done == n; });
    err = state->first_error;
  }
  if (!err.ok()) {
    join();
    return err;
  }
  return absl::OkStatus();
}

void ReactorGroup::stop() {
  for (auto& r : reactors_) r->stop();
}

void ReactorGroup::join() {
  for (std::thread& t : threads_) {
    if (t.joinable() && t.get_id() != std::this_thread::get_id()) t.join();
  }
  threads_.clear();
}

void ReactorGroup::wait_exited() {
  std::unique_lock<std::mutex> lock(exit_mu_);
  exit_cv_.wait(lock, [&] { return running_ == 0; });
}

StatsSnapshot ReactorGroup::stats() const {
  StatsSnapshot s;
  for (const auto& r : reactors_) s.add(r->stats());
  if (!reactors_.empty()) {
    const BackendInfo& info = reactors_[0]->backend_info();
    s.backend =
        info.features.empty() ? info.name : absl::StrCat(info.name, " (", info.features, ")");
  }
  return s;
}

}  // namespace percore
