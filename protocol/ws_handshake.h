// The server side of the WebSocket opening handshake (RFC 6455 4.2): decides whether a request
// parsed by HttpRequestCodec is a valid upgrade and writes the answer, 101 Switching Protocols
// with Sec-WebSocket-Accept, or the error status. No extension (permessage-deflate included) and
// no subprotocol is ever accepted: the answer names none, so the client must use neither.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/codec.h"
#include "protocol/http_codec.h"

namespace percore {

// The GUID RFC 6455 appends to the client's key before hashing.
inline constexpr std::string_view kWsGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

struct WsUpgrade {
  // 101: a valid upgrade. 426: Sec-WebSocket-Version is not 13 (the answer names 13).
  // 400: anything else (not GET, not HTTP/1.1, no Upgrade: websocket, no Connection: upgrade,
  // a missing, repeated or malformed Sec-WebSocket-Key).
  uint16_t status = 400;
  std::string_view key;  // 101: Sec-WebSocket-Key as sent, a view into the request
};

WsUpgrade CheckWsUpgrade(const HttpRequest& request);

// base64(SHA-1(key + kWsGuid)): the Sec-WebSocket-Accept value, 28 characters.
std::string WsAcceptKey(std::string_view key);

// Writes the answer CheckWsUpgrade decided: the 101 response (after which the connection speaks
// WebSocket frames), or an empty error response that closes the connection.
template <ByteSink S>
void WriteWsHandshake(S& sink, const WsUpgrade& upgrade) {
  if (upgrade.status == 101) {
    const std::string accept = WsAcceptKey(upgrade.key);
    // No Content-Length: a 1xx response has no body and must not carry one (RFC 9110 8.6).
    Put(sink,
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: ");
    Put(sink, accept);
    Put(sink, "\r\n\r\n");
    return;
  }
  if (upgrade.status == 426) {
    const HttpHeader version[] = {{"Sec-WebSocket-Version", "13"}};
    WriteHttpResponseHead(sink, 426, version, 0, /*keep_alive=*/false);
    return;
  }
  WriteHttpError(sink, upgrade.status);
}

}  // namespace percore
