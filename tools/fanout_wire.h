// The bytes of the fan-out bench's protocols, client side: the chat line protocol (over TCP or
// inside WebSocket text frames) and Redis pub/sub (RESP2). Commands are appended to a string;
// what the server sends is split into events. No I/O, so tests can feed it any byte stream.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace percore::tools {

enum class FanoutProtocol : uint8_t { kChat, kWsChat, kRedis };

absl::StatusOr<FanoutProtocol> ParseFanoutProtocol(std::string_view name);
const char* FanoutProtocolName(FanoutProtocol p);

// One unit the server sent.
struct WireEvent {
  enum Kind : uint8_t {
    kMessage,    // a delivery: `room`, `text` (chat: MSG room nick text; redis: message)
    kOk,         // OK NICK/JOIN/LEAVE, a redis subscribe confirmation
    kPing,       // a chat PING line: answer PONG `text`
    kWsPing,     // a WebSocket ping frame: answer a pong frame with `text`
    kError,      // ERR line, RESP error, WebSocket close: `text` says what
    kReply,      // a RESP integer (PUBLISH's receiver count) or simple string
    kMalformed,  // a whole unit that is not what the protocol allows
    kOther,      // PONG, BYE, ...
  };
  Kind kind = kOther;
  std::string_view room, text;
};

// Splits the whole units at the start of `in` into events, in order, and returns the bytes
// they took (the rest is an incomplete unit), or std::string_view::npos when the bytes cannot
// be resynchronised (a RESP type byte that is none, a line or frame above 1 MiB).
size_t ParseIncoming(FanoutProtocol p, std::string_view in,
                     absl::FunctionRef<void(const WireEvent&)> on);

// Appends one command: `words` joined by spaces and ended by '\n' (chat), the same line as a
// masked WebSocket text frame (ws-chat), or a RESP array of bulk strings (redis).
void AppendCommand(FanoutProtocol p, std::string& out,
                   std::initializer_list<std::string_view> words);

// The publisher's message `seq` to `room`, whose text is exactly `size` bytes (the decimal
// seq, a space, padding; at least the seq): MSG room text / PUBLISH room text.
void AppendPublish(FanoutProtocol p, std::string& out, std::string_view room, uint64_t seq,
                   size_t size);

// The leading decimal number of a published text; false if there is none.
bool ParseSeq(std::string_view text, uint64_t* seq);

// A masked client frame (pong answers a ping with its payload).
void AppendWsFrame(std::string& out, uint8_t opcode, std::string_view payload);

// The WebSocket opening handshake, client side: a random 16-byte key in base64, the GET /ws
// request, and the check of the server's answer (101, Upgrade, Sec-WebSocket-Accept).
std::string NewWsKey();
std::string WsRequest(std::string_view host, std::string_view key);
// Size of the response head (through the blank line) in `in`, 0 while incomplete.
size_t WsResponseHeadSize(std::string_view in);
absl::Status CheckWsResponse(std::string_view head, std::string_view key);

}  // namespace percore::tools
