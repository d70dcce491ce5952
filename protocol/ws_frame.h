// WebSocket (RFC 6455) frames as a server sees them: WsFrameCodec frames the client's bytes one
// frame at a time (validating what a single frame can break, and unmasking the payload where it
// lies), and WriteWsFrame / WriteWsClose write the server's unmasked frames. Messages
// (fragments, UTF-8, close payloads) are protocol/ws_message.h's job; the opening handshake is
// protocol/ws_handshake.h's. No extension is ever negotiated, so RSV1-3 must be zero.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/codec.h"

namespace percore {

enum class WsOpcode : uint8_t {
  kContinuation = 0,
  kText = 1,
  kBinary = 2,
  kClose = 8,
  kPing = 9,
  kPong = 10,
};

constexpr bool IsWsControl(WsOpcode op) { return (static_cast<uint8_t>(op) & 0x8) != 0; }

// Why a client's bytes were refused. The connection cannot go on: send a close frame with
// WsCloseCode(error) (WriteWsClose), then close. A framework that only knows CodecError gets
// WsCodecError(error).
enum class WsError : uint8_t {
  kNone,
  kReservedBits,            // RSV1-3 set (no extension negotiated)              1002
  kUnknownOpcode,           // opcode 3-7 or 11-15                               1002
  kUnmasked,                // a client frame without a mask (RFC 6455 5.1)      1002
  kFragmentedControl,       // close, ping or pong without FIN                   1002
  kControlTooLong,          // close, ping or pong payload above 125 bytes       1002
  kLengthTopBit,            // a 64-bit length with its most significant bit set 1002
  kUnexpectedContinuation,  // a continuation frame with no message to continue  1002
  kExpectedContinuation,    // a text or binary frame inside a fragmented one    1002
  kBadClosePayload,         // a close payload of exactly 1 byte                 1002
  kBadCloseCode,            // a close code no endpoint may send (7.4)           1002
  kFrameAfterClose,         // anything after the client's close frame           1002
  kInvalidUtf8,             // a text message or close reason that is not UTF-8  1007
  kFrameTooBig,             // a frame's payload above max_frame                 1009
  kMessageTooBig,           // a message's payload above max_message             1009
};

// Close status codes (RFC 6455 7.4.1) the codec produces or refuses.
struct WsClose {
  static constexpr uint16_t kNormal = 1000;
  static constexpr uint16_t kGoingAway = 1001;
  static constexpr uint16_t kProtocolError = 1002;
  static constexpr uint16_t kUnsupportedData = 1003;
  static constexpr uint16_t kNoStatus = 1005;  // never sent: an empty close payload
  static constexpr uint16_t kAbnormal = 1006;  // never sent: the TCP connection dropped
  static constexpr uint16_t kInvalidData = 1007;
  static constexpr uint16_t kPolicyViolation = 1008;
  static constexpr uint16_t kTooBig = 1009;
  static constexpr uint16_t kInternalError = 1011;
};

const char* WsErrorName(WsError e);
// 1002 (protocol error), 1007 (invalid UTF-8) or 1009 (too big); 0 for kNone.
uint16_t WsCloseCode(WsError e);
// kTooLarge for the 1009 errors, kMalformed for the others, kNone for kNone.
CodecError WsCodecError(WsError e);
// Whether `code` may appear in a close frame: 1000-1003, 1007-1011, 3000-4999 (1004-1006 and
// 1015 are reserved or local-only; 1012-1014 are not in RFC 6455; 0-999 and 1016-2999 are
// unassigned).
bool IsValidWsCloseCode(uint16_t code);

// One frame's header as read from the wire.
struct WsFrameHeader {
  WsOpcode opcode = WsOpcode::kContinuation;
  bool fin = false;
  uint8_t size = 0;  // header bytes: 2 + extended length (0, 2 or 8) + mask (4)
  uint8_t mask[4] = {};
  uint64_t payload = 0;  // bytes after the header
};

// The largest client frame header: 2 + 8-byte length + mask.
inline constexpr size_t kWsMaxClientHeader = 14;

// Reads the frame header at the start of `in`. Returns the reason when the bytes seen so far
// can never start a valid client frame (checked byte by byte, so a bad first byte is refused
// before the rest arrives); else sets *need to the header size when `in` is shorter than the
// header, or to 0 with *h filled. Payload bytes are not looked at.
WsError ReadWsFrameHeader(std::span<const char> in, uint64_t max_frame, WsFrameHeader* h,
                          size_t* need);

// XORs `payload` with the 4-byte mask (RFC 6455 5.3), starting at mask byte 0. Its own
// inverse: masking a server frame this way makes it a client frame.
void UnmaskWs(std::span<char> payload, const uint8_t (&mask)[4]);

// Frames client bytes one frame at a time. A decoded frame's payload is unmasked IN PLACE (hence
// the mutable view) when the whole frame is present, so the message can be handed on without a
// copy; decode must therefore see each frame's bytes once only. Any kNeedMore leaves the input
// and the state untouched.
class WsFrameCodec {
 public:
  struct Options {
    uint64_t max_frame = 1 << 20;  // payload bytes of one frame; above -> kFrameTooBig
  };

  // After kFrame: the frame's opcode and FIN. After kError: why.
  struct State {
    WsOpcode opcode = WsOpcode::kContinuation;
    bool fin = false;
    WsError error = WsError::kNone;
  };

  WsFrameCodec() = default;
  explicit WsFrameCodec(const Options& options) : options_(options) {}

  // kFrame: the unmasked payload is in.subspan(offset, size) and the frame is in.first(consumed).
  Decoded decode(State& state, std::span<char> in) const;

  // The largest frame decode can return (for the framework's per-connection buffer cap).
  uint64_t max_frame() const { return options_.max_frame + kWsMaxClientHeader; }
  const Options& options() const { return options_; }

 private:
  Options options_;
};

// The largest server frame header: 2 + 8-byte length (never masked).
inline constexpr size_t kWsMaxServerHeader = 10;

// Writes a server frame header (FIN set, unmasked) for `payload` bytes and returns its size.
inline size_t WsServerHeader(WsOpcode op, uint64_t payload, char (&out)[kWsMaxServerHeader]) {
  out[0] = static_cast<char>(0x80 | static_cast<uint8_t>(op));
  if (payload < 126) {
    out[1] = static_cast<char>(payload);
    return 2;
  }
  const size_t width = payload <= 0xFFFF ? 2 : 8;
  out[1] = static_cast<char>(width == 2 ? 126 : 127);
  for (size_t i = 0; i < width; ++i)
    out[2 + i] = static_cast<char>(payload >> (8 * (width - 1 - i)));
  return 2 + width;
}

// Writes one unfragmented server frame carrying the parts' bytes. Returns false and writes
// nothing for a frame no server may send: a continuation (nothing is fragmented here) or a
// control frame above 125 bytes.
template <ByteSink S>
bool WriteWsFrame(S& sink, WsOpcode op, std::span<const std::string_view> parts) {
  uint64_t payload = 0;
  for (std::string_view part : parts) payload += part.size();
  if (op == WsOpcode::kContinuation || (IsWsControl(op) && payload > 125)) return false;
  char head[kWsMaxServerHeader];
  const size_t size = WsServerHeader(op, payload, head);
  PutParts(sink, std::string_view(head, size), parts);
  return true;
}
template <ByteSink S>
bool WriteWsFrame(S& sink, WsOpcode op, std::string_view payload) {
  return WriteWsFrame(sink, op, std::span<const std::string_view>(&payload, 1));
}

// The longest reason a close frame can carry: 125 bytes of payload minus the code.
inline constexpr size_t kWsMaxCloseReason = 123;

// Writes a close frame. WsClose::kNoStatus writes an empty payload (the reason is dropped);
// a reason above 123 bytes is cut at the last UTF-8 character boundary that fits, so the peer
// never sees a close frame it must refuse.
template <ByteSink S>
void WriteWsClose(S& sink, uint16_t code, std::string_view reason = {}) {
  if (code == WsClose::kNoStatus) {
    Put(sink, std::string_view("\x88\x00", 2));
    return;
  }
  if (reason.size() > kWsMaxCloseReason) {
    size_t cut = kWsMaxCloseReason;
    while (cut > 0 && (static_cast<uint8_t>(reason[cut]) & 0xC0) == 0x80) --cut;
    reason = reason.substr(0, cut);
  }
  const char head[4] = {'\x88', static_cast<char>(2 + reason.size()), static_cast<char>(code >> 8),
                        static_cast<char>(code & 0xFF)};
  PutParts(sink, std::string_view(head, 4), std::span<const std::string_view>(&reason, 1));
}

}  // namespace percore
