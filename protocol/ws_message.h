// WsCodec: WebSocket (RFC 6455) messages on a server connection, on top of the frame rules of
// protocol/ws_frame.h. Each decode returns one frame; the per-connection State then says what
// the frame completed: a text or binary message, a ping, a pong, a close, or nothing yet (a
// fragment gathered). An unfragmented message is handed over where it lies in the input
// (unmasked in place, no copy); a fragmented one is gathered into the State's buffer, bounded
// by max_message. Control frames may come between fragments. Text and close reasons are
// checked to be UTF-8 fragment by fragment, so a bad fragment fails before the rest arrives.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "protocol/codec.h"
#include "protocol/utf8.h"
#include "protocol/ws_frame.h"

namespace percore {

// Where a fragmented message is gathered: one pointer while empty, since most connections
// never send a fragmented message and an idle connection should not carry a string for it.
class GatherBuffer {
 public:
  size_t size() const { return s_ ? s_->size() : 0; }
  bool empty() const { return !s_ || s_->empty(); }
  size_t capacity() const { return s_ ? s_->capacity() : 0; }
  void clear() {
    if (s_) s_->clear();
  }
  void release() { s_.reset(); }
  void assign(std::string_view v) { get().assign(v); }
  void append(std::string_view v) { get().append(v); }
  operator std::string_view() const { return s_ ? std::string_view(*s_) : std::string_view(); }

 private:
  std::string& get() {
    if (!s_) s_ = std::make_unique<std::string>();
    return *s_;
  }
  std::unique_ptr<std::string> s_;
};

class WsCodec {
 public:
  struct Options {
    uint64_t max_frame = 1 << 20;    // payload bytes of one frame; above -> kFrameTooBig
    uint64_t max_message = 1 << 20;  // payload bytes of a whole message; above -> kMessageTooBig
  };

  // What the last kFrame completed.
  enum class Event : uint8_t {
    kFragment,  // part of a fragmented message, gathered: nothing to do yet
    kText,      // message: a whole text message, valid UTF-8
    kBinary,    // message: a whole binary message
    kPing,      // message: the ping's payload; answer with a pong carrying it
    kPong,      // message: the pong's payload
    kClose,     // close_code and message (the reason, UTF-8); answer with a close, then close
  };

  struct State {
    // After kFrame. `message` points into the input (unmasked) or into `buffer`; valid until
    // the next decode call or until the input is consumed.
    Event event = Event::kFragment;
    std::string_view message;
    uint16_t close_code = 0;  // kClose: the client's code, WsClose::kNoStatus if it sent none
    // After kError: why; send a close frame with WsCloseCode(error).
    WsError error = WsError::kNone;

    // Between frames. `fragmented` is kText or kBinary while a fragmented message is gathered
    // into `buffer` (text checked by `utf8` as it comes), kContinuation otherwise.
    WsOpcode fragmented = WsOpcode::kContinuation;
    bool closed = false;  // the client's close frame was decoded: nothing may follow it
    Utf8Validator utf8;
    GatherBuffer buffer;
  };

  WsCodec() = default;
  explicit WsCodec(const Options& options) : options_(options) {}

  // One frame (see protocol/codec.h): kFrame's in.subspan(offset, size) is the frame's own
  // payload, unmasked; what it means is in state.event and state.message. kError: state.error.
  // kNeedMore leaves the input and the state untouched. Errors a frame's header reveals (sizes,
  // order of fragments) are reported before its payload is waited for.
  Decoded decode(State& state, std::span<char> in) const;

  // The largest frame decode can return (for the framework's per-connection buffer cap).
  uint64_t max_frame() const { return options_.max_frame + kWsMaxClientHeader; }
  const Options& options() const { return options_; }

 private:
  Options options_;
};

}  // namespace percore
