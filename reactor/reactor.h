// Reactor: one event loop on one thread. It owns its Backend, TimerWheel, BufferPool, task
// queue and counters; everything it owns is touched only by its thread, except post()/stop()
// and the counters' snapshot. The connections themselves belong to its IoSink (net/ConnTable).
//
// One loop turn: wait in the backend (deadline from the timer wheel; with Config::busy_poll,
// non-blocking polls first), deliver its events, run posted tasks, fire due timers, then the
// turn-end hook (flush output, release slots).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "pool/buffer_pool.h"
#include "reactor/backend.h"
#include "reactor/config.h"
#include "reactor/stats.h"
#include "reactor/task_queue.h"
#include "reactor/timer_wheel.h"

namespace percore {

class Reactor {
 public:
  // Milliseconds on a monotonic clock; injectable so timer behaviour is testable exactly.
  using Clock = std::function<uint64_t()>;

  Reactor(const Config& config, uint32_t index, Clock clock = nullptr);
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  // Creates the backend. Call on the thread that will run() (io_uring is single-issuer).
  absl::Status init(IoSink* sink);
  // Called at the end of every loop turn, on the loop thread.
  void set_turn_end(std::function<void()> fn) { turn_end_ = std::move(fn); }
  void run();   // loops until stop()
  void stop();  // any thread

  // Runs `task` on the loop thread. Any thread; false when the queue is full (nothing queued).
  bool post(TaskQueue::Task task) { return post_or_keep(task); }
  // The same, but a refused task is left in `task` (the caller may run it elsewhere).
  bool post_or_keep(TaskQueue::Task& task);
  bool in_loop_thread() const { return current_ == this; }
  static Reactor* current() { return current_; }

  uint32_t index() const { return index_; }
  // Sampled when the backend's wait returns (before its events) and again before tasks and
  // timers run: twice per turn.
  uint64_t now_ms() const { return now_; }
  void sample_clock() { now_ = clock_ms(); }  // IoSink::on_wake: the wait returned
  uint64_t clock_ms() const;                  // reads the clock now
  const Config& config() const { return config_; }
  Backend& backend() { return *backend_; }
  const BackendInfo& backend_info() const { return info_; }
  const std::string& fallback_note() const { return fallback_note_; }
  TimerWheel& timers() { return timers_; }
  BufferPool& pool() { return pool_; }
  ReactorStats& stats() { return stats_; }
  const ReactorStats& stats() const { return stats_; }

 private:
  void run_tasks();
  int wait_timeout() const;
  int poll_once();  // the turn's wait: busy poll first if configured; returns events seen

  const Config config_;
  const uint32_t index_;
  Clock clock_;
  uint64_t now_ = 0;
  std::unique_ptr<Backend> backend_;
  BackendInfo info_;
  std::string fallback_note_;
  TimerWheel timers_;
  BufferPool pool_;
  TaskQueue tasks_;
  std::vector<TaskQueue::Task> running_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> has_tasks_{false};
  std::function<void()> turn_end_;
  bool trim_armed_ = false;
  const int64_t busy_poll_ns_;
  ReactorStats stats_;
  static thread_local Reactor* current_;
};

}  // namespace percore
