#include "pool/slab.h"

#include <cstdlib>
#include <new>

namespace percore {

SlabStorage::SlabStorage(size_t stride, size_t align, uint32_t slots_per_block, uint32_t max_slots)
    : stride_((std::max<size_t>(stride, 1) + align - 1) / align * align),
      align_(align),
      per_block_(std::max<uint32_t>(slots_per_block, 1)),
      max_slots_(max_slots) {}

SlabStorage::~SlabStorage() {
  for (char* b : blocks_) ::operator delete(b, std::align_val_t(align_));
}

uint32_t SlabStorage::allocate() {
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    if (gens_.size() >= max_slots_) return kNoSlot;
    if (gens_.size() == blocks_.size() * size_t{per_block_}) {
      blocks_.push_back(
          static_cast<char*>(::operator new(stride_* per_block_, std::align_val_t(align_))));
    }
    slot = static_cast<uint32_t>(gens_.size());
    gens_.push_back(1u << 1);  // generation 1: 0 never names a live slot
  }
  gens_[slot] |= 1;
  ++live_;
  return slot;
}

void SlabStorage::free(uint32_t slot) {
  uint32_t next = (gens_[slot] >> 1) + 1;
  if ((next & 0x7FFFFFFF) == 0) next = 1;
  gens_[slot] = next << 1;
  free_.push_back(slot);
  --live_;
}

size_t SlabStorage::bytes_reserved() const {
  return blocks_.size() * stride_ * per_block_ + gens_.capacity() * sizeof(uint32_t) +
         free_.capacity() * sizeof(uint32_t) + blocks_.capacity() * sizeof(char*);
}

}  // namespace percore
