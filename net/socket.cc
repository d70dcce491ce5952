#include "net/socket.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "reactor/syscall_error.h"

namespace percore {

absl::StatusOr<Fd> Listen(const Address& addr, int backlog, bool reuse_port) {
  Fd fd(::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return SyscallError("socket", errno);
  int one = 1;
  if (!addr.is_unix()) {
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuse_port && ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      return SyscallError("setsockopt(SO_REUSEPORT)", errno);
    }
    // Accepted sockets inherit it (see ApplySocketOptions): one setsockopt per listener
    // instead of one per connection.
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  } else {
    // A stale socket file from a previous run would make bind fail with EADDRINUSE.
    const auto* un = reinterpret_cast<const sockaddr_un*>(addr.sa());
    ::unlink(un->sun_path);
  }
  if (::bind(fd.get(), addr.sa(), addr.len()) != 0) {
    return SyscallError(absl::StrCat("bind ", addr.ToString()), errno);
  }
  if (::listen(fd.get(), backlog) != 0) {
    return SyscallError(absl::StrCat("listen ", addr.ToString()), errno);
  }
  return fd;
}

absl::StatusOr<Address> LocalAddress(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return SyscallError("getsockname", errno);
  }
  return Address::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

void ApplySocketOptions(int fd, const Config& config) {
  int one = 1;
  // Linux copies the listener's socket options into each socket it accepts (TCP_NODELAY,
  // SO_KEEPALIVE, SO_RCVBUF/SO_SNDBUF, TCP_KEEPIDLE: checked on 6.x with a listener/accept
  // test), and Listen() gives every TCP listener TCP_NODELAY, so with the default
  // tcp_nodelay = true there is nothing to set: under connection churn that setsockopt was
  // one of ~8 syscalls per connection (about 1% of the server's CPU per connection with the
  // kit's churn case). Only a config that wants Nagle pays a call, to clear it.
  // Errors are ignored on purpose: Unix-domain sockets reject the TCP options.
  if (!config.tcp_nodelay) {
    int zero = 0;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &zero, sizeof zero);
  }
  if (config.keepalive) ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  if (config.rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &config.rcvbuf, sizeof(int));
  if (config.sndbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &config.sndbuf, sizeof(int));
}

void SetLingerZero(int fd) {
  linger lg{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

}  // namespace percore
