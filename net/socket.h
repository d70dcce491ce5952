// Socket helpers: listening sockets and the per-connection options Config asks for.
// Everything returns an owned Fd or a Status naming the syscall and errno.
#pragma once

#include "absl/status/statusor.h"
#include "net/address.h"
#include "reactor/config.h"
#include "reactor/fd.h"

namespace percore {

// A non-blocking listening socket bound to `addr`; SO_REUSEPORT when reuse_port. A TCP
// listener carries the per-connection options of `options` (TCP_NODELAY, on without options;
// keepalive, buffer sizes, defer_accept), which the sockets it accepts inherit: nothing is set
// per accepted connection.
absl::StatusOr<Fd> Listen(const Address& addr, int backlog, bool reuse_port,
                          const Config* options = nullptr);
// The address a socket is bound to (to learn the port chosen for port 0).
absl::StatusOr<Address> LocalAddress(int fd);
// Makes the next close() send RST instead of FIN (SO_LINGER 0).
void SetLingerZero(int fd);

}  // namespace percore
