// The fan-out bench against a real misbehaving server: a tiny Redis pub/sub (SUBSCRIBE,
// PUBLISH over percore's Rooms) that, once, duplicates a message, swaps two or drops one. The
// bench must pass the honest server and name each fault; otherwise its figures mean nothing.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "net/rooms.h"
#include "net/tcp_server.h"
#include "protocol/resp_codec.h"
#include "test/server_harness.h"
#include "tools/fanout_load.h"

namespace percore {
namespace {

enum class Fault { kNone, kDuplicate, kSwap, kDrop };

struct PubSub {
  explicit PubSub(Fault f) : fault(f) {}
  RespCodec codec;
  Rooms rooms;
  Fault fault;
  Payload held;  // kSwap: the message kept back until the next one went out
  uint64_t published = 0;

  static std::string Bulk(std::string_view s) {
    return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
  }

  void on_message(Connection& c, std::span<const char> msg) {
    std::vector<std::string_view> args;
    if (!RespCodec::ParseArgs(msg, args) || args.size() < 2) return;
    if (args[0] == "SUBSCRIBE") {
      rooms.join(c, Rooms::Named(args[1]));
      c.send("*3\r\n$9\r\nsubscribe\r\n" + Bulk(args[1]) + ":1\r\n");
      return;
    }
    if (args[0] != "PUBLISH" || args.size() != 3) return;
    const Rooms::Id room = Rooms::Named(args[1]);
    Payload p = Payload::Copy("*3\r\n$7\r\nmessage\r\n" + Bulk(args[1]) + Bulk(args[2]));
    const uint64_t n = published++;
    const bool faulty = n == 100;
    if (faulty && fault == Fault::kSwap) {
      held = p;
    } else if (!(faulty && fault == Fault::kDrop)) {
      (void)rooms.publish(room, p);
      if (faulty && fault == Fault::kDuplicate) (void)rooms.publish(room, p);
      if (n == 101 && !held.empty()) (void)rooms.publish(room, std::exchange(held, Payload()));
    }
    c.send(":" + std::to_string(rooms.size(room)) + "\r\n");
  }
};

tools::FanoutResult Drive(Fault fault, int rooms, double rate = 0) {
  PubSub server(fault);
  TcpServer tcp(test::TestConfig(), server);
  REQUIRE(tcp.start().ok());
  tools::FanoutOptions opt;
  opt.target.port = tcp.port();
  opt.target.protocol = tools::FanoutProtocol::kRedis;
  opt.members = 20;
  opt.rooms = rooms;
  opt.rate = rate;
  opt.burst = 4;
  opt.warmup_s = 0.1;
  opt.duration_s = 0.3;
  opt.drain_s = 1;
  opt.threads = 2;
  auto load = tools::FanoutLoad::Connect(opt);
  REQUIRE(load.ok());
  tools::FanoutResult r = (*load)->Run(-1);
  load->reset();
  tcp.shutdown();
  return r;
}

}  // namespace

TEST_CASE("fanout load: an honest pub/sub server passes, windowed and at a fixed rate",
          "[fanout]") {
  tools::FanoutResult r = Drive(Fault::kNone, 2);
  INFO(r.errors.ToString() << " " << r.first_error);
  CHECK(r.errors.total() == 0);
  CHECK(r.deliveries > 0);
  // 20 members in two rooms get 10 copies of each message; the window's edges blur it by
  // what is in flight there (64 messages).
  CHECK(r.deliveries >= (r.published - 64) * 10);
  CHECK(r.deliveries <= (r.published + 64) * 10);
  r = Drive(Fault::kNone, 1, 2000);
  CHECK(r.errors.total() == 0);
  CHECK(r.published > 300);
}

TEST_CASE("fanout load: a duplicated message is caught at every member of its room", "[fanout]") {
  tools::FanoutResult r = Drive(Fault::kDuplicate, 2);
  INFO(r.errors.ToString());
  CHECK(r.errors[tools::FanoutError::kDuplicate] == 10);
  CHECK(r.errors.total() == 10);
}

TEST_CASE("fanout load: two messages swapped are a reorder", "[fanout]") {
  tools::FanoutResult r = Drive(Fault::kSwap, 1);
  INFO(r.errors.ToString());
  CHECK(r.errors[tools::FanoutError::kReorder] == 20);
  CHECK(r.errors.total() == 20);
}

TEST_CASE("fanout load: a dropped message is a gap", "[fanout]") {
  tools::FanoutResult r = Drive(Fault::kDrop, 1);
  INFO(r.errors.ToString());
  CHECK(r.errors[tools::FanoutError::kGap] == 20);
  CHECK(r.errors.total() == 20);
}

}  // namespace percore
