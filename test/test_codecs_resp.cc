// RespCodec: what redis-cli and redis-benchmark send (arrays, pipelines, inline), resumption
// over pieces, limits at and one over, malformed input with Redis's reasons, and the exact
// bytes of the reply encoders.
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "protocol/resp_codec.h"

namespace percore {
namespace {

using Args = std::vector<std::string>;

struct Run {
  std::vector<Args> commands;
  std::vector<size_t> consumed;
  bool error = false;
  CodecError kind = CodecError::kNone;
  std::string text;      // ErrorText after an error
  std::string leftover;  // bytes kept for a frame still incomplete
  int calls = 0;
};

// Feeds `wire` in pieces ending at `cuts` (sorted), the way the framework does: the input view
// is whatever is not consumed yet, and decode is called after every piece until it wants more.
Run Feed(const RespCodec& codec, std::string_view wire, std::vector<size_t> cuts) {
  cuts.push_back(wire.size());
  Run run;
  RespCodec::State st;
  std::string buf;
  std::vector<std::string_view> views;
  size_t fed = 0;
  for (size_t cut : cuts) {
    buf.append(wire.substr(fed, cut - fed));
    fed = cut;
    for (;;) {
      ++run.calls;
      Decoded d = codec.decode(st, buf);
      if (d.kind == Decoded::Kind::kNeedMore) {
        REQUIRE(d.need > buf.size());
        break;
      }
      if (d.kind == Decoded::Kind::kError) {
        run.error = true;
        run.kind = d.error;
        run.text = RespCodec::ErrorText(st);
        return run;
      }
      REQUIRE(d.consumed > 0);
      REQUIRE(d.offset + d.size <= d.consumed);
      REQUIRE(d.consumed <= buf.size());
      std::span<const char> msg = std::span<const char>(buf).subspan(d.offset, d.size);
      REQUIRE(RespCodec::ParseArgs(msg, views));
      Args args;
      for (std::string_view v : views) {
        REQUIRE(v.data() >= msg.data());
        REQUIRE(v.data() + v.size() <= msg.data() + msg.size());
        args.emplace_back(v);
      }
      run.commands.push_back(args);
      run.consumed.push_back(d.consumed);
      buf.erase(0, d.consumed);
    }
  }
  run.leftover = buf;
  return run;
}

Run Whole(std::string_view wire, const RespCodec& codec = RespCodec()) {
  return Feed(codec, wire, {});
}

Run ByteAtATime(std::string_view wire, const RespCodec& codec = RespCodec()) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < wire.size(); ++i) cuts.push_back(i);
  return Feed(codec, wire, cuts);
}

std::string Cmd(const Args& args) {  // what redis-cli sends
  // Appends only: g++ 12 -O3 reports a false -Wrestrict on "literal" + std::string.
  std::string s("*");
  s.append(std::to_string(args.size())).append("\r\n");
  for (const std::string& a : args) {
    s.append("$").append(std::to_string(a.size())).append("\r\n").append(a).append("\r\n");
  }
  return s;
}

}  // namespace

TEST_CASE("resp: redis-cli SET is one frame with three argument views") {
  std::string wire = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
  RespCodec codec;
  RespCodec::State st;
  Decoded d = codec.decode(st, wire);
  REQUIRE(d.kind == Decoded::Kind::kFrame);
  CHECK(d.consumed == wire.size());
  CHECK(d.offset == 0);
  CHECK(d.size == wire.size());
  RespArgs args(std::span<const char>(wire).subspan(d.offset, d.size));
  CHECK(args.declared() == 3);
  std::vector<std::string_view> got;
  for (std::string_view a; args.Next(a);) got.push_back(a);
  CHECK(args.ok());
  REQUIRE(got.size() == 3);
  CHECK(got[0] == "SET");
  CHECK(got[1] == "k");
  CHECK(got[2] == "v");
  CHECK(got[2].data() == wire.data() + wire.size() - 3);  // a view into the input, no copy
}

TEST_CASE("resp: a redis-benchmark -P 16 pipeline decodes one command at a time") {
  std::string wire;
  std::vector<Args> want;
  for (int i = 0; i < 16; ++i) {
    Args a = i % 2 ? Args{"GET", "key:" + std::to_string(i)}
                   : Args{"SET", "key:" + std::to_string(i), std::string(3, 'x')};
    want.push_back(a);
    wire += Cmd(a);
  }
  wire += "*1\r\n$4\r\nPI";  // a partial 17th
  Run run = Whole(wire);
  CHECK_FALSE(run.error);
  CHECK(run.commands == want);
  CHECK(run.leftover == "*1\r\n$4\r\nPI");
  CHECK(run.calls == 17);
}

TEST_CASE("resp: inline commands, with \\n or \\r\\n, split on whitespace") {
  Run run = Whole("PING\r\nSET k v\r\n  GET\t k  \nECHO \"a b\"\n");
  CHECK_FALSE(run.error);
  REQUIRE(run.commands.size() == 4);
  CHECK(run.commands[0] == Args{"PING"});
  CHECK(run.commands[1] == Args{"SET", "k", "v"});
  CHECK(run.commands[2] == Args{"GET", "k"});
  CHECK(run.commands[3] == Args{"ECHO", "\"a", "b\""});  // quotes are plain bytes, documented
  CHECK(run.consumed[0] == 6);

  RespCodec codec;
  RespCodec::State st;
  std::string ping = "PING\r\n";
  Decoded d = codec.decode(st, ping);
  REQUIRE(d.kind == Decoded::Kind::kFrame);
  CHECK(std::string_view(ping).substr(d.offset, d.size) == "PING");
  CHECK(RespArgs(std::string_view("PING")).declared() == -1);
}

TEST_CASE("resp: empty lines and empty arrays are skipped like Redis, into the next consumed") {
  std::string wire = "\r\n\n   \r\n*0\r\n*-1\r\nPING\r\n";
  Run run = Whole(wire);
  CHECK_FALSE(run.error);
  REQUIRE(run.commands == std::vector<Args>{{"PING"}});
  CHECK(run.consumed[0] == wire.size());
  CHECK(ByteAtATime(wire).commands == run.commands);

  RespCodec codec;
  RespCodec::State st;
  std::string only_empty = "\r\n\r\n";
  Decoded d = codec.decode(st, only_empty);
  REQUIRE(d.kind == Decoded::Kind::kNeedMore);
  CHECK(d.need == 5);
}

TEST_CASE("resp: byte at a time and random splits give the same frames as whole input") {
  std::string wire;
  std::mt19937 rng(12345);
  for (int i = 0; i < 40; ++i) {
    Args a;
    int argc = 1 + static_cast<int>(rng() % 5);
    for (int j = 0; j < argc; ++j) {
      std::string s(rng() % 40, 'a');
      for (char& c : s) c = static_cast<char>(rng());  // binary, \r\n included
      a.push_back(s);
    }
    wire += Cmd(a);
    if (i % 7 == 0) wire += "PING x y\r\n\r\n";
  }
  Run whole = Whole(wire);
  REQUIRE_FALSE(whole.error);
  CHECK(whole.leftover.empty());
  CHECK(ByteAtATime(wire).commands == whole.commands);
  for (int round = 0; round < 50; ++round) {
    std::vector<size_t> cuts;
    for (size_t i = 1; i < wire.size(); ++i) {
      if (rng() % 50 == 0) cuts.push_back(i);
    }
    Run split = Feed(RespCodec(), wire, cuts);
    CHECK_FALSE(split.error);
    CHECK(split.commands == whole.commands);
    CHECK(split.consumed == whole.consumed);
  }
}

TEST_CASE("resp: a large bulk is waited for with the exact total, not rescanned") {
  std::string body(100000, 'z');
  std::string wire = Cmd({"SET", "k", body});
  size_t body_at = wire.size() - body.size() - 2;
  RespCodec codec;
  RespCodec::State st;
  Decoded d = codec.decode(st, std::span<const char>(wire).first(body_at + 10));
  REQUIRE(d.kind == Decoded::Kind::kNeedMore);
  CHECK(d.need == wire.size());
  d = codec.decode(st, std::span<const char>(wire).first(wire.size() - 1));
  CHECK(d.need == wire.size());
  // The state remembers the bulk; garbage in the part already accounted for is never re-read.
  std::string moved = wire;
  moved[5] = '#';
  d = codec.decode(st, moved);
  REQUIRE(d.kind == Decoded::Kind::kFrame);
  CHECK(d.consumed == wire.size());
}

TEST_CASE("resp: binary-safe bulks carry \\r\\n and NUL inside") {
  std::string bin("a\r\nb\0c\r\n", 8);
  Run run = ByteAtATime(Cmd({"SET", bin, ""}));
  CHECK_FALSE(run.error);
  REQUIRE(run.commands.size() == 1);
  CHECK(run.commands[0] == Args{"SET", bin, ""});
}

TEST_CASE("resp: limits at the bound pass, one over fails with Redis's reason") {
  RespCodec::Options o;
  o.max_bulk = 10;
  o.max_args = 3;
  o.max_inline = 8;
  o.max_request = 50;
  RespCodec codec(o);

  CHECK(Whole(Cmd({"A", "0123456789"}), codec).commands.size() == 1);
  Run r = Whole("*2\r\n$1\r\nA\r\n$11\r\n", codec);  // fails on the header, before the body
  CHECK(r.error);
  CHECK(r.kind == CodecError::kTooLarge);
  CHECK(r.text == "Protocol error: invalid bulk length");

  CHECK(Whole(Cmd({"A", "B", "C"}), codec).commands.size() == 1);
  r = Whole("*4\r\n", codec);
  CHECK(r.kind == CodecError::kTooLarge);
  CHECK(r.text == "Protocol error: invalid multibulk length");

  CHECK(Whole("ABCD EFG\r\n", codec).commands.size() == 1);  // 8 bytes of line
  CHECK(Whole("ABCD EFG", codec).leftover == "ABCD EFG");
  CHECK(ByteAtATime("ABCD EFG\r\n", codec).commands.size() == 1);
  r = Whole("ABCD EFGH\r\n", codec);
  CHECK(r.kind == CodecError::kTooLarge);
  CHECK(r.text == "Protocol error: too big inline request");
  CHECK(ByteAtATime("ABCD EFGH\r\n", codec).text == "Protocol error: too big inline request");

  // max_request: 50 bytes exactly, then 51.
  std::string at = Cmd({"0123456789", "0123456789", "012345"});
  REQUIRE(at.size() == 50);
  CHECK(Whole(at, codec).commands.size() == 1);
  CHECK(ByteAtATime(at, codec).commands.size() == 1);
  std::string over = Cmd({"0123456789", "0123456789", "0123456"});
  r = Whole(over, codec);
  CHECK(r.kind == CodecError::kTooLarge);
  CHECK(r.text == "Protocol error: too big request");
  CHECK(codec.max_frame() == 50);
}

TEST_CASE("resp: malformed input fails with Redis's words") {
  struct Case {
    std::string wire;
    CodecError kind;
    std::string text;
  };
  std::vector<Case> cases = {
      {"*1\r\n+PING\r\n", CodecError::kMalformed, "Protocol error: expected '$', got '+'"},
      {"*1\r\n\r\n", CodecError::kMalformed, "Protocol error: expected '$', got ' '"},
      {"*x\r\n", CodecError::kMalformed, "Protocol error: invalid multibulk length"},
      {"*\r\n", CodecError::kMalformed, "Protocol error: invalid multibulk length"},
      {"*01\r\n", CodecError::kMalformed, "Protocol error: invalid multibulk length"},
      // 19 digits: past what int64 holds for every value, so refused before any arithmetic.
      {"*9999999999999999999\r\n", CodecError::kMalformed,
       "Protocol error: invalid multibulk length"},
      {"*1\r\n$9999999999999999999\r\n", CodecError::kMalformed,
       "Protocol error: invalid bulk length"},
      {"*1\r\n$03\r\nabc\r\n", CodecError::kMalformed, "Protocol error: invalid bulk length"},
      {"*1\r\n$-1\r\n", CodecError::kMalformed, "Protocol error: invalid bulk length"},
      {"*1\r\n$1x\r\n", CodecError::kMalformed, "Protocol error: invalid bulk length"},
      {"*1\r\n$99999999999999999999\r\n", CodecError::kMalformed,
       "Protocol error: invalid bulk length"},
      {"*1\r\n$1\r\nab\r\n", CodecError::kMalformed, "Protocol error: expected '\\r\\n'"},
      {"*1\r\n$1\r\na\nx", CodecError::kMalformed, "Protocol error: expected '\\r\\n'"},
      {"*1\rx", CodecError::kMalformed, "Protocol error: expected '\\r\\n'"},
      {"*1111111111111111111111111111111111", CodecError::kTooLarge,
       "Protocol error: too big mbulk count string"},
      {"*1\r\n$1111111111111111111111111111111111", CodecError::kTooLarge,
       "Protocol error: too big bulk count string"},
  };
  for (const Case& c : cases) {
    INFO(c.wire);
    Run whole = Whole(c.wire);
    CHECK(whole.error);
    CHECK(whole.kind == c.kind);
    CHECK(whole.text == c.text);
    Run bytes = ByteAtATime(c.wire);
    CHECK(bytes.text == c.text);
  }
  CHECK(RespCodec::ErrorText(RespCodec::State{}) == std::string(""));
}

TEST_CASE("resp: the cases of Redis's own protocol tests answer as Redis does") {
  // tests/unit/protocol.tcl: an empty query and a negative count are skipped, then PING works.
  CHECK(Whole("\r\n*-10\r\nPING\r\n").commands == std::vector<Args>{{"PING"}});
  CHECK(Whole("*20000000\r\n").text == "Protocol error: invalid multibulk length");
  CHECK(Whole("*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n").text ==
        "Protocol error: expected '$', got 'f'");
  std::string set_x = "*3\r\n$3\r\nSET\r\n$1\r\nx\r\n";
  for (const char* len : {"$-10\r\n", "$2000000000\r\n", "$blabla\r\n"}) {
    CHECK(Whole(set_x + len).text == "Protocol error: invalid bulk length");
  }
}

TEST_CASE("resp: missing \\r\\n is incomplete, not an error") {
  Run r = Whole("*1\r\n$4\r\nPING");
  CHECK_FALSE(r.error);
  CHECK(r.commands.empty());
  r = Whole("PING");
  CHECK_FALSE(r.error);
  CHECK(r.leftover == "PING");
}

TEST_CASE("resp: RespArgs refuses what decode never returns") {
  std::vector<std::string_view> out;
  CHECK_FALSE(RespCodec::ParseArgs(std::string_view("*2\r\n$1\r\na\r\n"), out));
  CHECK_FALSE(RespCodec::ParseArgs(std::string_view("*1\r\n$5\r\na\r\n"), out));
  CHECK_FALSE(RespCodec::ParseArgs(std::string_view("*1\r\n$1\r\na\r\nextra"), out));
  CHECK_FALSE(RespCodec::ParseArgs(std::string_view("*0\r\n"), out));
  CHECK(RespCodec::ParseArgs(std::string_view("*1\r\n$1\r\na\r\n"), out));
  CHECK(out == std::vector<std::string_view>{"a"});
}

TEST_CASE("resp: reply encoders write Redis's exact bytes") {
  std::string out;
  RespSimple(out, "OK");
  RespError(out, "ERR Protocol error: invalid bulk length");
  RespInteger(out, 0);
  RespInteger(out, -42);
  RespInteger(out, INT64_MIN);
  RespInteger(out, INT64_MAX);
  RespBulk(out, "bar");
  RespBulk(out, "");
  RespNullBulk(out);
  RespArrayHeader(out, 2);
  RespArrayHeader(out, 0);
  RespNullArray(out);
  CHECK(out ==
        "+OK\r\n-ERR Protocol error: invalid bulk length\r\n:0\r\n:-42\r\n"
        ":-9223372036854775808\r\n:9223372036854775807\r\n$3\r\nbar\r\n$0\r\n\r\n$-1\r\n"
        "*2\r\n*0\r\n*-1\r\n");

  // Large values go out in pieces, to a sink with send() too.
  struct Sink {
    std::vector<std::string> sends;
    void send(std::string_view v) { sends.emplace_back(v); }
  } sink;
  std::string big(1000, 'b');
  RespBulk(sink, big);
  REQUIRE(sink.sends.size() == 3);
  CHECK(sink.sends[0] == "$1000\r\n");
  CHECK(sink.sends[1] == big);
  CHECK(sink.sends[2] == "\r\n");
  sink.sends.clear();
  RespBulk(sink, "hello");
  CHECK(sink.sends == std::vector<std::string>{"$5\r\nhello\r\n"});  // small: one Put

  // An encoded command decodes back to the same arguments.
  std::string cmd;
  RespArrayHeader(cmd, 2);
  RespBulk(cmd, "GET");
  RespBulk(cmd, big);
  CHECK(Whole(cmd).commands == std::vector<Args>{{"GET", big}});
}

}  // namespace percore
