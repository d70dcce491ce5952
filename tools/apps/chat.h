// ChatHandler: the `chat` app (`percore serve --app chat`), a chat server with two transports on
// one port. A connection whose first line is an HTTP request line speaks HTTP (GET / is the chat
// page, GET /ws upgrades to WebSocket, one command per text message); anything else speaks the
// line protocol (one command per '\n'-terminated line). The commands and replies are the same on
// both (docs/im-gateway.md has the table):
//   NICK name   JOIN room   LEAVE room   MSG room text   WHO room   PING [x]   PONG [x]   QUIT
// Nicks are Sessions user ids (a second login kicks the older one or is refused), rooms are Rooms
// groups (a MSG is one shared payload per transport, fanned out by each member's reactor), and
// WHO visits the room's members on their reactors (Rooms::visit). The app keeps no registry of
// its own: a member's nick is its Sessions user, its rooms are its Rooms memberships, so an idle
// member costs what the library holds for it. Owned by whoever runs the server (serve.cc); it
// must outlive the server.
#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "net/connection.h"
#include "net/rooms.h"
#include "net/sessions.h"
#include "tools/apps/chat_codec.h"

namespace percore::apps {

class ChatHandler {
 public:
  struct Options {
    Sessions::OnDuplicate duplicate = Sessions::OnDuplicate::kKick;
    absl::Duration login_timeout = absl::Seconds(30);  // 0: no deadline
  };

  struct ConnState {
    // The codec State's mode, copied at each message: on_heartbeat and the Sessions farewell
    // get no codec State, and they must answer in the connection's own framing.
    ChatCodec::Mode mode = ChatCodec::Mode::kSniff;
    // A WHO is being gathered: reading stays paused until its answer is written, so replies
    // keep the order of the commands.
    bool who_pending = false;
  };

  ChatCodec codec;

  ChatHandler() : ChatHandler(Options{}) {}
  explicit ChatHandler(const Options& options);

  void on_open(Connection& c);
  void on_message(Connection& c, std::span<const char> frame, ChatCodec::State& st);
  void on_drain(Connection& c) {
    if (!c.state<ConnState>().who_pending) c.resume_reading();
  }
  void on_close(Connection& c, CloseReason reason);
  // Config::heartbeat_interval: the connection has been silent; ask it for a sign of life.
  void on_heartbeat(Connection& c);
  // The framework closes the connection afterwards.
  void on_codec_error(Connection& c, CodecError e, const ChatCodec::State& st);

 private:
  void OnCommand(Connection& c, ConnState& cs, std::string_view line);
  void Nick(Connection& c, ConnState& cs, std::string_view name);
  void Join(Connection& c, ConnState& cs, std::string_view room);
  void Leave(Connection& c, ConnState& cs, std::string_view room);
  void Msg(Connection& c, ConnState& cs, std::string_view arg);
  void Who(Connection& c, ConnState& cs, std::string_view room);
  void OnWs(Connection& c, ConnState& cs, const WsCodec::State& ws);
  void OnHttp(Connection& c, std::span<const char> frame, ChatCodec::State& st);

  // One reply: a line, or a WebSocket text frame, per the connection's mode.
  static void Reply(Connection& c, ChatCodec::Mode mode,
                    std::initializer_list<std::string_view> parts);
  // "BYE why" (and a WebSocket close frame); the caller closes.
  static void SayBye(Connection& c, ChatCodec::Mode mode, std::string_view why);
  // The Rooms group of a chat room for the members of one transport.
  static Rooms::Id RoomId(std::string_view room, ChatCodec::Mode mode);

  Options options_;
  Sessions sessions_;
  Rooms rooms_;
};

// Whether a NICK or a room name is acceptable (1-32 of [A-Za-z0-9_.-]; 1-64 of [A-Za-z0-9_.#-]).
bool ValidNick(std::string_view nick);
bool ValidRoom(std::string_view room);

}  // namespace percore::apps
