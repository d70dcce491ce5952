#include "net/resolver_thread.h"

#include <chrono>

#include "reactor/reactor.h"

namespace percore {

ResolverThread::~ResolverThread() { shutdown(); }

void ResolverThread::request(Reactor& reactor, std::string endpoint, Resolve resolve, Done done) {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    queue_.push_back({&reactor, std::move(endpoint), std::move(resolve), std::move(done)});
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  }
  cv_.notify_one();
}

void ResolverThread::shutdown() {
  std::thread t;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    queue_.clear();
    t = std::move(thread_);
  }
  cv_.notify_one();
  if (t.joinable()) t.join();
}

void ResolverThread::run() {
  for (;;) {
    Request r;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      r = std::move(queue_.front());
      queue_.pop_front();
    }
    absl::StatusOr<Address> result = r.resolve(r.endpoint);
    TaskQueue::Task task = [done = std::move(r.done), result = std::move(result)]() mutable {
      std::move(done)(std::move(result));
    };
    // A full task queue is waited out here (this thread may block; the reactor may not).
    while (!r.reactor->post_or_keep(task)) {
      {
        std::lock_guard lock(mu_);
        if (stop_) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
}

}  // namespace percore
