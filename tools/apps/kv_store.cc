#include "tools/apps/kv_store.h"

#include <time.h>

#include <bit>
#include <charconv>
#include <limits>

namespace percore::apps {
namespace {

int64_t MonotonicMs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

size_t Cost(std::string_view key, std::string_view value) {
  return key.size() + value.size() + KvStore::kEntryOverhead;
}

}  // namespace

// Redis accepts exactly what strtoll would print back: no spaces, no '+', no leading zeros.
bool ParseRedisInt64(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  if (s.size() > 1 && (s[0] == '0' || (s[0] == '-' && s[1] == '0'))) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && s != "-";
}

KvStore::KvStore(Options options, std::function<int64_t()> now_ms)
    : options_(options), now_(now_ms ? std::move(now_ms) : std::function<int64_t()>(MonotonicMs)) {}

size_t KvStore::stripe_index(std::string_view key) {
  // The map hashes the same key again with its own mixing; the top bits pick the stripe.
  return (KeyHash{}(key) >> 20) % kStripes;
}

// Locks in ascending stripe order, so two batches never wait on each other in a cycle.
class KvStore::BatchLock {
 public:
  BatchLock(KvStore& kv, uint64_t mask) : kv_(kv), mask_(mask) {
    for (uint64_t m = mask_; m != 0; m &= m - 1) kv_.stripes_[std::countr_zero(m)].mu.lock();
  }
  ~BatchLock() {
    for (uint64_t m = mask_; m != 0; m &= m - 1) kv_.stripes_[std::countr_zero(m)].mu.unlock();
  }
  BatchLock(const BatchLock&) = delete;
  BatchLock& operator=(const BatchLock&) = delete;

 private:
  KvStore& kv_;
  const uint64_t mask_;
};
static_assert(KvStore::kStripes <= 64);

KvStore::Entry* KvStore::live(Stripe& s, std::string_view key, int64_t now) {
  auto it = s.map.find(key);
  if (it == s.map.end()) return nullptr;
  if (it->second.expire_at != kNoExpiry && it->second.expire_at <= now) {
    erase(s, it);
    return nullptr;
  }
  return &it->second;
}

void KvStore::erase(Stripe& s, Map::iterator it) {
  unreserve(Cost(it->first, it->second.value));
  s.map.erase(it);
}

bool KvStore::reserve(size_t bytes) {
  size_t now = used_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  if (now <= options_.max_memory) return true;
  used_.fetch_sub(bytes, std::memory_order_relaxed);
  return false;
}

KvStore::Result KvStore::set(std::string_view key, std::string_view value, Cond cond,
                             int64_t expire_at_ms, bool keep_ttl, const ValueFn* old_value) {
  if (value.size() > options_.max_value) return Result::kTooLarge;
  Stripe& s = stripe_of(key);
  std::lock_guard<std::mutex> lock(s.mu);
  Entry* e = live(s, key, now_());
  const bool write =
      !(cond == Cond::kIfAbsent && e != nullptr) && !(cond == Cond::kIfPresent && e == nullptr);
  const size_t before = e != nullptr ? Cost(key, e->value) : 0, after = Cost(key, value);
  // Reserved before the old value is handed over: a refused write answers its error instead.
  if (write && after > before && !reserve(after - before)) return Result::kOom;
  if (old_value != nullptr) {
    std::string_view old = e != nullptr ? std::string_view(e->value) : std::string_view();
    (*old_value)(e != nullptr ? &old : nullptr);
  }
  if (!write) return Result::kNotDone;
  if (after < before) unreserve(before - after);
  if (e != nullptr) {
    e->value.assign(value.data(), value.size());
    if (!keep_ttl) e->expire_at = expire_at_ms;
  } else {
    s.map.emplace(std::string(key), Entry{std::string(value), expire_at_ms});
  }
  return Result::kOk;
}

bool KvStore::get(std::string_view key, const std::function<void(std::string_view)>& fn) {
  Stripe& s = stripe_of(key);
  std::lock_guard<std::mutex> lock(s.mu);
  Entry* e = live(s, key, now_());
  if (e == nullptr) return false;
  fn(e->value);
  return true;
}

KvStore::Result KvStore::mset(std::span<const std::string_view> kv) {
  // The last value of each key is what the batch leaves, so it is what memory is checked for.
  absl::flat_hash_map<std::string_view, std::string_view, KeyHash, std::equal_to<>> last;
  last.reserve(kv.size() / 2);
  uint64_t mask = 0;
  for (size_t i = 0; i + 1 < kv.size(); i += 2) {
    if (kv[i + 1].size() > options_.max_value) return Result::kTooLarge;
    last.insert_or_assign(kv[i], kv[i + 1]);
    mask |= uint64_t{1} << stripe_index(kv[i]);
  }
  BatchLock lock(*this, mask);
  const int64_t now = now_();
  size_t before = 0, after = 0;
  for (const auto& [key, value] : last) {
    Entry* e = live(stripe_of(key), key, now);
    if (e != nullptr) before += Cost(key, e->value);
    after += Cost(key, value);
  }
  if (after > before && !reserve(after - before)) return Result::kOom;
  if (after < before) unreserve(before - after);
  for (const auto& [key, value] : last) {
    Map& map = stripe_of(key).map;
    auto it = map.find(key);
    if (it == map.end()) {
      map.emplace(std::string(key), Entry{std::string(value), kNoExpiry});
    } else {
      it->second.value.assign(value.data(), value.size());
      it->second.expire_at = kNoExpiry;
    }
  }
  return Result::kOk;
}

void KvStore::mget(std::span<const std::string_view> keys, const ValueFn& fn) {
  uint64_t mask = 0;
  for (std::string_view key : keys) mask |= uint64_t{1} << stripe_index(key);
  BatchLock lock(*this, mask);
  const int64_t now = now_();
  for (std::string_view key : keys) {
    Entry* e = live(stripe_of(key), key, now);
    std::string_view value = e != nullptr ? std::string_view(e->value) : std::string_view();
    fn(e != nullptr ? &value : nullptr);
  }
}

bool KvStore::del(std::string_view key) {
  Stripe& s = stripe_of(key);
  std::lock_guard<std::mutex> lock(s.mu);
  if (live(s, key, now_()) == nullptr) return false;
  erase(s, s.map.find(key));
  return true;
}

bool KvStore::exists(std::string_view key) {
  Stripe& s = stripe_of(key);
  std::lock_guard<std::mutex> lock(s.mu);
  return live(s, key, now_()) != nullptr;
}

KvStore::Result KvStore::incr_by(std::string_view key, int64_t delta, int64_t* out) {
  Stripe& s = stripe_of(key);
  std::lock_guard<std::mutex> lock(s.mu);
  Entry* e = live(s, key, now_());
  int64_t v = 0;
  if (e != nullptr && !ParseRedisInt64(e->value, &v)) return Result::kNotInteger;
  if ((delta > 0 && v > std::numeric_limits<int64_t>::max() - delta) ||
      (delta < 0 && v < std::numeric_limits<int64_t>::min() - delta)) {
    return Result::kOverflow;
  }
  v += delta;
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string_view text(buf, static_cast<size_t>(end - buf));
  if (e == nullptr) {
    if (!reserve(Cost(key, text))) return Result::kOom;
    s.map.emplace(std::string(key), Entry{std::string(text), kNoExpiry});
  } else {
    size_t before = Cost(key, e->value), after = Cost(key, text);
    if (after > before && !reserve(after - before)) return Result::kOom;
    if (after < before) unreserve(before - after);
    e->value.assign(text.data(), text.size());
  }
  *out = v;
  return Result::kOk;
}

bool KvStore::expire_at(std::string_view key, int64_t at_ms, unsigned cond) {
  Stripe& s = stripe_of(key);
  std::lock_guard<std::mutex> lock(s.mu);
  int64_t now = now_();
  Entry* e = live(s, key, now);
  if (e == nullptr) return false;
  const bool has = e->expire_at != kNoExpiry;
  if (((cond & kExpireNx) && has) || ((cond & kExpireXx) && !has) ||
      ((cond & kExpireGt) && (!has || at_ms <= e->expire_at)) ||
      ((cond & kExpireLt) && has && at_ms >= e->expire_at)) {
    return false;
  }
  if (at_ms <= now) {
    erase(s, s.map.find(key));
  } else {
    e->expire_at = at_ms;
  }
  return true;
}

int64_t KvStore::ttl_ms(std::string_view key) {
  Stripe& s = stripe_of(key);
  std::lock_guard<std::mutex> lock(s.mu);
  int64_t now = now_();
  Entry* e = live(s, key, now);
  if (e == nullptr) return -2;
  return e->expire_at == kNoExpiry ? -1 : e->expire_at - now;
}

size_t KvStore::size() {
  size_t n = 0;
  for (Stripe& s : stripes_) {
    std::lock_guard<std::mutex> lock(s.mu);
    n += s.map.size();
  }
  return n;
}

void KvStore::clear() {
  for (Stripe& s : stripes_) {
    std::lock_guard<std::mutex> lock(s.mu);
    for (auto it = s.map.begin(); it != s.map.end();) erase(s, it++);
  }
}

}  // namespace percore::apps
