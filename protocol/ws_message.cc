#include "protocol/ws_message.h"

#include <algorithm>

namespace percore {
namespace {

// A buffer that gathered a large message is given back once the message is delivered, so an
// idle connection does not keep max_message bytes; small ones are kept for reuse.
constexpr size_t kKeptBuffer = 4096;

// Why a close payload is invalid, or kNone (RFC 6455 5.5.1, 7.4).
WsError CheckClosePayload(std::string_view payload, uint16_t* code) {
  if (payload.empty()) {
    *code = WsClose::kNoStatus;
    return WsError::kNone;
  }
  if (payload.size() == 1) return WsError::kBadClosePayload;
  *code = static_cast<uint16_t>(static_cast<uint8_t>(payload[0]) << 8 |
                                static_cast<uint8_t>(payload[1]));
  if (!IsValidWsCloseCode(*code)) return WsError::kBadCloseCode;
  if (!IsValidUtf8(payload.substr(2))) return WsError::kInvalidUtf8;
  return WsError::kNone;
}

}  // namespace

Decoded WsCodec::decode(State& st, std::span<char> in) const {
  auto fail = [&st](WsError e) {
    st.error = e;
    return Decoded::Error(WsCodecError(e));
  };
  if (st.closed) return in.empty() ? Decoded::NeedMore(1) : fail(WsError::kFrameAfterClose);

  WsFrameHeader h;
  size_t need = 0;
  if (const WsError e = ReadWsFrameHeader(in, options_.max_frame, &h, &need); e != WsError::kNone) {
    return fail(e);
  }
  if (need != 0) return Decoded::NeedMore(need);

  // What the header alone decides, before the payload is waited for.
  const bool control = IsWsControl(h.opcode);
  const bool continuation = h.opcode == WsOpcode::kContinuation;
  const bool fragmented = st.fragmented != WsOpcode::kContinuation;
  if (!control) {
    if (continuation && !fragmented) return fail(WsError::kUnexpectedContinuation);
    if (!continuation && fragmented) return fail(WsError::kExpectedContinuation);
    const uint64_t so_far = continuation ? st.buffer.size() : 0;
    if (h.payload > options_.max_message - std::min(so_far, options_.max_message)) {
      return fail(WsError::kMessageTooBig);
    }
  }
  const size_t payload_size = static_cast<size_t>(h.payload);
  const size_t total = h.size + payload_size;
  if (in.size() < total) return Decoded::NeedMore(total);

  const std::span<char> payload_span = in.subspan(h.size, payload_size);
  UnmaskWs(payload_span, h.mask);
  const std::string_view payload(payload_span.data(), payload_span.size());

  // A message delivered from the buffer by the previous call is no longer looked at.
  if (!fragmented && !st.buffer.empty()) {
    if (st.buffer.capacity() > kKeptBuffer) {
      st.buffer.release();
    } else {
      st.buffer.clear();
    }
  }

  const Decoded frame = Decoded::Frame(total, h.size, payload_size);
  switch (h.opcode) {
    case WsOpcode::kPing:
    case WsOpcode::kPong:
      st.event = h.opcode == WsOpcode::kPing ? Event::kPing : Event::kPong;
      st.message = payload;
      return frame;
    case WsOpcode::kClose: {
      uint16_t code = 0;
      if (const WsError e = CheckClosePayload(payload, &code); e != WsError::kNone) return fail(e);
      st.event = Event::kClose;
      st.close_code = code;
      st.message = payload.substr(payload.empty() ? 0 : 2);
      st.closed = true;
      return frame;
    }
    case WsOpcode::kText:
    case WsOpcode::kBinary: {
      const bool text = h.opcode == WsOpcode::kText;
      if (h.fin) {
        if (text && !IsValidUtf8(payload)) return fail(WsError::kInvalidUtf8);
        st.event = text ? Event::kText : Event::kBinary;
        st.message = payload;
        return frame;
      }
      st.utf8.Reset();
      if (text && !st.utf8.Feed(payload)) return fail(WsError::kInvalidUtf8);
      st.buffer.assign(payload);
      st.fragmented = h.opcode;
      st.event = Event::kFragment;
      st.message = {};
      return frame;
    }
    case WsOpcode::kContinuation: {
      const bool text = st.fragmented == WsOpcode::kText;
      if (text && !st.utf8.Feed(payload)) return fail(WsError::kInvalidUtf8);
      st.buffer.append(payload);
      if (!h.fin) {
        st.event = Event::kFragment;
        st.message = {};
        return frame;
      }
      // The last fragment may still end inside a character.
      if (text && !st.utf8.Complete()) return fail(WsError::kInvalidUtf8);
      st.event = text ? Event::kText : Event::kBinary;
      st.message = st.buffer;
      st.fragmented = WsOpcode::kContinuation;
      return frame;
    }
  }
  return fail(WsError::kUnknownOpcode);  // not reached: ReadWsFrameHeader refused it
}

}  // namespace percore
