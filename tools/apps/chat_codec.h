// ChatCodec: the chat app's codec, two transports on one port. The first bytes decide: a first
// line that looks like an HTTP request line ("GET|HEAD <target> HTTP/1.x") makes the connection
// HTTP (and WebSocket once the handler switches it after a 101), anything else makes it the line
// protocol (LineCodec). One codec for all of it because the framework runs one codec per
// connection, and the switches happen between two frames of the same input (a line client's
// first command may share a segment with its second; a browser may send frames right behind its
// upgrade request). Owned by the handler (a member); the State lives in each connection's slot.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <variant>

#include "protocol/codec.h"
#include "protocol/http_codec.h"
#include "protocol/line_codec.h"
#include "protocol/ws_message.h"

namespace percore::apps {

class ChatCodec {
 public:
  struct Options {
    size_t max_line = 4096;  // a line command; a WebSocket command (message) too
    HttpRequestCodec::Options http{.max_body = 4096};  // the page and the upgrade are GETs
  };
  // The order of State's alternatives.
  enum class Mode : uint8_t { kSniff, kLine, kHttp, kWs };
  struct Sniffing {};
  // One alternative at a time: an idle connection holds only its own transport's state.
  struct State {
    std::variant<Sniffing, LineCodec::State, HttpRequestCodec::State, WsCodec::State> s;
    Mode mode() const { return static_cast<Mode>(s.index()); }
    void switch_to_ws() { s.emplace<WsCodec::State>(); }
    const HttpRequestCodec::State& http() const { return std::get<HttpRequestCodec::State>(s); }
    const WsCodec::State& ws() const { return std::get<WsCodec::State>(s); }
  };

  ChatCodec() : ChatCodec(Options{}) {}
  explicit ChatCodec(const Options& options);

  // WsCodec unmasks in place, hence the mutable view (net/handler.h says why that is sound).
  Decoded decode(State& state, std::span<char> in) const;

  size_t max_frame() const;
  const HttpRequestCodec& http() const { return http_; }

  // What the first bytes of a connection make it: kLine, kHttp, or kSniff while they could still
  // start a request line (then *need says how many bytes to wait for). Public for the tests.
  static Mode Sniff(std::string_view in, size_t max_request_line, size_t* need);

 private:
  LineCodec line_;
  HttpRequestCodec http_;
  WsCodec ws_;
};

}  // namespace percore::apps
