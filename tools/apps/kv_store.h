// KvStore: the data behind the `kv` app, shared by every reactor of the server. Keys are
// spread over stripes, each a hash map behind its own mutex, so reactors touching different
// keys do not wait for each other and one reactor alone never contends (a lock per command,
// uncontended: tens of nanoseconds against a request that costs microseconds in the kernel).
// Values are byte strings; INCR and friends read and write them as decimal integers, as Redis
// does. Expiry is lazy: an expired key is dropped when it is next touched. Memory is bounded
// (keys + values + a fixed overhead per entry); a write past the bound is refused (OOM).
// Thread-safe; owned by the app, which outlives the server.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"

namespace percore::apps {

// Redis's string2ll: a decimal int64 exactly as it would be printed back (no spaces, no '+', no
// leading zeros). INCR's values and every integer argument are read this way.
bool ParseRedisInt64(std::string_view s, int64_t* out);

class KvStore {
 public:
  struct Options {
    size_t max_value = size_t{512} << 20;  // like Redis's proto-max-bulk-len
    size_t max_memory = size_t{1} << 30;   // keys + values + overhead
  };
  enum class Cond : uint8_t { kAlways, kIfAbsent, kIfPresent };  // SET's NX / XX
  enum class Result : uint8_t { kOk, kNotDone, kNoKey, kNotInteger, kOverflow, kOom, kTooLarge };
  static constexpr int64_t kNoExpiry = 0;
  static constexpr size_t kStripes = 64;        // a batch's stripes fit in a uint64_t mask
  static constexpr size_t kEntryOverhead = 64;  // what a map slot and two strings cost, roughly

  // now_ms: the clock expiry uses (injectable for tests); nullptr = monotonic.
  explicit KvStore(Options options, std::function<int64_t()> now_ms = nullptr);

  // Receives a value (nullptr: no such key) under its stripe's lock, so a reply can be written
  // from it without a copy.
  using ValueFn = std::function<void(const std::string_view*)>;

  // expire_at_ms: absolute, or kNoExpiry; keep_ttl keeps an existing key's expiry; old_value
  // (SET ... GET) gets the value before the write, unless the write is kTooLarge or kOom.
  Result set(std::string_view key, std::string_view value, Cond cond = Cond::kAlways,
             int64_t expire_at_ms = kNoExpiry, bool keep_ttl = false,
             const ValueFn* old_value = nullptr);
  // Calls fn(value) under the key's stripe lock (so a reply can be written without a copy);
  // false when the key does not exist.
  bool get(std::string_view key, const std::function<void(std::string_view)>& fn);
  // MSET: key, value, key, value...; all or nothing (kTooLarge, kOom), seen whole by mget. A
  // later duplicate key wins; expiries are cleared.
  Result mset(std::span<const std::string_view> keys_and_values);
  // MGET: fn for each key in order, all read at one instant.
  void mget(std::span<const std::string_view> keys, const ValueFn& fn);
  bool del(std::string_view key);
  bool exists(std::string_view key);
  // INCRBY: kNotInteger when the value is not a decimal int64, kOverflow past int64.
  Result incr_by(std::string_view key, int64_t delta, int64_t* out);
  // EXPIRE's NX XX GT LT, or-ed (0: always). A key without an expiry counts as expiring at
  // infinity: GT never holds for it, LT always does.
  enum ExpireIf : unsigned { kExpireNx = 1, kExpireXx = 2, kExpireGt = 4, kExpireLt = 8 };
  // EXPIRE: false when the key does not exist or `cond` does not hold (checked under the lock).
  // A deadline in the past deletes the key.
  bool expire_at(std::string_view key, int64_t at_ms, unsigned cond = 0);
  // TTL in ms: -2 no such key, -1 no expiry.
  int64_t ttl_ms(std::string_view key);
  size_t size();
  void clear();
  size_t memory_used() const { return used_.load(std::memory_order_relaxed); }
  int64_t now_ms() const { return now_(); }
  const Options& options() const { return options_; }

 private:
  struct Entry {
    std::string value;
    int64_t expire_at = kNoExpiry;
  };
  // Transparent, so lookups by string_view build no std::string.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view k) const { return absl::Hash<std::string_view>{}(k); }
  };
  using Map = absl::flat_hash_map<std::string, Entry, KeyHash, std::equal_to<>>;
  struct Stripe {
    std::mutex mu;
    Map map;
  };
  class BatchLock;  // the stripes of several keys at once, for MSET and MGET
  static size_t stripe_index(std::string_view key);
  Stripe& stripe_of(std::string_view key) { return stripes_[stripe_index(key)]; }
  // The live entry of key in s (dropping it if expired), or nullptr. s.mu is held.
  Entry* live(Stripe& s, std::string_view key, int64_t now);
  void erase(Stripe& s, Map::iterator it);
  bool reserve(size_t bytes);  // false (nothing reserved) past max_memory
  void unreserve(size_t bytes) { used_.fetch_sub(bytes, std::memory_order_relaxed); }

  Options options_;
  std::function<int64_t()> now_;
  std::atomic<size_t> used_{0};
  std::array<Stripe, kStripes> stripes_;
};

}  // namespace percore::apps
