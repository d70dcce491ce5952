// Payload: immutable bytes that any number of output queues can reference at once: a
// broadcast to N connections makes one copy of the message and N references, not N copies.
// Refcounted; the last reference to go frees it, on whichever thread that happens (a member
// on another reactor may be the last to finish sending), hence the atomic count. Copying a
// Payload is one increment; it is safe to hand copies to other threads.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

namespace percore {

class Payload {
 public:
  // One allocation: the count, the size and the bytes.
  struct Block {
    std::atomic<uint32_t> refs;
    uint32_t size;
    char* bytes() { return reinterpret_cast<char*>(this + 1); }
  };

  Payload() = default;
  // Copies `bytes` once. At most 4 GiB - 1 bytes (aborts above: a caller bug, since every output
  // queue's cap is far lower).
  static Payload Copy(std::string_view bytes);

  Payload(const Payload& o) noexcept : b_(o.b_) { ref(b_); }
  Payload(Payload&& o) noexcept : b_(o.b_) { o.b_ = nullptr; }
  Payload& operator=(Payload o) noexcept {
    std::swap(b_, o.b_);
    return *this;
  }
  ~Payload() { unref(b_); }

  std::string_view view() const { return b_ ? std::string_view(b_->bytes(), b_->size) : ""; }
  size_t size() const { return b_ ? b_->size : 0; }
  bool empty() const { return size() == 0; }
  uint32_t use_count() const { return b_ ? b_->refs.load(std::memory_order_relaxed) : 0; }

  // For output queues that hold a reference as a raw pointer (RingBuffer): a new reference to
  // this payload's block, given back with Unref.
  Block* share() const {
    ref(b_);
    return b_;
  }
  static void Unref(Block* b) { unref(b); }
  // Payload blocks allocated and not yet freed, process-wide (tests prove "freed exactly once").
  static int64_t Live() { return live_.load(std::memory_order_relaxed); }

 private:
  explicit Payload(Block* b) : b_(b) {}
  static void ref(Block* b) {
    if (b != nullptr) b->refs.fetch_add(1, std::memory_order_relaxed);
  }
  static void unref(Block* b);

  Block* b_ = nullptr;
  static std::atomic<int64_t> live_;
};

}  // namespace percore
