#include "net/input_buffer.h"

#include <cstdlib>
#include <cstring>

namespace percore {

void InputBuffer::free_block(BufferPool& pool) {
  if (data_ == nullptr) return;
  if (pooled(pool)) {
    pool.release(data_);
  } else {
    std::free(data_);
  }
}

bool InputBuffer::append(BufferPool& pool, std::span<const char> bytes) {
  size_t need = len_ + bytes.size();
  if (need > cap_) {
    size_t cap = pool.chunk_size();
    char* grown = nullptr;
    if (need <= cap) {
      grown = pool.acquire();
    } else {
      cap = std::max<size_t>(size_t{cap_} * 2, cap * 2);
      while (cap < need) cap *= 2;
      grown = static_cast<char*>(std::malloc(cap));
    }
    if (grown == nullptr) return false;
    if (len_ > 0) std::memcpy(grown, data_, len_);
    free_block(pool);
    data_ = grown;
    cap_ = static_cast<uint32_t>(cap);
  }
  if (!bytes.empty()) std::memcpy(data_ + len_, bytes.data(), bytes.size());
  len_ = static_cast<uint32_t>(need);
  return true;
}

void InputBuffer::consume(BufferPool& pool, size_t n) {
  if (n >= len_) {
    release(pool);
    return;
  }
  std::memmove(data_, data_ + n, len_ - n);
  len_ -= static_cast<uint32_t>(n);
}

void InputBuffer::release(BufferPool& pool) {
  free_block(pool);
  data_ = nullptr;
  len_ = cap_ = 0;
}

}  // namespace percore
