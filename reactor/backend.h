// Backend: the I/O engine under one Reactor (epoll or io_uring), in completion style.
// The reactor's owner (net/ConnTable) asks for operations on Channels and receives their
// results through an IoSink; the backend hides its syscalls. A Backend is created, used and
// destroyed on its reactor's thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "reactor/channel.h"
#include "reactor/config.h"

namespace percore {

// Receives what a Backend completes. Every call happens on the reactor thread, inside poll().
class IoSink {
 public:
  virtual ~IoSink() = default;
  // The channel a token names, or nullptr when its slot was released or reused.
  virtual Channel* find(uint64_t token) = 0;
  // Bytes received; the view is valid only during the call.
  virtual void on_recv(Channel& ch, std::span<const char> data) = 0;
  // The receive side ended: err == 0 for an orderly EOF, else an errno (ECONNRESET...).
  virtual void on_recv_end(Channel& ch, int err) = 0;
  // The kernel took n bytes; the backend has already consumed them from ch.out.
  virtual void on_sent(Channel& ch, size_t n) = 0;
  virtual void on_send_error(Channel& ch, int err) = 0;
  // A connection was accepted on listener `id` and the sink owns fd from now on; or, with
  // fd < 0, accepting failed with errno -fd (EMFILE...) and the backend has already dealt
  // with the listener (rejected a pending peer, backed off): the sink only counts it.
  virtual void on_accept(uint32_t id, int fd) = 0;
  // Once per poll(), when its wait returned and before any of its events is delivered: the
  // reactor reads its clock here, so callbacks stamp the time they run at, not the time the
  // wait began (an idle reactor may have slept for minutes).
  virtual void on_wake() {}
  // The connect() under way on ch (Backend::connect) ended: err == 0 when it succeeded (the
  // channel is then receiving, as after open()), else the socket's errno (ECONNREFUSED...).
  virtual void on_connected(Channel& ch, int err) = 0;
};

// What a backend found the kernel to offer, for the start-up log line and the stats.
struct BackendInfo {
  std::string name;      // "epoll" or "io_uring"
  std::string features;  // e.g. "single_issuer,defer_taskrun,multishot_accept,..."
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual BackendInfo info() const = 0;
  // Takes ownership of a listening socket and accepts on it until remove_listener.
  virtual absl::Status add_listener(int fd, uint32_t id) = 0;
  virtual void remove_listener(uint32_t id) = 0;
  // Registers an accepted socket and starts receiving.
  virtual absl::Status open(Channel& ch) = 0;
  // Registers a socket whose non-blocking connect() returned EINPROGRESS and waits for it to
  // end: IoSink::on_connected tells how. close() during the wait abandons it (no callback).
  virtual absl::Status connect(Channel& ch) = 0;
  virtual void pause_recv(Channel& ch) = 0;
  virtual void resume_recv(Channel& ch) = 0;
  // Hands everything in ch.out to the kernel (called once per connection per loop turn).
  virtual void flush(Channel& ch) = 0;
  // Stops all I/O on ch and closes its fd, now or once outstanding operations end.
  virtual void close(Channel& ch) = 0;
  // True while the kernel may still write to or read from memory of ch (slot not reusable).
  virtual bool busy(const Channel& ch) const = 0;
  // Waits up to timeout_ms (-1: no limit) and delivers events to the sink. Returns how many
  // deliveries it made, its own queued work included (a connection read again from a ready
  // list, a listener accepted from again): 0 only if nothing reached the sink.
  virtual int poll(int timeout_ms) = 0;
  // Whether poll() has work of its own that must not wait (a ready list, queued submissions).
  virtual bool has_pending() const = 0;
  // Makes a blocked poll() return. Safe from any thread.
  virtual void wake() = 0;
};

// Creates the backend `kind` names for the calling thread. kAuto tries io_uring, then epoll,
// and sets *fallback_note to why io_uring was not used (empty if it was).
absl::StatusOr<std::unique_ptr<Backend>> MakeBackend(BackendKind kind, const Config& config,
                                                     IoSink* sink, std::string* fallback_note);

absl::StatusOr<std::unique_ptr<Backend>> MakeEpollBackend(const Config& config, IoSink* sink);
// Fails with a clear error when io_uring is not built in or the kernel refuses it.
absl::StatusOr<std::unique_ptr<Backend>> MakeUringBackend(const Config& config, IoSink* sink);

}  // namespace percore
