// The fan-out bench's client connections (members and publisher) and how they get joined:
// connect many at once, do the WebSocket handshake where the protocol needs it, send each
// client's first commands (NICK and JOIN, or SUBSCRIBE) and wait until all are answered.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "reactor/fd.h"
#include "tools/fanout_check.h"
#include "tools/fanout_wire.h"

namespace percore::tools {

struct FanoutTarget {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  FanoutProtocol protocol = FanoutProtocol::kChat;
  int spread = 0;  // >0: source addresses 127.0.0.1 .. 127.0.0.<spread>
};

struct FanoutConn {
  Fd fd;
  uint32_t id = 0;
  uint32_t room = 0;
  std::string in;   // an incomplete unit kept between reads
  std::string out;  // bytes the kernel has not taken yet
  SeqChecker seq;
  bool dead = false;
};

// Connects `n` clients (at most 256 connects in flight) and waits, up to `timeout_s`, until
// each is joined: `hello(i, out)` appends what client i sends once connected (after the
// WebSocket upgrade for ws-chat) and returns how many OK answers it waits for.
absl::StatusOr<std::vector<FanoutConn>> JoinAll(const FanoutTarget& target, int n,
                                                absl::FunctionRef<int(int, std::string&)> hello,
                                                double timeout_s);

// Writes c.out until the kernel takes less; false (and c.dead) on a hard error.
bool Flush(FanoutConn& c);

}  // namespace percore::tools
