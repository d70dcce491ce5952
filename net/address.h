// Address: an IPv4, IPv6 or Unix-domain socket address, parsed from "host:port",
// "[v6addr]:port" or "unix:/path". A small value type; copy freely.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace percore {

class Address {
 public:
  static absl::StatusOr<Address> Parse(std::string_view text);
  static Address FromSockaddr(const sockaddr* sa, socklen_t len);

  int family() const { return storage_.ss_family; }
  bool is_unix() const { return family() == AF_UNIX; }
  uint16_t port() const;  // 0 for Unix-domain addresses
  void set_port(uint16_t port);
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t len() const { return len_; }
  std::string ToString() const;

 private:
  sockaddr_storage storage_{};
  socklen_t len_ = 0;
};

}  // namespace percore
