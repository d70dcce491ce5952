// TokenBucket: a rate limit, `rate` tokens a second up to `burst` saved; take() spends one or
// answers false. Time comes from an injectable millisecond clock so tests are exact. Not
// thread-safe: its owner (ClientPool) calls it under its own lock.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>

namespace percore {

class TokenBucket {
 public:
  using Clock = std::function<uint64_t()>;  // milliseconds, monotonic

  // rate <= 0: no limit.
  TokenBucket(double rate, double burst, Clock clock)
      : rate_(rate), burst_(std::max(1.0, burst)), tokens_(burst_), clock_(std::move(clock)) {
    if (rate_ > 0) last_ = clock_();
  }

  bool take() {
    if (rate_ <= 0) return true;
    const uint64_t now = clock_();
    tokens_ = std::min(burst_, tokens_ + static_cast<double>(now - last_) * rate_ / 1000.0);
    last_ = now;
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  double rate_;
  double burst_;
  double tokens_;
  Clock clock_;
  uint64_t last_ = 0;
};

}  // namespace percore
