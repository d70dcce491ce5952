// RingBuffer: a byte FIFO made of a chain of fixed-size chunks from a BufferPool, and of
// references to shared Payloads (a broadcast queues a reference, not a copy). Bytes never
// move once written, so memory handed to the kernel (an in-flight send) stays valid until it
// is consumed. It grows by chaining up to `cap` bytes (a payload counts its full size),
// exports iovecs for writev/sendmsg, and holds no memory at all when empty. Lives inside each
// Connection (32 bytes); owned by one thread, like its pool.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "pool/buffer_pool.h"
#include "pool/payload.h"

namespace percore {

class RingBuffer {
 public:
  explicit RingBuffer(BufferPool* pool, size_t cap = UINT32_MAX);
  ~RingBuffer() { clear(); }
  RingBuffer(RingBuffer&& o) noexcept;
  RingBuffer& operator=(RingBuffer&& o) noexcept;
  RingBuffer(const RingBuffer&) = delete;
  RingBuffer& operator=(const RingBuffer&) = delete;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t cap() const { return cap_; }
  void set_cap(size_t cap) { cap_ = static_cast<uint32_t>(cap > UINT32_MAX ? UINT32_MAX : cap); }
  size_t chunks() const;
  size_t chunk_capacity() const { return pool_->chunk_size() - sizeof(Chunk); }  // per chunk

  // Appends all of `data` or nothing: false when it would pass cap or the pool ran out.
  // Inline when it fits the tail chunk: the common small send is one memcpy.
  bool append(std::string_view data) {
    if (data.empty()) return true;  // (memcpy from an empty view's nullptr would be UB)
    if (tail_ != nullptr && tail_->shared == nullptr &&
        data.size() <= chunk_capacity() - tail_->end && data.size() <= cap_ - size_) {
      std::memcpy(tail_->data() + tail_->end, data.data(), data.size());
      tail_->end += static_cast<uint32_t>(data.size());
      size_ += static_cast<uint32_t>(data.size());
      return true;
    }
    return append_chained(data);
  }
  // Queues a reference to `p` (no copy); false when it would pass cap or no descriptor could
  // be had. The reference is dropped once its bytes are consumed (or on clear).
  bool append_shared(const Payload& p);
  // Contiguous free space at the tail, at least `min` bytes (<= chunk_capacity()), taking a
  // new chunk if needed; empty when cap or the pool forbids. Follow with commit(n).
  std::span<char> write_span(size_t min = 1);
  void commit(size_t n);
  std::span<const char> read_span() const;  // first contiguous readable bytes
  // Up to max_iov iovecs covering the readable bytes in order; returns how many.
  size_t peek_iov(struct iovec* iov, size_t max_iov) const;
  void consume(size_t n);  // frees chunks as they empty
  void clear();
  size_t copy_out(char* out, size_t n) const;  // copies the first n readable bytes

 private:
  // A pooled chunk (shared == nullptr: its bytes follow the header), or a BufferPool ref slot
  // describing a shared payload's bytes.
  struct Chunk {
    Chunk* next;
    uint32_t begin;  // offsets into data()
    uint32_t end;
    Payload::Block* shared;
    char* data() { return shared ? shared->bytes() : reinterpret_cast<char*>(this + 1); }
  };
  static_assert(sizeof(Chunk) <= BufferPool::kRefSlot);
  void release(Chunk* c);
  Chunk* new_chunk();
  bool append_chained(std::string_view data);

  BufferPool* pool_;
  Chunk* head_ = nullptr;
  Chunk* tail_ = nullptr;
  uint32_t size_ = 0;
  uint32_t cap_;
};

}  // namespace percore
