// FramedEchoHandler: the `framed` app, an echo of length-framed messages over the
// message-level API: each [u16 length][body] frame (big endian) is decoded (the framework keeps
// partial frames and enforces max_frame) and its body sent back re-framed. With `percore bench
// --frame-header 2` it measures what a codec costs per message against the plain echo app.
#pragma once

#include <span>

#include "net/connection.h"
#include "protocol/length_field_codec.h"

namespace percore::apps {

struct FramedEchoHandler {
  LengthFieldCodec codec{
      {.length_field_length = 2, .initial_bytes_to_strip = 2, .max_frame = 65537}};

  void on_message(Connection& c, std::span<const char> body) {
    codec.encode(c, std::string_view(body.data(), body.size()));
    if (c.above_high_watermark()) c.pause_reading();  // resumed by on_drain
  }
  void on_drain(Connection& c) { c.resume_reading(); }
};

}  // namespace percore::apps
