// ConnTable: the connections of one reactor. It owns their slab (Connection + the handler's
// ConnState per slot), receives the backend's completions (IoSink), applies flow control,
// timeouts and limits, and calls the handler. Lives on, and is used only by, its reactor's
// thread; other threads reach it through Reactor::post (ConnHandle does that).
//
// Its code is split by job: conn_table.cc (slots, lookups, the end of a loop turn),
// conn_accept.cc (accept, hand-off, adopt), conn_input.cc (input, pause/resume, kept input
// and its redelivery, the peer's FIN), conn_output.cc (send, flush, handle sends),
// conn_close.cc (the lifecycle: close modes, half-close, linger, shutdown) and
// conn_timeouts.cc (idle, write and linger timers).
//
// The end of a loop turn (turn_end) runs three phases, after the backend's events, the posted
// tasks and the due timers of that turn:
//   1. redeliver: input kept while paused goes to handlers that resumed (on_data, then a kept
//      FIN: on_peer_shutdown or close). May add to the flush and release lists.
//   2. flush: one backend flush per connection that queued output. Under epoll the kernel's
//      answer comes back at once (on_sent -> on_drain, which may resume: back to phase 1;
//      send: phase 2 again; close: release list).
//   3. release: slots of closed connections whose kernel operations ended are freed and
//      their ConnState destroyed; a destructor may close or send to other connections.
// Each phase runs until its list is empty, and the three repeat until none was re-fed, so
// nothing queued during the turn waits for an unrelated event.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "net/address.h"
#include "net/admission.h"
#include "net/connection.h"
#include "net/handler.h"
#include "net/output_gauges.h"
#include "pool/slab.h"
#include "reactor/backend.h"
#include "reactor/reactor.h"

namespace percore {

class ConnTable;

// What the tables of one server share: the count of fds held by connections (open or
// lingering, for max_connections) and the hand-off targets.
struct ServerShared {
  Admission admission;  // configured before the loops start
  std::atomic<uint32_t> fds_total{0};
  std::atomic<uint32_t> next_rr{0};
  std::vector<ConnTable*> tables;  // indexed by reactor; written before the loops start
};

// Told of every connection's close, right after the handler's on_close, on the table's
// reactor thread (Rooms drops the connection's memberships there).
class CloseObserver {
 public:
  virtual void on_conn_closed(Connection& c) = 0;

 protected:
  ~CloseObserver() = default;
};

// Why an outgoing connection (ConnTable::connect) never opened.
enum class ConnectError : uint8_t {
  kRefused,      // nobody listens there (ECONNREFUSED; a Unix path missing or its backlog full)
  kTimeout,      // no answer within the connect timeout (or the kernel's ETIMEDOUT)
  kUnreachable,  // no route (ENETUNREACH, EHOSTUNREACH, EADDRNOTAVAIL)
  kResolve,      // the host name did not resolve (TcpClient)
  kCancelled,    // the client stopped, or its reactors shut down, before it connected
  kOther,        // another errno (out of fds...)
};
const char* ConnectErrorName(ConnectError e);

// Hears how one outgoing connection fares, on the table's reactor thread. The table keeps it
// (shared) from connect() until the connection failed or closed.
class ConnectObserver {
 public:
  virtual ~ConnectObserver() = default;
  // Connected; runs right before the handler's on_open.
  virtual void on_connected(Connection& c) = 0;
  // Never opened, so the handler saw nothing of it. err: the errno, 0 when there is none.
  virtual void on_connect_failed(ConnectError e, int err) = 0;
  // It was open and has closed; runs right after the handler's on_close.
  virtual void on_disconnected(CloseReason reason) = 0;
};

class ConnTable final : public IoSink {
 public:
  // sink: the table's tag in its channels' tokens (Channel::sink): 0, or 1 for a ClientGroup's
  // table on a server's reactors (net/reactor_tables.h routes the backend's events by it).
  ConnTable(Reactor& reactor, HandlerOps& handler, ServerShared& shared, uint8_t sink = 0);
  ~ConnTable() override;  // releases whatever is left, without callbacks

  Reactor& reactor() { return r_; }
  size_t open() const { return open_; }
  void add_listener_id(uint32_t id) { listener_ids_.push_back(id); }
  // On this table's reactor thread; the observer must outlive the table.
  void add_close_observer(CloseObserver* o) { close_observers_.push_back(o); }

  // Takes an accepted fd: limits, socket options, slot, backend registration, on_open.
  void adopt(int fd);
  // Starts an outgoing connection (net/conn_connect.cc): non-blocking connect(), completed by
  // the backend, bounded by `timeout` (0: none) on the wheel. Once connected it is an ordinary
  // connection of this table (handler, codec, buffers, timeouts); `observer` hears the rest.
  // Returns its handle, valid while it connects and once open.
  ConnHandle connect(const Address& addr, absl::Duration timeout,
                     std::shared_ptr<ConnectObserver> observer);
  // Abandons a connect still under way (on_connect_failed(kCancelled)); false when it is not.
  bool cancel_connect(uint32_t slot, uint32_t gen);
  bool shutting_down() const { return shutting_down_; }
  // Graceful shutdown: stop accepting, cancel connects under way, tell the handler, flush,
  // after drain_timeout reset the rest. finished() once nothing is left (the reactor's owner
  // then stops the loop, net/reactor_tables.h).
  void begin_shutdown();
  bool finished() const { return finished_; }
  // Resets every open connection (with on_close) and releases all slots: end of the loop.
  void close_all();
  void turn_end();

  // Connection operations (Connection and ConnHandle forward here).
  SendResult send(Connection& c, std::string_view bytes) {
    return send(c, std::span<const std::string_view>(&bytes, 1));
  }
  // The parts, in order, as one send: one check of the state, the cap and the watermark.
  SendResult send(Connection& c, std::span<const std::string_view> parts);
  SendResult send(Connection& c, const Payload& p);
  void close(Connection& c, CloseMode mode, CloseReason reason = CloseReason::kLocal);
  void shutdown_write(Connection& c);
  void pause(Connection& c);
  void resume(Connection& c);
  Connection* lookup(uint32_t slot, uint32_t gen);  // open (not closed) connections only
  // CountFrames' side: whole messages a codec handed over (stats, and the message rate).
  void frames_counted(Connection& c, uint64_t n);
  // MessageBudget's side: messages the next delivery may hand over (UINT64_MAX: no limit).
  uint64_t message_budget(Connection& c);
  // ConnHandle's side: any thread.
  absl::StatusOr<SendResult> handle_send(uint32_t slot, uint32_t gen, std::string&& bytes);
  absl::StatusOr<SendResult> handle_send(uint32_t slot, uint32_t gen, Payload payload);
  absl::Status handle_close(uint32_t slot, uint32_t gen, CloseReason reason = CloseReason::kLocal);
  size_t handle_output_bytes(uint32_t slot, uint32_t gen) const;
  absl::Status handle_run(uint32_t slot, uint32_t gen, ConnHandle::Visit& fn);

  // IoSink.
  Channel* find(uint64_t token) override;
  void on_recv(Channel& ch, std::span<const char> data) override;
  void on_recv_end(Channel& ch, int err) override;
  void on_sent(Channel& ch, size_t n) override;
  void on_send_error(Channel& ch, int err) override;
  void on_accept(uint32_t id, int fd) override;
  void on_wake() override { r_.sample_clock(); }
  void on_connected(Channel& ch, int err) override;

 private:
  static Connection& conn_of(Channel& ch) { return *reinterpret_cast<Connection*>(&ch); }
  Connection* conn_at(uint32_t slot) { return static_cast<Connection*>(slab_.at(slot)); }
  void* state_of(Connection& c) { return reinterpret_cast<char*>(&c) + kConnStateOffset; }
  uint32_t now32() const { return static_cast<uint32_t>(r_.now_ms()); }
  static bool is_open(const Connection& c) { return c.lifecycle_ < Lifecycle::kClosing; }
  static bool reads(const Connection& c) {
    return c.lifecycle_ == Lifecycle::kOpen || c.lifecycle_ == Lifecycle::kShutPending ||
           c.lifecycle_ == Lifecycle::kWriteShut;
  }
  static bool writes(const Connection& c) {
    return c.lifecycle_ == Lifecycle::kOpen || c.lifecycle_ == Lifecycle::kPeerShut;
  }

  // conn_accept.cc
  ConnTable* hand_off_target();
  // conn_input.cc
  void deliver(Connection& c, std::span<const char> data);
  bool keep_input(Connection& c, std::span<const char> data);
  void redeliver(Connection& c);
  void queue_redelivery(Connection& c);
  void peer_fin(Connection& c);
  // conn_output.cc
  void mark_dirty(Connection& c);
  void publish_output(Connection& c);
  template <class Append>
  SendResult queue(Connection& c, size_t bytes, Append&& append);
  template <class Bytes>
  absl::StatusOr<SendResult> handle_send_any(uint32_t slot, uint32_t gen, Bytes&& bytes);
  template <class Bytes>
  absl::Status apply_handle_send(uint32_t slot, uint32_t gen, const Bytes& bytes);
  // conn_close.cc
  void output_drained(Connection& c);
  void send_fin(Connection& c);
  void close_now(Connection& c, CloseReason reason, bool reset);
  bool start_linger(Connection& c, CloseReason reason);
  void finish(Connection& c);  // -> kClosed: the fd goes, the slot waits for release
  void reset_all();            // the end of a shutdown: reset what is open, stop lingering
  // conn_rate.cc
  struct InputRate {
    double bytes = 0, messages = 0;  // tokens; negative: owed
    uint32_t last_ms = 0;
    bool throttled = false;
  };
  bool throttled(const Connection& c) const {
    return rate_on_ && c.ch_.slot < rates_.size() && rates_[c.ch_.slot].throttled;
  }
  // The handler paused reading, or a rate limit did: input is kept, not delivered.
  bool held(const Connection& c) const { return (c.marks_ & Connection::kPaused) || throttled(c); }
  void rate_open(Connection& c);
  void charge_input(Connection& c, size_t bytes, uint64_t messages);
  uint64_t rate_resume_ms(Connection& c);  // ms until the buckets allow reading again
  void rate_check(Connection& c);          // the timer: refilled enough? resume reading
  bool within(const InputRate& r) const;   // the buckets allow reading
  void unhold(Connection& c);              // neither paused nor throttled now: read again
  // conn_timeouts.cc
  void arm_timer(Connection& c);
  void cancel_timer(Connection& c);
  static void on_timer(void* ctx, uint64_t arg);
  void check_timer(Connection& c);
  bool heartbeat_applies(const Connection& c) const;
  // conn_connect.cc
  void open_outgoing(Connection& c);
  void connect_failed(Connection& c, ConnectError e, int err);
  void abort_connects();
  void notify_disconnected(Connection& c, CloseReason reason);
  // conn_table.cc
  Connection* slot_conn(uint32_t slot, uint32_t gen);  // live slot, closed or not
  void release(uint32_t slot);
  bool release_closed();  // phase 3; true when anything was released
  template <class Fn>
  void for_each_live(Fn fn) {
    for (uint32_t slot = 0; slot < slab_.capacity(); ++slot) {
      if (slab_.is_live(slot)) fn(*conn_at(slot));
    }
  }

  Reactor& r_;
  const Config& cfg_;
  HandlerOps& h_;
  ServerShared& shared_;
  const uint64_t heartbeat_ms_;  // 0: no heartbeat (off, or the handler has no on_heartbeat)
  SlabStorage slab_;
  OutputGauges gauges_;
  std::vector<Admission::IpKey> ip_keys_;  // by slot; only with a per-IP limit
  // Input rate limits (conn_rate.cc), by slot; only when a limit is set.
  const bool rate_on_;
  std::vector<InputRate> rates_;
  size_t open_ = 0;
  size_t lingering_ = 0;  // closed (on_close ran) but still reading until the peer's FIN
  std::atomic<uint32_t> incoming_{0};      // hand-offs posted to this table, not yet adopted
  std::atomic<uint64_t> handle_bytes_{0};  // handle sends posted here, not yet applied
  std::vector<uint32_t> dirty_, dirty_swap_;
  std::vector<uint32_t> redeliver_, redeliver_swap_;
  std::vector<uint32_t> closing_, closing_swap_;
  std::vector<uint32_t> listener_ids_;
  std::vector<CloseObserver*> close_observers_;
  std::vector<std::shared_ptr<ConnectObserver>> observers_;  // by slot: outgoing connections
  const uint8_t sink_;
  bool shutting_down_ = false;
  bool finished_ = false;  // shut down and empty (turn_end): nothing of it left on the reactor
  TimerWheel::TimerId drain_timer_ = TimerWheel::kNoTimer;
};

}  // namespace percore
