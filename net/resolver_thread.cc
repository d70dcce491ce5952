#include "net/resolver_thread.h"

#include <chrono>

#include "reactor/reactor.h"

namespace percore {

ResolverThread::ResolverThread(Reactor& reactor, std::string endpoint, Resolve resolve)
    : reactor_(reactor),
      endpoint_(std::move(endpoint)),
      resolve_(std::move(resolve)),
      thread_([this] { run(); }) {}

ResolverThread::~ResolverThread() { shutdown(); }

void ResolverThread::request(Done done) {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    pending_ = std::move(done);
  }
  cv_.notify_one();
}

void ResolverThread::shutdown() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    pending_ = nullptr;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void ResolverThread::run() {
  for (;;) {
    Done done;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stop_ || pending_ != nullptr; });
      if (stop_) return;
      done = std::move(pending_);
      pending_ = nullptr;
    }
    absl::StatusOr<Address> result = resolve_(endpoint_);
    TaskQueue::Task task = [done = std::move(done), result = std::move(result)]() mutable {
      std::move(done)(std::move(result));
    };
    // A full task queue is waited out here (this thread may block; the reactor may not).
    while (!reactor_.post_or_keep(task)) {
      {
        std::lock_guard lock(mu_);
        if (stop_) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
}

}  // namespace percore
