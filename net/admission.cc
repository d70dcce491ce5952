#include "net/admission.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace percore {
namespace {

// False for a Unix peer (exempt) or when the address cannot be had (the peer is gone already;
// the connection then fails on its own).
bool PeerKey(int fd, Admission::IpKey* key) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return false;
  if (ss.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&ss);
    *key = {};
    (*key)[10] = (*key)[11] = 0xff;
    std::memcpy(key->data() + 12, &v4->sin_addr, 4);
    return true;
  }
  if (ss.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    std::memcpy(key->data(), &v6->sin6_addr, 16);
    return Admission::counted(*key);
  }
  return false;
}

}  // namespace

void Admission::configure(const Config& c) {
  per_ip_ = c.max_conns_per_ip;
  rate_ = c.accept_rate;
  burst_ = c.accept_burst != 0 ? c.accept_burst : std::max<uint32_t>(c.accept_rate, 1);
  tokens_ = burst_;  // a server starts with a full bucket
  last_ms_ = 0;
}

bool Admission::take_token(uint64_t now_ms) {
  std::lock_guard<std::mutex> lock(bucket_mu_);
  // Reactors sample their clocks at different moments: time only ever moves the bucket on.
  if (last_ms_ == 0) last_ms_ = now_ms;
  if (now_ms > last_ms_) {
    tokens_ = std::min(burst_, tokens_ + static_cast<double>(now_ms - last_ms_) * rate_ / 1000.0);
    last_ms_ = now_ms;
  }
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

Admission::Verdict Admission::admit(int fd, uint64_t now_ms, IpKey* key) {
  *key = {};
  if (rate_ != 0 && !take_token(now_ms)) return Verdict::kRate;
  if (per_ip_ == 0) return Verdict::kAdmit;
  IpKey k;
  if (!PeerKey(fd, &k)) return Verdict::kAdmit;
  Stripe& s = stripe_of(k);
  std::lock_guard<std::mutex> lock(s.mu);
  uint32_t& n = s.conns[k];
  if (n >= per_ip_) {
    if (n == 0) s.conns.erase(k);
    return Verdict::kPerIp;
  }
  ++n;
  *key = k;
  return Verdict::kAdmit;
}

void Admission::release(const IpKey& key) {
  if (!counted(key)) return;
  Stripe& s = stripe_of(key);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.conns.find(key);
  if (it == s.conns.end()) return;
  if (--it->second == 0) s.conns.erase(it);
}

}  // namespace percore
