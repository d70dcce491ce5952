// Handler plumbing: the application's handler is any class with some of
//   struct ConnState { ... };                              // per-connection state (optional)
//   void   on_open(Connection&);
//   size_t on_data(Connection&, std::span<const char> in);  // returns bytes consumed
//   void   on_drain(Connection&);                           // output fell below low watermark
//   void   on_close(Connection&, CloseReason);              // exactly once
//   void   on_peer_shutdown(Connection&);                   // peer's FIN; default: flush, close
//   void   on_shutdown(Connection&);                        // server is draining
// HandlerOps is the type-erased form the reactors call (one virtual call per event) and
// HandlerAdapter<H> builds it, so the library compiles once and ConnState still lives in the
// connection's slab slot. The handler object is shared by all reactor threads.
#pragma once

#include <cstddef>
#include <new>
#include <span>

#include "reactor/stats.h"

namespace percore {

class Connection;

class HandlerOps {
 public:
  virtual ~HandlerOps() = default;
  virtual size_t state_size() const = 0;
  virtual void construct_state(void* p) = 0;
  virtual void destroy_state(void* p) = 0;
  virtual void on_open(Connection& c) = 0;
  virtual size_t on_data(Connection& c, std::span<const char> in) = 0;
  virtual void on_drain(Connection& c) = 0;
  virtual void on_close(Connection& c, CloseReason reason) = 0;
  // Returns false when the handler has no on_peer_shutdown (then the framework closes).
  virtual bool on_peer_shutdown(Connection& c) = 0;
  virtual void on_shutdown(Connection& c) = 0;
};

namespace internal {
struct NoState {};
template <class H>
struct StateOf {
  using type = NoState;
};
template <class H>
requires requires { typename H::ConnState; }
struct StateOf<H> {
  using type = typename H::ConnState;
};
}  // namespace internal

template <class H>
class HandlerAdapter final : public HandlerOps {
 public:
  using State = typename internal::StateOf<H>::type;
  static_assert(alignof(State) <= 16, "ConnState alignment above 16 is not supported");

  explicit HandlerAdapter(H& h) : h_(h) {}

  size_t state_size() const override {
    return std::is_same_v<State, internal::NoState> ? 0 : sizeof(State);
  }
  void construct_state(void* p) override {
    if constexpr (!std::is_same_v<State, internal::NoState>) new (p) State();
  }
  void destroy_state(void* p) override {
    if constexpr (!std::is_same_v<State, internal::NoState>) {
      std::launder(static_cast<State*>(p))->~State();
    }
  }
  void on_open(Connection& c) override {
    if constexpr (requires { h_.on_open(c); }) h_.on_open(c);
  }
  size_t on_data(Connection& c, std::span<const char> in) override { return h_.on_data(c, in); }
  void on_drain(Connection& c) override {
    if constexpr (requires { h_.on_drain(c); }) h_.on_drain(c);
  }
  void on_close(Connection& c, CloseReason reason) override {
    if constexpr (requires { h_.on_close(c, reason); }) h_.on_close(c, reason);
  }
  bool on_peer_shutdown(Connection& c) override {
    if constexpr (requires { h_.on_peer_shutdown(c); }) {
      h_.on_peer_shutdown(c);
      return true;
    }
    return false;
  }
  void on_shutdown(Connection& c) override {
    if constexpr (requires { h_.on_shutdown(c); }) h_.on_shutdown(c);
  }

 private:
  H& h_;
};

}  // namespace percore
