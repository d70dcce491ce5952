#include "reactor/timer_wheel.h"

#include <algorithm>
#include <bit>
#include <memory>

namespace percore {
namespace {

constexpr int kBits = 6;
constexpr uint64_t kSlots = 64;

}  // namespace

TimerWheel::TimerWheel(uint64_t now) : now_(now) {
  for (auto& level : heads_) std::fill(std::begin(level), std::end(level), kNil);
}

uint32_t TimerWheel::alloc_node() {
  if (!free_.empty()) {
    uint32_t i = free_.back();
    free_.pop_back();
    return i;
  }
  nodes_.push_back(Node{});
  nodes_.back().gen = 1;
  return static_cast<uint32_t>(nodes_.size() - 1);
}

void TimerWheel::free_node(uint32_t i) {
  Node& n = nodes_[i];
  if (n.fn == &TimerWheel::RunStored) stored_[i].reset();
  n.state = State::kFree;
  n.gen = n.gen + 1 == 0 ? 1 : n.gen + 1;
  free_.push_back(i);
}

TimerWheel::Node* TimerWheel::node_of(TimerId id) {
  uint32_t i = static_cast<uint32_t>(id) - 1;
  if (id == kNoTimer || i >= nodes_.size() || nodes_[i].gen != static_cast<uint32_t>(id >> 32)) {
    return nullptr;
  }
  return &nodes_[i];
}

TimerWheel::TimerId TimerWheel::add(uint64_t deadline, Callback fn, void* ctx, uint64_t arg,
                                    uint64_t period) {
  uint32_t i = alloc_node();
  Node& n = nodes_[i];
  n.deadline = deadline;
  n.period = period;
  n.ctx = ctx;
  n.arg = arg;
  n.fn = fn;
  n.state = State::kPending;
  ++pending_;
  insert(i);
  return (uint64_t{n.gen} << 32) | (i + 1);
}

void TimerWheel::RunStored(void* ctx, uint64_t index) {
  // Held by pointer: the callable may add timers (growing stored_) while it runs.
  (*static_cast<TimerWheel*>(ctx)->stored_[index])();
}

TimerWheel::TimerId TimerWheel::add(uint64_t deadline, absl::AnyInvocable<void()> fn,
                                    uint64_t period) {
  TimerId id = add(deadline, &TimerWheel::RunStored, this, 0, period);
  uint32_t i = static_cast<uint32_t>(id) - 1;
  nodes_[i].arg = i;
  if (stored_.size() <= i) stored_.resize(i + 1);
  stored_[i] = std::make_unique<absl::AnyInvocable<void()>>(std::move(fn));
  return id;
}

void TimerWheel::insert(uint32_t i) {
  Node& n = nodes_[i];
  uint32_t* head;
  if (n.deadline <= now_) {
    n.level = kDueList;
    head = &due_head_;
  } else {
    // The lowest level whose slot for the deadline lies less than a rotation ahead; that slot
    // is never the current one, so the scan in advance() cannot skip it.
    int level = 0;
    uint64_t k = n.deadline;
    while (level < kLevels - 1 &&
           (n.deadline >> (kBits * level)) - (now_ >> (kBits * level)) >= kSlots) {
      ++level;
    }
    k = n.deadline >> (kBits * level);
    uint64_t cur = now_ >> (kBits * level);
    if (k - cur >= kSlots) k = cur + kSlots - 1;  // beyond the top level: re-cascade later
    n.level = static_cast<uint8_t>(level);
    n.slot = static_cast<uint8_t>(k & (kSlots - 1));
    occupied_[level] |= uint64_t{1} << n.slot;
    head = &heads_[level][n.slot];
  }
  // Append at the tail (prev of head) to keep insertion order within a slot.
  if (*head == kNil) {
    n.prev = n.next = i;
    *head = i;
  } else {
    uint32_t h = *head, t = nodes_[h].prev;
    n.prev = t;
    n.next = h;
    nodes_[t].next = i;
    nodes_[h].prev = i;
  }
}

void TimerWheel::unlink(uint32_t i) {
  Node& n = nodes_[i];
  uint32_t* head = n.level == kDueList ? &due_head_ : &heads_[n.level][n.slot];
  if (n.next == i) {
    *head = kNil;
    if (n.level != kDueList) occupied_[n.level] &= ~(uint64_t{1} << n.slot);
  } else {
    nodes_[n.prev].next = n.next;
    nodes_[n.next].prev = n.prev;
    if (*head == i) *head = n.next;
  }
}

void TimerWheel::take_list(uint32_t& head, std::vector<uint32_t>& out) {
  if (head == kNil) return;
  uint32_t i = head;
  do {
    out.push_back(i);
    i = nodes_[i].next;
  } while (i != head);
  head = kNil;
}

bool TimerWheel::cancel(TimerId id) {
  Node* n = node_of(id);
  if (n == nullptr) return false;
  uint32_t i = static_cast<uint32_t>(n - nodes_.data());
  if (n->state == State::kPending) {
    unlink(i);
    --pending_;
    free_node(i);
    return true;
  }
  if (n->state == State::kFiring) {  // collected by the running advance(): skip or don't re-arm
    n->state = State::kCancelled;
    --pending_;
    return true;
  }
  return false;
}

bool TimerWheel::pending(TimerId id) const {
  const Node* n = const_cast<TimerWheel*>(this)->node_of(id);
  return n != nullptr && (n->state == State::kPending || n->state == State::kFiring);
}

size_t TimerWheel::advance(uint64_t now) {
  if (now < now_) now = now_;
  batch_.clear();
  take_list(due_head_, batch_);
  // Every slot whose window began in (now_, now], level by level, at most one rotation each.
  for (int level = 0; level < kLevels; ++level) {
    int shift = kBits * level;
    uint64_t first = (now_ >> shift) + 1, last = now >> shift;
    if (last < first) break;  // nothing new at this level, hence none above
    uint64_t count = std::min<uint64_t>(last - first + 1, kSlots);
    uint64_t mask = count == kSlots ? ~uint64_t{0} : (uint64_t{1} << count) - 1;
    mask = std::rotl(mask, static_cast<int>(first & (kSlots - 1)));
    for (uint64_t bits = occupied_[level] & mask; bits != 0; bits &= bits - 1) {
      int slot = std::countr_zero(bits);
      take_list(heads_[level][slot], batch_);
    }
    occupied_[level] &= ~mask;
  }
  now_ = now;
  due_.clear();
  for (uint32_t i : batch_) {
    if (nodes_[i].deadline <= now_) {
      nodes_[i].state = State::kFiring;
      due_.push_back(i);
    } else {
      insert(i);  // cascades to a finer level
    }
  }
  std::stable_sort(due_.begin(), due_.end(),
                   [&](uint32_t a, uint32_t b) { return nodes_[a].deadline < nodes_[b].deadline; });
  size_t fired = 0;
  for (uint32_t i : due_) {
    if (nodes_[i].state == State::kCancelled) {
      free_node(i);
      continue;
    }
    Node& n = nodes_[i];
    n.fn(n.ctx, n.arg);  // may add timers: nodes_ may reallocate, so index again below
    ++fired;
    Node& after = nodes_[i];
    if (after.state == State::kCancelled) {  // cancelled itself; cancel() did the counting
      free_node(i);
    } else if (after.period > 0) {
      uint64_t behind = (now_ - after.deadline) / after.period + 1;
      after.deadline += behind * after.period;
      after.state = State::kPending;
      insert(i);
    } else {
      --pending_;
      free_node(i);
    }
  }
  return fired;
}

std::optional<uint64_t> TimerWheel::next_expiry() const {
  if (due_head_ != kNil) return now_;
  std::optional<uint64_t> best;
  for (int level = 0; level < kLevels; ++level) {
    if (occupied_[level] == 0) continue;
    int shift = kBits * level;
    uint64_t cur = now_ >> shift;
    int from = static_cast<int>((cur + 1) & (kSlots - 1));
    int ahead = std::countr_zero(std::rotr(occupied_[level], from));
    uint64_t start = (cur + 1 + static_cast<uint64_t>(ahead)) << shift;
    if (!best || start < *best) best = start;
  }
  return best;
}

}  // namespace percore
