// The http protocol: GET `path` with the user's headers over keep-alive connections (pipelined
// up to the depth); each response's status must be expect_status and its body complete.
#include "absl/strings/str_format.h"
#include "tools/bench_http_reply.h"
#include "tools/bench_protocol.h"

namespace percore::tools {
namespace {

class HttpProtocol : public BenchProtocol {
 public:
  explicit HttpProtocol(const LoadOptions& opt) : expect_status_(opt.expect_status) {
    request_ = absl::StrFormat("GET %s HTTP/1.1\r\nHost: %s\r\n", opt.path,
                               opt.unix_path.empty() ? opt.host : "localhost");
    for (const std::string& h : opt.headers) request_ += h + "\r\n";
    request_ += "\r\n";
  }
  void AppendRequest(uint32_t, uint64_t, std::string& out) const override { out += request_; }
  ReplyCheck CheckReply(uint32_t c, uint64_t k, std::string_view in) const override {
    HttpReplyHead head;
    ReplyCheck r = ReadHttpReplyHead(in, &head);
    if (r.kind != ReplyCheck::Kind::kReply) return r;
    size_t total = head.head_size;
    if (head.chunked) {
      ReplyCheck body = ReadChunkedBody(in.substr(total));
      if (body.kind != ReplyCheck::Kind::kReply) return body;
      total += body.consumed;
    } else if (head.content_length >= 0) {
      total += static_cast<size_t>(head.content_length);
      if (in.size() < total) return ReplyCheck::NeedMore();
    } else if (head.status >= 200 && head.status != 204 && head.status != 304) {
      // The body would run to the close: not a keep-alive answer.
      return ReplyCheck::Error("bad reply", "a response without Content-Length or chunking");
    }
    if (head.status != expect_status_) {
      return ReplyCheck::Error(
          "bad status", absl::StrFormat("status %d (expected %d) for request %d on connection %d",
                                        head.status, expect_status_, k, c));
    }
    ReplyCheck done = ReplyCheck::Reply(total);
    done.close_after = head.close;  // e.g. nginx after keepalive_requests: reconnect, not an error
    return done;
  }

 private:
  int expect_status_;
  std::string request_;
};

}  // namespace

std::unique_ptr<BenchProtocol> MakeHttpProtocol(const LoadOptions& opt) {
  return std::make_unique<HttpProtocol>(opt);
}

}  // namespace percore::tools
