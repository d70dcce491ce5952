// The ws protocol: the opening handshake at `path` (101 and the right Sec-WebSocket-Accept
// checked), then masked binary frames of `size` payload bytes, each echoed back as one
// unmasked binary frame with the same payload.
#include <cstring>

#include "absl/strings/str_format.h"
#include "protocol/ws_frame.h"
#include "protocol/ws_handshake.h"
#include "tools/bench_http_reply.h"
#include "tools/bench_protocol.h"

namespace percore::tools {
namespace {

// RFC 6455's sample key: any 16 bytes in base64 will do, the server only hashes it.
constexpr std::string_view kKey = "dGhlIHNhbXBsZSBub25jZQ==";

class WsProtocol : public BenchProtocol {
 public:
  explicit WsProtocol(const LoadOptions& opt) : size_(opt.size), accept_(WsAcceptKey(kKey)) {
    hello_ = absl::StrFormat(
        "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n",
        opt.path, opt.unix_path.empty() ? opt.host : "localhost", kKey);
    for (const std::string& h : opt.headers) hello_ += h + "\r\n";
    hello_ += "\r\n";
  }

  std::string Hello(uint32_t) const override { return hello_; }
  ReplyCheck CheckHello(uint32_t, std::string_view in) const override {
    HttpReplyHead head;
    ReplyCheck r = ReadHttpReplyHead(in, &head);
    if (r.kind != ReplyCheck::Kind::kReply) return r;
    if (head.status != 101) {
      return ReplyCheck::Error("bad status",
                               absl::StrFormat("upgrade answered %d, not 101", head.status));
    }
    if (head.ws_accept != accept_) {
      return ReplyCheck::Error("bad reply", absl::StrFormat("Sec-WebSocket-Accept '%s', not '%s'",
                                                            head.ws_accept, accept_));
    }
    return r;
  }

  void AppendRequest(uint32_t c, uint64_t k, std::string& out) const override {
    char head[kWsMaxServerHeader];
    size_t n = WsServerHeader(WsOpcode::kBinary, size_, head);
    head[1] = static_cast<char>(head[1] | 0x80);  // the mask bit: a client frame
    out.append(head, n);
    uint64_t m = Mix(c, ~k);
    uint8_t mask[4] = {static_cast<uint8_t>(m), static_cast<uint8_t>(m >> 8),
                       static_cast<uint8_t>(m >> 16), static_cast<uint8_t>(m >> 24)};
    out.append(reinterpret_cast<const char*>(mask), 4);
    size_t at = out.size();
    out.resize(at + size_);
    Payload(c, k, out.data() + at);
    UnmaskWs(std::span<char>(out.data() + at, size_), mask);  // masking is its own inverse
  }

  ReplyCheck CheckReply(uint32_t c, uint64_t k, std::string_view in) const override {
    char want_head[kWsMaxServerHeader];
    size_t n = WsServerHeader(WsOpcode::kBinary, size_, want_head);
    if (in.size() < 2) return ReplyCheck::NeedMore();
    if (in[0] != want_head[0]) {
      return ReplyCheck::Error("bad reply",
                               absl::StrFormat("frame byte 0x%02x, not a final binary frame (0x82)",
                                               static_cast<uint8_t>(in[0])));
    }
    if (in.size() < n) return ReplyCheck::NeedMore();
    if (std::memcmp(in.data(), want_head, n) != 0) {
      return ReplyCheck::Error("bad reply", "a frame of another length than sent (or masked)");
    }
    if (in.size() < n + size_) return ReplyCheck::NeedMore();
    thread_local std::string want;
    want.resize(size_);
    Payload(c, k, want.data());
    if (std::memcmp(want.data(), in.data() + n, size_) != 0) {
      return ReplyCheck::Error("mismatch",
                               absl::StrFormat("frame %d on connection %d differs", k, c));
    }
    return ReplyCheck::Reply(n + size_);
  }

 private:
  void Payload(uint32_t c, uint64_t k, char* out) const {
    uint64_t x = Mix(c, k);
    for (size_t i = 0; i < size_; ++i) out[i] = static_cast<char>(x >> (8 * (i % 8)) ^ i);
  }
  size_t size_;
  std::string accept_, hello_;
};

}  // namespace

std::unique_ptr<BenchProtocol> MakeWsProtocol(const LoadOptions& opt) {
  return std::make_unique<WsProtocol>(opt);
}

}  // namespace percore::tools
