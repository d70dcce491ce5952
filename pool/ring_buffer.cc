#include "pool/ring_buffer.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace percore {

RingBuffer::RingBuffer(BufferPool* pool, size_t cap) : pool_(pool) { set_cap(cap); }

RingBuffer::RingBuffer(RingBuffer&& o) noexcept
    : pool_(o.pool_),
      head_(std::exchange(o.head_, nullptr)),
      tail_(std::exchange(o.tail_, nullptr)),
      size_(std::exchange(o.size_, 0)),
      cap_(o.cap_) {}

RingBuffer& RingBuffer::operator=(RingBuffer&& o) noexcept {
  if (this != &o) {
    clear();
    pool_ = o.pool_;
    head_ = std::exchange(o.head_, nullptr);
    tail_ = std::exchange(o.tail_, nullptr);
    size_ = std::exchange(o.size_, 0);
    cap_ = o.cap_;
  }
  return *this;
}

size_t RingBuffer::chunks() const {
  size_t n = 0;
  for (Chunk* c = head_; c != nullptr; c = c->next) ++n;
  return n;
}

RingBuffer::Chunk* RingBuffer::new_chunk() {  // appended at the tail
  char* mem = pool_->acquire();
  if (mem == nullptr) return nullptr;
  Chunk* c = new (mem) Chunk{nullptr, 0, 0, nullptr};
  if (tail_ != nullptr) {
    tail_->next = c;
  } else {
    head_ = c;
  }
  tail_ = c;
  return c;
}

bool RingBuffer::append_chained(std::string_view data) {
  if (data.size() > cap_ - size_) return false;
  size_t per = chunk_capacity();
  size_t room = tail_ != nullptr && tail_->shared == nullptr ? per - tail_->end : 0;
  size_t need = data.size() > room ? (data.size() - room + per - 1) / per : 0;
  // Take every chunk first, so a pool that runs dry leaves nothing half-written.
  Chunk* fresh = nullptr;
  Chunk* last = nullptr;
  for (size_t i = 0; i < need; ++i) {
    char* mem = pool_->acquire();
    if (mem == nullptr) {
      while (fresh != nullptr) {
        Chunk* next = fresh->next;
        pool_->release(reinterpret_cast<char*>(fresh));
        fresh = next;
      }
      return false;
    }
    Chunk* c = new (mem) Chunk{nullptr, 0, 0, nullptr};
    (last != nullptr ? last->next : fresh) = c;
    last = c;
  }
  Chunk* c = room > 0 ? tail_ : fresh;
  if (fresh != nullptr) {
    (tail_ != nullptr ? tail_->next : head_) = fresh;
    tail_ = last;
  }
  size_ += static_cast<uint32_t>(data.size());
  while (!data.empty()) {
    size_t n = std::min(data.size(), per - c->end);
    std::memcpy(c->data() + c->end, data.data(), n);
    c->end += static_cast<uint32_t>(n);
    data.remove_prefix(n);
    c = c->next;
  }
  return true;
}

bool RingBuffer::append_shared(const Payload& p) {
  if (p.size() > cap_ - size_) return false;
  if (p.empty()) return true;
  void* mem = pool_->acquire_ref();
  if (mem == nullptr) return false;
  Chunk* c = new (mem) Chunk{nullptr, 0, static_cast<uint32_t>(p.size()), p.share()};
  (tail_ != nullptr ? tail_->next : head_) = c;
  tail_ = c;
  size_ += static_cast<uint32_t>(p.size());
  return true;
}

void RingBuffer::release(Chunk* c) {
  if (c->shared != nullptr) {
    Payload::Unref(c->shared);
    pool_->release_ref(c);
  } else {
    pool_->release(reinterpret_cast<char*>(c));
  }
}

std::span<char> RingBuffer::write_span(size_t min) {
  size_t per = chunk_capacity();
  if (min > per || min > cap_ - size_) return {};
  if (tail_ == nullptr || tail_->shared != nullptr || per - tail_->end < min) {
    if (new_chunk() == nullptr) return {};
  }
  size_t n = std::min<size_t>(per - tail_->end, cap_ - size_);
  return {tail_->data() + tail_->end, n};
}

void RingBuffer::commit(size_t n) {
  tail_->end += static_cast<uint32_t>(n);
  size_ += static_cast<uint32_t>(n);
}

std::span<const char> RingBuffer::read_span() const {
  if (head_ == nullptr) return {};
  return {head_->data() + head_->begin, size_t{head_->end - head_->begin}};
}

size_t RingBuffer::peek_iov(struct iovec* iov, size_t max_iov) const {
  size_t n = 0;
  for (Chunk* c = head_; c != nullptr && n < max_iov; c = c->next) {
    if (c->end == c->begin) continue;
    iov[n].iov_base = c->data() + c->begin;
    iov[n].iov_len = c->end - c->begin;
    ++n;
  }
  return n;
}

void RingBuffer::consume(size_t n) {
  n = std::min<size_t>(n, size_);
  size_ -= static_cast<uint32_t>(n);
  while (n > 0) {
    size_t k = std::min<size_t>(n, head_->end - head_->begin);
    head_->begin += static_cast<uint32_t>(k);
    n -= k;
    if (head_->begin == head_->end) {
      Chunk* next = head_->next;
      release(head_);
      head_ = next;
      if (head_ == nullptr) tail_ = nullptr;
    }
  }
  if (size_ == 0) clear();  // an empty buffer holds no memory
}

void RingBuffer::clear() {
  while (head_ != nullptr) {
    Chunk* next = head_->next;
    release(head_);
    head_ = next;
  }
  tail_ = nullptr;
  size_ = 0;
}

size_t RingBuffer::copy_out(char* out, size_t n) const {
  size_t done = 0;
  for (Chunk* c = head_; c != nullptr && done < n; c = c->next) {
    size_t k = std::min<size_t>(n - done, c->end - c->begin);
    std::memcpy(out + done, c->data() + c->begin, k);
    done += k;
  }
  return done;
}

}  // namespace percore
