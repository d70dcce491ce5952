// KvStore (the kv app's data): Redis semantics of SET NX/XX/keep-ttl, INCRBY's integer rules,
// lazy expiry on an injected clock, and the memory bound.
#include <catch2/catch.hpp>
#include <limits>
#include <string>

#include "tools/apps/kv_store.h"

namespace percore::apps {
namespace {

std::string Get(KvStore& s, std::string_view key) {
  std::string out = "<none>";
  s.get(key, [&](std::string_view v) { out.assign(v.data(), v.size()); });
  return out;
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

}  // namespace percore::apps
