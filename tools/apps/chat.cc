#include "tools/apps/chat.h"

#include <algorithm>
#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "protocol/http_codec.h"
#include "protocol/utf8.h"
#include "protocol/ws_frame.h"
#include "protocol/ws_handshake.h"
#include "tools/apps/chat_page.h"
#include "tools/apps/ws.h"

namespace percore::apps {
namespace {

using Mode = ChatCodec::Mode;

bool NameChars(std::string_view s, size_t max, std::string_view extra) {
  if (s.empty() || s.size() > max) return false;
  return std::all_of(s.begin(), s.end(), [extra](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           extra.find(ch) != extra.npos;
  });
}

// "CMD rest": the command and what follows its space (empty if none).
std::pair<std::string_view, std::string_view> SplitFirst(std::string_view s) {
  const size_t sp = s.find(' ');
  if (sp == s.npos) return {s, {}};
  return {s.substr(0, sp), s.substr(sp + 1)};
}

// Parse's header storage: one array per reactor thread, sized once.
std::span<HttpHeader> Headers(size_t n) {
  thread_local std::vector<HttpHeader> headers;
  if (headers.size() < n) headers.resize(n);
  return headers;
}

}  // namespace

bool ValidNick(std::string_view nick) { return NameChars(nick, 32, "_.-"); }
bool ValidRoom(std::string_view room) { return NameChars(room, 64, "_.#-"); }

ChatHandler::ChatHandler(const Options& options) : options_(options), sessions_(options.duplicate) {
  // Sessions closes a kicked connection (possibly from another reactor's login) or one that did
  // not log in in time; the goodbye must be written in that connection's framing, on its thread.
  sessions_.set_farewell([](Connection& c, CloseReason why) {
    const Mode mode = c.state<ConnState>().mode;
    if (mode == Mode::kHttp) return;  // a page load that never upgraded: no line to say it in
    SayBye(c, mode, why == CloseReason::kKicked ? "kicked" : "login timeout");
  });
}

void ChatHandler::on_open(Connection& c) {
  if (options_.login_timeout > absl::ZeroDuration()) {
    sessions_.require_bind(c, options_.login_timeout);
  }
}

void ChatHandler::on_close(Connection&, CloseReason) {
  // Nothing to undo: Rooms and Sessions forget the connection themselves.
}

void ChatHandler::on_heartbeat(Connection& c) {
  switch (c.state<ConnState>().mode) {
    case Mode::kWs:
      WriteWsFrame(c, WsOpcode::kPing, std::string_view());
      return;
    case Mode::kHttp:
      return;  // nothing to ask a plain HTTP client: silent again, it is closed
    case Mode::kLine:
    case Mode::kSniff:
      c.send(std::string_view("PING\n"));
      return;
  }
}

void ChatHandler::on_message(Connection& c, std::span<const char> frame, ChatCodec::State& st) {
  ConnState& cs = c.state<ConnState>();
  cs.mode = st.mode();
  switch (cs.mode) {
    case Mode::kLine:
      OnCommand(c, cs, std::string_view(frame.data(), frame.size()));
      break;
    case Mode::kWs:
      OnWs(c, cs, st.ws());
      break;
    case Mode::kHttp:
      OnHttp(c, frame, st);
      break;
    case Mode::kSniff:  // decode returns frames only once it has decided
      break;
  }
  if (!c.closing() && c.above_high_watermark()) c.pause_reading();  // resumed by on_drain
}

void ChatHandler::on_codec_error(Connection& c, CodecError, const ChatCodec::State& st) {
  switch (st.mode()) {
    case Mode::kWs:
      WriteWsClose(c, WsCloseCode(st.ws().error), WsErrorName(st.ws().error));
      return;
    case Mode::kHttp:
      WriteHttpError(c, st.http().status != 0 ? st.http().status : 400);
      return;
    case Mode::kLine:  // a line above 4096 bytes: closed (frame_too_large), nothing to say
    case Mode::kSniff:
      return;
  }
}

void ChatHandler::OnCommand(Connection& c, ConnState& cs, std::string_view line) {
  const auto [cmd, arg] = SplitFirst(line);
  if (cmd == "PING") {
    Reply(c, cs.mode, {"PONG", line.substr(cmd.size())});  // "PING x" -> "PONG x"
    return;
  }
  if (cmd == "PONG") return;
  if (cmd == "QUIT") {
    SayBye(c, cs.mode, "quit");
    c.close(CloseMode::kGraceful);
    return;
  }
  if (cmd == "NICK") {
    Nick(c, cs, arg);
    return;
  }
  if (sessions_.user(c).empty()) {
    Reply(c, cs.mode, {"ERR login first"});
  } else if (cmd == "MSG") {
    Msg(c, cs, arg);
  } else if (cmd == "JOIN") {
    Join(c, cs, arg);
  } else if (cmd == "LEAVE") {
    Leave(c, cs, arg);
  } else if (cmd == "WHO") {
    if (!ValidRoom(arg)) {
      Reply(c, cs.mode, {"ERR bad room"});
    } else {
      Who(c, cs, arg);
    }
  } else {
    Reply(c, cs.mode, {"ERR unknown command"});
  }
}

void ChatHandler::Nick(Connection& c, ConnState& cs, std::string_view name) {
  if (!sessions_.user(c).empty()) {
    Reply(c, cs.mode, {"ERR already named"});
    return;
  }
  if (!ValidNick(name)) {
    Reply(c, cs.mode, {"ERR bad nick"});
    return;
  }
  // With kKick the older connection gets its "BYE kicked" (the farewell) and a graceful close,
  // on its own reactor.
  if (absl::Status s = sessions_.bind(c, name); !s.ok()) {
    Reply(c, cs.mode,
          {s.code() == absl::StatusCode::kAlreadyExists ? "ERR nick in use" : "ERR already named"});
    return;
  }
  Reply(c, cs.mode, {"OK NICK ", name});
}

void ChatHandler::Join(Connection& c, ConnState& cs, std::string_view room) {
  if (!ValidRoom(room)) {
    Reply(c, cs.mode, {"ERR bad room"});
    return;
  }
  rooms_.join(c, RoomId(room, cs.mode));  // false when already in: no double membership
  Reply(c, cs.mode, {"OK JOIN ", room});
}

void ChatHandler::Leave(Connection& c, ConnState& cs, std::string_view room) {
  if (!ValidRoom(room)) {
    Reply(c, cs.mode, {"ERR bad room"});
    return;
  }
  if (!rooms_.leave(c, RoomId(room, cs.mode))) {
    Reply(c, cs.mode, {"ERR not in room"});
    return;
  }
  Reply(c, cs.mode, {"OK LEAVE ", room});
}

// The hot path. A WebSocket member needs the message inside a frame header and a line member
// needs it followed by '\n', so no one byte string serves both: each chat room is two Rooms
// groups, one per transport (RoomId), and a message is built once in each form and published
// once to each group. Every member gets a reference to its transport's one copy, and each
// reactor with members gets at most two posts per message.
void ChatHandler::Msg(Connection& c, ConnState& cs, std::string_view arg) {
  const auto [room, text] = SplitFirst(arg);
  if (!ValidRoom(room)) {
    Reply(c, cs.mode, {"ERR bad room"});
    return;
  }
  if (!rooms_.contains(c, RoomId(room, cs.mode))) {
    Reply(c, cs.mode, {"ERR not in room"});
    return;
  }
  // A line client's bytes are not checked on the way in, but a WebSocket member must get UTF-8
  // text (its browser closes the connection at the first bad byte): refuse, rather than let one
  // line member disconnect every WebSocket member of the room.
  if (cs.mode != Mode::kWs && !IsValidUtf8(text)) {
    Reply(c, cs.mode, {"ERR bad text"});
    return;
  }
  const std::string_view parts[] = {"MSG ", room, " ", sessions_.user(c), " ", text};
  size_t body = 0;
  for (std::string_view p : parts) body += p.size();
  thread_local std::string scratch;  // one build buffer per reactor: no allocation per message
  char head[kWsMaxServerHeader];
  scratch.assign(head, WsServerHeader(WsOpcode::kText, body, head));
  for (std::string_view p : parts) scratch += p;
  // A full reactor task queue costs its members this message; the sender is not told (the
  // protocol has no answer for MSG), the stats count the refused posts.
  rooms_.publish(RoomId(room, Mode::kWs), Payload::Copy(scratch), Rooms::Slow::kDrop).IgnoreError();
  scratch.erase(0, scratch.size() - body);
  scratch += '\n';
  rooms_.publish(RoomId(room, Mode::kLine), Payload::Copy(scratch), Rooms::Slow::kDrop)
      .IgnoreError();
}

// The members are on every reactor, in two groups (one per transport): Rooms visits each
// member on its own reactor, where its Sessions user (the nick) may be read; the answer comes
// back to this connection's reactor through its handle.
void ChatHandler::Who(Connection& c, ConnState& cs, std::string_view room) {
  struct Gather {
    std::mutex mu;
    std::vector<std::string> nicks;
  };
  auto gather = std::make_shared<Gather>();
  std::function<void(Connection&)> each = [this, gather](Connection& m) {
    const std::string_view nick = sessions_.user(m);
    if (nick.empty()) return;
    std::lock_guard<std::mutex> lock(gather->mu);
    gather->nicks.emplace_back(nick);
  };
  auto answer = [gather, room = std::string(room), h = c.handle()](absl::Status) {
    std::vector<std::string>& nicks = gather->nicks;  // every visit is done: no lock needed
    std::sort(nicks.begin(), nicks.end());
    // A kicked connection and the one that replaced it may both be in the room for a moment.
    nicks.erase(std::unique(nicks.begin(), nicks.end()), nicks.end());
    std::string out = "WHO " + room;
    for (const std::string& n : nicks) absl::StrAppend(&out, " ", n);
    ConnHandle::Visit reply = [out = std::move(out)](Connection* c) {
      if (c == nullptr) return;
      ConnState& cs = c->state<ConnState>();
      Reply(*c, cs.mode, {out});
      cs.who_pending = false;
      if (!c->above_high_watermark()) c->resume_reading();
    };
    // A refusal (its reactor's task queue is full) leaves the asker paused until its idle or
    // write timeout: a reactor thread must not wait here for room in the queue.
    h.run(reply).IgnoreError();
  };
  cs.who_pending = true;
  c.pause_reading();
  rooms_.visit(RoomId(room, Mode::kWs), each,
               [this, each, room = std::string(room), answer](absl::Status) mutable {
                 rooms_.visit(RoomId(room, Mode::kLine), std::move(each), std::move(answer));
               });
}

void ChatHandler::OnWs(Connection& c, ConnState& cs, const WsCodec::State& ws) {
  if (AnswerWsControl(c, ws)) return;
  switch (ws.event) {
    case WsCodec::Event::kText:
      // ws.message, not the frame: a fragmented message is gathered in the codec's buffer. A
      // newline would let a WebSocket client forge whole lines to the line members.
      if (ws.message.find('\n') != ws.message.npos) {
        Reply(c, cs.mode, {"ERR newline in command"});
      } else {
        OnCommand(c, cs, ws.message);
      }
      return;
    case WsCodec::Event::kBinary:
      WriteWsClose(c, WsClose::kUnsupportedData, "text messages only");
      c.close(CloseMode::kGraceful);
      return;
    default:  // the control frames, answered above
      return;
  }
}

void ChatHandler::OnHttp(Connection& c, std::span<const char> frame, ChatCodec::State& st) {
  HttpRequest req;
  if (uint16_t status =
          codec.http().Parse(frame, Headers(codec.http().options().max_headers), &req);
      status != 0) {
    WriteHttpError(c, status);
    c.close(CloseMode::kGraceful);
    return;
  }
  const std::string_view path = req.target.substr(0, req.target.find('?'));
  const bool head = req.method == "HEAD";
  if (path == "/ws" && !head) {
    const WsUpgrade up = CheckWsUpgrade(req);
    WriteWsHandshake(c, up);
    if (up.status == 101) {
      // The rest of this input, and all after it, is decoded as WebSocket frames.
      st.switch_to_ws();
      c.state<ConnState>().mode = Mode::kWs;
    } else {
      c.close(CloseMode::kGraceful);
    }
    return;
  }
  // HTTP/1.0 keep-alive would have to be confirmed; closing after the answer is simpler.
  const bool keep_alive = req.keep_alive && req.minor == 1;
  int status = 200;
  if (req.method != "GET" && !head) {
    status = 405;
  } else if (path != "/") {
    status = 404;
  }
  const std::string_view body = status == 200   ? kChatPage
                                : status == 404 ? std::string_view("not found\n")
                                                : std::string_view("method not allowed\n");
  const HttpHeader headers[] = {
      {"Content-Type", status == 200 ? "text/html; charset=utf-8" : "text/plain"},
      {"Allow", "GET, HEAD"}};
  const std::span<const HttpHeader> shown(headers, status == 405 ? 2 : 1);
  if (head) {
    WriteHttpResponseHead(c, status, shown, body.size(), keep_alive);
  } else {
    WriteHttpResponse(c, status, shown, body, keep_alive);
  }
  if (!keep_alive) c.close(CloseMode::kGraceful);
}

void ChatHandler::Reply(Connection& c, Mode mode, std::initializer_list<std::string_view> parts) {
  if (mode == Mode::kWs) {
    WriteWsFrame(c, WsOpcode::kText,
                 std::span<const std::string_view>(parts.begin(), parts.size()));
    return;
  }
  std::array<std::string_view, 8> all;
  size_t n = 0;
  for (std::string_view p : parts) all[n++] = p;
  all[n++] = "\n";
  c.send(std::span<const std::string_view>(all.data(), n));
}

void ChatHandler::SayBye(Connection& c, Mode mode, std::string_view why) {
  Reply(c, mode, {"BYE ", why});
  if (mode == Mode::kWs) WriteWsClose(c, WsClose::kNormal, why);
}

Rooms::Id ChatHandler::RoomId(std::string_view room, Mode mode) {
  // The WebSocket group's id differs from the line group's by a constant: ids are 64-bit
  // hashes, so it meets another room's line id no more often than two names collide.
  constexpr Rooms::Id kWsGroup = 0x9e3779b97f4a7c15ull;
  return mode == Mode::kWs ? Rooms::Named(room) ^ kWsGroup : Rooms::Named(room);
}

}  // namespace percore::apps
