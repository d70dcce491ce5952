#include "pool/payload.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

namespace percore {

std::atomic<int64_t> Payload::live_{0};

Payload Payload::Copy(std::string_view bytes) {
  if (bytes.size() > UINT32_MAX) {
    std::fprintf(stderr, "Payload: %zu bytes is above the 4 GiB limit\n", bytes.size());
    std::abort();
  }
  void* mem = ::operator new(sizeof(Block) + bytes.size());
  Block* b = new (mem) Block{{1}, static_cast<uint32_t>(bytes.size())};
  std::memcpy(b->bytes(), bytes.data(), bytes.size());
  live_.fetch_add(1, std::memory_order_relaxed);
  return Payload(b);
}

void Payload::unref(Block* b) {
  // acq_rel: the last owner must see every other owner's reads of the bytes finished before it
  // frees them.
  if (b == nullptr || b->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  b->~Block();
  ::operator delete(b);
  live_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace percore
