// OutputGauges: what a foreign thread may learn about a connection's output without posting
// to its reactor: per slot, the generation living there, the bytes its reactor holds queued
// (published by the owning thread when output is flushed or makes progress) and the bytes of
// handle sends posted but not yet applied. Blocks of gauges are allocated by the owning
// thread as slots appear and never move or go away before the table does, so readers need no
// lock. One per ConnTable; 12 bytes per slot.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace percore {

class OutputGauges {
 public:
  struct Gauge {
    std::atomic<uint32_t> gen{0};
    std::atomic<uint32_t> queued{0};   // written by the owning thread only
    std::atomic<uint32_t> pending{0};  // handle sends in flight: added by senders
  };
  static constexpr uint32_t kPerBlock = 1024;
  static constexpr uint32_t kMaxBlocks = 4096;  // 4 M slots per reactor

  OutputGauges() : blocks_(new std::atomic<Gauge*>[kMaxBlocks]) {
    for (uint32_t i = 0; i < kMaxBlocks; ++i) blocks_[i].store(nullptr);
  }
  ~OutputGauges() {
    for (uint32_t i = 0; i < kMaxBlocks; ++i) delete[] blocks_[i].load();
  }
  OutputGauges(const OutputGauges&) = delete;
  OutputGauges& operator=(const OutputGauges&) = delete;

  // Owning thread: the gauge of `slot`, allocating its block; nullptr beyond 4 M slots.
  Gauge* ensure(uint32_t slot) {
    if (slot / kPerBlock >= kMaxBlocks) return nullptr;
    std::atomic<Gauge*>& b = blocks_[slot / kPerBlock];
    Gauge* block = b.load(std::memory_order_relaxed);
    if (block == nullptr) {
      block = new Gauge[kPerBlock];
      b.store(block, std::memory_order_release);
    }
    return &block[slot % kPerBlock];
  }
  // Any thread: the gauge of `slot`, or nullptr when the owner never had that slot.
  Gauge* find(uint32_t slot) const {
    if (slot / kPerBlock >= kMaxBlocks) return nullptr;
    Gauge* block = blocks_[slot / kPerBlock].load(std::memory_order_acquire);
    return block == nullptr ? nullptr : &block[slot % kPerBlock];
  }

 private:
  std::unique_ptr<std::atomic<Gauge*>[]> blocks_;
};

}  // namespace percore
