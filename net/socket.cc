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

absl::StatusOr<Fd> Listen(const Address& addr, int backlog, bool reuse_port,
                          const Config* options) {
  Fd fd(::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return SyscallError("socket", errno);
  int one = 1;
  if (!addr.is_unix()) {
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuse_port && ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      return SyscallError("setsockopt(SO_REUSEPORT)", errno);
    }
    // Linux copies the listener's socket options into each socket it accepts (TCP_NODELAY,
    // SO_KEEPALIVE, SO_RCVBUF/SO_SNDBUF: checked on 6.x with a listener/accept test), so they
    // are set once here instead of once per connection: under connection churn a setsockopt
    // was one of ~8 syscalls per connection. Buffer sizes set before listen() also shape the
    // window scale the handshake offers.
    int nodelay = options == nullptr || options->tcp_nodelay ? 1 : 0;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof nodelay);
    if (options != nullptr) {
      if (options->keepalive) ::setsockopt(fd.get(), SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
      if (options->rcvbuf > 0) {
        ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &options->rcvbuf, sizeof(int));
      }
      if (options->sndbuf > 0) {
        ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &options->sndbuf, sizeof(int));
      }
      if (options->defer_accept > absl::ZeroDuration()) {
        int secs = static_cast<int>(
            absl::ToInt64Seconds(absl::Ceil(options->defer_accept, absl::Seconds(1))));
        if (::setsockopt(fd.get(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof secs) != 0) {
          return SyscallError("setsockopt(TCP_DEFER_ACCEPT)", errno);
        }
      }
    }
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

void SetLingerZero(int fd) {
  linger lg{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

}  // namespace percore
