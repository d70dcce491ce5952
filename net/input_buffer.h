// InputBuffer: the bytes a handler left unconsumed (a partial frame), kept contiguous so
// on_data always gets one view. Empty most of the time, and then it holds no memory: a pooled
// chunk while the leftover fits one, a heap block up to max_frame beyond that. Compacts on
// consume. Owned by its Connection; the BufferPool is the reactor's.
#pragma once

#include <cstdint>
#include <span>

#include "pool/buffer_pool.h"

namespace percore {

class InputBuffer {
 public:
  InputBuffer() = default;
  InputBuffer(const InputBuffer&) = delete;
  InputBuffer& operator=(const InputBuffer&) = delete;
  // The owner calls release(pool) before destruction: only the pool can take memory back.
  ~InputBuffer() = default;

  bool empty() const { return len_ == 0; }
  size_t size() const { return len_; }
  std::span<const char> view() const { return {data_, len_}; }
  // Appends bytes; false when memory could not be had (pool exhausted).
  bool append(BufferPool& pool, std::span<const char> bytes);
  // Drops n bytes from the front; gives the memory back when nothing is left.
  void consume(BufferPool& pool, size_t n);
  void release(BufferPool& pool);

 private:
  // A pooled chunk has exactly the pool's chunk size; heap blocks are always larger.
  bool pooled(const BufferPool& pool) const { return cap_ == pool.chunk_size(); }
  void free_block(BufferPool& pool);

  char* data_ = nullptr;
  uint32_t len_ = 0;
  uint32_t cap_ = 0;
};

}  // namespace percore
