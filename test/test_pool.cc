// pool/: Slab, BufferPool and RingBuffer, including randomized sequences checked against
// simple standard-library models.
#include <catch2/catch.hpp>
#include <deque>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "pool/buffer_pool.h"
#include "pool/payload.h"
#include "pool/ring_buffer.h"
#include "pool/slab.h"

namespace percore {
namespace {

struct Counted {
  static inline int alive = 0;
  int v;
  explicit Counted(int x) : v(x) { ++alive; }
  ~Counted() { --alive; }
};

}  // namespace

TEST_CASE("slab: reuse is LIFO, generations bump, stale lookups fail", "[pool]") {
  Slab<Counted> slab(4);
  uint32_t a = 0, b = 0;
  Counted* pa = slab.emplace(&a, 1);
  slab.emplace(&b, 2);
  uint32_t gen_a = slab.generation(a);
  CHECK(gen_a != 0);
  CHECK(slab.get(a, gen_a) == pa);
  slab.erase(a);
  CHECK(slab.get(a) == nullptr);
  CHECK(slab.get(a, gen_a) == nullptr);
  uint32_t c = 0;
  Counted* pc = slab.emplace(&c, 3);
  CHECK(c == a);    // LIFO reuse
  CHECK(pc == pa);  // same memory
  CHECK(slab.generation(c) != gen_a);
  CHECK(slab.get(c, gen_a) == nullptr);  // the old name does not reach the new object
  CHECK(slab.live() == 2);
}

TEST_CASE("slab: stable addresses across growth, bound, destructors", "[pool]") {
  {
    Slab<Counted> slab(64, 10000);
    std::vector<std::pair<uint32_t, Counted*>> items;
    for (int i = 0; i < 10000; ++i) {
      uint32_t s = 0;
      Counted* p = slab.emplace(&s, i);
      REQUIRE(p != nullptr);
      items.push_back({s, p});
    }
    uint32_t s = 0;
    CHECK(slab.emplace(&s, -1) == nullptr);  // max_slots
    for (int i = 0; i < 10000; ++i) {
      CHECK(slab.get(items[i].first) == items[i].second);
      CHECK(items[i].second->v == i);
    }
    CHECK(Counted::alive == 10000);
  }
  CHECK(Counted::alive == 0);
}

TEST_CASE("slab: 100,000 random operations match a model", "[pool]") {
  Slab<Counted> slab(128);
  std::map<uint32_t, std::pair<uint32_t, int>> model;  // slot -> (gen, value)
  std::vector<std::pair<uint32_t, uint32_t>> stale;
  std::mt19937 rng(42);
  for (int op = 0; op < 100000; ++op) {
    if (model.empty() || rng() % 3 != 0) {
      uint32_t s = 0;
      int v = static_cast<int>(rng());
      REQUIRE(slab.emplace(&s, v) != nullptr);
      REQUIRE(model.count(s) == 0);
      model[s] = {slab.generation(s), v};
    } else {
      auto it = model.begin();
      std::advance(it, rng() % model.size());
      REQUIRE(slab.get(it->first, it->second.first)->v == it->second.second);
      stale.push_back({it->first, it->second.first});
      slab.erase(it->first);
      model.erase(it);
    }
  }
  CHECK(slab.live() == model.size());
  for (auto& [s, g] : stale) {
    if (!model.count(s) || model[s].first != g) CHECK(slab.get(s, g) == nullptr);
  }
  CHECK(Counted::alive == static_cast<int>(model.size()));
}

TEST_CASE("buffer pool: bounded, aligned, trims what an interval did not need", "[pool]") {
  BufferPool pool(4096, 8, 2);
  std::vector<char*> got;
  for (int i = 0; i < 8; ++i) {
    got.push_back(pool.acquire());
    REQUIRE(got.back() != nullptr);
    CHECK(reinterpret_cast<uintptr_t>(got.back()) % 64 == 0);
  }
  CHECK(pool.acquire() == nullptr);
  CHECK(pool.stats().failures == 1);
  CHECK(pool.stats().in_use == 8);
  CHECK(pool.bytes_in_use() == 8 * 4096);
  for (char* c : got) pool.release(c);
  CHECK(pool.stats().in_use == 0);
  CHECK(pool.stats().cached == 8);  // kept for the next burst
  CHECK(pool.stats().peak_in_use == 8);
  pool.trim();  // all 8 were in use during this interval: nothing to give back
  CHECK(pool.stats().cached == 8);
  // Three are used again during the next interval: those three stay, the rest goes.
  char* a = pool.acquire();
  char* b = pool.acquire();
  char* c = pool.acquire();
  pool.release(a);
  pool.release(b);
  pool.release(c);
  pool.trim();
  CHECK(pool.stats().cached == 3);
  pool.trim();  // an idle interval: down to keep_free
  CHECK(pool.stats().cached == 2);
  CHECK_FALSE(pool.has_surplus());
}

TEST_CASE("ring buffer: spans chunks, exports iovecs, returns memory when empty", "[pool]") {
  BufferPool pool(4096, 64);
  RingBuffer rb(&pool);
  size_t per = rb.chunk_capacity();
  std::string data(per * 2 + 100, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  REQUIRE(rb.append(data));
  CHECK(rb.size() == data.size());
  CHECK(rb.chunks() == 3);
  iovec iov[8];
  size_t n = rb.peek_iov(iov, 8);
  REQUIRE(n == 3);
  std::string joined;
  for (size_t i = 0; i < n; ++i) joined.append(static_cast<char*>(iov[i].iov_base), iov[i].iov_len);
  CHECK(joined == data);
  CHECK(rb.peek_iov(iov, 2) == 2);
  rb.consume(per + 5);
  CHECK(rb.chunks() == 2);
  CHECK(rb.read_span().size() == per - 5);
  rb.consume(rb.size());
  CHECK(rb.empty());
  CHECK(pool.stats().in_use == 0);
  CHECK(sizeof(RingBuffer) <= 32);
}

TEST_CASE("ring buffer: cap and pool exhaustion are all-or-nothing", "[pool]") {
  BufferPool pool(4096, 2);
  RingBuffer rb(&pool, 6000);
  CHECK(rb.append(std::string(5000, 'a')));
  CHECK(!rb.append(std::string(1001, 'b')));  // cap
  CHECK(rb.size() == 5000);
  rb.set_cap(1 << 20);
  CHECK(!rb.append(std::string(8000, 'c')));  // the pool has no third chunk
  CHECK(rb.size() == 5000);
  CHECK(pool.stats().in_use == 2);
  RingBuffer moved(std::move(rb));
  CHECK(moved.size() == 5000);
  CHECK(rb.empty());
  moved.clear();
  CHECK(pool.stats().in_use == 0);
}

TEST_CASE("ring buffer: 100,000 random operations match a deque", "[pool]") {
  BufferPool pool(4096, 1024);
  const int64_t live = Payload::Live();
  RingBuffer rb(&pool);
  std::deque<char> model;
  std::mt19937 rng(7);
  size_t per = rb.chunk_capacity();
  char next = 0;
  for (int op = 0; op < 100000; ++op) {
    switch (rng() % 5) {
      case 3: {  // a shared payload, referenced by a second queue too
        std::string s(rng() % (2 * per), '\0');
        for (char& c : s) c = next++;
        Payload p = Payload::Copy(s);
        REQUIRE(rb.append_shared(p));
        model.insert(model.end(), s.begin(), s.end());
        break;
      }
      case 0: {
        std::string s(rng() % (3 * per), '\0');
        for (char& c : s) c = next++;
        REQUIRE(rb.append(s));
        model.insert(model.end(), s.begin(), s.end());
        break;
      }
      case 1: {
        auto span = rb.write_span(1 + rng() % per);
        REQUIRE(!span.empty());
        size_t k = rng() % (span.size() + 1);
        for (size_t i = 0; i < k; ++i) {
          span[i] = next;
          model.push_back(next++);
        }
        rb.commit(k);
        break;
      }
      default: {
        size_t k = rng() % (model.size() + 1);
        std::string front(k, '\0');
        REQUIRE(rb.copy_out(front.data(), k) == k);
        REQUIRE(std::equal(front.begin(), front.end(), model.begin()));
        rb.consume(k);
        model.erase(model.begin(), model.begin() + static_cast<long>(k));
        break;
      }
    }
    REQUIRE(rb.size() == model.size());
  }
  rb.consume(rb.size());
  CHECK(pool.stats().in_use == 0);
  CHECK(pool.refs_in_use() == 0);
  CHECK(Payload::Live() == live);
}

TEST_CASE("ring buffer: shared payloads are referenced in place and released once", "[pool]") {
  BufferPool pool(4096, 64);
  const int64_t live = Payload::Live();
  Payload big = Payload::Copy(std::string(10000, 'p'));
  CHECK(Payload::Live() == live + 1);
  RingBuffer a(&pool), b(&pool);
  REQUIRE(a.append("head"));
  REQUIRE(a.append_shared(big));
  REQUIRE(a.append("tail"));  // after a reference: a new chunk, never into the payload
  REQUIRE(b.append_shared(big));
  CHECK(big.use_count() == 3);
  CHECK(a.size() == 10008);
  iovec iov[8];
  REQUIRE(a.peek_iov(iov, 8) == 3);
  CHECK(iov[1].iov_base == big.view().data());  // the kernel reads the payload itself
  CHECK(iov[1].iov_len == 10000);
  CHECK(std::string(static_cast<char*>(iov[2].iov_base), iov[2].iov_len) == "tail");
  a.consume(4 + 9999);  // all but the payload's last byte: still referenced
  CHECK(big.use_count() == 3);
  a.consume(1);
  CHECK(big.use_count() == 2);
  CHECK(a.read_span().size() == 4);
  b.clear();  // a closed connection drops its references
  CHECK(big.use_count() == 1);
  big = Payload();
  CHECK(Payload::Live() == live);  // the last reference freed it, once
  RingBuffer capped(&pool, 5000);
  Payload p = Payload::Copy(std::string(6000, 'x'));
  CHECK(!capped.append_shared(p));  // counts its full size against cap
  CHECK(p.use_count() == 1);
  a.clear();
  CHECK(pool.stats().in_use == 0);
  CHECK(pool.refs_in_use() == 0);
}

}  // namespace percore
