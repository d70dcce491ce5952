// LineHandler: the `line` app, a line echo over the message-level API: each line (delimiter
// "\n", a "\r\n" accepted too) comes back with "\n". A line longer than max_line closes that
// connection (frame_too_large) after an error line; the others keep being served.
#pragma once

#include <span>

#include "net/connection.h"
#include "protocol/line_codec.h"

namespace percore::apps {

struct LineHandler {
  LineCodec codec{{.delimiter = "\n", .max_line = 64 * 1024, .strip_cr = true}};

  void on_message(Connection& c, std::span<const char> line) {
    codec.encode(c, std::string_view(line.data(), line.size()));
    if (c.above_high_watermark()) c.pause_reading();  // resumed by on_drain
  }
  void on_drain(Connection& c) { c.resume_reading(); }
  void on_codec_error(Connection& c, CodecError e) {
    c.send(std::string_view("-ERR line "));
    c.send(std::string_view(CodecErrorName(e)));
    c.send(std::string_view("\n"));
  }
};

}  // namespace percore::apps
