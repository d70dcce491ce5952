// The resp protocol: the user's commands in turn as RESP arrays, "__rand__" in a command
// replaced by a number below `keyspace` (the same number everywhere in that command), and each
// reply checked for its command: SET -> +OK, GET -> the value a SET of this list writes for
// that key, or a null; PING -> +PONG; INCR -> an integer; any other -> any reply but an error.
#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "tools/bench_protocol.h"

namespace percore::tools {
namespace {

constexpr std::string_view kRand = "__rand__";

std::string WithKey(std::string_view arg, const std::string& key) {
  return absl::StrReplaceAll(absl::string_view(arg.data(), arg.size()),
                             {{absl::string_view(kRand.data(), kRand.size()), key}});
}

// One RESP2 reply at the front of the input. (A stopgap until the RESP reply decoder on main,
// protocol/resp_reply.h, lands; it reads only what a benchmark needs to check.)
struct RespReply {
  char type = 0;          // '+', '-', ':', '$', '*'
  std::string_view text;  // simple string, error, integer digits or bulk payload
  bool null = false;      // "$-1" or "*-1"
};

// kReply with *r filled (an array's elements are skipped over, not returned), kNeedMore, or
// kError ("bad reply").
ReplyCheck ReadRespReply(std::string_view in, RespReply* r, int depth = 0) {
  if (in.empty()) return ReplyCheck::NeedMore();
  size_t eol = in.find("\r\n");
  if (eol == std::string_view::npos) {
    if (in.size() > 64 * 1024) return ReplyCheck::Error("bad reply", "a RESP line above 64 KiB");
    return ReplyCheck::NeedMore();
  }
  r->type = in[0];
  r->text = in.substr(1, eol - 1);
  r->null = false;
  switch (r->type) {
    case '+':
    case '-':
      return ReplyCheck::Reply(eol + 2);
    case ':': {
      int64_t v;
      if (!absl::SimpleAtoi(absl::string_view(r->text.data(), r->text.size()), &v))
        return ReplyCheck::Error("bad reply", "a bad integer");
      return ReplyCheck::Reply(eol + 2);
    }
    case '$':
    case '*': {
      int64_t n;
      if (!absl::SimpleAtoi(absl::string_view(r->text.data(), r->text.size()), &n) || n < -1 ||
          n > (1 << 29) || depth > 32) {
        return ReplyCheck::Error("bad reply", "a bad RESP length");
      }
      if (n == -1) {
        r->null = true;
        return ReplyCheck::Reply(eol + 2);
      }
      size_t at = eol + 2;
      if (r->type == '$') {
        size_t len = static_cast<size_t>(n);
        if (in.size() < at + len + 2) return ReplyCheck::NeedMore();
        if (in.substr(at + len, 2) != "\r\n") {
          return ReplyCheck::Error("bad reply", "a bulk string not ended by CRLF");
        }
        r->text = in.substr(at, len);
        return ReplyCheck::Reply(at + len + 2);
      }
      for (int64_t i = 0; i < n; ++i) {
        RespReply element;
        ReplyCheck e = ReadRespReply(in.substr(at), &element, depth + 1);
        if (e.kind != ReplyCheck::Kind::kReply) return e;
        at += e.consumed;
      }
      return ReplyCheck::Reply(at);
    }
    default:
      return ReplyCheck::Error("bad reply",
                               absl::StrFormat("a reply starting with byte 0x%02x, not RESP",
                                               static_cast<uint8_t>(r->type)));
  }
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
    RespReply r;
    ReplyCheck got = ReadRespReply(in, &r);
    if (got.kind != ReplyCheck::Kind::kReply) return got;
    const Command& cmd = commands_[k % commands_.size()];
    auto wrong = [&](std::string_view expected) {
      return ReplyCheck::Error(
          "bad reply", absl::StrFormat("%s answered '%c%s', expected %s (request %d, conn %d)",
                                       cmd.args[0], r.type, r.text.substr(0, 40), expected, k, c));
    };
    if (r.type == '-') return wrong("no error");
    switch (cmd.kind) {
      case Kind::kSet:
        if (r.type != '+' || r.text != "OK") return wrong("+OK");
        break;
      case Kind::kGet:
        if (r.type != '$') return wrong("a bulk string or null");
        if (!r.null && !set_values_.empty() &&
            std::none_of(set_values_.begin(), set_values_.end(), [&](const std::string& v) {
              return r.text == WithKey(v, std::to_string(Mix(c, k) % keyspace_));
            })) {
          return wrong("the value a SET writes, or null");
        }
        break;
      case Kind::kPing:
        if (r.type != '+' || r.text != "PONG") return wrong("+PONG");
        break;
      case Kind::kIncr:
        if (r.type != ':') return wrong("an integer");
        break;
      case Kind::kOther:
        break;
    }
    return got;
  }

 private:
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
