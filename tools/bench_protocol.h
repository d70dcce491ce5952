// BenchProtocol: what `percore bench` sends and how it checks each reply, one small class per
// protocol (raw, line, length, resp, http, ws) behind one interface, so the load engine
// (tools/load_client.cc) is shared. A protocol is stateless and const: request k of connection
// c is a pure function of (c, k), and so is the reply it expects, so one instance serves every
// load thread and nothing is remembered per request but its start time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "tools/load_client.h"

namespace percore::tools {

// The verdict on the bytes at the front of a connection's input.
struct ReplyCheck {
  enum class Kind : uint8_t { kReply, kNeedMore, kError };
  Kind kind = Kind::kNeedMore;
  size_t consumed = 0;       // kReply: bytes the reply takes
  std::string error_kind;    // kError: "mismatch", "bad reply", "bad status", ...
  std::string what;          // kError: in words, for first_error
  bool close_after = false;  // kReply: the server closes after it (HTTP "Connection: close")

  static ReplyCheck Reply(size_t n) { return {Kind::kReply, n, {}, {}, false}; }
  static ReplyCheck NeedMore() { return {}; }
  static ReplyCheck Error(std::string kind, std::string what) {
    return {Kind::kError, 0, std::move(kind), std::move(what), false};
  }
};

// The verdict on a run of replies at the front of a connection's input: `replies` whole replies
// checked and good, taking `consumed` bytes; then either more input is needed, or (error) the
// next reply is wrong, or (close_after) the server closes after the last one counted. The text
// is only built for an error, so a good batch costs no string work.
struct ReplyBatch {
  uint64_t replies = 0;
  size_t consumed = 0;
  bool close_after = false;
  bool error = false;
  std::string error_kind, what;  // error: as in ReplyCheck
};

class BenchProtocol {
 public:
  virtual ~BenchProtocol() = default;
  // Bytes that open a connection before any request (the WebSocket upgrade); empty: none.
  virtual std::string Hello(uint32_t /*conn*/) const { return {}; }
  // The answer to Hello at the front of `in`.
  virtual ReplyCheck CheckHello(uint32_t /*conn*/, std::string_view /*in*/) const {
    return ReplyCheck::Reply(0);
  }
  // Appends request k of connection `conn` to `out`.
  virtual void AppendRequest(uint32_t conn, uint64_t k, std::string& out) const = 0;
  // Checks the reply to request k of `conn` at the front of `in`.
  virtual ReplyCheck CheckReply(uint32_t conn, uint64_t k, std::string_view in) const = 0;

  // Requests k .. k + n - 1 of `conn`, appended to `out`. The default calls AppendRequest n
  // times; the echo protocols make them in one pass.
  virtual void AppendRequests(uint32_t conn, uint64_t k, uint64_t n, std::string& out) const;
  // Checks the replies to requests k, k + 1, ... (at most `max`) at the front of `in` into *out
  // (which starts empty). The default calls CheckReply per reply; the echo protocols compare
  // the whole run at once, as a plain echo client does, so checking every byte costs about as
  // much as one memcmp of the read.
  virtual void CheckReplies(uint32_t conn, uint64_t k, std::string_view in, uint64_t max,
                            ReplyBatch* out) const;
};

// The protocol opt.protocol names ("length" is also chosen by frame_header == 2), or why the
// options do not fit it.
absl::StatusOr<std::unique_ptr<BenchProtocol>> MakeBenchProtocol(const LoadOptions& opt);

// The per-protocol factories (one file each).
std::unique_ptr<BenchProtocol> MakeRawProtocol(size_t size);
std::unique_ptr<BenchProtocol> MakeLineProtocol(size_t size);
std::unique_ptr<BenchProtocol> MakeLengthProtocol(size_t size);
absl::StatusOr<std::unique_ptr<BenchProtocol>> MakeRespProtocol(const LoadOptions& opt);
std::unique_ptr<BenchProtocol> MakeHttpProtocol(const LoadOptions& opt);
std::unique_ptr<BenchProtocol> MakeWsProtocol(const LoadOptions& opt);

// A cheap pseudo-random 64-bit mix of (a, b): request contents, keys and masks.
inline uint64_t Mix(uint64_t a, uint64_t b) {
  uint64_t x = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull + (a << 6) + (a >> 2));
  x ^= x >> 31;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 29;
  return x;
}

}  // namespace percore::tools
