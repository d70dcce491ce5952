// TimerWheel: one reactor's timers in a hierarchical hashed wheel: levels of 64 slots (level
// L slots are 64^L ticks wide), an occupancy bitmap per level, O(1) add and cancel, and
// expiry that jumps over empty slots. The wheel never reads a clock: ticks are whatever the
// owner says (the reactor uses milliseconds), so tests drive it with a fake clock. Owned and
// used by one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/functional/any_invocable.h"

namespace percore {

class TimerWheel {
 public:
  using TimerId = uint64_t;  // slot + generation; 0 never names a timer
  static constexpr TimerId kNoTimer = 0;
  using Callback = void (*)(void* ctx, uint64_t arg);  // allocation-free form

  explicit TimerWheel(uint64_t now = 0);
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // Fires once at the first advance() with now >= deadline (a deadline <= now() fires at the
  // next advance). period > 0 repeats it every period ticks, aligned to the first deadline;
  // a wheel that fell behind by several periods fires once and re-arms at the next multiple.
  TimerId add(uint64_t deadline, Callback fn, void* ctx, uint64_t arg, uint64_t period = 0);
  TimerId add(uint64_t deadline, absl::AnyInvocable<void()> fn, uint64_t period = 0);
  bool cancel(TimerId id);  // true if it was pending
  bool pending(TimerId id) const;

  // Moves time to `now` (never backwards) and runs every timer due by then, earlier
  // deadlines first (equal deadlines in the order they were added, within one level).
  // Callbacks may add and cancel timers. Returns the number of callbacks run.
  size_t advance(uint64_t now);
  // No later than the earliest pending deadline (exact within the first 64 ticks; earlier
  // when the first timer sits in a coarser level); nullopt when empty. Reads bitmaps only.
  std::optional<uint64_t> next_expiry() const;
  size_t size() const { return pending_; }
  uint64_t now() const { return now_; }

 private:
  static constexpr int kLevels = 7;  // 64^7 = 2^42 ticks before clamping to the top level
  static constexpr uint32_t kNil = 0xFFFFFFFFu;
  static constexpr uint8_t kDueList = kLevels;  // "level" of timers already due at add time
  enum class State : uint8_t { kFree, kPending, kFiring, kCancelled };

  struct Node {
    uint64_t deadline;
    uint64_t period;
    void* ctx;
    uint64_t arg;
    Callback fn;
    uint32_t prev, next;
    uint32_t gen;
    uint8_t level, slot;
    State state;
  };

  static void RunStored(void* ctx, uint64_t index);
  uint32_t alloc_node();
  void free_node(uint32_t i);
  void insert(uint32_t i);
  void unlink(uint32_t i);
  void take_list(uint32_t& head, std::vector<uint32_t>& out);
  Node* node_of(TimerId id);

  uint64_t now_;
  size_t pending_ = 0;
  std::vector<Node> nodes_;
  std::vector<uint32_t> free_;
  std::vector<std::unique_ptr<absl::AnyInvocable<void()>>> stored_;  // AnyInvocable form
  uint32_t heads_[kLevels][64];
  uint64_t occupied_[kLevels] = {};
  uint32_t due_head_ = kNil;
  std::vector<uint32_t> batch_, due_;
};

}  // namespace percore
