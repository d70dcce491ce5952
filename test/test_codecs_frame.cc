// protocol/: LineCodec and LengthFieldCodec. Every option, limits exactly at and one over,
// malformed input, encode -> decode round trips, and the property every codec must have:
// feeding the same bytes whole, a byte at a time or split at random gives the same frames.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/length_field_codec.h"
#include "protocol/line_codec.h"

namespace percore {
namespace {

using LF = LengthFieldCodec;

// What a connection would see: the messages, then how the stream ended.
struct Result {
  std::vector<std::string> messages;
  CodecError error = CodecError::kNone;
  size_t left = 0;  // bytes kept as an incomplete frame
  bool operator==(const Result&) const = default;
};

// Feeds `input` in the chunks given by `cuts` (ascending end offsets), the way the framework
// does: the unconsumed bytes stay at the front of one contiguous buffer and the state carries
// over between calls. Checks the codec.h contract on every call.
template <class Codec>
Result Feed(const Codec& codec, std::string_view input, const std::vector<size_t>& cuts) {
  Result r;
  typename Codec::State state;
  std::string buffer;
  size_t fed = 0;
  auto ends = cuts;
  ends.push_back(input.size());
  for (size_t end : ends) {
    if (end < fed) continue;
    buffer.append(input.substr(fed, end - fed));
    fed = end;
    for (;;) {
      Decoded d = codec.decode(state, std::span<const char>(buffer.data(), buffer.size()));
      if (d.kind == Decoded::Kind::kError) {
        REQUIRE(d.error != CodecError::kNone);
        r.error = d.error;
        return r;
      }
      if (d.kind == Decoded::Kind::kNeedMore) {
        REQUIRE(d.need > buffer.size());
        break;
      }
      REQUIRE(d.consumed > 0);
      REQUIRE(d.consumed <= buffer.size());
      REQUIRE(d.offset + d.size <= d.consumed);
      r.messages.push_back(buffer.substr(d.offset, d.size));
      buffer.erase(0, d.consumed);
    }
  }
  r.left = buffer.size();
  return r;
}

template <class Codec>
Result Whole(const Codec& codec, std::string_view input) {
  return Feed(codec, input, {});
}

template <class Codec>
Result ByteAtATime(const Codec& codec, std::string_view input) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < input.size(); ++i) cuts.push_back(i);
  return Feed(codec, input, cuts);
}

// Whole == byte at a time == 20 random splits, for one input.
template <class Codec>
Result SameEverySplit(const Codec& codec, std::string_view input, std::mt19937& rng) {
  Result whole = Whole(codec, input);
  REQUIRE(ByteAtATime(codec, input) == whole);
  for (int k = 0; k < 20; ++k) {
    std::vector<size_t> cuts;
    std::uniform_int_distribution<size_t> at(0, input.size());
    const size_t count = rng() % 6;
    for (size_t c = 0; c < count; ++c) cuts.push_back(at(rng));
    std::sort(cuts.begin(), cuts.end());
    REQUIRE(Feed(codec, input, cuts) == whole);
  }
  return whole;
}

Decoded DecodeOnce(const LineCodec& c, std::string_view in) {
  LineCodec::State s;
  return c.decode(s, std::span<const char>(in.data(), in.size()));
}
Decoded DecodeOnce(const LF& c, std::string_view in) {
  LF::State s;
  return c.decode(s, std::span<const char>(in.data(), in.size()));
}

std::vector<std::string> V(std::initializer_list<std::string> v) { return v; }

// An independent statement of when a header exists for an n-byte message: a length
// (payload, or the whole frame) minus the adjustment that is >= 0 and fits the field.
bool Encodable(uint8_t width, bool includes_header, int64_t adj, size_t n) {
  for (size_t w = 1; w <= 10; ++w) {
    if (width != LF::kVarint && w != width) continue;
    const int64_t length = static_cast<int64_t>(includes_header ? w + n : n) - adj;
    if (length < 0) continue;
    const auto v = static_cast<uint64_t>(length);
    if (width == LF::kVarint) {
      size_t size = 1;
      for (uint64_t x = v; x >= 0x80; x >>= 7) ++size;
      if (size == w) return true;
    } else if (w == 8 || v < (uint64_t{1} << (8 * w))) {
      return true;
    }
  }
  return false;
}

// A sink with send() instead of append(), like a Connection.
struct SendSink {
  std::string out;
  void send(std::string_view v) { out.append(v); }
};

}  // namespace

// ---------------------------------------------------------------------------- LineCodec

TEST_CASE("line: default delimiter, empty lines, what is left", "[codec][line]") {
  LineCodec c;
  Result r = Whole(c, "ab\n\ncd\nrest");
  CHECK(r.messages == V({"ab", "", "cd"}));
  CHECK(r.error == CodecError::kNone);
  CHECK(r.left == 4);
  Decoded d = DecodeOnce(c, "xy\nz");
  REQUIRE(d.kind == Decoded::Kind::kFrame);
  CHECK(d.consumed == 3);
  CHECK(d.offset == 0);
  CHECK(d.size == 2);
  d = DecodeOnce(c, "");
  REQUIRE(d.kind == Decoded::Kind::kNeedMore);
  CHECK(d.need == 1);
}

TEST_CASE("line: multi-byte delimiters, split and overlapping", "[codec][line]") {
  std::mt19937 rng(7);
  LineCodec crlf({.delimiter = "\r\n"});
  CHECK(SameEverySplit(crlf, "a\r\nb\rc\r\r\n\r\n", rng).messages == V({"a", "b\rc\r", ""}));
  Decoded d = DecodeOnce(crlf, "ab\r");
  REQUIRE(d.kind == Decoded::Kind::kNeedMore);
  CHECK(d.need == 4);
  d = DecodeOnce(crlf, "a");
  CHECK(d.need == 2);

  LineCodec overlap({.delimiter = "aab"});
  CHECK(SameEverySplit(overlap, "aaabxaab", rng).messages == V({"a", "x"}));

  LineCodec eight({.delimiter = "12345678"});
  CHECK(eight.delimiter().size() == 8);
  CHECK(SameEverySplit(eight, "x1234567y12345678z12345678", rng).messages == V({"x1234567y", "z"}));

  LineCodec nul({.delimiter = std::string_view("\0", 1)});
  CHECK(Whole(nul, std::string_view("a\0b\0", 4)).messages == V({"a", "b"}));
}

TEST_CASE("line: max_line exactly at and one over, known early", "[codec][line]") {
  LineCodec c({.max_line = 4});
  CHECK(Whole(c, "abcd\n").messages == V({"abcd"}));
  CHECK(Whole(c, "abcde\n").error == CodecError::kTooLarge);
  // Without a delimiter: 4 bytes may still become a line, the 5th proves it cannot.
  CHECK(DecodeOnce(c, "abcd").kind == Decoded::Kind::kNeedMore);
  Decoded d = DecodeOnce(c, "abcde");
  CHECK(d.kind == Decoded::Kind::kError);
  CHECK(d.error == CodecError::kTooLarge);
  // A huge read without a delimiter fails at once, without scanning it all.
  CHECK(DecodeOnce(c, std::string(1 << 20, 'x')).error == CodecError::kTooLarge);

  LineCodec crlf({.delimiter = "\r\n", .max_line = 4});
  CHECK(Whole(crlf, "abcd\r\n").messages == V({"abcd"}));
  CHECK(DecodeOnce(crlf, "abcd\r").kind == Decoded::Kind::kNeedMore);
  CHECK(DecodeOnce(crlf, "abcde").error == CodecError::kTooLarge);
  CHECK(Whole(crlf, "abcde\r\n").error == CodecError::kTooLarge);

  LineCodec zero({.max_line = 0});
  CHECK(Whole(zero, "\n\n").messages == V({"", ""}));
  CHECK(DecodeOnce(zero, "a").error == CodecError::kTooLarge);
}

TEST_CASE("line: strip_cr drops one CR before LF, and counts against max_line after",
          "[codec][line]") {
  std::mt19937 rng(11);
  LineCodec c({.max_line = 3, .strip_cr = true});
  CHECK(SameEverySplit(c, "ab\r\nab\n\r\r\n\r\nabc\r\n", rng).messages ==
        V({"ab", "ab", "\r", "", "abc"}));
  CHECK(DecodeOnce(c, "abc\r").kind == Decoded::Kind::kNeedMore);  // may still be "abc"
  CHECK(DecodeOnce(c, "abc\rx").error == CodecError::kTooLarge);
  CHECK(DecodeOnce(c, "abcd").error == CodecError::kTooLarge);
  CHECK(Whole(c, "abc\r\r\n").error == CodecError::kTooLarge);  // "abc\r" is 4 bytes

  LineCodec off({.strip_cr = false});
  CHECK(Whole(off, "ab\r\n").messages == V({"ab\r"}));
  // Only meaningful with a "\n" delimiter; elsewhere it is ignored.
  LineCodec other({.delimiter = ";", .strip_cr = true});
  CHECK_FALSE(other.strip_cr());
  CHECK(Whole(other, "a\r;").messages == V({"a\r"}));
}

TEST_CASE("line: state makes byte-at-a-time arrival O(n)", "[codec][line]") {
  LineCodec c({.delimiter = "\r\n"});
  LineCodec::State s;
  std::string buf;
  for (int i = 0; i < 100; ++i) {
    buf.push_back('x');
    Decoded d = c.decode(s, std::span<const char>(buf.data(), buf.size()));
    REQUIRE(d.kind == Decoded::Kind::kNeedMore);
    // Every position that cannot start "\r\n" is remembered: the next call starts there.
    REQUIRE(s.scanned == buf.size() - 1);
  }
  buf += "\r\n";
  Decoded d = c.decode(s, std::span<const char>(buf.data(), buf.size()));
  REQUIRE(d.kind == Decoded::Kind::kFrame);
  CHECK(d.size == 100);
  CHECK(s.scanned == 0);  // reset on a frame
  // A state that does not fit the input (caller misuse) only costs a rescan.
  s.scanned = 1000;
  CHECK(c.decode(s, std::span<const char>(buf.data(), buf.size())).kind == Decoded::Kind::kFrame);
}

TEST_CASE("line: encode -> decode round trips, both sink kinds", "[codec][line]") {
  std::mt19937 rng(3);
  for (std::string_view delim : {"\n", "\r\n", "|", "<END>", "12345678"}) {
    LineCodec c({.delimiter = delim});
    std::string wire;
    SendSink sent;
    std::vector<std::string> lines = {"", "hello", "a b c", std::string(300, 'z')};
    for (const auto& l : lines) {
      c.encode(wire, l);
      c.encode(sent, l);
    }
    CHECK(sent.out == wire);
    Result r = SameEverySplit(c, wire, rng);
    CHECK(r.messages == lines);
    CHECK(r.left == 0);
  }
}

TEST_CASE("line: random streams decode the same however they are split", "[codec][line]") {
  std::mt19937 rng(20240601);
  const char alphabet[] = "ab\r\n|;x";
  for (int iter = 0; iter < 300; ++iter) {
    std::string delim;
    const size_t dlen = 1 + rng() % 3;
    for (size_t i = 0; i < dlen; ++i) delim.push_back(alphabet[rng() % 7]);
    LineCodec c({.delimiter = delim, .max_line = rng() % 12, .strip_cr = rng() % 2 == 0});
    std::string input;
    const size_t len = rng() % 60;
    for (size_t i = 0; i < len; ++i) input.push_back(alphabet[rng() % 7]);
    SameEverySplit(c, input, rng);
  }
}

// ---------------------------------------------------------------------- LengthFieldCodec

TEST_CASE("length field: the documented one-line configurations", "[codec][length]") {
  // A game client's [u16 len][u16 msg id][body], len counts msg id + body.
  LF game({.length_field_length = 2, .initial_bytes_to_strip = 2});
  std::string wire("\x00\x05\x00\x07hey", 7);
  Decoded d = DecodeOnce(game, wire);
  REQUIRE(d.kind == Decoded::Kind::kFrame);
  CHECK(d.consumed == 7);
  CHECK(d.offset == 2);
  CHECK(d.size == 5);
  std::string out;
  CHECK(game.encode(out, {std::string_view("\x00\x07", 2), "hey"}));
  CHECK(out == wire);

  // A protobuf varint-delimited stream.
  LF proto({.length_field_length = LF::kVarint, .initial_bytes_to_strip = LF::kStripHeader});
  std::string body(300, 'p');
  out.clear();
  CHECK(proto.encode(out, body));
  CHECK(out.substr(0, 2) == "\xAC\x02");  // 300 as a varint
  d = DecodeOnce(proto, out);
  REQUIRE(d.kind == Decoded::Kind::kFrame);
  CHECK(d.consumed == 302);
  CHECK(d.offset == 2);
  CHECK(d.size == 300);
}

TEST_CASE("length field: Netty's documented examples", "[codec][length]") {
  const std::string hello = "HELLO, WORLD";  // 12 bytes
  auto frame = [](const LF& c, std::string_view in) {
    Decoded d = DecodeOnce(c, in);
    REQUIRE(d.kind == Decoded::Kind::kFrame);
    REQUIRE(d.consumed == in.size());
    return std::string(in.substr(d.offset, d.size));
  };
  // 2 bytes length, nothing stripped.
  std::string w = std::string("\x00\x0C", 2) + hello;
  CHECK(frame(LF({.length_field_length = 2}), w) == w);
  // Strip the header.
  CHECK(frame(LF({.length_field_length = 2, .initial_bytes_to_strip = 2}), w) == hello);
  // The length counts the header: adjustment -2, or length_includes_header.
  w = std::string("\x00\x0E", 2) + hello;
  CHECK(frame(LF({.length_field_length = 2, .length_adjustment = -2}), w) == w);
  CHECK(frame(LF({.length_field_length = 2, .length_includes_header = true}), w) == w);
  // A 3-byte length after a 2-byte header.
  w = std::string("\xCA\xFE\x00\x00\x0C", 5) + hello;
  CHECK(frame(LF({.length_field_offset = 2, .length_field_length = 3}), w) == w);
  // A 3-byte length before a 2-byte header: adjustment +2.
  w = std::string("\x00\x00\x0C\xCA\xFE", 5) + hello;
  CHECK(frame(LF({.length_field_length = 3, .length_adjustment = 2}), w) == w);
  // [HDR1][len 2][HDR2][content], strip HDR1 and len.
  w = std::string("\xCA\x00\x0C\xFE", 4) + hello;
  LF six({.length_field_offset = 1,
          .length_field_length = 2,
          .length_adjustment = 1,
          .initial_bytes_to_strip = 3});
  CHECK(frame(six, w) == "\xFE" + hello);
  // Same, the length counts the whole frame.
  w = std::string("\xCA\x00\x10\xFE", 4) + hello;
  LF seven({.length_field_offset = 1,
            .length_field_length = 2,
            .length_adjustment = -3,
            .initial_bytes_to_strip = 3});
  CHECK(frame(seven, w) == "\xFE" + hello);
}

TEST_CASE("length field: widths and byte orders", "[codec][length]") {
  struct Case {
    uint8_t width;
    bool big;
    std::string header;
  };
  const std::vector<Case> cases = {
      {1, true, std::string("\x03", 1)},
      {2, true, std::string("\x00\x03", 2)},
      {2, false, std::string("\x03\x00", 2)},
      {3, true, std::string("\x00\x00\x03", 3)},
      {3, false, std::string("\x03\x00\x00", 3)},
      {4, true, std::string("\x00\x00\x00\x03", 4)},
      {4, false, std::string("\x03\x00\x00\x00", 4)},
      {8, true, std::string("\x00\x00\x00\x00\x00\x00\x00\x03", 8)},
      {8, false, std::string("\x03\x00\x00\x00\x00\x00\x00\x00", 8)},
  };
  for (const Case& k : cases) {
    CAPTURE(k.width, k.big);
    LF c({.length_field_length = k.width, .big_endian = k.big});
    Decoded d = DecodeOnce(c, k.header + "abc");
    REQUIRE(d.kind == Decoded::Kind::kFrame);
    CHECK(d.consumed == k.width + 3u);
    std::string out;
    CHECK(c.encode(out, "abc"));
    CHECK(out == k.header + "abc");
  }
  // Bytes are weighed in order: 0x0102 big endian is 258, little endian 513.
  LF big({.length_field_length = 2, .max_frame = 1000});
  LF little({.length_field_length = 2, .big_endian = false, .max_frame = 1000});
  CHECK(DecodeOnce(big, std::string("\x01\x02", 2)).need == 260);
  CHECK(DecodeOnce(little, std::string("\x01\x02", 2)).need == 515);
  LF three({.length_field_length = 3, .max_frame = 1 << 24});
  CHECK(DecodeOnce(three, std::string("\x01\x02\x03", 3)).need == 0x010203u + 3);
  LF eight({.length_field_length = 8, .max_frame = SIZE_MAX});
  CHECK(DecodeOnce(eight, std::string("\x00\x00\x01\x02\x03\x04\x05\x06", 8)).need ==
        0x010203040506ull + 8);
  // 2^64 - 1 plus the header does not fit a size_t: too large, not wrapped around.
  CHECK(DecodeOnce(eight, std::string(8, '\xFF')).error == CodecError::kTooLarge);
}

TEST_CASE("length field: need is exact once the header is known", "[codec][length]") {
  LF c({.length_field_offset = 3, .length_field_length = 2});
  CHECK(DecodeOnce(c, "").need == 5);
  CHECK(DecodeOnce(c, "abcd").need == 5);
  std::string w = std::string("abc\x00\x04", 5);
  CHECK(DecodeOnce(c, w).need == 9);
  CHECK(DecodeOnce(c, w + "xyz").need == 9);
  CHECK(DecodeOnce(c, w + "wxyz").kind == Decoded::Kind::kFrame);
  LF v({.length_field_offset = 1, .length_field_length = LF::kVarint});
  CHECK(DecodeOnce(v, "").need == 2);
  CHECK(DecodeOnce(v, "h\x80\x80").need == 4);
  CHECK(DecodeOnce(v, "h\x80\x01").need == 3 + 128);
}

TEST_CASE("length field: max_frame exactly at and one over, before the body", "[codec][length]") {
  LF c({.length_field_length = 2, .max_frame = 10});
  CHECK(DecodeOnce(c, std::string("\x00\x08", 2) + "12345678").kind == Decoded::Kind::kFrame);
  Decoded d = DecodeOnce(c, std::string("\x00\x09", 2));  // body not arrived yet
  CHECK(d.kind == Decoded::Kind::kError);
  CHECK(d.error == CodecError::kTooLarge);
  LF whole({.length_field_length = 2, .length_includes_header = true, .max_frame = 10});
  CHECK(DecodeOnce(whole, std::string("\x00\x0A", 2) + "12345678").kind == Decoded::Kind::kFrame);
  CHECK(DecodeOnce(whole, std::string("\x00\x0B", 2)).error == CodecError::kTooLarge);
  // A header longer than max_frame can never fit.
  LF tiny({.length_field_offset = 2, .length_field_length = 2, .max_frame = 3});
  CHECK(DecodeOnce(tiny, "").error == CodecError::kTooLarge);
  LF tinyv({.length_field_length = LF::kVarint, .max_frame = 2});
  CHECK(DecodeOnce(tinyv, "\x01").kind == Decoded::Kind::kNeedMore);
  CHECK(DecodeOnce(tinyv, "\x80").need == 2);  // a 2-byte header with length 0 fits
  CHECK(DecodeOnce(tinyv, "\x80\x80").error == CodecError::kTooLarge);
  // Encoding refuses what decode would refuse.
  std::string out;
  CHECK(c.encode(out, "12345678"));
  CHECK_FALSE(c.encode(out, "123456789"));
  CHECK(out.size() == 10);
}

TEST_CASE("length field: malformed lengths", "[codec][length]") {
  // The adjusted frame is shorter than the header.
  LF neg({.length_field_length = 2, .length_adjustment = -3});
  CHECK(DecodeOnce(neg, std::string("\x00\x01", 2)).error == CodecError::kMalformed);
  CHECK(DecodeOnce(neg, std::string("\x00\x03", 2)).kind == Decoded::Kind::kFrame);  // 2 + 0
  LF inc({.length_field_length = 2, .length_includes_header = true});
  CHECK(DecodeOnce(inc, std::string("\x00\x01", 2)).error == CodecError::kMalformed);
  CHECK(DecodeOnce(inc, std::string("\x00\x02", 2)).kind == Decoded::Kind::kFrame);
  // Stripping more than the frame holds.
  LF strip({.length_field_length = 1, .initial_bytes_to_strip = 4});
  CHECK(DecodeOnce(strip, "\x02xx").error == CodecError::kMalformed);
  CHECK(DecodeOnce(strip, "\x03xyz").size == 0);
}

TEST_CASE("length field: varint edge cases", "[codec][length]") {
  LF c({.length_field_length = LF::kVarint,
        .initial_bytes_to_strip = LF::kStripHeader,
        .max_frame = SIZE_MAX});
  struct Case {
    std::string bytes;
    uint64_t value;
  };
  const std::vector<Case> cases = {
      {std::string("\x00", 1), 0},
      {"\x7F", 127},
      {"\x80\x01", 128},
      {"\xFF\x7F", 16383},
      {"\x80\x80\x80\x80\x10", 1ull << 32},
      {std::string("\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\x7F", 9), (1ull << 63) - 1},
  };
  for (const Case& k : cases) {
    CAPTURE(k.value);
    Decoded d = DecodeOnce(c, k.bytes);
    if (k.value == 0) {
      REQUIRE(d.kind == Decoded::Kind::kFrame);
      CHECK(d.consumed == 1);
      CHECK(d.size == 0);
    } else {
      REQUIRE(d.kind == Decoded::Kind::kNeedMore);
      CHECK(d.need == k.bytes.size() + k.value);
    }
  }
  // 2^64 - 1 takes 10 bytes, the last one 0x01; its frame does not fit a size_t.
  std::string max(9, '\xFF');
  CHECK(DecodeOnce(c, max + "\x01").error == CodecError::kTooLarge);
  CHECK(DecodeOnce(c, max + "\x02").error == CodecError::kMalformed);  // bit 64
  CHECK(DecodeOnce(c, max + "\x81").error == CodecError::kMalformed);  // an 11th byte
  CHECK(DecodeOnce(c, max).kind == Decoded::Kind::kNeedMore);
  CHECK(DecodeOnce(c, max).need == 10);
  // Encoding: the sizes at each width boundary.
  for (size_t n : {0u, 1u, 127u, 128u, 16383u, 16384u}) {
    std::string out, body(n, 'b');
    REQUIRE(c.encode(out, body));
    Decoded d = DecodeOnce(c, out);
    REQUIRE(d.kind == Decoded::Kind::kFrame);
    CHECK(d.size == n);
    CHECK(d.offset == (n < 128 ? 1u : n < 16384 ? 2u : 3u));
  }
}

TEST_CASE("length field: encode refuses what it cannot invert", "[codec][length]") {
  std::string out;
  CHECK_FALSE(LF({.length_field_offset = 1, .length_field_length = 2}).encode(out, "x"));
  CHECK_FALSE(LF({.length_field_length = 2, .initial_bytes_to_strip = 1}).encode(out, "x"));
  CHECK_FALSE(LF({.length_field_length = 1}).encode(out, std::string(256, 'x')));
  CHECK(LF({.length_field_length = 1}).encode(out, std::string(255, 'x')));
  // A positive adjustment larger than the message would need a negative length.
  CHECK_FALSE(LF({.length_field_length = 2, .length_adjustment = 4}).encode(out, "abc"));
  CHECK(out.size() == 256);
}

TEST_CASE("length field: encode -> decode round trips for every invertible configuration",
          "[codec][length]") {
  std::mt19937 rng(99);
  const std::vector<std::string> bodies = {"", "a", "hello", std::string(200, 'q'),
                                           std::string(70000, 'w')};
  for (uint8_t width : {1, 2, 3, 4, 8, 0}) {
    for (bool big : {true, false}) {
      for (bool includes : {false, true}) {
        for (int64_t adj : {-2, 0, 3}) {
          for (bool strip : {false, true}) {
            CAPTURE(width, big, includes, adj, strip);
            LF c({.length_field_length = width,
                  .big_endian = big,
                  .length_adjustment = adj,
                  .initial_bytes_to_strip = strip ? LF::kStripHeader : 0,
                  .length_includes_header = includes,
                  .max_frame = 1 << 20});
            std::string wire;
            std::vector<std::string> want;
            for (const auto& b : bodies) {
              // Split the body into parts to exercise the gathering overload.
              std::vector<std::string_view> parts;
              std::string_view rest = b;
              while (!rest.empty()) {
                const size_t k = std::min<size_t>(rest.size(), 1 + rng() % 50000);
                parts.push_back(rest.substr(0, k));
                rest.remove_prefix(k);
              }
              const size_t before = wire.size();
              const bool encoded = c.encode(wire, parts);
              CHECK(encoded == Encodable(width, includes, adj, b.size()));
              if (!encoded) {
                CHECK(wire.size() == before);
                continue;
              }
              want.push_back(strip ? b : wire.substr(before));
            }
            // Byte-at-a-time over a 70 KB stream is slow in debug builds: random splits only.
            Result whole = Whole(c, wire);
            CHECK(whole.messages == want);
            CHECK(whole.left == 0);
            std::vector<size_t> cuts;
            for (int k = 0; k < 8; ++k) cuts.push_back(rng() % (wire.size() + 1));
            std::sort(cuts.begin(), cuts.end());
            CHECK(Feed(c, wire, cuts) == whole);
          }
        }
      }
    }
  }
}

// A sink that takes several parts per call (as Connection does) gets header and body in one
// call; a message in more parts than PutParts spells out is written part by part.
TEST_CASE("encoders hand a parts-taking sink one call per message", "[codec]") {
  struct PartsSink {
    std::string bytes;
    int calls = 0;
    void send(std::string_view v) {
      ++calls;
      bytes.append(v);
    }
    void send(std::span<const std::string_view> parts) {
      ++calls;
      for (std::string_view p : parts) bytes.append(p);
    }
  };
  LF c({.length_field_length = 2, .initial_bytes_to_strip = 2});
  PartsSink sink;
  REQUIRE(c.encode(sink, std::string_view("hello")));
  CHECK(sink.calls == 1);
  CHECK(sink.bytes == std::string("\0\5hello", 7));
  REQUIRE(c.encode(sink, {"a", "b", "c"}));
  CHECK(sink.calls == 5);
  CHECK(sink.bytes.substr(7) == std::string("\0\3abc", 5));
  LineCodec line;
  PartsSink lines;
  line.encode(lines, "hi");
  CHECK(lines.calls == 1);
  CHECK(lines.bytes == "hi\n");
}

TEST_CASE("length field: random streams decode the same however they are split",
          "[codec][length]") {
  std::mt19937 rng(424242);
  for (int iter = 0; iter < 400; ++iter) {
    const uint8_t widths[] = {0, 1, 2, 3, 4, 8};
    LF::Options o;
    o.length_field_offset = rng() % 3;
    o.length_field_length = widths[rng() % 6];
    o.big_endian = rng() % 2 == 0;
    o.length_adjustment = static_cast<int64_t>(rng() % 9) - 4;
    o.initial_bytes_to_strip = rng() % 4 == 0 ? LF::kStripHeader : rng() % 5;
    o.length_includes_header = rng() % 3 == 0;
    o.max_frame = rng() % 40;
    LF c(o);
    // Mostly small bytes so that lengths often fit and frames complete.
    std::string input;
    const size_t len = rng() % 80;
    for (size_t i = 0; i < len; ++i) {
      input.push_back(static_cast<char>(rng() % 4 == 0 ? rng() % 256 : rng() % 6));
    }
    SameEverySplit(c, input, rng);
  }
}

}  // namespace percore
