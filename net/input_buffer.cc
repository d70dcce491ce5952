#include "net/input_buffer.h"

#include <cstdlib>
#include <cstring>

namespace percore {

InputBuffer::~InputBuffer() {
  if (data_ != nullptr && !pooled_) std::free(data_);
}

bool InputBuffer::append(BufferPool& pool, std::span<const char> bytes) {
  size_t need = len_ + bytes.size();
  if (need > cap_) {
    char* grown = nullptr;
    bool pooled = false;
    if (need <= pool.chunk_size()) {
      grown = pool.acquire();
      pooled = true;
    } else {
      size_t cap = std::max<size_t>(cap_ * 2, pool.chunk_size() * 2);
      while (cap < need) cap *= 2;
      grown = static_cast<char*>(std::malloc(cap));
      if (grown != nullptr) cap_ = static_cast<uint32_t>(cap);
    }
    if (grown == nullptr) return false;
    if (len_ > 0) std::memcpy(grown, data_, len_);
    char* old = data_;
    bool old_pooled = pooled_;
    data_ = grown;
    pooled_ = pooled;
    if (pooled) cap_ = static_cast<uint32_t>(pool.chunk_size());
    if (old != nullptr) old_pooled ? pool.release(old) : std::free(old);
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
  if (data_ != nullptr) pooled_ ? pool.release(data_) : std::free(data_);
  data_ = nullptr;
  len_ = cap_ = 0;
  pooled_ = false;
}

}  // namespace percore
