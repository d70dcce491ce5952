// RespReplyCodec and RespReplyReader: every RESP2 reply type, nesting, input in pieces, and
// each malformed or oversized reply refused with its reason.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "protocol/resp_reply.h"

namespace percore {
namespace {

// Decodes `in` whole: the frames' lengths, or -1 for an error / -2 for need-more at the end.
std::vector<long> Frames(const RespReplyCodec& codec, std::string in) {
  RespReplyCodec::State st;
  std::vector<long> out;
  for (;;) {
    Decoded d = codec.decode(st, in);
    if (d.kind == Decoded::Kind::kError) {
      out.push_back(-1);
      return out;
    }
    if (d.kind == Decoded::Kind::kNeedMore) {
      REQUIRE(d.need > in.size());
      if (!in.empty()) out.push_back(-2);
      return out;
    }
    CHECK(d.offset == 0);
    CHECK(d.size == d.consumed);
    out.push_back(static_cast<long>(d.consumed));
    in.erase(0, d.consumed);
  }
}

std::string Walk(std::string_view frame) {
  RespReplyReader r(std::span<const char>(frame.data(), frame.size()));
  std::string out;
  for (RespValue v; r.Next(v);) {
    switch (v.type) {
      case RespType::kSimple:
        out += "+" + std::string(v.text);
        break;
      case RespType::kError:
        out += "-" + std::string(v.text);
        break;
      case RespType::kInteger:
        out += ":" + std::to_string(v.integer);
        break;
      case RespType::kBulk:
        out += "$" + std::string(v.text);
        break;
      case RespType::kNull:
        out += "nil";
        break;
      case RespType::kArray:
        out += "*" + std::to_string(v.integer);
        break;
    }
    out += ' ';
  }
  return out;
}

TEST_CASE("resp replies: each type is one frame", "[resp_reply]") {
  RespReplyCodec c;
  CHECK(Frames(c, "+OK\r\n") == std::vector<long>{5});
  CHECK(Frames(c, "-ERR unknown command 'x'\r\n") == std::vector<long>{26});
  CHECK(Frames(c, ":-42\r\n") == std::vector<long>{6});
  CHECK(Frames(c, "$3\r\nabc\r\n") == std::vector<long>{9});
  CHECK(Frames(c, "$0\r\n\r\n") == std::vector<long>{6});
  CHECK(Frames(c, "$-1\r\n") == std::vector<long>{5});
  CHECK(Frames(c, "*-1\r\n") == std::vector<long>{5});
  CHECK(Frames(c, "*0\r\n") == std::vector<long>{4});
  // Nested: *2 [ $1 a, *2 [ :7, $-1 ] ] is one frame; then a pipelined +PONG.
  std::string nested = "*2\r\n$1\r\na\r\n*2\r\n:7\r\n$-1\r\n";
  CHECK(Frames(c, nested + "+PONG\r\n") == std::vector<long>{static_cast<long>(nested.size()), 7});
  CHECK(Walk(nested) == "*2 $a *2 :7 nil ");
  CHECK(Walk("$5\r\na\r\nbc\r\n") == "$a\r\nbc ");  // a bulk may hold CR LF
}

TEST_CASE("resp replies: any split gives the same frames", "[resp_reply]") {
  RespReplyCodec c;
  const std::string all = "+OK\r\n$5\r\nhello\r\n*3\r\n:1\r\n*1\r\n$2\r\nxy\r\n-ERR no\r\n$-1\r\n";
  std::vector<long> whole = Frames(c, all);
  REQUIRE(whole.size() == 4);
  for (size_t cut = 0; cut <= all.size(); ++cut) {
    // Feed a prefix, then the rest, keeping the state.
    RespReplyCodec::State st;
    std::string buf = all.substr(0, cut);
    std::vector<long> got;
    for (int piece = 0; piece < 2; ++piece) {
      if (piece == 1) buf += all.substr(cut);
      for (;;) {
        Decoded d = c.decode(st, buf);
        REQUIRE(d.kind != Decoded::Kind::kError);
        if (d.kind == Decoded::Kind::kNeedMore) {
          CHECK(d.need > buf.size());
          break;
        }
        got.push_back(static_cast<long>(d.consumed));
        buf.erase(0, d.consumed);
      }
    }
    CHECK(got == whole);
  }
}

TEST_CASE("resp replies: a large bulk asks for exactly its size", "[resp_reply]") {
  RespReplyCodec c;
  RespReplyCodec::State st;
  std::string in = "$100000\r\n" + std::string(10, 'v');
  Decoded d = c.decode(st, in);
  REQUIRE(d.kind == Decoded::Kind::kNeedMore);
  CHECK(d.need == 9 + 100000 + 2);
}

TEST_CASE("resp replies: malformed and oversized are refused", "[resp_reply]") {
  RespReplyCodec c;
  CHECK(Frames(c, "?what\r\n") == std::vector<long>{-1});
  CHECK(Frames(c, "+OK\n") == std::vector<long>{-1});      // LF without CR
  CHECK(Frames(c, "+O\rK\r\n") == std::vector<long>{-1});  // CR inside a line
  CHECK(Frames(c, ":12x\r\n") == std::vector<long>{-1});
  CHECK(Frames(c, "$-2\r\n") == std::vector<long>{-1});
  CHECK(Frames(c, "$abc\r\n") == std::vector<long>{-1});
  CHECK(Frames(c, "$3\r\nabcde\r\n") == std::vector<long>{-1});  // no CR LF after the bulk
  CHECK(Frames(c, "*x\r\n") == std::vector<long>{-1});
  CHECK(Frames(c, "+OK\r\n*1\r\n:1") == std::vector<long>{5, -2});  // incomplete, not wrong

  RespReplyCodec::Options o;
  o.max_bulk = 8;
  o.max_line = 16;
  o.max_values = 4;
  o.max_reply = 40;
  RespReplyCodec small(o);
  CHECK(Frames(small, "$8\r\n12345678\r\n") == std::vector<long>{14});
  CHECK(Frames(small, "$9\r\n") == std::vector<long>{-1});  // refused before the body arrives
  CHECK(Frames(small, "+" + std::string(20, 'a')) == std::vector<long>{-1});  // no end in sight
  CHECK(Frames(small, "*3\r\n:1\r\n:2\r\n:3\r\n") == std::vector<long>{16});
  CHECK(Frames(small, "*4\r\n") == std::vector<long>{-1});  // 1 + 4 values > 4
  CHECK(Frames(small, "*2\r\n*2\r\n") == std::vector<long>{-1});
  std::string many;
  for (int i = 0; i < 3; ++i) many += "$8\r\n12345678\r\n";
  CHECK(Frames(small, "*3\r\n" + many) == std::vector<long>{-1});  // 46 bytes > 40
}

}  // namespace
}  // namespace percore
