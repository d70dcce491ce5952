// PlanTarget: whether this host can hold N connections, and for each limit that falls short the
// exact lines that raise it (sysctl.d, limits.conf, a systemd unit, the shell), with the memory
// N idle connections will take. Pure: everything it judges comes in as arguments.
#pragma once

#include <cstdint>

#include "tools/probe_conn_bytes.h"
#include "tools/probe_host.h"
#include "tools/probe_report.h"
#include "tools/probe_sockets.h"

namespace percore::tools {

// Beyond the connections: listeners, epoll or io_uring fds, eventfds and reserve fds per
// reactor, stdio, logs. Generous, since running out of fds is the costly mistake.
inline constexpr int64_t kSpareFds = 1024;

ProbeSection PlanTarget(int64_t conns, const HostFacts& host, const ConnBytes& percore,
                        const SocketCost& kernel);

}  // namespace percore::tools
