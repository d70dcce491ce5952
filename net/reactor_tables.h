// ReactorTables: the IoSink of one server reactor. It owns nothing: it routes the backend's
// events to the server's ConnTable and, while one is attached, to a ClientGroup's table on
// the same reactor (outgoing connections with their own handler and slot size), by the table
// tag each channel carries (Channel::sink). It also ends the loop turn of both, shuts both
// down with the server, and stops the loop once both are empty. Lives in its TcpServer; used
// only on its reactor's thread, except attach before the loop starts.
#pragma once

#include <functional>

#include "net/conn_table.h"
#include "reactor/backend.h"

namespace percore {

class ReactorTables final : public IoSink {
 public:
  // Called once the attached table has left the reactor: shut down and empty, or the loop
  // ended (close_all). On the reactor thread (or the loop's thread during its teardown).
  using Detached = std::function<void()>;

  void set_server(ConnTable* t) { server_ = t; }
  // The client table; false (nothing attached) when one is attached already or the server
  // is shutting down.
  bool attach(ConnTable* t, Detached on_detached);
  // The loop never ran (the server failed to start): the client table leaves as it is.
  void drop_client() {
    if (client_ != nullptr) detach();
  }

  void begin_shutdown();
  void close_all();
  void turn_end();

  // IoSink.
  Channel* find(uint64_t token) override;
  void on_recv(Channel& ch, std::span<const char> data) override { of(ch).on_recv(ch, data); }
  void on_recv_end(Channel& ch, int err) override { of(ch).on_recv_end(ch, err); }
  void on_sent(Channel& ch, size_t n) override { of(ch).on_sent(ch, n); }
  void on_send_error(Channel& ch, int err) override { of(ch).on_send_error(ch, err); }
  void on_accept(uint32_t id, int fd) override { server_->on_accept(id, fd); }
  void on_wake() override { server_->on_wake(); }
  void on_connected(Channel& ch, int err) override { of(ch).on_connected(ch, err); }

 private:
  ConnTable& of(const Channel& ch) { return ch.sink != 0 ? *client_ : *server_; }
  void detach();

  ConnTable* server_ = nullptr;
  ConnTable* client_ = nullptr;
  Detached on_detached_;
};

}  // namespace percore
