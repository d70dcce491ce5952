// WsHandler: the `ws` app, a WebSocket echo server on the message-level API. One port speaks
// HTTP/1.1 first and WebSocket after a successful upgrade:
//   GET /ws with a valid upgrade   101, then the connection speaks WebSocket frames
//   GET /ws otherwise              400 (or 426 without Sec-WebSocket-Version: 13), then close
//   GET / (HEAD too)               a small text answer; other paths 404
// Over WebSocket: text and binary messages come back whole as the same type, a ping gets a pong
// with its payload, a client close gets a close echoing its code (1000 if it sent none) and a
// graceful close; bytes the codec refuses get a close with WsCloseCode (1002/1007/1009), then
// the connection is closed. Messages above max_message (1 MiB) are refused with 1009.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/connection.h"
#include "protocol/codec.h"
#include "protocol/http_codec.h"
#include "protocol/ws_frame.h"
#include "protocol/ws_handshake.h"
#include "protocol/ws_message.h"

namespace percore::apps {

// HTTP requests until the handler switches the State to WebSocket; one codec for both because
// the framework runs one codec per connection and the switch happens between two frames of the
// same input (a client may send its first frames right behind the upgrade request).
class HttpThenWsCodec {
 public:
  struct Options {
    HttpRequestCodec::Options http;
    WsCodec::Options ws;
  };
  enum class Mode : uint8_t { kHttp, kWs };
  struct State {
    Mode mode = Mode::kHttp;
    HttpRequestCodec::State http;
    WsCodec::State ws;
  };

  HttpThenWsCodec() = default;
  explicit HttpThenWsCodec(const Options& options) : http_(options.http), ws_(options.ws) {}

  // WsCodec unmasks in place, hence the mutable view (net/handler.h says why that is sound).
  Decoded decode(State& state, std::span<char> in) const {
    if (state.mode == Mode::kWs) return ws_.decode(state.ws, in);
    return http_.decode(state.http, in);
  }

  size_t max_frame() const {
    return std::max<size_t>(http_.max_frame(), static_cast<size_t>(ws_.max_frame()));
  }
  const HttpRequestCodec& http() const { return http_; }
  const WsCodec& ws() const { return ws_; }

 private:
  HttpRequestCodec http_;
  WsCodec ws_;
};

// What every WebSocket app answers alike: a ping gets a pong with its payload, a client close
// gets a close echoing its code (1000 if it sent none) and a graceful close; a pong or a
// gathered fragment needs nothing. False for a text or binary message: the app's to handle.
inline bool AnswerWsControl(Connection& c, const WsCodec::State& ws) {
  switch (ws.event) {
    case WsCodec::Event::kPing:
      WriteWsFrame(c, WsOpcode::kPong, ws.message);
      return true;
    case WsCodec::Event::kClose:
      WriteWsClose(c, ws.close_code == WsClose::kNoStatus ? WsClose::kNormal : ws.close_code);
      c.close(CloseMode::kGraceful);  // after the close frame is flushed
      return true;
    case WsCodec::Event::kPong:
    case WsCodec::Event::kFragment:
      return true;
    case WsCodec::Event::kText:
    case WsCodec::Event::kBinary:
      return false;
  }
  return false;
}

class WsHandler {
 public:
  static constexpr std::string_view kHello = "hello from percore (websocket echo at /ws)\n";

  HttpThenWsCodec codec;

  void on_message(Connection& c, std::span<const char> frame, HttpThenWsCodec::State& st) {
    if (st.mode == HttpThenWsCodec::Mode::kWs) {
      OnWs(c, st.ws);
    } else {
      OnHttp(c, frame, st);
    }
    if (c.above_high_watermark()) c.pause_reading();  // resumed by on_drain
  }

  void on_drain(Connection& c) { c.resume_reading(); }

  // The framework closes the connection afterwards.
  void on_codec_error(Connection& c, CodecError, const HttpThenWsCodec::State& st) {
    if (st.mode == HttpThenWsCodec::Mode::kWs) {
      WriteWsClose(c, WsCloseCode(st.ws.error), WsErrorName(st.ws.error));
    } else {
      WriteHttpError(c, st.http.status != 0 ? st.http.status : 400);
    }
  }

 private:
  void OnWs(Connection& c, const WsCodec::State& ws) {
    if (AnswerWsControl(c, ws)) return;
    // ws.message, not the frame: a fragmented message is gathered in the codec's buffer.
    WriteWsFrame(c, ws.event == WsCodec::Event::kText ? WsOpcode::kText : WsOpcode::kBinary,
                 ws.message);
  }

  void OnHttp(Connection& c, std::span<const char> frame, HttpThenWsCodec::State& st) {
    HttpRequest req;
    if (uint16_t status = codec.http().Parse(frame, Headers(), &req); status != 0) {
      WriteHttpError(c, status);
      c.close(CloseMode::kGraceful);
      return;
    }
    const std::string_view path = req.target.substr(0, req.target.find('?'));
    if (path == "/ws") {
      const WsUpgrade up = CheckWsUpgrade(req);
      WriteWsHandshake(c, up);
      if (up.status == 101) {
        // The rest of this input, and all after it, is decoded as WebSocket frames.
        st.mode = HttpThenWsCodec::Mode::kWs;
      } else {
        c.close(CloseMode::kGraceful);
      }
      return;
    }
    // HTTP/1.0 keep-alive would have to be confirmed; closing after the answer is simpler.
    const bool keep_alive = req.keep_alive && req.minor == 1;
    const bool head = req.method == "HEAD";
    const HttpHeader type[] = {{"Content-Type", "text/plain"}};
    const bool found = path == "/";
    const std::string_view body = found ? kHello : std::string_view("not found\n");
    if (head) {
      WriteHttpResponseHead(c, found ? 200 : 404, type, body.size(), keep_alive);
    } else {
      WriteHttpResponse(c, found ? 200 : 404, type, body, keep_alive);
    }
    if (!keep_alive) c.close(CloseMode::kGraceful);
  }

  // Parse's header storage: one array per reactor thread, sized once.
  std::span<HttpHeader> Headers() const {
    thread_local std::vector<HttpHeader> headers;
    const size_t n = codec.http().options().max_headers;
    if (headers.size() < n) headers.resize(n);
    return headers;
  }
};

}  // namespace percore::apps
