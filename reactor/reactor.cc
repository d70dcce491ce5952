#include "reactor/reactor.h"

#include <time.h>

#include <algorithm>
#include <climits>

namespace percore {

thread_local Reactor* Reactor::current_ = nullptr;

namespace {

constexpr uint64_t kPoolTrimMs = 1000;

uint64_t MonotonicMs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

int64_t MonotonicNs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

}  // namespace

Reactor::Reactor(const Config& config, uint32_t index, Clock clock)
    : config_(config),
      index_(index),
      clock_(clock ? std::move(clock) : Clock(MonotonicMs)),
      now_(clock_()),
      timers_(now_),
      pool_(config.chunk_size, config.max_chunks),
      tasks_(config.task_queue_cap),
      busy_poll_ns_(absl::ToInt64Nanoseconds(config.busy_poll)) {}

Reactor::~Reactor() {
  if (current_ == this) current_ = nullptr;
}

uint64_t Reactor::clock_ms() const { return clock_(); }

absl::Status Reactor::init(IoSink* sink) {
  auto backend = MakeBackend(config_.backend, config_, sink, &fallback_note_);
  if (!backend.ok()) return backend.status();
  backend_ = std::move(*backend);
  info_ = backend_->info();
  current_ = this;
  return absl::OkStatus();
}

bool Reactor::post_or_keep(TaskQueue::Task& task) {
  switch (tasks_.push(task)) {
    case TaskQueue::Push::kFull:
      stats_.posts_dropped.add_shared();  // posters on several threads
      return false;
    case TaskQueue::Push::kFirst:
      has_tasks_.store(true, std::memory_order_release);
      if (!in_loop_thread() && backend_) backend_->wake();
      return true;
    case TaskQueue::Push::kMore:
      return true;
  }
  return false;
}

void Reactor::stop() {
  stop_.store(true, std::memory_order_release);
  if (!in_loop_thread() && backend_) backend_->wake();
}

int Reactor::wait_timeout() const {
  if (has_tasks_.load(std::memory_order_acquire) || stop_.load(std::memory_order_acquire)) {
    return 0;
  }
  std::optional<uint64_t> next = timers_.next_expiry();
  if (!next) return -1;
  uint64_t now = clock_ms();
  if (*next <= now) return 0;
  return static_cast<int>(std::min<uint64_t>(*next - now, INT_MAX));
}

void Reactor::run_tasks() {
  if (!has_tasks_.exchange(false, std::memory_order_acq_rel)) return;
  tasks_.drain(running_);
  stats_.tasks.add(running_.size());
  for (TaskQueue::Task& t : running_) std::move(t)();
  running_.clear();
}

int Reactor::poll_once() {
  int timeout = wait_timeout();
  if (timeout != 0 && busy_poll_ns_ > 0) {
    // Non-blocking polls until work shows up or the window ends. The window ends at the next
    // timer too, so timers fire on time, and a post or stop() ends it (their wake-up is an
    // event as well, but the flags are cheaper to see).
    const int64_t window =
        timeout > 0 ? std::min<int64_t>(busy_poll_ns_, int64_t{timeout} * 1000000) : busy_poll_ns_;
    const int64_t until = MonotonicNs() + window;
    do {
      if (int n = backend_->poll(0); n > 0) {
        stats_.busy_polls.add();
        return n;
      }
      if (has_tasks_.load(std::memory_order_acquire) || stop_.load(std::memory_order_acquire)) {
        return 0;
      }
    } while (MonotonicNs() < until);
    timeout = wait_timeout();  // the spin took time off the next timer
  }
  if (timeout != 0 && !backend_->has_pending()) stats_.sleeps.add();  // else it does not wait
  return backend_->poll(timeout);
}

void Reactor::run() {
  current_ = this;
  while (!stop_.load(std::memory_order_acquire)) {
    int n = poll_once();
    now_ = clock_ms();
    run_tasks();
    timers_.advance(now_);
    if (turn_end_) turn_end_();
    if (!trim_armed_ && pool_.has_surplus()) {
      // Armed only while chunks are cached beyond the floor: an idle reactor still sleeps.
      trim_armed_ = true;
      timers_.add(now_ + kPoolTrimMs, [this] {
        trim_armed_ = false;
        pool_.trim();
      });
    }
    stats_.loop_turns.add();
    stats_.events.add(static_cast<uint64_t>(n));
  }
  // Posts that arrived after stop: run them so resources they carry are released.
  run_tasks();
}

}  // namespace percore
