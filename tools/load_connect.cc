#include "tools/load_connect.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace percore::tools {
namespace {

bool ParseIpv4(absl::string_view text, uint32_t* out) {
  in_addr a{};
  std::string s(text.data(), text.size());
  if (::inet_pton(AF_INET, s.c_str(), &a) != 1) return false;
  *out = ntohl(a.s_addr);
  return true;
}

}  // namespace

absl::StatusOr<std::vector<uint32_t>> ParseSourceIps(const std::string& list) {
  std::vector<uint32_t> out;
  for (absl::string_view part : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    std::vector<absl::string_view> ends = absl::StrSplit(part, absl::MaxSplits('-', 1));
    uint32_t lo = 0, hi = 0;
    if (!ParseIpv4(ends[0], &lo) || (ends.size() == 2 && !ParseIpv4(ends[1], &hi))) {
      return absl::InvalidArgumentError(
          absl::StrFormat("source addresses: '%s' is not an IPv4 address or A-B range", part));
    }
    if (ends.size() == 1) hi = lo;
    if (hi < lo || hi - lo > 65535) {
      return absl::InvalidArgumentError(
          absl::StrFormat("source addresses: '%s' is not a range of at most 65536", part));
    }
    for (uint64_t a = lo; a <= hi; ++a) out.push_back(static_cast<uint32_t>(a));
  }
  return out;
}

absl::StatusOr<LoadTarget> ResolveTarget(const LoadOptions& opt) {
  LoadTarget t;
  if (!opt.unix_path.empty()) {
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    if (opt.unix_path.size() >= sizeof un.sun_path) {
      return absl::InvalidArgumentError(absl::StrFormat("Unix path too long: %s", opt.unix_path));
    }
    std::memcpy(un.sun_path, opt.unix_path.data(), opt.unix_path.size());
    std::memcpy(&t.addr, &un, sizeof un);
    t.addr_len = sizeof un;
    t.unix_socket = true;
    if (!opt.source_ips.empty() || opt.spread > 0) {
      return absl::InvalidArgumentError("source addresses need a TCP target");
    }
    return t;
  }
  if (opt.port == 0) return absl::InvalidArgumentError("no target port");
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(opt.port);
  if (int rc = ::getaddrinfo(opt.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("bad host '%s': %s", opt.host, ::gai_strerror(rc)));
  }
  std::memcpy(&t.addr, res->ai_addr, res->ai_addrlen);
  t.addr_len = res->ai_addrlen;
  ::freeaddrinfo(res);
  if (!opt.source_ips.empty()) {
    auto s = ParseSourceIps(opt.source_ips);
    if (!s.ok()) return s.status();
    t.sources = std::move(*s);
  } else {
    for (int i = 0; i < opt.spread; ++i) t.sources.push_back(0x7F000001u + i);
  }
  if (!t.sources.empty() && t.addr.ss_family != AF_INET) {
    return absl::InvalidArgumentError("source addresses are IPv4: the target must be too");
  }
  return t;
}

absl::Status CheckFdBudget(int n) {
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  if (static_cast<rlim_t>(n) + 64 > lim.rlim_cur) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "%d connections need %d fds but RLIMIT_NOFILE is %d: raise `ulimit -n` (docs/tuning.md)", n,
        n + 64, static_cast<long>(lim.rlim_cur)));
  }
  return absl::OkStatus();
}

absl::StatusOr<Fd> StartConnect(const LoadTarget& t, int index, bool* in_progress) {
  Fd fd(::socket(t.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return absl::InternalError(absl::StrFormat("socket: %s", std::strerror(errno)));
  int one = 1;
  if (!t.unix_socket) ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!t.sources.empty()) {
    // Without NO_PORT, bind picks a port before the destination is known and the ports of one
    // source address run out at ~28k connections over all destinations.
    ::setsockopt(fd.get(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(t.sources[static_cast<size_t>(index) % t.sources.size()]);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
      char ip[INET_ADDRSTRLEN];
      ::inet_ntop(AF_INET, &src.sin_addr, ip, sizeof ip);
      return absl::UnavailableError(absl::StrFormat("bind %s: %s", ip, std::strerror(errno)));
    }
  }
  *in_progress = false;
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&t.addr), t.addr_len) != 0) {
    if (errno != EINPROGRESS) {
      return absl::UnavailableError(absl::StrFormat("connect: %s", std::strerror(errno)));
    }
    *in_progress = true;
  }
  return fd;
}

int ConnectError(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

}  // namespace percore::tools
