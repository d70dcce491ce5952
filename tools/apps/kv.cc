#include "tools/apps/kv.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <string>

namespace percore::apps {
namespace {

using Args = std::vector<std::string_view>;
using Out = KvHandler::Out;

constexpr std::string_view kNotInteger = "ERR value is not an integer or out of range";
constexpr std::string_view kOverflow = "ERR increment or decrement would overflow";
constexpr std::string_view kSyntax = "ERR syntax error";
constexpr std::string_view kOom = "OOM command not allowed when used memory > 'maxmemory'.";
constexpr std::string_view kTooLarge =
    "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

bool EqNoCase(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char ch = a[i];
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    if (ch != lower[i]) return false;
  }
  return true;
}

// "-ERR wrong number of arguments for 'get' command"
void ArityError(Out& out, std::string_view name) {
  std::string text = "ERR wrong number of arguments for '";
  text.append(name);
  text.append("' command");
  RespError(out, text);
}

// Redis 7 (server.c, processCommand): the name cut at 128 bytes, then "'arg' " for each argument
// while the list is under 128 bytes, each cut to what is left; CR and LF become spaces.
void UnknownCommand(Out& out, const Args& args) {
  std::string text = "ERR unknown command '";
  text.append(args[0].substr(0, 128));
  text.append("', with args beginning with: ");
  std::string list;
  for (size_t i = 1; i < args.size() && list.size() < 128; ++i) {
    list += '\'';
    list.append(args[i].substr(0, 128 - list.size() + 1));
    list += "' ";
  }
  text += list;
  std::replace(text.begin(), text.end(), '\r', ' ');
  std::replace(text.begin(), text.end(), '\n', ' ');
  RespError(out, text);
}

void ReplyResult(Out& out, KvStore::Result r) {
  switch (r) {
    case KvStore::Result::kOk:
      RespSimple(out, "OK");
      break;
    case KvStore::Result::kNotDone:
      RespNullBulk(out);
      break;
    case KvStore::Result::kNoKey:
      RespNullBulk(out);
      break;
    case KvStore::Result::kNotInteger:
      RespError(out, kNotInteger);
      break;
    case KvStore::Result::kOverflow:
      RespError(out, kOverflow);
      break;
    case KvStore::Result::kOom:
      RespError(out, kOom);
      break;
    case KvStore::Result::kTooLarge:
      RespError(out, kTooLarge);
      break;
  }
}

void ReplyGet(Out& out, KvStore& kv, std::string_view key) {
  if (!kv.get(key, [&out](std::string_view v) { RespBulk(out, v); })) RespNullBulk(out);
}

void ReplyValue(Out& out, const std::string_view* value) {
  if (value == nullptr) return RespNullBulk(out);
  RespBulk(out, *value);
}

// now + amount * unit (ms), or false on overflow.
bool Deadline(int64_t now, int64_t amount, int64_t unit, int64_t* at) {
  int64_t ms;
  if (__builtin_mul_overflow(amount, unit, &ms)) return false;
  return !__builtin_add_overflow(now, ms, at);
}

// SET key value [NX|XX] [GET] [EX s|PX ms|KEEPTTL]
void Set(Out& out, KvStore& kv, const Args& a) {
  KvStore::Cond cond = KvStore::Cond::kAlways;
  bool get = false, keep_ttl = false, has_expire = false;
  int64_t amount = 0, unit = 0;
  for (size_t i = 3; i < a.size(); ++i) {
    std::string_view o = a[i];
    bool has_next = i + 1 < a.size();
    if (EqNoCase(o, "nx") && cond == KvStore::Cond::kAlways) {
      cond = KvStore::Cond::kIfAbsent;
    } else if (EqNoCase(o, "xx") && cond == KvStore::Cond::kAlways) {
      cond = KvStore::Cond::kIfPresent;
    } else if (EqNoCase(o, "get") && !get) {
      get = true;
    } else if (EqNoCase(o, "keepttl") && !keep_ttl && !has_expire) {
      keep_ttl = true;
    } else if ((EqNoCase(o, "ex") || EqNoCase(o, "px")) && !keep_ttl && !has_expire && has_next) {
      has_expire = true;
      unit = EqNoCase(o, "ex") ? 1000 : 1;
      if (!ParseRedisInt64(a[++i], &amount)) return RespError(out, kNotInteger);
    } else {
      return RespError(out, kSyntax);
    }
  }
  int64_t at = KvStore::kNoExpiry;
  if (has_expire && (amount <= 0 || !Deadline(kv.now_ms(), amount, unit, &at))) {
    return RespError(out, "ERR invalid expire time in 'set' command");
  }
  if (!get) return ReplyResult(out, kv.set(a[1], a[2], cond, at, keep_ttl));
  // The old value is the reply (also when NX/XX refuse the write), written under the key's
  // lock; a write refused for its size or memory answers that error instead.
  KvStore::ValueFn reply = [&out](const std::string_view* old) { ReplyValue(out, old); };
  KvStore::Result r = kv.set(a[1], a[2], cond, at, keep_ttl, &reply);
  if (r != KvStore::Result::kOk && r != KvStore::Result::kNotDone) ReplyResult(out, r);
}

void IncrBy(Out& out, KvStore& kv, std::string_view key, int64_t delta) {
  int64_t v = 0;
  KvStore::Result r = kv.incr_by(key, delta, &v);
  if (r == KvStore::Result::kOk) return RespInteger(out, v);
  ReplyResult(out, r);
}

// EXPIRE key amount [NX|XX|GT|LT]...: the options are checked first, as Redis does.
void Expire(Out& out, KvStore& kv, const Args& a, int64_t unit, std::string_view name) {
  unsigned cond = 0;
  for (size_t i = 3; i < a.size(); ++i) {
    if (EqNoCase(a[i], "nx")) {
      cond |= KvStore::kExpireNx;
    } else if (EqNoCase(a[i], "xx")) {
      cond |= KvStore::kExpireXx;
    } else if (EqNoCase(a[i], "gt")) {
      cond |= KvStore::kExpireGt;
    } else if (EqNoCase(a[i], "lt")) {
      cond |= KvStore::kExpireLt;
    } else {
      std::string text = "ERR Unsupported option ";
      text.append(a[i]);
      std::replace(text.begin(), text.end(), '\r', ' ');
      std::replace(text.begin(), text.end(), '\n', ' ');
      return RespError(out, text);
    }
  }
  if ((cond & KvStore::kExpireNx) && cond != KvStore::kExpireNx) {
    return RespError(out, "ERR NX and XX, GT or LT options at the same time are not compatible");
  }
  if ((cond & KvStore::kExpireGt) && (cond & KvStore::kExpireLt)) {
    return RespError(out, "ERR GT and LT options at the same time are not compatible");
  }
  int64_t amount;
  if (!ParseRedisInt64(a[2], &amount)) return RespError(out, kNotInteger);
  int64_t at;
  if (!Deadline(kv.now_ms(), amount, unit, &at)) {
    std::string text = "ERR invalid expire time in '";
    text.append(name);
    text.append("' command");
    return RespError(out, text);
  }
  RespInteger(out, kv.expire_at(a[1], at, cond) ? 1 : 0);
}

void ConfigGet(Out& out, const Args& a) {
  // What redis-benchmark asks at start ("save", "appendonly"): no persistence here.
  static constexpr std::string_view kKeys[][2] = {{"save", ""}, {"appendonly", "no"}};
  bool hit[2] = {false, false};
  for (size_t i = 2; i < a.size(); ++i) {
    for (size_t k = 0; k < 2; ++k) {
      if (a[i] == "*" || EqNoCase(a[i], kKeys[k][0])) hit[k] = true;
    }
  }
  RespArrayHeader(out, 2 * (size_t{hit[0]} + size_t{hit[1]}));
  for (size_t k = 0; k < 2; ++k) {
    if (!hit[k]) continue;
    RespBulk(out, kKeys[k][0]);
    RespBulk(out, kKeys[k][1]);
  }
}

enum class Cmd : uint8_t {
  kUnknown,
  kPing,
  kEcho,
  kSet,
  kGet,
  kDel,
  kExists,
  kIncr,
  kIncrBy,
  kDecr,
  kDecrBy,
  kMSet,
  kMGet,
  kDbSize,
  kFlushAll,
  kExpire,
  kPExpire,
  kTtl,
  kPTtl,
  kConfig,
  kCommand,
  kQuit,
  kSelect,
};

struct CmdInfo {
  std::string_view name;  // lower case, as Redis names it in errors
  Cmd cmd;
  int arity;  // Redis's: n exact, -n at least n (the name counts)
};

constexpr CmdInfo kCommands[] = {
    {"get", Cmd::kGet, 2},        {"set", Cmd::kSet, -3},
    {"ping", Cmd::kPing, -1},     {"echo", Cmd::kEcho, 2},
    {"del", Cmd::kDel, -2},       {"exists", Cmd::kExists, -2},
    {"incr", Cmd::kIncr, 2},      {"incrby", Cmd::kIncrBy, 3},
    {"decr", Cmd::kDecr, 2},      {"decrby", Cmd::kDecrBy, 3},
    {"mset", Cmd::kMSet, -3},     {"mget", Cmd::kMGet, -2},
    {"dbsize", Cmd::kDbSize, 1},  {"flushall", Cmd::kFlushAll, -1},
    {"expire", Cmd::kExpire, -3}, {"pexpire", Cmd::kPExpire, -3},
    {"ttl", Cmd::kTtl, 2},        {"pttl", Cmd::kPTtl, 2},
    {"config", Cmd::kConfig, -2}, {"command", Cmd::kCommand, -1},
    {"quit", Cmd::kQuit, -1},     {"select", Cmd::kSelect, 2},
};

const CmdInfo* Lookup(std::string_view name) {
  for (const CmdInfo& info : kCommands) {
    if (EqNoCase(name, info.name)) return &info;
  }
  return nullptr;
}

}  // namespace

namespace {
RespCodec::Options CodecOptions(const KvHandler::Options& o) {
  RespCodec::Options c;
  c.max_bulk = o.max_value;
  c.max_request = o.max_value + (size_t{1} << 20);  // the value plus a key and the headers
  return c;
}
}  // namespace

KvHandler::KvHandler(Options options)
    : codec(CodecOptions(options)),
      store_(KvStore::Options{.max_value = options.max_value, .max_memory = options.max_memory}) {}

void KvHandler::on_message(Connection& c, std::span<const char> msg) {
  // One per reactor thread: its capacity stays, so parsing allocates nothing in steady state.
  thread_local std::vector<std::string_view> args;
  Out out{c};
  if (!RespCodec::ParseArgs(msg, args) || args.empty()) {
    // decode() only hands over frames ParseArgs accepts, and empty commands are skipped.
    RespError(out, "ERR Protocol error: bad command");
    c.close();
    return;
  }
  dispatch(out, args);
  if (out.full && !c.closing()) c.pause_reading();  // resumed by on_drain
}

void KvHandler::on_codec_error(Connection& c, CodecError, const RespCodec::State& state) {
  Out out{c};
  std::string text = "ERR ";
  text.append(RespCodec::ErrorText(state));
  RespError(out, text);
}

void KvHandler::dispatch(Out& out, std::vector<std::string_view>& a) {
  const CmdInfo* info = Lookup(a[0]);
  if (info == nullptr) return UnknownCommand(out, a);
  const int n = static_cast<int>(std::min<size_t>(a.size(), 1 << 30));
  if ((info->arity > 0 && n != info->arity) || (info->arity < 0 && n < -info->arity)) {
    return ArityError(out, info->name);
  }
  KvStore& kv = store_;
  switch (info->cmd) {
    case Cmd::kUnknown:
      return UnknownCommand(out, a);
    case Cmd::kPing:
      if (n > 2) return ArityError(out, info->name);
      if (n == 2) return RespBulk(out, a[1]);
      return RespSimple(out, "PONG");
    case Cmd::kEcho:
      return RespBulk(out, a[1]);
    case Cmd::kSet:
      return Set(out, kv, a);
    case Cmd::kGet:
      return ReplyGet(out, kv, a[1]);
    case Cmd::kDel:
    case Cmd::kExists: {
      int64_t count = 0;
      for (size_t i = 1; i < a.size(); ++i) {
        count += (info->cmd == Cmd::kDel ? kv.del(a[i]) : kv.exists(a[i])) ? 1 : 0;
      }
      return RespInteger(out, count);
    }
    case Cmd::kIncr:
      return IncrBy(out, kv, a[1], 1);
    case Cmd::kDecr:
      return IncrBy(out, kv, a[1], -1);
    case Cmd::kIncrBy:
    case Cmd::kDecrBy: {
      int64_t d;
      if (!ParseRedisInt64(a[2], &d)) return RespError(out, kNotInteger);
      if (info->cmd == Cmd::kDecrBy) {
        if (d == std::numeric_limits<int64_t>::min()) {
          return RespError(out, "ERR decrement would overflow");
        }
        d = -d;
      }
      return IncrBy(out, kv, a[1], d);
    }
    case Cmd::kMSet:
      if (n % 2 != 1) return ArityError(out, info->name);
      return ReplyResult(out, kv.mset(std::span(a).subspan(1)));
    case Cmd::kMGet:
      RespArrayHeader(out, a.size() - 1);
      // The values are written under their stripes' locks: one consistent snapshot, no copy.
      return kv.mget(std::span(a).subspan(1),
                     [&out](const std::string_view* v) { ReplyValue(out, v); });
    case Cmd::kDbSize:
      return RespInteger(out, static_cast<int64_t>(kv.size()));
    case Cmd::kFlushAll:
      if (n > 2 || (n == 2 && !EqNoCase(a[1], "sync") && !EqNoCase(a[1], "async"))) {
        return RespError(out, kSyntax);
      }
      kv.clear();
      return RespSimple(out, "OK");
    case Cmd::kExpire:
      return Expire(out, kv, a, 1000, info->name);
    case Cmd::kPExpire:
      return Expire(out, kv, a, 1, info->name);
    case Cmd::kTtl:
    case Cmd::kPTtl: {
      int64_t ms = kv.ttl_ms(a[1]);
      if (ms < 0 || info->cmd == Cmd::kPTtl) return RespInteger(out, ms);
      return RespInteger(out, (ms + 500) / 1000);  // as Redis rounds
    }
    case Cmd::kConfig:
      if (EqNoCase(a[1], "get")) {
        if (n < 3) return ArityError(out, "config|get");
        return ConfigGet(out, a);
      } else {
        std::string text = "ERR unknown subcommand '";
        text.append(a[1].substr(0, 128));
        text.append("'. Try CONFIG HELP.");
        std::replace(text.begin(), text.end(), '\r', ' ');
        std::replace(text.begin(), text.end(), '\n', ' ');
        return RespError(out, text);
      }
    case Cmd::kCommand:
      return RespArrayHeader(out, 0);  // redis-cli's COMMAND DOCS at start
    case Cmd::kQuit:
      RespSimple(out, "OK");
      out.c.close();
      return;
    case Cmd::kSelect: {
      int64_t db;
      if (!ParseRedisInt64(a[1], &db)) return RespError(out, kNotInteger);
      if (db != 0) return RespError(out, "ERR DB index is out of range");
      return RespSimple(out, "OK");
    }
  }
}

}  // namespace percore::apps
