// SlabStorage: untyped slots of a runtime stride, allocated in blocks: O(1) allocate and
// free, stable addresses (blocks never move or go away before the slab does), and a
// generation per slot so a stale (slot, generation) name is recognised. Slab<T> is the typed
// wrapper. Owned and used by one thread (a reactor); not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace percore {

class SlabStorage {
 public:
  static constexpr uint32_t kNoSlot = 0xFFFFFFFFu;

  explicit SlabStorage(size_t stride, size_t align = alignof(std::max_align_t),
                       uint32_t slots_per_block = 1024, uint32_t max_slots = 0xFFFFFFFEu);
  ~SlabStorage();  // frees the blocks; the typed wrapper runs destructors
  SlabStorage(const SlabStorage&) = delete;
  SlabStorage& operator=(const SlabStorage&) = delete;

  uint32_t allocate();       // kNoSlot when max_slots are live; memory uninitialised
  void free(uint32_t slot);  // bumps the generation; the slot is reused first (LIFO)
  void* at(uint32_t slot) const {
    return blocks_[slot / per_block_] + size_t{slot % per_block_} * stride_;
  }
  // Generations live beside the slots, so checking a handle does not touch slot memory.
  uint32_t generation(uint32_t slot) const { return gens_[slot] >> 1; }
  bool is_live(uint32_t slot) const { return slot < gens_.size() && (gens_[slot] & 1); }
  size_t live() const { return live_; }
  size_t capacity() const { return gens_.size(); }
  size_t stride() const { return stride_; }
  size_t bytes_reserved() const;

 private:
  size_t stride_;
  size_t align_;
  uint32_t per_block_;
  uint32_t max_slots_;
  size_t live_ = 0;
  std::vector<char*> blocks_;
  std::vector<uint32_t> gens_;  // generation << 1 | live
  std::vector<uint32_t> free_;
};

template <class T>
class Slab {
 public:
  explicit Slab(uint32_t slots_per_block = 1024, uint32_t max_slots = 0xFFFFFFFEu)
      : s_(sizeof(T), alignof(T), slots_per_block, max_slots) {}
  ~Slab() {
    for (uint32_t i = 0; i < s_.capacity(); ++i) {
      if (s_.is_live(i)) static_cast<T*>(s_.at(i))->~T();
    }
  }
  Slab(const Slab&) = delete;
  Slab& operator=(const Slab&) = delete;

  template <class... Args>
  T* emplace(uint32_t* slot_out, Args&&... args) {
    uint32_t slot = s_.allocate();
    if (slot == SlabStorage::kNoSlot) return nullptr;
    if (slot_out != nullptr) *slot_out = slot;
    return new (s_.at(slot)) T(std::forward<Args>(args)...);
  }
  void erase(uint32_t slot) {
    if (!s_.is_live(slot)) return;
    static_cast<T*>(s_.at(slot))->~T();
    s_.free(slot);
  }
  T* get(uint32_t slot) { return s_.is_live(slot) ? static_cast<T*>(s_.at(slot)) : nullptr; }
  T* get(uint32_t slot, uint32_t gen) {
    return s_.is_live(slot) && s_.generation(slot) == gen ? static_cast<T*>(s_.at(slot)) : nullptr;
  }
  uint32_t generation(uint32_t slot) const { return s_.generation(slot); }
  size_t live() const { return s_.live(); }
  size_t capacity() const { return s_.capacity(); }
  size_t bytes_reserved() const { return s_.bytes_reserved(); }

 private:
  SlabStorage s_;
};

}  // namespace percore
