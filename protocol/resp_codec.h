// RESP2 requests as redis-cli and redis-benchmark send them (arrays of bulk strings and inline
// commands), plus the reply encoders a Redis-speaking server needs.
//
//   RespCodec codec;  RespCodec::State st;  std::vector<std::string_view> args;
//   Decoded d = codec.decode(st, in);
//   if (d.kind == Decoded::Kind::kFrame) {
//     RespCodec::ParseArgs(in.subspan(d.offset, d.size), args);   // views into `in`
//     ...; consume d.consumed;
//   } else if (d.kind == Decoded::Kind::kError) {
//     send "-ERR " + RespCodec::ErrorText(st) + "\r\n", then close (as Redis does).
//   }
//
// A frame is one whole command. Its message (offset/size) is the command's own bytes: for an
// array, "*N\r\n" through the last bulk's "\r\n"; for an inline command, the line without its
// "\n" / "\r\n". Empty lines and "*0" / "*-1" arrays before it are skipped like Redis does and
// only counted in `consumed`. Inline commands are split on whitespace only: Redis's quoting
// ("a b", \x41) is not applied, because unescaping needs a copy and redis-cli and
// redis-benchmark never send inline commands; quotes are ordinary bytes here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "protocol/codec.h"

namespace percore {

class RespCodec {
 public:
  struct Options {
    size_t max_bulk = 512u << 20;                    // one argument; Redis proto-max-bulk-len
    size_t max_args = 1024 * 1024;                   // arguments per command (the "*N" count)
    size_t max_inline = 64 * 1024;                   // an inline line; Redis PROTO_INLINE_MAX_SIZE
    size_t max_request = (512u << 20) + (1u << 20);  // whole command, skipped empty lines too
  };

  // Per connection, 20 bytes. Offsets count from the start of the unconsumed input, which is
  // what the framework hands back on the next call (it may have moved, so no pointers). It lets
  // a large bulk arriving in pieces be waited for, not rescanned: headers already parsed are
  // not parsed again, and NeedMore asks for the exact total once a bulk length is known.
  struct State {
    uint32_t start = 0;      // first byte of the command being parsed
    uint32_t pos = 0;        // next byte to parse (inline: scanned up to here, no '\n' before)
    uint32_t bulk_end = 0;   // kBody: where the bulk's "\r\n" must be
    uint32_t args_left = 0;  // kArgs / kBody: bulks still to come, this one included
    uint8_t phase = 0;       // internal
    uint8_t error = 0;       // after kError: which Redis reason, for ErrorText()
    char got = 0;            // after "expected '$', got 'x'": the x
  };

  RespCodec() = default;
  explicit RespCodec(const Options& options) : options_(options) {}

  const Options& options() const { return options_; }
  // The most input one frame can need: what the framework may buffer for a partial frame.
  size_t max_frame() const;

  Decoded decode(State& state, std::span<const char> in) const;

  // After decode() said kError: why, as Redis words it ("Protocol error: invalid bulk
  // length"); static text, send it as "-ERR <text>\r\n". "" when there was no error.
  static const char* ErrorText(const State& state);

  // Fills `out` (cleared first) with views of the arguments of `message`, the
  // in.subspan(d.offset, d.size) of a frame decode() returned. No copy; reusing one vector per
  // reactor keeps its capacity, so steady state allocates nothing. Returns false (and leaves
  // `out` partial) if `message` is not such a frame.
  static bool ParseArgs(std::span<const char> message, std::vector<std::string_view>& out);

 private:
  Options options_;
};

// Walks the arguments of a frame's message without any container:
//   RespArgs args(message); for (std::string_view a; args.Next(a);) ...; if (!args.ok()) ...
// A second pass over a validated frame is cheap: for arrays it reads only the "$len" headers
// and jumps over the bulk bytes; for inline it re-splits one line of at most max_inline bytes.
// Recording views during decode() would need a container in State (memory per idle
// connection) and would dangle when the framework moves a partial frame between calls.
class RespArgs {
 public:
  explicit RespArgs(std::span<const char> message);
  explicit RespArgs(std::string_view message) : RespArgs(std::span(message)) {}

  bool Next(std::string_view& arg);
  bool ok() const { return ok_; }  // false: `message` was not a frame decode() returned
  // Arrays: the declared count, known before the walk; inline: -1 (count by walking).
  int64_t declared() const { return declared_; }

 private:
  std::string_view msg_;
  size_t pos_ = 0;
  int64_t left_ = 0;
  int64_t declared_ = -1;
  bool inline_ = false;
  bool ok_ = true;
};

// Reply encoders. Each appends one RESP2 value to `sink`; only a small stack buffer is used,
// and small values go out in one Put. Simple strings and errors must not contain "\r" or "\n"
// (the caller's text, not peer input).
namespace resp_internal {
// Writes "<c><n>\r\n" into buf (>= 24 bytes); returns the length.
size_t Header(char* buf, char c, int64_t n);

// Puts head + body + "\r\n": one Put through a stack buffer when small, else three.
template <ByteSink S>
void Framed(S& sink, std::string_view head, std::string_view body) {
  char buf[128];
  if (head.size() + body.size() + 2 <= sizeof(buf)) {
    std::memcpy(buf, head.data(), head.size());
    if (!body.empty()) std::memcpy(buf + head.size(), body.data(), body.size());
    size_t n = head.size() + body.size();
    buf[n++] = '\r';
    buf[n++] = '\n';
    Put(sink, std::string_view(buf, n));
  } else {
    Put(sink, head);
    Put(sink, body);
    Put(sink, "\r\n");
  }
}
}  // namespace resp_internal

template <ByteSink S>
void RespSimple(S& sink, std::string_view text) {  // +OK
  resp_internal::Framed(sink, "+", text);
}

template <ByteSink S>
void RespError(S& sink, std::string_view text) {  // text is "ERR ...", "WRONGTYPE ..."
  resp_internal::Framed(sink, "-", text);
}

template <ByteSink S>
void RespInteger(S& sink, int64_t n) {
  char buf[24];
  Put(sink, std::string_view(buf, resp_internal::Header(buf, ':', n)));
}

template <ByteSink S>
void RespBulk(S& sink, std::string_view bytes) {
  char buf[24];
  size_t n = resp_internal::Header(buf, '$', static_cast<int64_t>(bytes.size()));
  resp_internal::Framed(sink, std::string_view(buf, n), bytes);
}

template <ByteSink S>
void RespNullBulk(S& sink) {
  Put(sink, "$-1\r\n");
}

template <ByteSink S>
void RespArrayHeader(S& sink, size_t n) {  // followed by n values
  char buf[24];
  Put(sink, std::string_view(buf, resp_internal::Header(buf, '*', static_cast<int64_t>(n))));
}

template <ByteSink S>
void RespNullArray(S& sink) {
  Put(sink, "*-1\r\n");
}

}  // namespace percore
