// Admission: the server-wide limits a freshly accepted connection must pass before it is
// adopted: connections per source IP, and an accept-rate token bucket. What fails is closed at
// once with RST and counted by reason; Unix-domain peers are exempt from the per-IP limit.
// Shared by the reactors of one server (it lives in ServerShared); a verdict takes one stripe's
// lock and the bucket's, only on accept: nothing on the data path touches it.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "reactor/config.h"

namespace percore {

class Admission {
 public:
  // A peer's address, IPv4 as v4-mapped IPv6. All zeros: none (a Unix peer, or not counted).
  using IpKey = std::array<uint8_t, 16>;
  enum class Verdict : uint8_t { kAdmit, kRate, kPerIp };

  void configure(const Config& c);
  bool enabled() const { return per_ip_ != 0 || rate_ != 0; }
  bool per_ip() const { return per_ip_ != 0; }

  // For an accepted fd, at `now_ms`. On kAdmit, *key is the address counted against its
  // limit (zeros when none was): release(*key) once the connection's fd is closed.
  Verdict admit(int fd, uint64_t now_ms, IpKey* key);
  void release(const IpKey& key);
  static bool counted(const IpKey& key) { return key != IpKey{}; }

 private:
  bool take_token(uint64_t now_ms);
  struct Stripe {
    std::mutex mu;
    absl::flat_hash_map<IpKey, uint32_t> conns;
  };
  static constexpr size_t kStripes = 16;
  Stripe& stripe_of(const IpKey& key) { return stripes_[(key[15] ^ key[14] * 31u) % kStripes]; }

  uint32_t per_ip_ = 0;
  uint32_t rate_ = 0;  // tokens per second
  double burst_ = 0;
  std::mutex bucket_mu_;
  double tokens_ = 0;
  uint64_t last_ms_ = 0;
  std::array<Stripe, kStripes> stripes_;
};

}  // namespace percore
