// RESP2 replies as a Redis server sends them, for the client side: TcpClient and ClientPool
// talking to redis-server, and `percore bench --protocol resp` checking what it got back.
// RespCodec (resp_codec.h) is the server side's request decoder; this is its mirror.
//
//   RespReplyCodec codec;  RespReplyCodec::State st;
//   Decoded d = codec.decode(st, in);
//   if (d.kind == Decoded::Kind::kFrame) {
//     RespReplyReader r(in.first(d.consumed));
//     for (RespValue v; r.Next(v);) ...;   // the reply's values in order, arrays first
//     consume d.consumed;
//   }
//
// A frame is one whole reply, nested arrays included: "+OK\r\n", "$3\r\nabc\r\n",
// "*2\r\n$1\r\na\r\n*1\r\n:7\r\n". Its message is the whole frame (offset 0). Nesting needs no
// stack: the state counts the values still owed, and an array header of N adds N to it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/codec.h"

namespace percore {

enum class RespType : uint8_t {
  kSimple,   // +OK            text: "OK"
  kError,    // -ERR ...       text: "ERR ..."
  kInteger,  // :42            integer: 42
  kBulk,     // $3 abc         text: "abc"
  kNull,     // $-1 or *-1
  kArray,    // *N             integer: N; its N values follow in the walk
};

struct RespValue {
  RespType type = RespType::kNull;
  std::string_view text;  // kSimple, kError, kBulk: the bytes, a view into the frame
  int64_t integer = 0;    // kInteger: the value; kArray: the element count
};

class RespReplyCodec {
 public:
  struct Options {
    size_t max_bulk = 512u << 20;                  // one bulk string; Redis proto-max-bulk-len
    size_t max_line = 64 * 1024;                   // a +, -, : line, or a $ / * header
    uint64_t max_values = 1u << 24;                // values in one reply, arrays' elements included
    size_t max_reply = (512u << 20) + (1u << 20);  // the whole reply
  };

  // Per connection, 16 bytes: where parsing stopped in the unconsumed input, how many values
  // the reply still owes and how many it had. Reset whenever a frame is returned.
  struct State {
    uint64_t owed = 1;
    uint32_t pos = 0;
    uint32_t seen = 0;
  };

  RespReplyCodec() = default;
  explicit RespReplyCodec(const Options& options) : options_(options) {}
  const Options& options() const { return options_; }

  Decoded decode(State& state, std::span<const char> in) const;

 private:
  Options options_;
};

// Walks the values of one frame that RespReplyCodec::decode returned, in order. It trusts the
// frame (decode validated it); on anything else Next() returns false.
class RespReplyReader {
 public:
  explicit RespReplyReader(std::span<const char> frame) : in_(frame.data(), frame.size()) {}
  bool Next(RespValue& value);

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace percore
