#include "tools/bench_protocol.h"

#include "absl/strings/str_format.h"

namespace percore::tools {

void BenchProtocol::AppendRequests(uint32_t conn, uint64_t k, uint64_t n, std::string& out) const {
  for (uint64_t i = 0; i < n; ++i) AppendRequest(conn, k + i, out);
}

void BenchProtocol::CheckReplies(uint32_t conn, uint64_t k, std::string_view in, uint64_t max,
                                 ReplyBatch* out) const {
  while (out->replies < max) {
    ReplyCheck r = CheckReply(conn, k + out->replies, in.substr(out->consumed));
    if (r.kind == ReplyCheck::Kind::kNeedMore) return;
    if (r.kind == ReplyCheck::Kind::kError) {
      out->error = true;
      out->error_kind = std::move(r.error_kind);
      out->what = std::move(r.what);
      return;
    }
    ++out->replies;
    out->consumed += r.consumed;
    if (r.close_after) {
      out->close_after = true;
      return;
    }
  }
}

absl::StatusOr<std::unique_ptr<BenchProtocol>> MakeBenchProtocol(const LoadOptions& opt) {
  std::string name = opt.protocol;
  if (opt.frame_header == 2 && (name == "raw" || name == "length"))
    name = "length";
  else if (opt.frame_header != 0) {
    return absl::InvalidArgumentError("--frame-header 2 goes with --protocol raw or length only");
  }
  if (opt.size == 0) return absl::InvalidArgumentError("--size must be positive");
  if (name == "raw") return MakeRawProtocol(opt.size);
  if (name == "line") return MakeLineProtocol(opt.size);
  if (name == "length") {
    if (opt.size < 3 || opt.size > 65537) {
      return absl::InvalidArgumentError(
          "--protocol length (--frame-header 2) needs a --size in [3, 65537]: 2 header bytes "
          "and a body the u16 length can name");
    }
    return MakeLengthProtocol(opt.size);
  }
  if (name == "resp") return MakeRespProtocol(opt);
  if (name == "http") return MakeHttpProtocol(opt);
  if (name == "ws") return MakeWsProtocol(opt);
  return absl::InvalidArgumentError(
      absl::StrFormat("unknown protocol '%s' (raw, line, length, resp, http, ws)", opt.protocol));
}

}  // namespace percore::tools
