#include "protocol/ws_frame.h"

#include <cstring>

namespace percore {

const char* WsErrorName(WsError e) {
  switch (e) {
    case WsError::kNone:
      return "none";
    case WsError::kReservedBits:
      return "reserved bits set";
    case WsError::kUnknownOpcode:
      return "unknown opcode";
    case WsError::kUnmasked:
      return "unmasked client frame";
    case WsError::kFragmentedControl:
      return "fragmented control frame";
    case WsError::kControlTooLong:
      return "control frame payload above 125 bytes";
    case WsError::kLengthTopBit:
      return "64-bit length with the top bit set";
    case WsError::kUnexpectedContinuation:
      return "continuation without a message to continue";
    case WsError::kExpectedContinuation:
      return "new message inside a fragmented message";
    case WsError::kBadClosePayload:
      return "1-byte close payload";
    case WsError::kBadCloseCode:
      return "invalid close code";
    case WsError::kFrameAfterClose:
      return "frame after close";
    case WsError::kInvalidUtf8:
      return "invalid UTF-8";
    case WsError::kFrameTooBig:
      return "frame too big";
    case WsError::kMessageTooBig:
      return "message too big";
  }
  return "?";
}

uint16_t WsCloseCode(WsError e) {
  switch (e) {
    case WsError::kNone:
      return 0;
    case WsError::kInvalidUtf8:
      return WsClose::kInvalidData;
    case WsError::kFrameTooBig:
    case WsError::kMessageTooBig:
      return WsClose::kTooBig;
    default:
      return WsClose::kProtocolError;
  }
}

CodecError WsCodecError(WsError e) {
  switch (WsCloseCode(e)) {
    case 0:
      return CodecError::kNone;
    case WsClose::kTooBig:
      return CodecError::kTooLarge;
    default:
      return CodecError::kMalformed;
  }
}

bool IsValidWsCloseCode(uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
         (code >= 3000 && code <= 4999);
}

WsError ReadWsFrameHeader(std::span<const char> in, uint64_t max_frame, WsFrameHeader* h,
                          size_t* need) {
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const size_t n = in.size();
  *need = 2;
  if (n == 0) return WsError::kNone;
  const uint8_t b0 = p[0];
  if ((b0 & 0x70) != 0) return WsError::kReservedBits;
  const uint8_t op = b0 & 0x0F;
  if ((op > 2 && op < 8) || op > 10) return WsError::kUnknownOpcode;
  const bool fin = (b0 & 0x80) != 0;
  const bool control = op >= 8;
  if (control && !fin) return WsError::kFragmentedControl;
  if (n < 2) return WsError::kNone;
  const uint8_t b1 = p[1];
  if ((b1 & 0x80) == 0) return WsError::kUnmasked;
  const uint8_t len7 = b1 & 0x7F;
  // 126 and 127 announce 16- and 64-bit lengths: both above 125, so a control frame using them
  // is refused before the extension arrives.
  if (control && len7 > 125) return WsError::kControlTooLong;
  const size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  const size_t size = 2 + ext + 4;
  uint64_t payload = len7;
  if (ext != 0) {
    if (n < 2 + ext) {
      *need = size;
      return WsError::kNone;
    }
    payload = 0;
    for (size_t i = 0; i < ext; ++i) payload = (payload << 8) | p[2 + i];
    if (ext == 8 && (payload >> 63) != 0) return WsError::kLengthTopBit;
  }
  // Refused now, before the payload is waited for (and buffered).
  if (payload > max_frame) return WsError::kFrameTooBig;
  if (n < size) {
    *need = size;
    return WsError::kNone;
  }
  *need = 0;
  h->opcode = static_cast<WsOpcode>(op);
  h->fin = fin;
  h->size = static_cast<uint8_t>(size);
  std::memcpy(h->mask, p + size - 4, 4);
  h->payload = payload;
  return WsError::kNone;
}

void UnmaskWs(std::span<char> payload, const uint8_t (&mask)[4]) {
  char* p = payload.data();
  const size_t n = payload.size();
  // Eight bytes at a time: the mask repeats every 4, so one 8-byte word of it lines up with
  // every 8-byte step from the payload's start.
  uint8_t m8[8];
  for (size_t i = 0; i < 8; ++i) m8[i] = mask[i & 3];
  uint64_t word_mask;
  std::memcpy(&word_mask, m8, 8);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    w ^= word_mask;
    std::memcpy(p + i, &w, 8);
  }
  for (; i < n; ++i) p[i] = static_cast<char>(p[i] ^ mask[i & 3]);
}

Decoded WsFrameCodec::decode(State& state, std::span<char> in) const {
  WsFrameHeader h;
  size_t need = 0;
  if (const WsError e = ReadWsFrameHeader(in, options_.max_frame, &h, &need); e != WsError::kNone) {
    state.error = e;
    return Decoded::Error(WsCodecError(e));
  }
  if (need != 0) return Decoded::NeedMore(need);
  // payload <= max_frame, which fits a size_t on any host this runs on.
  const size_t total = h.size + static_cast<size_t>(h.payload);
  if (in.size() < total) return Decoded::NeedMore(total);
  UnmaskWs(in.subspan(h.size, static_cast<size_t>(h.payload)), h.mask);
  state.opcode = h.opcode;
  state.fin = h.fin;
  return Decoded::Frame(total, h.size, static_cast<size_t>(h.payload));
}

}  // namespace percore
