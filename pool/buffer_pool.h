// BufferPool: fixed-size chunks (a power of two, 64-byte aligned) for one reactor's input
// leftovers and output queues. Bounded by max_chunks. Released chunks are cached for reuse;
// trim(), called about once a second by the reactor, gives back to the allocator the cached
// chunks that were not needed since the previous trim (keeping keep_free), so a busy reactor
// does not churn the allocator every turn and an idle one still returns its memory.
// Owned and used by one thread.
#pragma once

#include <cstddef>
#include <vector>

namespace percore {

class BufferPool {
 public:
  struct Stats {
    size_t in_use = 0, cached = 0, peak_in_use = 0, acquired = 0, failures = 0;
  };

  BufferPool(size_t chunk_size, size_t max_chunks, size_t keep_free = 64);
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  char* acquire();  // nullptr (counted as a failure) when max_chunks are in use
  void release(char* chunk);
  // Small fixed-size slots (kRefSlot bytes) for what is not a buffer: the descriptor a
  // RingBuffer keeps for a shared Payload it references. Cached like chunks, trimmed alike.
  static constexpr size_t kRefSlot = 32;
  void* acquire_ref();  // nullptr only when the allocator fails
  void release_ref(void* slot);
  size_t refs_in_use() const { return refs_in_use_; }
  // Frees the cached chunks nobody took since the last trim, down to keep_free.
  void trim();
  bool has_surplus() const { return free_.size() > keep_free_ || !ref_free_.empty(); }
  size_t chunk_size() const { return chunk_size_; }
  size_t max_chunks() const { return max_chunks_; }
  Stats stats() const { return {in_use_, free_.size(), peak_, acquired_, failures_}; }
  size_t bytes_in_use() const { return in_use_ * chunk_size_; }

 private:
  size_t chunk_size_, max_chunks_, keep_free_;
  size_t in_use_ = 0, peak_ = 0, acquired_ = 0, failures_ = 0;
  size_t low_cached_ = 0;  // fewest cached chunks since the last trim
  std::vector<char*> free_;
  size_t refs_in_use_ = 0, low_ref_cached_ = 0;
  std::vector<void*> ref_free_;
};

}  // namespace percore
