// Socket helpers: listening sockets and the per-connection options Config asks for.
// Everything returns an owned Fd or a Status naming the syscall and errno.
#pragma once

#include "absl/status/statusor.h"
#include "net/address.h"
#include "reactor/config.h"
#include "reactor/fd.h"

namespace percore {

// A non-blocking listening socket bound to `addr`; SO_REUSEPORT when reuse_port. TCP
// listeners carry TCP_NODELAY, which the sockets they accept inherit.
absl::StatusOr<Fd> Listen(const Address& addr, int backlog, bool reuse_port);
// The address a socket is bound to (to learn the port chosen for port 0).
absl::StatusOr<Address> LocalAddress(int fd);
// TCP_NODELAY, keepalive and buffer sizes from config, for a socket accepted from a Listen()
// socket: TCP_NODELAY on is inherited from it and costs nothing here; off is set per socket.
void ApplySocketOptions(int fd, const Config& config);
// Makes the next close() send RST instead of FIN (SO_LINGER 0).
void SetLingerZero(int fd);

}  // namespace percore
