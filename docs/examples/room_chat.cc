// Rooms over a line protocol: "join ROOM", "leave ROOM", "say ROOM TEXT". A said line reaches
// every member of the room, on whichever reactor it lives, as one shared payload; a member
// that stops reading is skipped for the messages it cannot take. Usage: room_chat [PORT]
#include <cstdio>
#include <span>
#include <string>
#include <string_view>

#include "net/rooms.h"
#include "net/tcp_server.h"
#include "protocol/line_codec.h"

struct Chat {
  percore::LineCodec codec{{.delimiter = "\n", .max_line = 4096, .strip_cr = true}};
  percore::Rooms rooms;

  void on_message(percore::Connection& c, std::span<const char> line) {
    std::string_view cmd(line.data(), line.size()), arg;
    if (size_t sp = cmd.find(' '); sp != cmd.npos)
      arg = cmd.substr(sp + 1), cmd = cmd.substr(0, sp);
    std::string_view room = arg.substr(0, arg.find(' '));
    if (cmd == "join" && !room.empty()) {
      rooms.join(c, percore::Rooms::Named(room));
    } else if (cmd == "leave") {
      rooms.leave(c, percore::Rooms::Named(room));
    } else if (cmd == "say" && room.size() < arg.size()) {
      std::string text = std::string(room) + ": " + std::string(arg.substr(room.size() + 1)) + "\n";
      auto sent = rooms.publish(percore::Rooms::Named(room), percore::Payload::Copy(text),
                                percore::Rooms::Slow::kDrop);
      if (!sent.ok()) c.send("error: " + std::string(sent.status().message()) + "\n");
    } else {
      c.send(std::string_view("error: join ROOM | leave ROOM | say ROOM TEXT\n"));
    }
  }
};

int main(int argc, char** argv) {
  percore::Config config;
  config.listen = "127.0.0.1:" + std::string(argc > 1 ? argv[1] : "7001");
  Chat chat;
  percore::TcpServer server(config, chat);
  if (absl::Status s = server.start(); !s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    return 1;
  }
  std::puts(server.startup_note().c_str());
  server.wait();
}
