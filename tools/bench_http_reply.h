// Reading an HTTP/1.1 response at the front of a buffer, for the bench's http and ws protocols:
// the status line and the few headers they check, then where the body ends (Content-Length or
// chunked). Only what a load generator needs to find reply boundaries and check them.
#pragma once

#include <cstdint>
#include <string_view>

#include "tools/bench_protocol.h"

namespace percore::tools {

struct HttpReplyHead {
  int status = 0;
  size_t head_size = 0;         // through the blank line
  int64_t content_length = -1;  // -1: none given
  bool chunked = false;
  bool close = false;          // "Connection: close": the server closes after this response
  std::string_view ws_accept;  // Sec-WebSocket-Accept, a view into the input
};

// kReply (consumed = head_size) with *head filled, kNeedMore, or kError ("bad reply").
ReplyCheck ReadHttpReplyHead(std::string_view in, HttpReplyHead* head);

// The bytes a chunked body at the front of `in` takes, trailers included: kReply, kNeedMore or
// kError ("bad reply").
ReplyCheck ReadChunkedBody(std::string_view in);

}  // namespace percore::tools
