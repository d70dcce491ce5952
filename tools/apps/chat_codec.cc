#include "tools/apps/chat_codec.h"

#include <algorithm>

namespace percore::apps {
namespace {

// "GET /x HTTP/1.1" (the '\r' already cut): a method we serve, one target, an HTTP/1 version.
bool IsRequestLine(std::string_view line) {
  const size_t sp1 = line.find(' ');
  const std::string_view method = line.substr(0, sp1);
  if (sp1 == line.npos || (method != "GET" && method != "HEAD")) return false;
  const size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == line.npos || sp2 == sp1 + 1) return false;
  const std::string_view version = line.substr(sp2 + 1);
  return version.size() == 8 && version.substr(0, 7) == "HTTP/1." && version[7] >= '0' &&
         version[7] <= '9';
}

}  // namespace

ChatCodec::ChatCodec(const Options& options)
    : line_({.delimiter = "\n", .max_line = options.max_line, .strip_cr = true}),
      http_(options.http),
      ws_({.max_frame = options.max_line, .max_message = options.max_line}) {}

ChatCodec::Mode ChatCodec::Sniff(std::string_view in, size_t max_request_line, size_t* need) {
  // Decided at the first byte that no request line could have: a line client is never held up
  // waiting for a newline it may not send yet.
  auto could_be = [in](std::string_view method) {
    const size_t n = std::min(in.size(), method.size());
    return in.substr(0, n) == method.substr(0, n);
  };
  if (!could_be("GET ") && !could_be("HEAD ")) return Mode::kLine;
  const size_t limit = max_request_line + 2;  // the line and its CRLF
  const size_t nl = in.substr(0, limit).find('\n');
  if (nl == in.npos) {
    if (in.size() >= limit) return Mode::kLine;  // no request line is that long
    *need = in.size() + 1;
    return Mode::kSniff;
  }
  std::string_view line = in.substr(0, nl);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return IsRequestLine(line) ? Mode::kHttp : Mode::kLine;
}

Decoded ChatCodec::decode(State& state, std::span<char> in) const {
  switch (state.mode()) {
    case Mode::kLine:
      return line_.decode(std::get<LineCodec::State>(state.s), in);
    case Mode::kHttp:
      return http_.decode(std::get<HttpRequestCodec::State>(state.s), in);
    case Mode::kWs:
      return ws_.decode(std::get<WsCodec::State>(state.s), in);
    case Mode::kSniff:
      break;
  }
  size_t need = 0;
  switch (Sniff(std::string_view(in.data(), in.size()), http_.options().max_request_line, &need)) {
    case Mode::kLine:
      state.s.emplace<LineCodec::State>();
      return line_.decode(std::get<LineCodec::State>(state.s), in);
    case Mode::kHttp:
      state.s.emplace<HttpRequestCodec::State>();
      return http_.decode(std::get<HttpRequestCodec::State>(state.s), in);
    default:
      return Decoded::NeedMore(need);
  }
}

size_t ChatCodec::max_frame() const {
  return std::max({line_.max_line() + 2, http_.max_frame(), static_cast<size_t>(ws_.max_frame())});
}

}  // namespace percore::apps
