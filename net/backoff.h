// Backoff: the delays between reconnect attempts, exponential with full jitter: attempt n
// waits a uniform random time in [0, min(max, initial * multiplier^n)], so that clients cut
// off together do not come back together. Pure arithmetic over an injectable random source
// (tests pin the bounds exactly); a value type owned by its TcpClient.
#pragma once

#include <cstdint>
#include <functional>

#include "absl/time/time.h"

namespace percore {

class Backoff {
 public:
  struct Options {
    bool enabled = true;                               // false: no reconnect at all
    absl::Duration initial = absl::Milliseconds(100);  // the first attempt's ceiling
    absl::Duration max = absl::Seconds(30);            // no ceiling above this
    double multiplier = 2.0;                           // ceiling growth per failed attempt
    // A connection that stayed up this long resets the schedule to `initial`.
    absl::Duration reset_after = absl::Seconds(10);
  };
  // Returns a uniform integer in [0, bound], both ends included.
  using Rng = std::function<uint64_t(uint64_t bound)>;

  // A null rng: a generator seeded from std::random_device.
  explicit Backoff(const Options& options, Rng rng = nullptr);

  // The next delay in ms (and one attempt more).
  uint64_t next_ms();
  // The ceiling the next call draws under.
  uint64_t ceiling_ms() const;
  uint32_t attempts() const { return attempt_; }
  void reset() { attempt_ = 0; }
  const Options& options() const { return options_; }

 private:
  Options options_;
  Rng rng_;
  uint32_t attempt_ = 0;
};

}  // namespace percore
