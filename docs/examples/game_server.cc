// A length-framed game server: every message is [u16 len][u16 msg id][body] (big endian, len
// counts msg id + body); it answers by message id. Usage: game_server [PORT]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>

#include "net/tcp_server.h"
#include "protocol/length_field_codec.h"

enum MsgId : uint16_t { kLogin = 1, kMove = 2, kWelcome = 101, kPosition = 102, kError = 255 };

struct Game {
  struct ConnState {  // in the connection's slab slot, next to the codec's state
    bool logged_in = false;
    int16_t x = 0, y = 0;
  };
  // The frame's 2-byte length is stripped: on_message gets [msg id][body].
  percore::LengthFieldCodec codec{
      {.length_field_length = 2, .initial_bytes_to_strip = 2, .max_frame = 4096}};

  void reply(percore::Connection& c, uint16_t id, std::string_view body) {
    char head[2] = {char(id >> 8), char(id & 0xFF)};
    codec.encode(c, {std::string_view(head, 2), body});
  }
  void on_message(percore::Connection& c, std::span<const char> msg) {
    if (msg.size() < 2) return c.close();  // no message id: a broken client
    uint16_t id = uint16_t(uint8_t(msg[0]) << 8 | uint8_t(msg[1]));
    std::string_view body(msg.data() + 2, msg.size() - 2);
    ConnState& s = c.state<ConnState>();
    if (id == kLogin) {
      s.logged_in = true;
      reply(c, kWelcome, "welcome " + std::string(body));
    } else if (id == kMove && s.logged_in && body.size() == 4) {
      s.x = int16_t(s.x + int8_t(body[1])), s.y = int16_t(s.y + int8_t(body[3]));
      reply(c, kPosition, std::to_string(s.x) + "," + std::to_string(s.y));
    } else {
      reply(c, kError, s.logged_in ? "bad message" : "log in first");
    }
  }
};

int main(int argc, char** argv) {
  percore::Config config;
  config.listen = "127.0.0.1:" + std::string(argc > 1 ? argv[1] : "7000");
  config.idle_timeout = absl::Minutes(2);  // players that vanish are evicted
  Game game;
  percore::TcpServer server(config, game);
  if (absl::Status s = server.start(); !s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    return 1;
  }
  std::puts(server.startup_note().c_str());
  server.wait();
}
