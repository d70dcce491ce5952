// ClientPool: N long-lived connections (TcpClients, reconnecting) to one backend, spread over
// the reactors of its ClientGroup (reactors of its own, or a TcpServer's), carrying
// request/response pairs correlated by id:
//   frame = [u32 length, big endian][u64 request id, big endian][payload]
// (length counts id + payload); the backend answers each request with a frame carrying the
// same id, in any order. call() works from any thread; each request becomes one send on the
// connection's reactor, so frames of concurrent callers never interleave. Every accepted
// call gets exactly one answer: the reply, or a status (timeout, connection lost, no
// connection). Limits: max in flight (excess fails at once or waits in a bounded queue) and
// a token-bucket rate. Owned by the application; destroy it before anything its callbacks use.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "net/client_group.h"
#include "net/tcp_client.h"
#include "net/token_bucket.h"
#include "reactor/metrics_registry.h"
#include "reactor/stats.h"

namespace percore {

struct ClientPoolOptions {
  enum class Pick : uint8_t { kRoundRobin, kLeastPending };
  std::string endpoint;  // "host:port", "[v6]:port", "unix:/path"
  std::string name;      // the pool="..." label of its metrics; empty: the endpoint
  size_t connections = 2;
  Pick pick = Pick::kRoundRobin;
  // A call made on one of the pool's reactors (a server handler's, for a pool on the server's
  // reactors) picks among the connections up on that same reactor first, and sends there at
  // once, without a task; the answer then comes on the caller's reactor. Only when none is up
  // there does `pick` choose among all. Off: `pick` among all, the send is a posted task.
  bool local_first = true;
  absl::Duration request_timeout = absl::Seconds(5);  // on the connection's timer wheel
  size_t max_in_flight = 10000;  // sent and not yet answered, over the pool; 0: no limit
  size_t max_queued = 0;         // calls waiting for in-flight room; 0: excess fails at once
  double rate = 0;               // calls admitted per second (token bucket); 0: no limit
  double burst = 1;              // tokens the bucket saves
  size_t max_frame = 16 << 20;   // a reply frame above this closes the connection
  ClientOptions client;          // connect timeout, reconnect back-off
  TokenBucket::Clock clock;      // ms for the rate limit; null: steady clock (tests inject)
};

class ClientPool {
 public:
  using Reply = absl::StatusOr<std::string>;
  // Runs once, on the reactor of the connection that carried the request (or inline in
  // call(), or on the reactor that released in-flight room, when no connection could take it).
  using Callback = absl::AnyInvocable<void(Reply) &&>;

  // What the pool's reactors count, each on its own (a sum over them in Stats).
  struct ReactorStats {
    uint64_t sent = 0, answered = 0, timed_out = 0, failed_disconnect = 0;
    uint64_t late_replies = 0;  // an answer whose request had timed out (or was unknown)
    uint64_t connected = 0;     // connections of the pool open on this reactor now
  };
  struct Stats {
    uint64_t calls = 0;  // accepted by call() (sent at once or queued)
    uint64_t sent = 0, answered = 0, timed_out = 0, failed_disconnect = 0, no_connection = 0;
    uint64_t late_replies = 0;
    uint64_t rejected_in_flight = 0, rejected_rate = 0;
    uint64_t queued_total = 0;  // calls that waited in the queue for in-flight room
    uint64_t in_flight = 0, queued = 0, peak_in_flight = 0, connected = 0, connections = 0;
    std::vector<ReactorStats> per_reactor;

    // Prometheus text: percore_client_pool_<name>{pool="..."} and, per reactor,
    // percore_client_pool_reactor_<name>{pool="...",reactor="i"} (a separate family).
    void AppendPrometheus(std::string& out, std::string_view pool) const;
  };

  // config: the pool's own reactors (threads, backend, watermarks...).
  ClientPool(const Config& config, ClientPoolOptions options);
  // On the server's reactors (ClientGroup(server, ...)), under its Config: no threads. Start
  // it before or after the server; shut it down after server.wait(), or while the server
  // runs once no handler calls it any more. The server's shutdown fails what is in flight.
  ClientPool(TcpServer& server, ClientPoolOptions options);
  ~ClientPool();  // shutdown()
  ClientPool(const ClientPool&) = delete;
  ClientPool& operator=(const ClientPool&) = delete;

  // Starts the reactors and the connections (resolving the endpoint on this thread).
  absl::Status start();
  // Stops reconnecting, fails what is pending (kUnavailable), joins the reactors.
  void shutdown();

  // Any thread. OK: `done` will be called exactly once. ResourceExhausted (rate limit, or
  // in-flight limit with the queue full): refused at once, `done` not called.
  absl::Status call(std::string request, Callback done);
  // How many connections are open now.
  size_t connected() const;
  Stats stats() const;
  // Adds this pool's stats to `registry` (the http app's /metrics) under the pool="name" label
  // (options.name, or the endpoint) until the Registration is destroyed: before shutdown()
  // (stats() reads the pool's clients, which shutdown() releases). Several pools in one
  // registry share the families: the registry prints each "# TYPE" line once.
  [[nodiscard]] MetricsRegistry::Registration export_metrics(MetricsRegistry& registry) const;

 private:
  class Handler;
  struct Queued {
    std::string request;
    Callback done;
  };
  static constexpr uint32_t kNoClient = UINT32_MAX;
  void dispatch(std::string request, Callback done);
  int own_reactor();  // the caller's reactor, when local_first and it is one of the pool's
  absl::Status admit_locked(std::string& request, Callback& done);
  void note_peak(size_t in_flight);
  void fail(uint32_t client, Callback done, std::string_view why);
  void finish_one(uint32_t client);  // an in-flight request ended: room for a queued one

  ClientPoolOptions opts_;
  std::unique_ptr<Handler> handler_;
  std::unique_ptr<ClientGroup> group_;
  std::vector<std::unique_ptr<TcpClient>> clients_;
  std::unique_ptr<std::atomic<uint32_t>[]> pending_;  // per client, for kLeastPending
  std::atomic<uint32_t> next_rr_{0};

  // Admission. Without a queue and a rate limit, in_flight_ alone decides, lock-free; with
  // either, mu_ guards the count (still written atomically, for stats()), queue and bucket.
  bool locked_admission() const { return opts_.max_queued > 0 || opts_.rate > 0; }
  mutable std::mutex mu_;
  std::atomic<size_t> in_flight_{0};
  std::deque<Queued> queue_;
  TokenBucket bucket_;

  // Bumped by any caller thread.
  struct Counters {
    std::atomic<uint64_t> calls{0}, no_connection{0}, rejected_in_flight{0}, rejected_rate{0},
        queued_total{0}, peak{0};
  };
  Counters n_;
  // Bumped by one reactor each: no shared cache line between the pool's reactors.
  struct alignas(64) OnReactor {
    Counter sent, answered, timed_out, failed_disconnect, late;
  };
  std::unique_ptr<OnReactor[]> on_reactor_;
  OnReactor& counters(const Connection& c);  // the connection's reactor's
};

}  // namespace percore
