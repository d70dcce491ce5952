// TimerWheel with explicit ticks (a fake clock): exactness at level boundaries, cancel,
// repeating timers, re-entrancy, a randomized model check and a million timers.
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "reactor/timer_wheel.h"

namespace percore {
namespace {

struct Log {
  std::vector<uint64_t> fired;  // the arg of each callback, in order
  static void Fn(void* ctx, uint64_t arg) { static_cast<Log*>(ctx)->fired.push_back(arg); }
};

}  // namespace

TEST_CASE("timers fire exactly at their deadline, never early", "[timer]") {
  for (uint64_t d : {1ull, 2ull, 63ull, 64ull, 65ull, 4095ull, 4096ull, 4097ull, 262143ull,
                     262144ull, 262145ull, 1ull << 30, (1ull << 42) + 12345}) {
    for (uint64_t start : {0ull, 17ull, 4000ull}) {
      TimerWheel w(start);
      Log log;
      w.add(start + d, &Log::Fn, &log, d);
      auto next = w.next_expiry();
      REQUIRE(next.has_value());
      CHECK(*next <= start + d);
      w.advance(start + d - 1);
      CHECK(log.fired.empty());
      if (d > 2) {  // approach in a few jumps: cascades must not fire early
        w.advance(start + d - 2);
        CHECK(log.fired.empty());
      }
      w.advance(start + d);
      CHECK(log.fired == std::vector<uint64_t>{d});
      CHECK(w.size() == 0);
      CHECK(!w.next_expiry().has_value());
    }
  }
}

TEST_CASE("next_expiry is exact within level 0 and drives a sleeping loop", "[timer]") {
  TimerWheel w(1000);
  Log log;
  CHECK(!w.next_expiry());
  w.add(1050, &Log::Fn, &log, 1);
  CHECK(*w.next_expiry() == 1050);
  w.add(1000 + 5000, &Log::Fn, &log, 2);
  CHECK(*w.next_expiry() == 1050);
  // A loop that sleeps until next_expiry reaches every timer with few wake-ups.
  int wakeups = 0;
  while (auto next = w.next_expiry()) {
    w.advance(*next);
    ++wakeups;
  }
  CHECK(log.fired == std::vector<uint64_t>{1, 2});
  CHECK(wakeups <= 6);
}

TEST_CASE("cancel: pending true once; fired and stale ids are harmless", "[timer]") {
  TimerWheel w;
  Log log;
  auto a = w.add(10, &Log::Fn, &log, 1);
  auto b = w.add(10, &Log::Fn, &log, 2);
  CHECK(w.pending(a));
  CHECK(w.cancel(a));
  CHECK(!w.cancel(a));
  CHECK(!w.pending(a));
  w.advance(10);
  CHECK(log.fired == std::vector<uint64_t>{2});
  CHECK(!w.cancel(b));                    // already fired
  auto c = w.add(20, &Log::Fn, &log, 3);  // may reuse a's node
  CHECK(!w.cancel(a));                    // the stale id does not cancel c
  CHECK(w.pending(c));
  CHECK(!w.cancel(TimerWheel::kNoTimer));
}

TEST_CASE("repeating timers stay aligned, one step or big jumps", "[timer]") {
  TimerWheel w;
  std::vector<uint64_t> at;
  w.add(
      50, [&] { at.push_back(w.now()); }, 50);
  for (uint64_t t = 1; t <= 200; ++t) w.advance(t);
  CHECK(at == std::vector<uint64_t>{50, 100, 150, 200});
  at.clear();
  w.advance(420);  // fell behind by several periods: fires once
  CHECK(at == std::vector<uint64_t>{420});
  w.advance(449);
  CHECK(at.size() == 1);
  w.advance(450);  // back on the 50-tick grid
  CHECK(at == std::vector<uint64_t>{420, 450});
  CHECK(w.size() == 1);
}

TEST_CASE("callbacks may add and cancel timers during advance", "[timer]") {
  TimerWheel w;
  Log log;
  TimerWheel::TimerId victim = w.add(30, &Log::Fn, &log, 99);
  TimerWheel::TimerId self = 0;
  w.add(10, [&] {
    w.cancel(victim);               // due in this same advance: must not fire
    w.add(15, &Log::Fn, &log, 15);  // later in this advance's range: next advance
    w.add(5, &Log::Fn, &log, 5);    // already past
  });
  self = w.add(
      20, [&] { w.cancel(self); }, 7);  // a repeating timer cancelling itself
  w.advance(40);
  CHECK(log.fired.empty());
  w.advance(41);
  CHECK(log.fired == std::vector<uint64_t>{5, 15});
  CHECK(w.size() == 0);
}

TEST_CASE("lazy re-arm: the idle-eviction pattern", "[timer]") {
  TimerWheel w;
  uint64_t last_active = 0, timeout = 1000;
  uint64_t evicted_at = 0;
  std::function<void()> check = [&] {
    if (w.now() - last_active >= timeout) {
      evicted_at = w.now();
    } else {
      w.add(last_active + timeout, [&] { check(); });
    }
  };
  w.add(timeout, [&] { check(); });
  for (uint64_t t = 1; t <= 5000 && !evicted_at; ++t) {
    if (t == 300 || t == 1200) last_active = t;  // traffic, without touching the wheel
    w.advance(t);
  }
  CHECK(evicted_at == 2200);
}

TEST_CASE("100,000 random operations match a multimap model", "[timer]") {
  TimerWheel w;
  Log log;
  std::mt19937_64 rng(1234);
  std::map<uint64_t, std::pair<uint64_t, TimerWheel::TimerId>> live;  // arg -> deadline, id
  uint64_t now = 0, next_arg = 0;
  for (int op = 0; op < 100000; ++op) {
    int kind = static_cast<int>(rng() % 10);
    if (kind < 6) {
      uint64_t d = now + 1 + rng() % (rng() % 2 ? 100 : 300000);
      uint64_t arg = next_arg++;
      live[arg] = {d, w.add(d, &Log::Fn, &log, arg)};
    } else if (kind < 8 && !live.empty()) {
      auto it = live.lower_bound(rng() % next_arg);
      if (it == live.end()) it = live.begin();
      REQUIRE(w.cancel(it->second.second));
      live.erase(it);
    } else {
      now += rng() % (rng() % 4 ? 50 : 20000);
      log.fired.clear();
      w.advance(now);
      std::multimap<uint64_t, uint64_t> expect;  // deadline -> arg
      for (auto it = live.begin(); it != live.end();) {
        if (it->second.first <= now) {
          expect.insert({it->second.first, it->first});
          it = live.erase(it);
        } else {
          ++it;
        }
      }
      REQUIRE(log.fired.size() == expect.size());
      std::set<uint64_t> got(log.fired.begin(), log.fired.end());
      for (auto& [d, arg] : expect) REQUIRE(got.count(arg) == 1);
      std::map<uint64_t, uint64_t> deadline_of;
      for (auto& [d, arg] : expect) deadline_of[arg] = d;
      for (size_t i = 1; i < log.fired.size(); ++i) {  // earlier deadlines first
        REQUIRE(deadline_of[log.fired[i - 1]] <= deadline_of[log.fired[i]]);
      }
    }
    REQUIRE(w.size() == live.size());
  }
}

TEST_CASE("a million timers fire exactly once and never early", "[timer]") {
  TimerWheel w;
  struct Check {
    std::vector<uint64_t> deadline;
    std::vector<uint8_t> fired;
    uint64_t early = 0, twice = 0;
    TimerWheel* w;
    static void Fn(void* ctx, uint64_t i) {
      auto* c = static_cast<Check*>(ctx);
      if (c->w->now() < c->deadline[i]) ++c->early;
      if (c->fired[i]++) ++c->twice;
    }
  } check;
  check.w = &w;
  constexpr size_t kN = 1'000'000;
  std::mt19937_64 rng(99);
  check.deadline.resize(kN);
  check.fired.assign(kN, 0);
  for (size_t i = 0; i < kN; ++i) {
    check.deadline[i] = 1 + rng() % 10'000'000;
    w.add(check.deadline[i], &Check::Fn, &check, i);
  }
  CHECK(w.size() == kN);
  uint64_t now = 0;
  while (w.size() > 0) {
    now += 1 + rng() % 20000;
    w.advance(now);
  }
  CHECK(check.early == 0);
  CHECK(check.twice == 0);
  CHECK(std::count(check.fired.begin(), check.fired.end(), 1) == static_cast<long>(kN));
}

}  // namespace percore
