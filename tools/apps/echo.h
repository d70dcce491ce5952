// EchoHandler: writes back every byte it receives. When a peer sends faster than it reads,
// output passes the high watermark; the handler then stops reading that peer until on_drain,
// so memory stays bounded and TCP flow control pushes back on the sender.
#pragma once

#include <span>

#include "net/connection.h"

namespace percore::apps {

struct EchoHandler {
  size_t on_data(Connection& c, std::span<const char> in) {
    if (c.send(in) == SendResult::kBackpressure) c.pause_reading();
    return in.size();
  }
  void on_drain(Connection& c) { c.resume_reading(); }
};

}  // namespace percore::apps
