// The resp protocol: the user's commands in turn as RESP arrays, "__rand__" in a command
// replaced by a number below `keyspace` (the same number everywhere in that command), and each
// reply checked for its command: SET -> +OK, GET -> the value a SET of this list writes for
// that key, or a null; PING -> +PONG; INCR -> an integer; any other -> any reply but an error.
#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "protocol/resp_reply.h"
#include "tools/bench_protocol.h"

namespace percore::tools {
namespace {

constexpr std::string_view kRand = "__rand__";

std::string WithKey(std::string_view arg, const std::string& key) {
  return absl::StrReplaceAll(absl::string_view(arg.data(), arg.size()),
                             {{absl::string_view(kRand.data(), kRand.size()), key}});
}

class RespProtocol : public BenchProtocol {
 public:
  enum class Kind : uint8_t { kSet, kGet, kPing, kIncr, kOther };
  struct Command {
    std::vector<std::string> args;  // "__rand__" still in them
    Kind kind = Kind::kOther;
  };

  RespProtocol(std::vector<Command> commands, uint64_t keyspace,
               std::vector<std::string> set_values)
      : commands_(std::move(commands)), keyspace_(keyspace), set_values_(std::move(set_values)) {}

  void AppendRequest(uint32_t c, uint64_t k, std::string& out) const override {
    const Command& cmd = commands_[k % commands_.size()];
    const std::string key = std::to_string(Mix(c, k) % keyspace_);
    absl::StrAppend(&out, "*", cmd.args.size(), "\r\n");
    for (const std::string& arg : cmd.args) {
      std::string a = WithKey(arg, key);
      absl::StrAppend(&out, "$", a.size(), "\r\n", a, "\r\n");
    }
  }

  ReplyCheck CheckReply(uint32_t c, uint64_t k, std::string_view in) const override {
    RespReplyCodec::State state;
    Decoded d = codec_.decode(state, std::span<const char>(in.data(), in.size()));
    if (d.kind == Decoded::Kind::kNeedMore) return ReplyCheck::NeedMore();
    if (d.kind == Decoded::Kind::kError) {
      return ReplyCheck::Error(
          "bad reply",
          absl::StrFormat("not a RESP reply (%s) on connection %d", CodecErrorName(d.error), c));
    }
    RespValue v;  // the first value: the reply itself, or an array's header
    RespReplyReader(std::span<const char>(in.data(), d.consumed)).Next(v);
    const Command& cmd = commands_[k % commands_.size()];
    auto wrong = [&](std::string_view expected) {
      return ReplyCheck::Error(
          "bad reply",
          absl::StrFormat(
              "%s answered '%s', expected %s (request %d, conn %d)", cmd.args[0],
              absl::CEscape(absl::string_view(in.data(), std::min<size_t>(d.consumed, 40))),
              expected, k, c));
    };
    if (v.type == RespType::kError) return wrong("no error");
    switch (cmd.kind) {
      case Kind::kSet:
        if (v.type != RespType::kSimple || v.text != "OK") return wrong("+OK");
        break;
      case Kind::kGet:
        if (v.type != RespType::kBulk && v.type != RespType::kNull) {
          return wrong("a bulk string or null");
        }
        if (v.type == RespType::kBulk && !set_values_.empty() &&
            std::none_of(set_values_.begin(), set_values_.end(), [&](const std::string& set) {
              return v.text == WithKey(set, std::to_string(Mix(c, k) % keyspace_));
            })) {
          return wrong("the value a SET writes, or null");
        }
        break;
      case Kind::kPing:
        if (v.type != RespType::kSimple || v.text != "PONG") return wrong("+PONG");
        break;
      case Kind::kIncr:
        if (v.type != RespType::kInteger) return wrong("an integer");
        break;
      case Kind::kOther:
        break;
    }
    return ReplyCheck::Reply(d.consumed);
  }

 private:
  RespReplyCodec codec_;
  std::vector<Command> commands_;
  uint64_t keyspace_;
  // The values the SETs of the list write ("__rand__" kept): a GET must find one of them.
  std::vector<std::string> set_values_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<BenchProtocol>> MakeRespProtocol(const LoadOptions& opt) {
  if (opt.commands.empty()) return absl::InvalidArgumentError("--protocol resp needs a --command");
  if (opt.keyspace == 0) return absl::InvalidArgumentError("--keyspace must be positive");
  std::vector<RespProtocol::Command> commands;
  std::vector<std::string> set_values;
  for (const std::string& line : opt.commands) {
    RespProtocol::Command cmd;
    cmd.args = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (cmd.args.empty()) return absl::InvalidArgumentError("an empty --command");
    std::string name = absl::AsciiStrToUpper(cmd.args[0]);
    if (name == "SET") {
      if (cmd.args.size() < 3) return absl::InvalidArgumentError("SET needs a key and a value");
      cmd.kind = RespProtocol::Kind::kSet;
      set_values.push_back(cmd.args[2]);
    } else if (name == "GET") {
      cmd.kind = RespProtocol::Kind::kGet;
    } else if (name == "PING") {
      cmd.kind = RespProtocol::Kind::kPing;
    } else if (name == "INCR") {
      cmd.kind = RespProtocol::Kind::kIncr;
    }
    commands.push_back(std::move(cmd));
  }
  return std::make_unique<RespProtocol>(std::move(commands), opt.keyspace, std::move(set_values));
}

}  // namespace percore::tools
