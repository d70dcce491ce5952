// Handler plumbing: the application's handler is any class with some of
//   struct ConnState { ... };                              // per-connection state (optional)
//   void   on_open(Connection&);
//   size_t on_data(Connection&, std::span<const char> in);  // returns bytes consumed
//   void   on_drain(Connection&);                           // output fell below low watermark
//   void   on_close(Connection&, CloseReason);              // exactly once
//   void   on_peer_shutdown(Connection&);                   // peer's FIN; default: flush, close
//   void   on_shutdown(Connection&);                        // server is draining
//   void   on_heartbeat(Connection&);  // silent for Config::heartbeat_interval: send a ping
// A handler that speaks framed messages names a codec (protocol/) instead of on_data:
//   Codec  codec;                                           // a member, with its options
//   void   on_message(Connection&, std::span<const char> msg);  // one whole frame, no copy
//   void   on_message(Connection&, std::span<const char> msg, Codec::State&);  // or this: the
//                                                          // codec's State, to read what the
//                                                          // frame meant (WsCodec's event) or
//                                                          // to change it; the next decode, of
//                                                          // the same input too, sees the change
//   void   on_codec_error(Connection&, CodecError);        // optional: answer before the close
//   void   on_codec_error(Connection&, CodecError, const Codec::State&);  // or this, with the
//                                                          // codec's per-connection State
// The framework keeps partial frames, runs the decoder, and closes a connection whose input
// the codec rejects (reason kMalformed or kFrameTooLarge) after on_codec_error.
// HandlerOps is the type-erased form the reactors call (one virtual call per event) and
// HandlerAdapter<H> builds it, so the library compiles once and ConnState (and the codec's
// per-connection State) still live in the connection's slab slot. The handler object is
// shared by all reactor threads.
#pragma once

#include <cstddef>
#include <new>
#include <span>
#include <type_traits>
#include <utility>

#include "protocol/codec.h"
#include "reactor/stats.h"

namespace percore {

class Connection;
// net/connection.cc: adds n to the reactor's frames_in counter (once per on_data, not per frame).
void CountFrames(Connection& c, uint64_t n);

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
  // Whether the handler has on_heartbeat (Config::heartbeat_interval applies only then).
  virtual bool heartbeats() const = 0;
  virtual void on_heartbeat(Connection& c) = 0;
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

template <class H>
struct CodecStateOf {
  using type = NoState;
};
template <class H>
requires requires { typename std::remove_cvref_t<decltype(std::declval<H&>().codec)>::State; }
struct CodecStateOf<H> {
  using type = typename std::remove_cvref_t<decltype(std::declval<H&>().codec)>::State;
};
}  // namespace internal

template <class H>
concept MessageHandler = requires(H& h) {
  h.codec;
}
&&(
    requires(H& h, Connection& c, std::span<const char> m) { h.on_message(c, m); } ||
    requires(H & h, Connection& c, std::span<const char> m,
             typename internal::CodecStateOf<H>::type& s) { h.on_message(c, m, s); });

template <class H>
class HandlerAdapter final : public HandlerOps {
 public:
  using State = typename internal::StateOf<H>::type;
  static_assert(alignof(State) <= 16, "ConnState alignment above 16 is not supported");

  explicit HandlerAdapter(H& h) : h_(h) {}

  size_t state_size() const override {
    if constexpr (MessageHandler<H>) {
      return codec_offset() + sizeof(CodecSlot);
    } else {
      return std::is_same_v<State, internal::NoState> ? 0 : sizeof(State);
    }
  }
  void construct_state(void* p) override {
    if constexpr (!std::is_same_v<State, internal::NoState>) new (p) State();
    if constexpr (MessageHandler<H>) new (static_cast<char*>(p) + codec_offset()) CodecSlot();
  }
  void destroy_state(void* p) override {
    if constexpr (!std::is_same_v<State, internal::NoState>) {
      std::launder(static_cast<State*>(p))->~State();
    }
    if constexpr (MessageHandler<H>) slot_at(p).~CodecSlot();
  }
  void on_open(Connection& c) override {
    if constexpr (requires { h_.on_open(c); }) h_.on_open(c);
  }
  size_t on_data(Connection& c, std::span<const char> in) override {
    if constexpr (MessageHandler<H>) {
      return on_frames(c, in);
    } else {
      return h_.on_data(c, in);
    }
  }
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
  bool heartbeats() const override {
    return requires(Connection & c) { h_.on_heartbeat(c); };
  }
  void on_heartbeat(Connection& c) override {
    if constexpr (requires { h_.on_heartbeat(c); }) h_.on_heartbeat(c);
  }

 private:
  // The codec's per-connection State, and how many bytes its next decode needs at least (so a
  // large frame arriving in pieces is not decoded again and again).
  struct CodecSlot {
    typename internal::CodecStateOf<H>::type state{};
    size_t need = 0;
  };
  static constexpr size_t codec_offset() {
    size_t user = std::is_same_v<State, internal::NoState> ? 0 : sizeof(State);
    return (user + alignof(CodecSlot) - 1) & ~(alignof(CodecSlot) - 1);
  }
  static CodecSlot& slot_at(void* state) {
    return *std::launder(reinterpret_cast<CodecSlot*>(static_cast<char*>(state) + codec_offset()));
  }

  size_t on_frames(Connection& c, std::span<const char> in);

  H& h_;
};

}  // namespace percore

#include "net/connection.h"  // on_frames needs the whole Connection

namespace percore {

template <class H>
size_t HandlerAdapter<H>::on_frames(Connection& c, std::span<const char> in) {
  if constexpr (MessageHandler<H>) {
    CodecSlot& slot = slot_at(&c.template state<char>());
    size_t used = 0;
    uint64_t frames = 0;
    // A codec that rewrites its input (WsCodec unmasks a frame's payload where it lies) takes
    // a mutable view. Casting the constness away is sound: the bytes are the framework's own
    // (the epoll scratch buffer, the connection's kept-input buffer, an io_uring provided
    // buffer), shared with no one else and not read again once consumed, and such a codec
    // rewrites only a frame it consumes whole (a kNeedMore leaves the bytes as they were, for
    // the next call to see them again).
    constexpr bool kMutable = !requires { h_.codec.decode(slot.state, std::span<const char>()); };
    using Span = std::conditional_t<kMutable, std::span<char>, std::span<const char>>;
    const Span all(const_cast<typename Span::element_type*>(in.data()), in.size());
    while (used < in.size() && in.size() - used >= slot.need) {
      Span rest = all.subspan(used);
      Decoded d = h_.codec.decode(slot.state, rest);
      if (d.kind == Decoded::Kind::kNeedMore) {
        slot.need = d.need;
        break;
      }
      slot.need = 0;
      if (d.kind == Decoded::Kind::kError) {
        CountFrames(c, frames);
        // The three-argument form also gets the codec's State (the HTTP codec keeps the status
        // to answer with there); a handler may define either.
        if constexpr (requires { h_.on_codec_error(c, d.error, std::as_const(slot.state)); }) {
          h_.on_codec_error(c, d.error, std::as_const(slot.state));
        } else if constexpr (requires { h_.on_codec_error(c, d.error); }) {
          h_.on_codec_error(c, d.error);
        }
        c.close(CloseMode::kGraceful, d.error == CodecError::kTooLarge ? CloseReason::kFrameTooLarge
                                                                       : CloseReason::kMalformed);
        return in.size();
      }
      used += d.consumed;
      ++frames;
      const std::span<const char> msg = rest.subspan(d.offset, d.size);
      if constexpr (requires { h_.on_message(c, msg, slot.state); }) {
        h_.on_message(c, msg, slot.state);
      } else {
        h_.on_message(c, msg);
      }
      // The handler closed, or paused (the rest is kept and handed over on resume).
      if (c.closing() || c.reading_paused()) break;
    }
    if (frames != 0) CountFrames(c, frames);
    return used;
  } else {
    return in.size();
  }
}

}  // namespace percore
