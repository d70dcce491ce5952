// TcpClient: one long-lived outgoing connection to one endpoint, living in a ConnTable of one
// reactor like an accepted connection (same handler, codec, buffers, watermarks, timeouts),
// reconnected after failures and drops with exponential back-off and full jitter (timers on
// that reactor's wheel, no thread of its own). Owned by the application; its state lives on
// the reactor (shared with the table while a connect or a connection is under way), so the
// object itself may be destroyed at any time before its ClientGroup.
//
//   percore::ClientGroup group(config, handler);   // handler: on_open, on_message, on_close...
//   group.start();
//   percore::TcpClient client(group, 0, "127.0.0.1:6379", {.connect_timeout = absl::Seconds(2)});
//   client.start();
//   ... client.handle().send("PING\r\n");            // any thread, once connected
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "net/address.h"
#include "net/backoff.h"
#include "net/client_group.h"
#include "net/conn_handle.h"
#include "net/resolver_thread.h"

namespace percore {

// A connect that failed: why (ConnectError), and a Status naming the endpoint and errno.
struct ConnectFailure {
  ConnectError error;
  absl::Status status;
};

struct ClientOptions {
  absl::Duration connect_timeout = absl::Seconds(5);  // 0: the kernel's (minutes)
  Backoff::Options reconnect;                         // reconnect.enabled = false: one try
  Backoff::Rng rng;                                   // null: seeded; tests inject one
  // On the client's reactor thread, until stop().
  std::function<void(const ConnectFailure&)> on_connect_failed;
  // Each reconnect scheduled: its delay (drawn under the back-off's ceiling).
  std::function<void(uint64_t delay_ms)> on_reconnect_scheduled;
  // "host:port" to an address. Runs in start() on its caller, then before every reconnect on
  // the group's resolver thread (never a reactor). Null: ResolveEndpoint (getaddrinfo).
  // Literal addresses and Unix paths are never resolved.
  ResolverThread::Resolve resolver;
};

// Where a client is. Transitions (reactor thread):
//   kIdle -> kConnecting (start) -> kConnected (on_open) -> kWaiting (dropped) -> kConnecting...
//   kWaiting -> kResolving (a host name: resolved again off the reactor) -> kConnecting
//   kResolving -> kWaiting (the name did not resolve: a kResolve failure)
//   kConnecting -> kWaiting (failed, reconnect on) | kStopped (failed, reconnect off)
//   kConnected -> kStopped (dropped, reconnect off); any -> kStopped (stop())
enum class ClientState : uint8_t { kIdle, kResolving, kConnecting, kConnected, kWaiting, kStopped };

class TcpClient {
 public:
  // endpoint: "host:port", "[v6]:port", "unix:/path"; host names resolve in start() and again
  // before each reconnect (on the group's resolver thread).
  TcpClient(ClientGroup& group, size_t reactor, std::string endpoint, ClientOptions options = {});
  ~TcpClient();  // stop()
  TcpClient(const TcpClient&) = delete;
  TcpClient& operator=(const TcpClient&) = delete;

  // Resolves the endpoint on the calling thread (getaddrinfo may block: never call it on a
  // reactor) and posts the first connect. InvalidArgument/NotFound when it cannot resolve.
  absl::Status start();
  // No more reconnects; a connect under way is cancelled, an open connection closed
  // (graceful). Any thread; from a foreign thread it returns once the reactor applied it,
  // so the option callbacks are not called afterwards. A lookup in progress is not waited
  // for: its answer finds the client stopped.
  void stop();

  // Any thread. The open connection's handle, or an invalid one.
  ConnHandle handle() const;
  ClientState state() const;
  // The delay of the last reconnect scheduled, in ms, and the attempts since the schedule
  // was last reset.
  uint64_t last_delay_ms() const;
  uint32_t attempts() const;
  const Address& address() const { return addr_; }  // as start() resolved it
  size_t reactor_index() const { return reactor_; }

 private:
  class Core;
  void stop_core();
  ClientGroup& group_;
  size_t reactor_;
  std::string endpoint_;
  ClientOptions options_;  // until start() hands them to the core
  Address addr_;
  std::shared_ptr<Core> core_;
};

// "host:port" to an address: literals parse, names (localhost too) go through getaddrinfo
// (blocking).
absl::StatusOr<Address> ResolveEndpoint(const std::string& endpoint);
// True when the endpoint's host is a name to resolve (not an IP literal, not "unix:").
bool IsHostName(const std::string& endpoint);

}  // namespace percore
