// HttpHandler: the `http` app, HTTP/1.1 over HttpRequestCodec and the message-level API.
//   GET /         a small text answer (a response cached whole: one send, no formatting)
//   GET /metrics  the server's stats snapshot in the Prometheus text format, then what an
//                 optional MetricsRegistry adds (client pools)
//   other paths   404; methods other than GET/HEAD on / and /metrics: 405 with Allow
// HEAD gets the head only with the true Content-Length. Keep-alive and pipelining: each request
// is answered in order as it is decoded, and the framework flushes once per loop turn.
// "Connection: close" (and HTTP/1.0 without keep-alive) gets its answer, then a graceful close.
// A request the codec rejects is answered with its status (400/413/414/431/501/505), then the
// framework closes the connection. Output above the high watermark pauses reading until
// on_drain.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/connection.h"
#include "protocol/http_codec.h"
#include "reactor/metrics_registry.h"
#include "reactor/stats.h"

namespace percore::apps {

class HttpHandler {
 public:
  static constexpr std::string_view kHello = "hello from percore\n";

  HttpRequestCodec codec;

  HttpHandler() {
    const HttpHeader type[] = {{"Content-Type", "text/plain"}};
    for (int head = 0; head < 2; ++head) {
      for (int keep = 0; keep < 2; ++keep) {
        std::string& r = hello_[head][keep];
        if (head) {
          WriteHttpResponseHead(r, 200, type, kHello.size(), keep);
        } else {
          WriteHttpResponse(r, 200, type, kHello, keep);
        }
      }
    }
  }

  // serve.cc hands over the server's snapshot (for /metrics).
  void set_stats_source(std::function<StatsSnapshot()> f) { stats_ = std::move(f); }
  // More families for /metrics after the snapshot (a ClientPool's export_metrics): the
  // registry must outlive the server.
  void set_metrics_registry(const MetricsRegistry* r) { registry_ = r; }

  void on_message(Connection& c, std::span<const char> frame) {
    HttpRequest req;
    if (uint16_t status = codec.Parse(frame, Headers(), &req); status != 0) {
      Finish(c, Error(status), /*keep_alive=*/false);
      return;
    }
    const bool head = req.method == "HEAD";
    const bool get_or_head = head || req.method == "GET";
    std::string_view path = req.target.substr(0, req.target.find('?'));
    // HTTP/1.0 keep-alive must be confirmed in the answer; 1.1's is the default.
    const bool confirm_keep_alive = req.keep_alive && req.minor == 0;
    if (path == "/" && get_or_head && !confirm_keep_alive) {
      Finish(c, hello_[head][req.keep_alive], req.keep_alive);
      return;
    }
    std::string& out = Scratch();
    HttpHeader hs[3];
    size_t n = 0;
    if (confirm_keep_alive) hs[n++] = {"Connection", "keep-alive"};
    int status = 200;
    std::string body;
    std::string_view body_view;
    if (path != "/" && path != "/metrics") {
      status = 404;
      body_view = "not found\n";
      hs[n++] = {"Content-Type", "text/plain"};
    } else if (!get_or_head) {
      status = 405;
      body_view = "method not allowed\n";
      hs[n++] = {"Allow", "GET, HEAD"};
      hs[n++] = {"Content-Type", "text/plain"};
    } else if (path == "/") {
      body_view = kHello;
      hs[n++] = {"Content-Type", "text/plain"};
    } else {
      if (stats_) body = stats_().ToPrometheus();
      if (registry_ != nullptr) body += registry_->Render();
      body_view = body;
      hs[n++] = {"Content-Type", "text/plain; version=0.0.4"};
    }
    std::span<const HttpHeader> headers(hs, n);
    if (head) {
      WriteHttpResponseHead(out, status, headers, body_view.size(), req.keep_alive);
    } else {
      WriteHttpResponse(out, status, headers, body_view, req.keep_alive);
    }
    Finish(c, out, req.keep_alive);
  }

  void on_drain(Connection& c) { c.resume_reading(); }

  // The codec keeps the status to answer with in its State; the framework closes afterwards.
  void on_codec_error(Connection& c, CodecError, const HttpRequestCodec::State& st) {
    c.send(Error(st.status != 0 ? st.status : 400));
  }

 private:
  // Parse's header storage: one array per reactor thread, sized once (no allocation per
  // request). Views into it live only during on_message.
  std::span<HttpHeader> Headers() const {
    thread_local std::vector<HttpHeader> headers;
    if (headers.size() < codec.options().max_headers) headers.resize(codec.options().max_headers);
    return headers;
  }
  // Where responses are formatted before their one send: per reactor thread, capacity reused.
  static std::string& Scratch() {
    thread_local std::string out;
    out.clear();
    return out;
  }
  static std::string& Error(int status) {
    std::string& out = Scratch();
    WriteHttpError(out, status);
    return out;
  }
  static void Finish(Connection& c, std::string_view response, bool keep_alive) {
    SendResult r = c.send(response);
    if (!keep_alive) {
      c.close(CloseMode::kGraceful);  // after the queued answer is flushed
    } else if (r == SendResult::kBackpressure) {
      c.pause_reading();  // resumed by on_drain
    }
  }

  std::string hello_[2][2];  // [head][keep_alive]
  std::function<StatsSnapshot()> stats_;
  const MetricsRegistry* registry_ = nullptr;
};

}  // namespace percore::apps
