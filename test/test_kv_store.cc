// KvStore (the kv app's data): Redis semantics of SET NX/XX/keep-ttl, INCRBY's integer rules,
// lazy expiry on an injected clock, and the memory bound.
#include <atomic>
#include <catch2/catch.hpp>
#include <limits>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "tools/apps/kv_store.h"

namespace percore::apps {
namespace {

std::string Get(KvStore& s, std::string_view key) {
  std::string out = "<none>";
  s.get(key, [&](std::string_view v) { out.assign(v.data(), v.size()); });
  return out;
}

// SET key value GET: the old value, or "<none>".
std::string Swap(KvStore& s, std::string_view key, std::string_view value,
                 KvStore::Cond cond = KvStore::Cond::kAlways, KvStore::Result* r = nullptr) {
  std::string old = "<unset>";
  KvStore::ValueFn fn = [&](const std::string_view* v) {
    old = v == nullptr ? "<none>" : std::string(*v);
  };
  KvStore::Result result = s.set(key, value, cond, KvStore::kNoExpiry, false, &fn);
  if (r != nullptr) *r = result;
  return old;
}

std::vector<std::string> MGet(KvStore& s, std::vector<std::string_view> keys) {
  std::vector<std::string> values;
  s.mget(keys, [&](const std::string_view* v) {
    values.push_back(v == nullptr ? "<none>" : std::string(*v));
  });
  return values;
}

}  // namespace

TEST_CASE("kv store: set, get, NX, XX, del, exists, size", "[kv]") {
  KvStore s({});
  CHECK(Get(s, "k") == "<none>");
  CHECK(s.set("k", "v1") == KvStore::Result::kOk);
  CHECK(Get(s, "k") == "v1");
  CHECK(s.set("k", "v2", KvStore::Cond::kIfAbsent) == KvStore::Result::kNotDone);
  CHECK(s.set("k", "v3", KvStore::Cond::kIfPresent) == KvStore::Result::kOk);
  CHECK(s.set("other", "x", KvStore::Cond::kIfPresent) == KvStore::Result::kNotDone);
  CHECK(Get(s, "k") == "v3");
  CHECK(s.exists("k"));
  CHECK(s.size() == 1);
  CHECK(s.del("k"));
  CHECK(!s.del("k"));
  CHECK(!s.exists("k"));
  CHECK(s.memory_used() == 0);
  std::string binary("a\0b\r\n", 5);
  CHECK(s.set(binary, binary) == KvStore::Result::kOk);
  CHECK(Get(s, binary) == binary);
  s.clear();
  CHECK(s.size() == 0);
  CHECK(s.memory_used() == 0);
}

TEST_CASE("kv store: INCRBY parses like Redis and refuses overflow", "[kv]") {
  KvStore s({});
  int64_t v = 0;
  CHECK(s.incr_by("n", 1, &v) == KvStore::Result::kOk);
  CHECK(v == 1);
  CHECK(s.incr_by("n", -11, &v) == KvStore::Result::kOk);
  CHECK(v == -10);
  CHECK(Get(s, "n") == "-10");
  for (const char* bad : {"", " 1", "+1", "01", "1.5", "abc", "-", "99999999999999999999"}) {
    s.set("b", bad);
    CHECK(s.incr_by("b", 1, &v) == KvStore::Result::kNotInteger);
  }
  s.set("max", std::to_string(std::numeric_limits<int64_t>::max()));
  CHECK(s.incr_by("max", 1, &v) == KvStore::Result::kOverflow);
  s.set("min", std::to_string(std::numeric_limits<int64_t>::min()));
  CHECK(s.incr_by("min", -1, &v) == KvStore::Result::kOverflow);
  CHECK(s.incr_by("min", 1, &v) == KvStore::Result::kOk);
}

TEST_CASE("kv store: expiry is exact on the injected clock; SET clears it unless KEEPTTL", "[kv]") {
  int64_t now = 1'000'000;
  KvStore s({}, [&] { return now; });
  s.set("k", "v", KvStore::Cond::kAlways, now + 100);
  CHECK(s.ttl_ms("k") == 100);
  now += 99;
  CHECK(Get(s, "k") == "v");
  now += 1;
  CHECK(Get(s, "k") == "<none>");
  CHECK(s.ttl_ms("k") == -2);
  CHECK(s.memory_used() == 0);
  s.set("p", "v");
  CHECK(s.ttl_ms("p") == -1);
  CHECK(s.expire_at("p", now + 50));
  s.set("p", "w", KvStore::Cond::kAlways, KvStore::kNoExpiry, /*keep_ttl=*/true);
  CHECK(s.ttl_ms("p") == 50);
  s.set("p", "x");
  CHECK(s.ttl_ms("p") == -1);
  CHECK(s.expire_at("p", now - 1));  // a deadline in the past deletes
  CHECK(!s.exists("p"));
  CHECK(!s.expire_at("nokey", now + 10));
}

TEST_CASE("kv store: EXPIRE NX XX GT LT, a key without expiry as one at infinity", "[kv]") {
  int64_t now = 1'000'000;
  KvStore s({}, [&] { return now; });
  s.set("k", "v");
  // NX: only without an expiry; XX: only with one.
  CHECK(!s.expire_at("k", now + 100, KvStore::kExpireXx));
  CHECK(s.ttl_ms("k") == -1);
  CHECK(s.expire_at("k", now + 100, KvStore::kExpireNx));
  CHECK(s.ttl_ms("k") == 100);
  CHECK(!s.expire_at("k", now + 300, KvStore::kExpireNx));
  CHECK(s.expire_at("k", now + 300, KvStore::kExpireXx));
  CHECK(s.ttl_ms("k") == 300);
  // GT and LT: strictly later, strictly nearer.
  CHECK(!s.expire_at("k", now + 300, KvStore::kExpireGt));
  CHECK(!s.expire_at("k", now + 50, KvStore::kExpireGt));
  CHECK(s.expire_at("k", now + 400, KvStore::kExpireGt));
  CHECK(!s.expire_at("k", now + 400, KvStore::kExpireLt));
  CHECK(!s.expire_at("k", now + 500, KvStore::kExpireLt));
  CHECK(s.expire_at("k", now + 200, KvStore::kExpireLt));
  CHECK(s.ttl_ms("k") == 200);
  // With XX: both must hold.
  CHECK(s.expire_at("k", now + 250, KvStore::kExpireXx | KvStore::kExpireGt));
  CHECK(!s.expire_at("k", now + 260, KvStore::kExpireXx | KvStore::kExpireLt));
  CHECK(s.ttl_ms("k") == 250);
  // Without an expiry: GT never holds, LT always does, XX LT not.
  s.set("p", "v");
  CHECK(!s.expire_at("p", now + 100, KvStore::kExpireGt));
  CHECK(!s.expire_at("p", now + 100, KvStore::kExpireXx | KvStore::kExpireLt));
  CHECK(s.ttl_ms("p") == -1);
  CHECK(s.expire_at("p", now + 100, KvStore::kExpireLt));
  CHECK(s.ttl_ms("p") == 100);
  // A deadline in the past deletes only when the condition holds.
  CHECK(!s.expire_at("p", now - 1, KvStore::kExpireNx));
  CHECK(!s.expire_at("p", now - 1, KvStore::kExpireGt));
  CHECK(s.exists("p"));
  CHECK(s.expire_at("p", now - 1, KvStore::kExpireLt));
  CHECK(!s.exists("p"));
  // A missing key, or one that just expired, has nothing to set.
  for (unsigned cond : {0u, unsigned{KvStore::kExpireNx}, unsigned{KvStore::kExpireLt}}) {
    CHECK(!s.expire_at("nokey", now + 10, cond));
  }
  now += 250;
  CHECK(!s.expire_at("k", now + 10, KvStore::kExpireLt));
  CHECK(!s.exists("k"));
}

TEST_CASE("kv store: writes past max_memory are refused, values past max_value too", "[kv]") {
  KvStore::Options o;
  o.max_memory = 10 * 1024;
  o.max_value = 4096;
  KvStore s(o);
  CHECK(s.set("big", std::string(4097, 'x')) == KvStore::Result::kTooLarge);
  int stored = 0;
  for (int i = 0; i < 100; ++i) {
    if (s.set("k" + std::to_string(i), std::string(1000, 'v')) == KvStore::Result::kOk) {
      ++stored;
    } else {
      break;
    }
  }
  CHECK(stored > 0);
  CHECK(stored < 11);
  CHECK(s.memory_used() <= o.max_memory);
  CHECK(s.set("one-more", std::string(1000, 'v')) == KvStore::Result::kOom);
  CHECK(s.del("k0"));
  CHECK(s.set("one-more", std::string(1000, 'v')) == KvStore::Result::kOk);
}

TEST_CASE("kv store: SET GET hands over the old value, also when NX/XX refuse the write", "[kv]") {
  KvStore::Options o;
  o.max_memory = 4096;
  o.max_value = 1024;
  KvStore s(o);
  KvStore::Result r;
  CHECK(Swap(s, "k", "v1", KvStore::Cond::kAlways, &r) == "<none>");
  CHECK(r == KvStore::Result::kOk);
  CHECK(Swap(s, "k", "v2", KvStore::Cond::kIfAbsent, &r) == "v1");
  CHECK(r == KvStore::Result::kNotDone);
  CHECK(Swap(s, "nokey", "x", KvStore::Cond::kIfPresent, &r) == "<none>");
  CHECK(r == KvStore::Result::kNotDone);
  CHECK(!s.exists("nokey"));
  CHECK(Swap(s, "k", "v3", KvStore::Cond::kIfPresent, &r) == "v1");
  CHECK(r == KvStore::Result::kOk);
  // A refused write reports its error instead: the old value is not handed over.
  CHECK(Swap(s, "k", std::string(1025, 'x'), KvStore::Cond::kAlways, &r) == "<unset>");
  CHECK(r == KvStore::Result::kTooLarge);
  CHECK(Swap(s, "k", std::string(1000, 'x'), KvStore::Cond::kAlways, &r) == "v3");
  CHECK(Swap(s, "k2", std::string(1000, 'x'), KvStore::Cond::kAlways, &r) == "<none>");
  CHECK(Swap(s, "k3", std::string(1000, 'x'), KvStore::Cond::kAlways, &r) == "<none>");
  CHECK(Swap(s, "k4", std::string(1000, 'x'), KvStore::Cond::kAlways, &r) == "<unset>");
  CHECK(r == KvStore::Result::kOom);
  CHECK(Get(s, "k") == std::string(1000, 'x'));
}

TEST_CASE("kv store: SET GET is one step: every value written comes back once as old", "[kv]") {
  KvStore s({});
  s.set("k", "initial");
  constexpr int kOps = 20000;
  std::vector<std::string> old[2];
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&s, &old, &ready, t] {
      // Both start together, so their operations overlap rather than run one after the other.
      ready.fetch_add(1);
      while (ready.load() < 2) {
      }
      for (int i = 0; i < kOps; ++i) {
        old[t].push_back(Swap(s, "k", std::to_string(t) + ":" + std::to_string(i)));
      }
    });
  }
  for (std::thread& th : threads) th.join();
  // Each value, the initial one included, is replaced exactly once, except the last written.
  std::map<std::string, int> seen;
  for (const auto& list : old) {
    for (const std::string& v : list) ++seen[v];
  }
  ++seen[Get(s, "k")];
  int duplicated = 0;
  for (const auto& [v, n] : seen) duplicated += n > 1 ? 1 : 0;
  CHECK(duplicated == 0);
  CHECK(seen.size() == 2 * kOps + 1);
  CHECK(seen.count("initial") == 1);
}

TEST_CASE("kv store: MSET and MGET; a later duplicate wins, TTLs are cleared", "[kv]") {
  int64_t now = 1000;
  KvStore s({}, [&] { return now; });
  s.set("a", "old", KvStore::Cond::kAlways, now + 100);
  std::vector<std::string_view> args = {"a", "1", "b", "2", "a", "3"};
  CHECK(s.mset(args) == KvStore::Result::kOk);
  CHECK(MGet(s, {"a", "b", "nokey", "a"}) == std::vector<std::string>{"3", "2", "<none>", "3"});
  CHECK(s.ttl_ms("a") == -1);
  CHECK(s.size() == 2);
  s.clear();
  CHECK(s.memory_used() == 0);
}

TEST_CASE("kv store: an MSET refused for memory or size writes nothing", "[kv]") {
  KvStore::Options o;
  o.max_memory = 4096;
  o.max_value = 2048;
  KvStore s(o);
  const std::string big(1000, 'x');
  s.set("a", "small");
  const size_t used = s.memory_used();
  // Each pair fits alone (a rewrite of "a" included); the four of them do not.
  std::vector<std::string_view> pairs = {"a", big, "b", big, "c", big, "d", big};
  CHECK(s.mset(pairs) == KvStore::Result::kOom);
  CHECK(MGet(s, {"a", "b", "c", "d"}) ==
        std::vector<std::string>{"small", "<none>", "<none>", "<none>"});
  CHECK(s.memory_used() == used);
  const std::string huge(2049, 'x');
  std::vector<std::string_view> too_large = {"b", "v", "c", huge};
  CHECK(s.mset(too_large) == KvStore::Result::kTooLarge);
  CHECK(!s.exists("b"));
  // Rewriting existing keys counts what they free: this batch fits although its sum would not.
  std::vector<std::string_view> three = {"a", big, "b", big, "c", big};
  CHECK(s.mset(three) == KvStore::Result::kOk);
  std::vector<std::string_view> rewrite = {"a", big, "b", big, "c", big};
  CHECK(s.mset(rewrite) == KvStore::Result::kOk);
}

TEST_CASE("kv store: a concurrent MGET never sees half of an MSET", "[kv]") {
  KvStore s({});
  std::vector<std::string_view> init = {"x", "0", "y", "0"};
  s.mset(init);
  std::atomic<bool> reading{true};
  std::atomic<int> written{0};
  // The writer runs for as long as the reader reads, so the two always overlap.
  std::thread writer([&] {
    for (int i = 1; reading.load(); ++i) {
      // Long values: a torn write has the window of a copy between its two keys.
      const std::string v = std::to_string(i) + std::string(4096, '.');
      std::vector<std::string_view> pairs = {"x", v, "y", v};
      s.mset(pairs);
      written.store(i);
    }
  });
  while (written.load() == 0) {
  }
  int torn = 0;
  for (int i = 0; i < 20000; ++i) {
    std::vector<std::string> v = MGet(s, {"x", "y"});
    if (v[0] != v[1]) ++torn;
  }
  reading.store(false);
  writer.join();
  CHECK(torn == 0);
  CHECK(MGet(s, {"x", "y"})[0] == std::to_string(written.load()) + std::string(4096, '.'));
}

}  // namespace percore::apps
