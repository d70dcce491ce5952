// WorkerPool: a few threads for blocking work (a database driver, bcrypt, a file read) that
// must never run on a reactor. A bounded queue: submit() answers "full" at once instead of
// blocking its caller, so a reactor that offloads stays a reactor. It knows no event loop: a
// job is any callable, and whoever wants the result back on a loop says so inside it
// (net/offload.h posts it to the submitting connection's reactor). Owned by the application;
// destroying it runs the jobs already queued, then joins the threads.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"

namespace percore {

class WorkerPool {
 public:
  struct Options {
    int threads = 4;
    size_t queue_cap = 4096;  // jobs waiting (not counting the ones running)
  };
  using Job = absl::AnyInvocable<void() &&>;

  explicit WorkerPool(Options options);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Any thread. ResourceExhausted when queue_cap jobs are waiting (the job is not taken: it
  // stays in `job`, so the caller can answer "busy" with what it holds); FailedPrecondition
  // once the pool is being destroyed.
  absl::Status submit(Job& job);
  absl::Status submit(Job&& job) { return submit(job); }

  struct Counts {
    uint64_t submitted = 0, rejected = 0, done = 0;
    size_t queued = 0, running = 0;
  };
  Counts counts() const;
  int threads() const { return static_cast<int>(threads_.size()); }

 private:
  void run();

  const size_t cap_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  Counts counts_;
  std::vector<std::thread> threads_;
};

}  // namespace percore
