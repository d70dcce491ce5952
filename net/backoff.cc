#include "net/backoff.h"

#include <algorithm>
#include <memory>
#include <random>

namespace percore {

Backoff::Backoff(const Options& options, Rng rng) : options_(options), rng_(std::move(rng)) {
  if (!rng_) {
    auto gen = std::make_shared<std::mt19937_64>(std::random_device{}());
    rng_ = [gen](uint64_t bound) {
      return std::uniform_int_distribution<uint64_t>(0, bound)(*gen);
    };
  }
}

uint64_t Backoff::ceiling_ms() const {
  const double max = static_cast<double>(absl::ToInt64Milliseconds(options_.max));
  double c = static_cast<double>(absl::ToInt64Milliseconds(options_.initial));
  // Stops multiplying once past max: no overflow however many attempts failed.
  for (uint32_t i = 0; i < attempt_ && c < max; ++i) c *= options_.multiplier;
  return static_cast<uint64_t>(std::max(0.0, std::min(c, max)));
}

uint64_t Backoff::next_ms() {
  const uint64_t ceiling = ceiling_ms();
  ++attempt_;
  return std::min(rng_(ceiling), ceiling);
}

}  // namespace percore
