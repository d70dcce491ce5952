#include "tools/fanout_wire.h"

#include <charconv>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "protocol/ws_handshake.h"

namespace percore::tools {
namespace {

constexpr size_t kMaxUnit = 1 << 20;

// Abseil here is built with its own string_view type.
absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }
constexpr size_t npos = std::string_view::npos;

// One chat line (no '\n', '\r' stripped) as an event.
WireEvent ChatLine(std::string_view line) {
  WireEvent ev;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  auto word = [&line]() {
    size_t sp = line.find(' ');
    std::string_view w = line.substr(0, sp);
    line = sp == npos ? std::string_view() : line.substr(sp + 1);
    return w;
  };
  std::string_view cmd = word();
  if (cmd == "MSG") {
    ev.room = word();
    std::string_view nick = word();
    ev.text = line;
    ev.kind = ev.room.empty() || nick.empty() ? WireEvent::kMalformed : WireEvent::kMessage;
  } else if (cmd == "OK") {
    ev.kind = WireEvent::kOk;
    ev.text = line;
  } else if (cmd == "PING") {
    ev.kind = WireEvent::kPing;
    ev.text = line;
  } else if (cmd == "ERR") {
    ev.kind = WireEvent::kError;
    ev.text = line;
  } else {
    ev.kind = cmd == "PONG" || cmd == "BYE" ? WireEvent::kOther : WireEvent::kMalformed;
    ev.text = line;
  }
  return ev;
}

size_t ParseChat(std::string_view in, absl::FunctionRef<void(const WireEvent&)> on) {
  size_t used = 0;
  for (;;) {
    size_t nl = in.find('\n', used);
    if (nl == npos) return in.size() - used > kMaxUnit ? npos : used;
    on(ChatLine(in.substr(used, nl - used)));
    used = nl + 1;
  }
}

// A RESP line ("...\r\n") at `pos`: its body, and pos moved past it; false while incomplete.
bool RespLine(std::string_view in, size_t* pos, std::string_view* body) {
  size_t end = in.find("\r\n", *pos);
  if (end == npos) return false;
  *body = in.substr(*pos, end - *pos);
  *pos = end + 2;
  return true;
}

enum class Step { kDone, kMore, kBad };

// One RESP value at `pos` that is a bulk string, an integer or a simple string (its text).
Step RespScalar(std::string_view in, size_t* pos, std::string_view* out) {
  if (*pos >= in.size()) return Step::kMore;
  char type = in[*pos];
  size_t p = *pos + 1;
  std::string_view line;
  if (!RespLine(in, &p, &line)) return in.size() - *pos > kMaxUnit ? Step::kBad : Step::kMore;
  if (type == ':' || type == '+') {
    *out = line;
    *pos = p;
    return Step::kDone;
  }
  int64_t len = 0;
  if (type != '$' || !absl::SimpleAtoi(Av(line), &len) || len < 0 ||
      static_cast<size_t>(len) > kMaxUnit) {
    return Step::kBad;
  }
  if (in.size() - p < static_cast<size_t>(len) + 2) return Step::kMore;
  if (in.substr(p + static_cast<size_t>(len), 2) != "\r\n") return Step::kBad;
  *out = in.substr(p, static_cast<size_t>(len));
  *pos = p + static_cast<size_t>(len) + 2;
  return Step::kDone;
}

size_t ParseResp(std::string_view in, absl::FunctionRef<void(const WireEvent&)> on) {
  size_t used = 0;
  while (used < in.size()) {
    size_t pos = used;
    char type = in[pos];
    WireEvent ev;
    if (type == '*' || type == '>') {  // a push: message / subscribe confirmation
      ++pos;
      std::string_view line;
      if (!RespLine(in, &pos, &line)) return in.size() - used > kMaxUnit ? npos : used;
      int n = 0;
      if (!absl::SimpleAtoi(Av(line), &n) || n < 0 || n > 16) return npos;
      std::string_view part[16];
      for (int i = 0; i < n; ++i) {
        Step s = RespScalar(in, &pos, &part[i]);
        if (s == Step::kBad) return npos;
        if (s == Step::kMore) return used;
      }
      if (n == 3 && part[0] == "message") {
        ev.kind = WireEvent::kMessage;
        ev.room = part[1];
        ev.text = part[2];
      } else if (n == 3 && part[0] == "subscribe") {
        ev.kind = WireEvent::kOk;
        ev.text = part[1];
      } else {
        ev.kind = WireEvent::kMalformed;
      }
    } else if (type == '-') {
      ++pos;
      if (!RespLine(in, &pos, &ev.text)) return used;
      ev.kind = WireEvent::kError;
    } else if (type == ':' || type == '+' || type == '$') {
      Step s = RespScalar(in, &pos, &ev.text);
      if (s == Step::kBad) return npos;
      if (s == Step::kMore) return used;
      ev.kind = WireEvent::kReply;
    } else {
      return npos;
    }
    on(ev);
    used = pos;
  }
  return used;
}

// Server frames are never masked (RFC 6455 5.1); chat lines travel one per text frame.
size_t ParseWs(std::string_view in, absl::FunctionRef<void(const WireEvent&)> on) {
  size_t used = 0;
  while (in.size() - used >= 2) {
    auto b0 = static_cast<uint8_t>(in[used]), b1 = static_cast<uint8_t>(in[used + 1]);
    if (b1 & 0x80) return npos;  // masked
    uint64_t len = b1 & 0x7F;
    size_t head = 2;
    if (len >= 126) {
      size_t width = len == 126 ? 2 : 8;
      if (in.size() - used < 2 + width) return used;
      len = 0;
      for (size_t i = 0; i < width; ++i) len = len << 8 | static_cast<uint8_t>(in[used + 2 + i]);
      head += width;
    }
    if (len > kMaxUnit) return npos;
    if (in.size() - used < head + len) return used;
    std::string_view payload = in.substr(used + head, static_cast<size_t>(len));
    used += head + static_cast<size_t>(len);
    const uint8_t opcode = b0 & 0x0F;
    WireEvent ev;
    if ((b0 & 0x80) == 0 || opcode == 0 || (b0 & 0x70) != 0) {
      ev.kind = WireEvent::kMalformed;  // nothing here fragments or uses an extension
    } else if (opcode == 1) {
      while (!payload.empty()) {
        size_t nl = payload.find('\n');
        on(ChatLine(payload.substr(0, nl)));
        payload = nl == npos ? std::string_view() : payload.substr(nl + 1);
      }
      continue;
    } else if (opcode == 9) {
      ev.kind = WireEvent::kWsPing;
      ev.text = payload;
    } else if (opcode == 8) {
      ev.kind = WireEvent::kError;
      ev.text = "WebSocket close frame";
    } else {
      ev.kind = opcode == 10 ? WireEvent::kOther : WireEvent::kMalformed;
    }
    on(ev);
  }
  return used;
}

// Masks differ per frame, as RFC 6455 asks; a cheap generator is enough for a bench.
uint32_t NextMask() {
  thread_local uint32_t x = 0x9E3779B9u ^ static_cast<uint32_t>(reinterpret_cast<uintptr_t>(&x));
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return x;
}

void AppendBulk(std::string& out, std::string_view s) {
  absl::StrAppend(&out, "$", s.size(), "\r\n");
  out.append(s).append("\r\n");
}

}  // namespace

absl::StatusOr<FanoutProtocol> ParseFanoutProtocol(std::string_view name) {
  if (name == "chat") return FanoutProtocol::kChat;
  if (name == "ws-chat") return FanoutProtocol::kWsChat;
  if (name == "redis") return FanoutProtocol::kRedis;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown protocol '", Av(name), "' (choose chat, ws-chat, redis)"));
}

const char* FanoutProtocolName(FanoutProtocol p) {
  switch (p) {
    case FanoutProtocol::kChat:
      return "chat";
    case FanoutProtocol::kWsChat:
      return "ws-chat";
    case FanoutProtocol::kRedis:
      return "redis";
  }
  return "?";
}

size_t ParseIncoming(FanoutProtocol p, std::string_view in,
                     absl::FunctionRef<void(const WireEvent&)> on) {
  switch (p) {
    case FanoutProtocol::kChat:
      return ParseChat(in, on);
    case FanoutProtocol::kWsChat:
      return ParseWs(in, on);
    case FanoutProtocol::kRedis:
      return ParseResp(in, on);
  }
  return npos;
}

void AppendWsFrame(std::string& out, uint8_t opcode, std::string_view payload) {
  out.push_back(static_cast<char>(0x80 | opcode));
  if (payload.size() < 126) {
    out.push_back(static_cast<char>(0x80 | payload.size()));
  } else {
    const size_t width = payload.size() <= 0xFFFF ? 2 : 8;
    out.push_back(static_cast<char>(0x80 | (width == 2 ? 126 : 127)));
    for (size_t i = 0; i < width; ++i) {
      out.push_back(static_cast<char>(payload.size() >> (8 * (width - 1 - i))));
    }
  }
  const uint32_t m = NextMask();
  const char mask[4] = {static_cast<char>(m), static_cast<char>(m >> 8), static_cast<char>(m >> 16),
                        static_cast<char>(m >> 24)};
  out.append(mask, 4);
  for (size_t i = 0; i < payload.size(); ++i) out.push_back(payload[i] ^ mask[i & 3]);
}

void AppendCommand(FanoutProtocol p, std::string& out,
                   std::initializer_list<std::string_view> words) {
  if (p == FanoutProtocol::kRedis) {
    absl::StrAppend(&out, "*", words.size(), "\r\n");
    for (std::string_view w : words) AppendBulk(out, w);
    return;
  }
  std::string line;
  for (std::string_view w : words) {
    if (w.empty()) continue;  // "PONG" answers a bare "PING"
    (line.empty() ? line : line.append(" ")).append(w);
  }
  if (p == FanoutProtocol::kWsChat) {
    AppendWsFrame(out, 1, line);
  } else {
    out.append(line).append("\n");
  }
}

void AppendPublish(FanoutProtocol p, std::string& out, std::string_view room, uint64_t seq,
                   size_t size) {
  char text[32];
  size_t n = static_cast<size_t>(std::to_chars(text, text + sizeof text, seq).ptr - text);
  std::string_view digits(text, n);
  size_t pad = size > n + 1 ? size - n - 1 : 0;
  if (p == FanoutProtocol::kRedis) {
    out.append("*3\r\n$7\r\nPUBLISH\r\n");
    AppendBulk(out, room);
    absl::StrAppend(&out, "$", n + (pad ? pad + 1 : 0), "\r\n");
    out.append(digits);
    if (pad) out.append(" ").append(pad, 'x');
    out.append("\r\n");
    return;
  }
  std::string line = "MSG ";
  line.append(room).append(" ").append(digits);
  if (pad) line.append(" ").append(pad, 'x');
  if (p == FanoutProtocol::kWsChat) {
    AppendWsFrame(out, 1, line);
  } else {
    out.append(line).append("\n");
  }
}

bool ParseSeq(std::string_view text, uint64_t* seq) {
  size_t n = 0;
  while (n < text.size() && n < 20 && absl::ascii_isdigit(static_cast<unsigned char>(text[n]))) {
    ++n;
  }
  return n > 0 && (n == text.size() || text[n] == ' ') &&
         absl::SimpleAtoi(Av(text.substr(0, n)), seq);
}

std::string NewWsKey() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t raw[2] = {rng(), rng()};
  return absl::Base64Escape(absl::string_view(reinterpret_cast<const char*>(raw), 16));
}

std::string WsRequest(std::string_view host, std::string_view key) {
  return absl::StrCat("GET /ws HTTP/1.1\r\nHost: ", Av(host),
                      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ",
                      Av(key), "\r\nSec-WebSocket-Version: 13\r\n\r\n");
}

size_t WsResponseHeadSize(std::string_view in) {
  size_t end = in.find("\r\n\r\n");
  return end == npos ? 0 : end + 4;
}

absl::Status CheckWsResponse(std::string_view head, std::string_view key) {
  std::string_view status = head.substr(0, head.find("\r\n"));
  if (!absl::StartsWith(Av(status), "HTTP/1.1 101")) {
    return absl::FailedPreconditionError(absl::StrCat("upgrade refused: ", Av(status)));
  }
  bool upgrade = false;
  absl::string_view accept;
  for (size_t pos = status.size() + 2; pos < head.size();) {
    size_t end = head.find("\r\n", pos);
    std::string_view line = head.substr(pos, end - pos);
    pos = end + 2;
    size_t colon = line.find(':');
    if (colon == npos) continue;
    absl::string_view name = Av(line.substr(0, colon));
    absl::string_view value = absl::StripAsciiWhitespace(Av(line.substr(colon + 1)));
    if (absl::EqualsIgnoreCase(name, "Upgrade"))
      upgrade = absl::EqualsIgnoreCase(value, "websocket");
    if (absl::EqualsIgnoreCase(name, "Sec-WebSocket-Accept")) accept = value;
  }
  if (!upgrade) return absl::FailedPreconditionError("101 without Upgrade: websocket");
  if (accept != absl::string_view(WsAcceptKey(key))) {
    return absl::FailedPreconditionError(absl::StrCat("bad Sec-WebSocket-Accept '", accept, "'"));
  }
  return absl::OkStatus();
}

}  // namespace percore::tools
