#include "pool/worker_pool.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace percore {

WorkerPool::WorkerPool(Options options) : cap_(std::max<size_t>(options.queue_cap, 1)) {
  const int n = std::max(options.threads, 1);
  threads_.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) threads_.emplace_back([this] { run(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : threads_) t.join();
}

absl::Status WorkerPool::submit(Job& job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return absl::FailedPreconditionError("worker pool is shutting down");
    if (queue_.size() >= cap_) {
      ++counts_.rejected;
      return absl::ResourceExhaustedError(
          absl::StrFormat("worker pool is full (%d jobs queued, queue_cap)", queue_.size()));
    }
    queue_.push_back(std::move(job));
    ++counts_.submitted;
  }
  wake_.notify_one();
  return absl::OkStatus();
}

WorkerPool::Counts WorkerPool::counts() const {
  std::lock_guard<std::mutex> lock(mu_);
  Counts c = counts_;
  c.queued = queue_.size();
  return c;
}

// Jobs queued before the destructor still run: each may own something (a connection's
// result, a reply promised to a caller) that its own code must release.
void WorkerPool::run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left
    Job job = std::move(queue_.front());
    queue_.pop_front();
    ++counts_.running;
    lock.unlock();
    std::move(job)();
    lock.lock();
    --counts_.running;
    ++counts_.done;
  }
}

}  // namespace percore
