// ConnTable: the connections of one reactor. It owns their slab (Connection + the handler's
// ConnState per slot), receives the backend's completions (IoSink), applies flow control,
// timeouts and limits, and calls the handler. Lives on, and is used only by, its reactor's
// thread; other threads reach it through Reactor::post (ConnHandle does that).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "net/connection.h"
#include "net/handler.h"
#include "pool/slab.h"
#include "reactor/backend.h"
#include "reactor/reactor.h"

namespace percore {

class ConnTable;

// What the tables of one server share: the global connection count and the hand-off targets.
struct ServerShared {
  std::atomic<uint32_t> open_total{0};
  std::atomic<uint32_t> next_rr{0};
  std::vector<ConnTable*> tables;  // indexed by reactor; written before the loops start
};

class ConnTable final : public IoSink {
 public:
  ConnTable(Reactor& reactor, HandlerOps& handler, ServerShared& shared);
  ~ConnTable() override;  // releases whatever is left, without callbacks

  Reactor& reactor() { return r_; }
  size_t open() const { return open_; }
  void add_listener_id(uint32_t id) { listener_ids_.push_back(id); }

  // Takes an accepted fd: limits, socket options, slot, backend registration, on_open.
  void adopt(int fd);
  // Graceful shutdown: stop accepting, tell the handler, flush, after drain_timeout reset the
  // rest; stops the reactor once nothing is left.
  void begin_shutdown();
  // Resets every open connection (with on_close) and releases all slots: end of the loop.
  void close_all();
  void turn_end();

  // Connection operations (Connection and ConnHandle forward here).
  SendResult send(Connection& c, std::string_view bytes);
  void close(Connection& c, CloseMode mode, CloseReason reason = CloseReason::kLocal);
  void shutdown_write(Connection& c);
  void pause(Connection& c);
  void resume(Connection& c);
  Connection* lookup(uint32_t slot, uint32_t gen);
  absl::Status handle_send(uint32_t slot, uint32_t gen, std::string_view bytes);
  absl::Status handle_close(uint32_t slot, uint32_t gen);

  // IoSink.
  Channel* find(uint64_t token) override;
  void on_recv(Channel& ch, std::span<const char> data) override;
  void on_recv_end(Channel& ch, int err) override;
  void on_sent(Channel& ch, size_t n) override;
  void on_send_error(Channel& ch, int err) override;
  void on_accept(uint32_t id, int fd) override;

 private:
  static Connection& conn_of(Channel& ch) { return *reinterpret_cast<Connection*>(&ch); }
  Connection* conn_at(uint32_t slot) { return static_cast<Connection*>(slab_.at(slot)); }
  void* state_of(Connection& c) { return reinterpret_cast<char*>(&c) + kConnStateOffset; }
  uint32_t now32() const { return static_cast<uint32_t>(r_.now_ms()); }

  void deliver(Connection& c, std::span<const char> data);
  void peer_shutdown(Connection& c);
  void mark_dirty(Connection& c);
  void close_now(Connection& c, CloseReason reason, bool reset);
  bool start_linger(Connection& c);
  void end_linger(Connection& c);
  void reset_all();  // the end of a shutdown: reset what is open, stop lingering
  Connection* slot_conn(uint32_t slot, uint32_t gen);  // live slot, closed or not
  void release(uint32_t slot);
  void arm_timer(Connection& c);
  static void on_timer(void* ctx, uint64_t arg);
  void check_timer(Connection& c);
  template <class Fn>
  void for_each_live(Fn fn);

  Reactor& r_;
  const Config& cfg_;
  HandlerOps& h_;
  ServerShared& shared_;
  SlabStorage slab_;
  size_t open_ = 0;
  size_t lingering_ = 0;  // closed (on_close ran) but still reading until the peer's FIN
  std::vector<uint32_t> dirty_, dirty_swap_;
  std::vector<uint32_t> redeliver_, redeliver_swap_;
  std::vector<uint32_t> closing_, closing_keep_;
  std::vector<uint32_t> listener_ids_;
  bool shutting_down_ = false;
  TimerWheel::TimerId drain_timer_ = TimerWheel::kNoTimer;
};

}  // namespace percore
