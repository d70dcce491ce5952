// HttpRequestCodec: frames HTTP/1.1 and HTTP/1.0 requests (RFC 9112) on a server connection, one
// frame per whole request (head + Content-Length body), and parses a framed request into views
// without copying. Framing follows the request-smuggling rules strictly: anything ambiguous is an
// error that carries the HTTP status to answer with (then close). Chunked request bodies are
// refused with 501 rather than decoded.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/codec.h"

namespace percore {

// One header field line; both views point into the request bytes.
struct HttpHeader {
  std::string_view name;   // as sent (compare case-insensitively)
  std::string_view value;  // without leading and trailing whitespace
};

// A parsed request: views into the frame's bytes, valid as long as those bytes are.
struct HttpRequest {
  std::string_view method;              // "GET", "POST", ... (case-sensitive token)
  std::string_view target;              // request-target as sent ("/index.html?q=1", "*", ...)
  std::string_view version;             // "HTTP/1.1" or "HTTP/1.0"
  int minor = 1;                        // 1 or 0
  std::span<const HttpHeader> headers;  // in the caller's storage, in the order sent
  std::string_view body;                // Content-Length bytes after the head (empty if none)
  uint64_t content_length = 0;
  bool keep_alive = true;  // 1.1: unless "Connection: close"; 1.0: only with "keep-alive"

  // The first header named `name` (ASCII case-insensitive), or an empty view.
  std::string_view Header(std::string_view name) const;
};

class HttpRequestCodec {
 public:
  struct Options {
    size_t max_request_line = 8 * 1024;   // request line without CRLF (and any empty lines
                                          // ignored before it); above -> 414
    size_t max_headers = 100;             // field lines; above -> 431
    size_t max_header_bytes = 16 * 1024;  // field lines with their CRLFs; above -> 431
    size_t max_body = 1024 * 1024;        // Content-Length; above -> 413
  };

  // Per connection: where the scan of an incomplete head stopped (so bytes arriving one at a
  // time are scanned once in total), and, once the head is parsed, the exact frame size. Kept
  // small (no parsed views) because it lives in every idle connection, and views would dangle
  // when the framework moves a partial frame into its own buffer. Reset after each frame.
  struct State {
    size_t scanned = 0;       // input [0, scanned) is already split into lines
    size_t line_start = 0;    // start of the line being scanned
    size_t skip = 0;          // empty lines before the request line (ignored, RFC 9112 2.2)
    size_t header_bytes = 0;  // field-line bytes so far
    size_t total = 0;         // > 0 once the head is parsed: head + body bytes
    uint32_t header_count = 0;
    bool in_headers = false;  // the request line is behind us
    uint16_t status = 0;      // after kError: the HTTP status to answer with
  };

  HttpRequestCodec() = default;
  explicit HttpRequestCodec(const Options& options) : options_(options) {}

  // kFrame: the request is in.subspan(offset, size) (empty lines before it are skipped, part of
  // `consumed`); get its fields with Parse. kError: state.status is 400, 413, 414, 431, 501 or
  // 505; answer with WriteHttpError(sink, state.status) and close: the stream cannot be resynced.
  Decoded decode(State& state, std::span<const char> in) const;

  // Parses a frame returned by decode (in.subspan(offset, size)) into `out`, with the header
  // views stored in `headers` (give it max_headers entries). Returns 0, or the HTTP status the
  // frame deserves (any frame decode returned parses with 0 given enough header storage).
  uint16_t Parse(std::span<const char> frame, std::span<HttpHeader> headers,
                 HttpRequest* out) const;

  // The largest frame decode can return (for the framework's per-connection buffer cap).
  size_t max_frame() const {
    return options_.max_request_line + 2 + options_.max_header_bytes + 2 + options_.max_body;
  }
  const Options& options() const { return options_; }

 private:
  Options options_;
};

// The reason phrase for the statuses this framework sends ("" for others).
std::string_view HttpReason(int status);

// HttpResponse writers: a status line, the caller's headers, Content-Length, then the body.
// Numbers are formatted in a stack buffer; nothing is allocated. Header names and values must
// not contain CR or LF (not checked: the caller's data, scanning it would double the cost).
template <ByteSink S>
void WriteHttpResponseHead(S& sink, int status, std::span<const HttpHeader> headers,
                           uint64_t content_length, bool keep_alive = true) {
  char num[24];
  auto [end, ec] = std::to_chars(num, num + sizeof num, status);
  Put(sink, "HTTP/1.1 ");
  Put(sink, std::string_view(num, end - num));
  Put(sink, " ");
  Put(sink, HttpReason(status));
  Put(sink, "\r\n");
  for (const HttpHeader& h : headers) {
    Put(sink, h.name);
    Put(sink, ": ");
    Put(sink, h.value);
    Put(sink, "\r\n");
  }
  if (!keep_alive) Put(sink, "Connection: close\r\n");
  end = std::to_chars(num, num + sizeof num, content_length).ptr;
  Put(sink, "Content-Length: ");
  Put(sink, std::string_view(num, end - num));
  Put(sink, "\r\n\r\n");
}

// A whole response. For HEAD, call WriteHttpResponseHead with the body's length instead.
template <ByteSink S>
void WriteHttpResponse(S& sink, int status, std::span<const HttpHeader> headers,
                       std::string_view body, bool keep_alive = true) {
  WriteHttpResponseHead(sink, status, headers, body.size(), keep_alive);
  Put(sink, body);
}

// The answer to a decode error (state.status): an empty response that closes the connection.
template <ByteSink S>
void WriteHttpError(S& sink, int status) {
  WriteHttpResponseHead(sink, status, {}, 0, /*keep_alive=*/false);
}

}  // namespace percore
