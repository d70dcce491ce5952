#include "pool/buffer_pool.h"

#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <new>

namespace percore {
namespace {

// Freed chunks (of the usual 16 KB) that make it worth walking the heap: 1 MiB.
constexpr size_t kTrimHeapAfter = 64;

constexpr std::align_val_t kAlign{64};

}  // namespace

BufferPool::BufferPool(size_t chunk_size, size_t max_chunks, size_t keep_free)
    : chunk_size_(chunk_size), max_chunks_(max_chunks), keep_free_(keep_free) {
  if (chunk_size < 64 || (chunk_size & (chunk_size - 1)) != 0) {
    std::fprintf(stderr, "BufferPool: chunk size %zu is not a power of two >= 64\n", chunk_size);
    std::abort();
  }
}

BufferPool::~BufferPool() {
  for (char* c : free_) ::operator delete(c, kAlign);
  for (void* r : ref_free_) ::operator delete(r);
}

char* BufferPool::acquire() {
  if (in_use_ >= max_chunks_) {
    ++failures_;
    return nullptr;
  }
  char* c;
  if (!free_.empty()) {
    c = free_.back();
    free_.pop_back();
    if (free_.size() < low_cached_) low_cached_ = free_.size();
  } else {
    c = static_cast<char*>(::operator new(chunk_size_, kAlign, std::nothrow));
    if (c == nullptr) {
      ++failures_;
      return nullptr;
    }
  }
  ++acquired_;
  if (++in_use_ > peak_) peak_ = in_use_;
  return c;
}

void BufferPool::release(char* chunk) {
  --in_use_;
  free_.push_back(chunk);
}

void* BufferPool::acquire_ref() {
  void* r;
  if (!ref_free_.empty()) {
    r = ref_free_.back();
    ref_free_.pop_back();
    if (ref_free_.size() < low_ref_cached_) low_ref_cached_ = ref_free_.size();
  } else {
    r = ::operator new(kRefSlot, std::nothrow);
    if (r == nullptr) return nullptr;
  }
  ++refs_in_use_;
  return r;
}

void BufferPool::release_ref(void* slot) {
  --refs_in_use_;
  ref_free_.push_back(slot);
}

void BufferPool::trim() {
  for (size_t n = low_ref_cached_; n > 0 && !ref_free_.empty(); --n) {
    ::operator delete(ref_free_.back());
    ref_free_.pop_back();
  }
  ref_free_.shrink_to_fit();
  low_ref_cached_ = ref_free_.size();
  size_t above = free_.size() > keep_free_ ? free_.size() - keep_free_ : 0;
  const size_t freed = std::min(low_cached_, above);
  for (size_t n = freed; n > 0; --n) {
    ::operator delete(free_.back(), kAlign);
    free_.pop_back();
  }
  free_.shrink_to_fit();
  low_cached_ = free_.size();
  // Chunks freed in the middle of the heap stay resident: glibc gives back only its top. After
  // a burst (thousands of connections each answered in one turn) that is megabytes that an
  // idle server keeps for nothing; malloc_trim returns the free pages wherever they are.
  if (freed >= kTrimHeapAfter) ::malloc_trim(0);
}

}  // namespace percore
