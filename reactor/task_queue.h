// TaskQueue: the bounded multi-producer, single-consumer queue through which other threads
// reach a reactor. Producers learn whether they made it non-empty (then they wake the
// reactor: one wake-up per batch) or found it full (an answer, never a block). The reactor
// thread drains it once per loop turn. A plain std::mutex: posts are off the I/O hot path,
// and it keeps ThreadSanitizer exact (Debian's absl is not TSan-instrumented).
#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

#include "absl/functional/any_invocable.h"

namespace percore {

class TaskQueue {
 public:
  using Task = absl::AnyInvocable<void() &&>;
  enum class Push { kFirst, kMore, kFull };

  explicit TaskQueue(size_t cap) : cap_(cap) {}

  // Takes the task unless the queue is full: then `task` is left as it was, so the caller
  // can still run it or release what it holds.
  Push push(Task& task) {
    std::lock_guard<std::mutex> lock(mu_);
    if (tasks_.size() >= cap_) return Push::kFull;
    tasks_.push_back(std::move(task));
    return tasks_.size() == 1 ? Push::kFirst : Push::kMore;
  }

  // Moves every queued task into `out` (which should be empty); returns how many.
  size_t drain(std::vector<Task>& out) {
    std::lock_guard<std::mutex> lock(mu_);
    out.swap(tasks_);
    return out.size();
  }

  bool empty() const {
    std::lock_guard<std::mutex> lock(mu_);
    return tasks_.empty();
  }

 private:
  mutable std::mutex mu_;
  std::vector<Task> tasks_;
  size_t cap_;
};

}  // namespace percore
