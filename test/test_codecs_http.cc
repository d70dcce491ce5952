// protocol/http_codec: HttpRequestCodec framing and parsing (what curl and wrk send, pipelining,
// bodies, keep-alive rules), every limit at and one over, the request-smuggling cases of RFC 9112
// that must be refused, split input equal to whole input, and the response writers.
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "protocol/http_codec.h"

namespace percore {
namespace {

// What a framework connection would see: frames in order, then how the stream ended.
struct Run {
  std::vector<std::string> frames;
  uint16_t status = 0;  // the error's HTTP status, 0 if none
  CodecError error = CodecError::kNone;
  size_t need = 0;  // last kNeedMore's total (relative to the unconsumed start)
};

// Feeds `all` to the codec in pieces of the given sizes (the rest in one piece), like a
// connection that keeps unconsumed bytes and calls decode again once more arrive.
Run Drive(const HttpRequestCodec& codec, std::string_view all, std::vector<size_t> pieces = {}) {
  Run run;
  HttpRequestCodec::State st;
  size_t start = 0, avail = 0, next = 0;
  while (avail < all.size()) {
    avail = next < pieces.size() ? std::min(all.size(), avail + pieces[next++]) : all.size();
    for (;;) {
      std::span<const char> in(all.data() + start, avail - start);
      Decoded d = codec.decode(st, in);
      if (d.kind == Decoded::Kind::kFrame) {
        REQUIRE(d.consumed > 0);
        REQUIRE(d.offset + d.size <= d.consumed);
        REQUIRE(d.consumed <= in.size());
        run.frames.emplace_back(in.data() + d.offset, d.size);
        start += d.consumed;
        run.need = 0;
        continue;
      }
      if (d.kind == Decoded::Kind::kError) {
        run.status = st.status;
        run.error = d.error;
        return run;
      }
      REQUIRE(d.need > in.size());
      run.need = d.need;
      break;
    }
  }
  return run;
}

// Parses one frame; the views must point into `frame`.
struct Parsed {
  uint16_t status = 0;
  HttpRequest req;
  std::vector<HttpHeader> storage = std::vector<HttpHeader>(128);
};
Parsed ParseFrame(const HttpRequestCodec& codec, std::string_view frame) {
  Parsed p;
  p.status = codec.Parse(frame, p.storage, &p.req);
  return p;
}

uint16_t StatusOf(std::string_view all, const HttpRequestCodec& codec = HttpRequestCodec()) {
  return Drive(codec, all).status;
}

const char kCurl[] =
    "GET /index.html?q=1 HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: curl/7.88.1\r\n"
    "Accept: */*\r\n\r\n";
const char kWrk[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";

TEST_CASE("http: curl's GET is one frame, parsed into views", "[codec][http]") {
  HttpRequestCodec codec;
  Run run = Drive(codec, kCurl);
  REQUIRE(run.frames.size() == 1);
  CHECK(run.status == 0);
  CHECK(run.need == 1);  // nothing left: the next request starts from scratch
  CHECK(run.frames[0] == kCurl);
  Parsed p = ParseFrame(codec, run.frames[0]);
  REQUIRE(p.status == 0);
  CHECK(p.req.method == "GET");
  CHECK(p.req.target == "/index.html?q=1");
  CHECK(p.req.version == "HTTP/1.1");
  CHECK(p.req.minor == 1);
  REQUIRE(p.req.headers.size() == 3);
  CHECK(p.req.headers[1].name == "User-Agent");
  CHECK(p.req.headers[1].value == "curl/7.88.1");
  CHECK(p.req.Header("host") == "localhost:8080");
  CHECK(p.req.Header("ACCEPT") == "*/*");
  CHECK(p.req.Header("Cookie").empty());
  CHECK(p.req.keep_alive);
  CHECK(p.req.body.empty());
  CHECK(p.req.content_length == 0);
  const char* b = run.frames[0].data();
  CHECK(p.req.method.data() == b);  // no copy
}

TEST_CASE("http: wrk's pipelined keep-alive GETs decode one by one", "[codec][http]") {
  HttpRequestCodec codec;
  std::string all = std::string(kWrk) + kWrk + kWrk + "GET /x HT";
  Run run = Drive(codec, all);
  REQUIRE(run.frames.size() == 3);
  for (const auto& f : run.frames) CHECK(f == kWrk);
  CHECK(run.status == 0);
  CHECK(run.need == 10);  // the partial 4th request waits for more
}

TEST_CASE("http: POST with a Content-Length body, NeedMore with the exact total", "[codec][http]") {
  HttpRequestCodec codec;
  std::string head =
      "POST /api HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
      "Content-Length: 11\r\n\r\n";
  std::string all = head + "{\"k\":\"vw\"} " + kWrk;
  HttpRequestCodec::State st;
  Decoded d = codec.decode(st, std::span<const char>(all.data(), head.size() + 3));
  REQUIRE(d.kind == Decoded::Kind::kNeedMore);
  CHECK(d.need == head.size() + 11);
  d = codec.decode(st, std::span<const char>(all.data(), head.size() + 10));
  REQUIRE(d.kind == Decoded::Kind::kNeedMore);
  CHECK(d.need == head.size() + 11);
  d = codec.decode(st, all);
  REQUIRE(d.kind == Decoded::Kind::kFrame);
  CHECK(d.consumed == head.size() + 11);
  CHECK(d.offset == 0);
  CHECK(d.size == d.consumed);
  const std::string frame = all.substr(0, d.consumed);
  Parsed p = ParseFrame(codec, frame);
  REQUIRE(p.status == 0);
  CHECK(p.req.method == "POST");
  CHECK(p.req.body == "{\"k\":\"vw\"} ");
  CHECK(p.req.content_length == 11);
  CHECK(p.req.keep_alive);
  Run run = Drive(codec, all);
  REQUIRE(run.frames.size() == 2);
  CHECK(run.frames[1] == kWrk);
}

TEST_CASE("http: HEAD, OPTIONS *, absolute-form targets", "[codec][http]") {
  HttpRequestCodec codec;
  for (std::string_view req :
       {"HEAD /big.iso HTTP/1.1\r\nHost: a\r\n\r\n", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET http://a/b HTTP/1.1\r\nHost: a\r\n\r\n"}) {
    Run run = Drive(codec, req);
    REQUIRE(run.frames.size() == 1);
    Parsed p = ParseFrame(codec, run.frames[0]);
    REQUIRE(p.status == 0);
    CHECK(req.substr(0, p.req.method.size() + 1 + p.req.target.size()) ==
          std::string(p.req.method) + " " + std::string(p.req.target));
  }
}

TEST_CASE("http: keep-alive rules of 1.0 and 1.1", "[codec][http]") {
  HttpRequestCodec codec;
  struct Case {
    const char* req;
    bool keep_alive;
  } cases[] = {
      {"GET / HTTP/1.0\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\nHost: a\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, CLOSE\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", false},
  };
  for (const Case& c : cases) {
    INFO(c.req);
    Run run = Drive(codec, c.req);
    REQUIRE(run.frames.size() == 1);
    Parsed p = ParseFrame(codec, run.frames[0]);
    REQUIRE(p.status == 0);
    CHECK(p.req.keep_alive == c.keep_alive);
  }
}

TEST_CASE("http: empty lines before a request line are skipped (frame offset)", "[codec][http]") {
  HttpRequestCodec codec;
  std::string all = std::string("\r\n\r\n") + kWrk;
  HttpRequestCodec::State st;
  Decoded d = codec.decode(st, all);
  REQUIRE(d.kind == Decoded::Kind::kFrame);
  CHECK(d.offset == 4);
  CHECK(d.consumed == all.size());
  CHECK(std::string_view(all).substr(d.offset, d.size) == kWrk);
  CHECK(StatusOf(std::string("\n").append(kWrk)) == 400);  // a bare LF is not an empty line
}

TEST_CASE("http: split input (byte at a time, random splits) equals whole input", "[codec][http]") {
  HttpRequestCodec codec;
  std::string all = std::string(kCurl) + "\r\n" + kWrk +
                    "POST /p HTTP/1.0\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello" +
                    "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n" + "PUT /q HTTP/1.1\r\nHost: x\r\nConte";
  Run whole = Drive(codec, all);
  REQUIRE(whole.frames.size() == 4);
  Run bytes = Drive(codec, all, std::vector<size_t>(all.size(), 1));
  CHECK(bytes.frames == whole.frames);
  CHECK(bytes.need == whole.need);
  std::mt19937 rng(20240601);
  for (int i = 0; i < 300; ++i) {
    std::vector<size_t> pieces;
    for (size_t n = 0; n < all.size();) {
      pieces.push_back(1 + rng() % 40);
      n += pieces.back();
    }
    Run split = Drive(codec, all, pieces);
    REQUIRE(split.frames == whole.frames);
    CHECK(split.need == whole.need);
  }
  // The same for inputs that end in an error.
  for (std::string bad :
       {std::string(kWrk) + "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
        std::string(kWrk) + std::string(9000, 'A'), std::string(kWrk) + "GET / HTTP/2.0\r\n\r\n"}) {
    Run w = Drive(codec, bad);
    CHECK(w.status != 0);
    Run b = Drive(codec, bad, std::vector<size_t>(bad.size(), 1));
    CHECK(b.frames == w.frames);
    CHECK(b.status == w.status);
  }
}

TEST_CASE("http: byte-at-a-time arrival scans each byte once", "[codec][http]") {
  // A head near the limits fed one byte per call: with rescanning this would be ~10^8 steps;
  // here it only has to finish quickly and agree with the whole input.
  HttpRequestCodec codec;
  std::string all = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 90; ++i)
    all += "X-Filler-" + std::to_string(i) + ": " + std::string(150, 'v') + "\r\n";
  all += "\r\n";
  HttpRequestCodec::State st;
  Decoded d;
  for (size_t n = 1; n <= all.size(); ++n) {
    d = codec.decode(st, std::span<const char>(all.data(), n));
    if (n < all.size()) REQUIRE(d.kind == Decoded::Kind::kNeedMore);
  }
  REQUIRE(d.kind == Decoded::Kind::kFrame);
  CHECK(d.consumed == all.size());
  CHECK(st.scanned == 0);  // reset for the next frame
}

// A request line of exactly `len` bytes (without CRLF).
std::string RequestLine(size_t len) {
  std::string line = "GET /";
  line += std::string(len - line.size() - 9, 'a');
  line += " HTTP/1.1";
  return line;
}

TEST_CASE("http: limits at and one over, with their statuses", "[codec][http]") {
  HttpRequestCodec::Options o;
  o.max_request_line = 100;
  o.max_headers = 4;
  o.max_header_bytes = 200;
  o.max_body = 1000;
  HttpRequestCodec codec(o);

  SECTION("request line: 414") {
    CHECK(StatusOf(RequestLine(100) + "\r\nHost: a\r\n\r\n", codec) == 0);
    CHECK(Drive(codec, RequestLine(100) + "\r\nHost: a\r\n\r\n").frames.size() == 1);
    CHECK(StatusOf(RequestLine(101) + "\r\nHost: a\r\n\r\n", codec) == 414);
    // Refused before the line ends: no CRLF yet, already too long.
    CHECK(StatusOf(RequestLine(100) + "\r", codec) == 0);  // may still end here
    CHECK(StatusOf(RequestLine(101) + "\r", codec) == 414);
    CHECK(StatusOf(RequestLine(102), codec) == 414);
    CHECK(StatusOf(std::string("\r\n") + RequestLine(98) + "\r\nHost: a\r\n\r\n", codec) == 0);
    CHECK(StatusOf(std::string("\r\n") + RequestLine(99) + "\r\nHost: a\r\n\r\n", codec) == 414);
    CHECK(StatusOf(std::string(200, '\r') + std::string(200, '\n'), codec) == 414);
    CHECK(Drive(codec, std::string(100, '\r') + std::string(100, '\n')).status != 0);
  }
  SECTION("header count: 431") {
    std::string base = "GET / HTTP/1.1\r\nHost: a\r\n";
    std::string four = base + "A: 1\r\nB: 2\r\nC: 3\r\n";
    CHECK(StatusOf(four + "\r\n", codec) == 0);
    CHECK(StatusOf(four + "D: 4\r\n\r\n", codec) == 431);
    CHECK(StatusOf(four + "D: 4\r\n", codec) == 431);  // before the head ends
  }
  SECTION("header bytes: 431") {
    // Field lines with their CRLFs: "Host: a\r\n" (9) + "X: " + v + "\r\n" (5 + v).
    std::string at = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(186, 'v') + "\r\n\r\n";
    CHECK(StatusOf(at, codec) == 0);
    std::string over = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(187, 'v') + "\r\n\r\n";
    CHECK(StatusOf(over, codec) == 431);
    // Refused while the field line is still arriving.
    CHECK(StatusOf("GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(187, 'v') + "\r", codec) ==
          431);
    CHECK(StatusOf("GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(186, 'v') + "\r", codec) == 0);
  }
  SECTION("body: 413") {
    std::string at = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n";
    Run run = Drive(codec, at + std::string(1000, 'b'));
    CHECK(run.status == 0);
    REQUIRE(run.frames.size() == 1);
    CHECK(ParseFrame(codec, run.frames[0]).req.body.size() == 1000);
    CHECK(StatusOf("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n\r\n", codec) == 413);
    CHECK(StatusOf("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                   codec) == 413);
  }
  SECTION("max_frame covers the largest frame") {
    CHECK(codec.max_frame() == 100 + 2 + 200 + 2 + 1000);
  }
  SECTION("errors map to codec errors") {
    HttpRequestCodec::State st;
    std::string req = RequestLine(101) + "\r\n";
    Decoded d = codec.decode(st, req);
    CHECK(d.kind == Decoded::Kind::kError);
    CHECK(d.error == CodecError::kTooLarge);
    CHECK(st.status == 414);
  }
}

TEST_CASE("http: malformed requests are 400, unsupported ones 501 and 505", "[codec][http]") {
  struct Case {
    const char* req;
    uint16_t status;
  } cases[] = {
      // request line
      {"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400},
      {" GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET /\tx HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET / http/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400},
      {"GET /\r\nHost: a\r\n\r\n", 400},
      {"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET / HTTP/1.1\nHost: a\r\n\r\n", 400},
      {"\x16\x03\x01\x02\x01\x01\xfc\x03\x03\r\n\r\n", 400},  // TLS ClientHello
      {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
      {"GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505},
      {"GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505},
      // header syntax
      {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\nhello", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  continued\r\n\r\n", 400},  // obs-fold
      {"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\tcontinued\r\n\r\n", 400},  // obs-fold
      {"GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\nX: 1\n\r\n", 400},  // bare LF
      {"GET / HTTP/1.1\r\nHost: a\r\n\n", 400},
      // Host (RFC 9112 3.2)
      {"GET / HTTP/1.1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      // Content-Length
      {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello", 400},
      {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5x\r\n\r\nhello", 400},
      {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\nhello", 400},
      {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\nhello", 400},
      {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello", 400},
      {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400},
      // Transfer-Encoding
      {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501},
      {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
      {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n", 501},
      {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n",
       400},
      {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
       "0\r\n\r\n",
       400},
      {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
       "0\r\n\r\n",
       400},
      {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
  };
  HttpRequestCodec codec;
  for (const Case& c : cases) {
    INFO(c.req);
    Run run = Drive(codec, c.req);
    CHECK(run.frames.empty());
    CHECK(run.status == c.status);
    CHECK(run.error == (c.status == 400 ? CodecError::kMalformed : CodecError::kUnsupported));
  }
}

TEST_CASE("http: accepted edge cases", "[codec][http]") {
  HttpRequestCodec codec;
  for (std::string_view req : {
           "GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\n\r\n",
           "GET / HTTP/1.1\r\nHost: a\r\nX:  \t v w \t \r\n\r\n",
           "GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n",  // obs-text
           "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 005\r\n\r\nhello",
           "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\nhello",
           "GET / HTTP/1.0\r\n\r\n",
       }) {
    INFO(req);
    Run run = Drive(codec, req);
    REQUIRE(run.frames.size() == 1);
    CHECK(run.frames[0] == req);
    Parsed p = ParseFrame(codec, run.frames[0]);
    REQUIRE(p.status == 0);
  }
  Parsed p = ParseFrame(codec, "GET / HTTP/1.1\r\nHost: a\r\nX:  \t v w \t \r\n\r\n");
  CHECK(p.req.Header("x") == "v w");
  // Parse needs header storage for every header.
  HttpHeader one[1];
  HttpRequest req;
  CHECK(codec.Parse(std::string_view(kCurl), one, &req) == 431);
}

TEST_CASE("http: every byte value at every position of a field value", "[codec][http]") {
  // Values are checked eight bytes at a time: each byte must be judged alone, wherever it
  // falls in a word or in the tail, for decode (whole head and byte at a time) and for Parse.
  HttpRequestCodec codec;
  const std::string head = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
  int refused = 0;
  for (int b = 0; b < 256; ++b) {
    if (b == '\r' || b == '\n') continue;  // they end the line: other rules
    const bool allowed = b == '\t' || (b >= 0x20 && b != 0x7f);
    for (size_t pos = 0; pos < 19; ++pos) {
      std::string value(19, 'v');
      value[pos] = static_cast<char>(b);
      std::string req = head + value + "\r\n\r\n";
      INFO("byte " << b << " at " << pos);
      Run whole = Drive(codec, req);
      REQUIRE(whole.frames.size() == (allowed ? 1u : 0u));
      REQUIRE(whole.status == (allowed ? 0 : 400));
      Run bytes = Drive(codec, req, std::vector<size_t>(req.size(), 1));
      REQUIRE(bytes.status == whole.status);
      REQUIRE(ParseFrame(codec, req).status == whole.status);
      refused += allowed ? 0 : 1;
    }
  }
  CHECK(refused == 30 * 19);  // 0x00-0x1f but HTAB, CR and LF, and DEL
}

TEST_CASE("http: response writers", "[codec][http]") {
  std::string out;
  HttpHeader h[] = {{"Content-Type", "text/plain"}, {"Server", "percore"}};
  WriteHttpResponse(out, 200, h, "hello");
  CHECK(out ==
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nServer: percore\r\n"
        "Content-Length: 5\r\n\r\nhello");
  out.clear();
  WriteHttpResponseHead(out, 200, {}, 123456789012, /*keep_alive=*/false);  // HEAD
  CHECK(out == "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 123456789012\r\n\r\n");
  out.clear();
  WriteHttpError(out, 431);
  CHECK(out ==
        "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n"
        "Content-Length: 0\r\n\r\n");
  for (int s : {400, 413, 414, 431, 501, 505}) CHECK(!HttpReason(s).empty());
  // A connection-like sink (send) works too.
  struct Sink {
    std::string got;
    void send(std::string_view v) { got.append(v); }
  } sink;
  WriteHttpResponse(sink, 404, {}, "");
  CHECK(sink.got == "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
}

}  // namespace
}  // namespace percore
