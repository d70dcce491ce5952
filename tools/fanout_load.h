// The fan-out load of `percore bench --fanout`: N members in R rooms and one publisher. The
// publisher sends messages at a fixed rate (open loop) or keeps a window of them in flight
// (it sends message k only once every member has message k - window), `burst` per write();
// every member checks each message of its room arrives once and in order. Members stay
// connected across rounds, so alternating rounds against several servers compare like with like.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/fanout_check.h"
#include "tools/fanout_conns.h"

namespace percore::tools {

struct FanoutOptions {
  FanoutTarget target;
  int members = 1000;
  int rooms = 1;
  size_t size = 64;  // bytes of each message's text
  double rate = 0;   // messages/s, open loop; 0: as fast as the window lets
  int window = 64;   // messages in flight when rate is 0
  int burst = 1;     // messages per write()
  double warmup_s = 0.3, duration_s = 1;
  double drain_s = 3;  // after the measured window: how long members may take to catch up
  int threads = 1;     // client threads the members are spread over
};

struct FanoutResult {
  uint64_t published = 0, deliveries = 0;  // in the measured window
  double msgs_per_s = 0, deliveries_per_s = 0;
  double server_cpu_us = -1;  // server CPU in the measured window (-1: no pid given)
  FanoutErrors errors;        // the whole round, drain included
  std::string first_error;
};

class FanoutLoad {
 public:
  // Connects and joins the members (NICK m<i>, JOIN lobby<i % rooms>; or SUBSCRIBE) and the
  // publisher.
  static absl::StatusOr<std::unique_ptr<FanoutLoad>> Connect(const FanoutOptions& opt);
  // Joins `n` members to one room ("lobby") and holds them, idle, until destroyed: no publisher.
  // Members named <prefix>0 .. <prefix>n-1.
  static absl::StatusOr<std::unique_ptr<FanoutLoad>> ConnectIdle(const FanoutTarget& target, int n,
                                                                 std::string_view prefix = "m");
  ~FanoutLoad();

  // One round: warm-up, measured window, drain. `server_pid` > 0: its CPU is read at the
  // window's edges.
  FanoutResult Run(pid_t server_pid);

  static std::string RoomName(int rooms, uint32_t room);

 private:
  struct Shared;
  FanoutLoad() = default;
  void RunThread(int t, Shared& s, FanoutResult& r);

  FanoutOptions opt_;
  std::vector<FanoutConn> members_;
  std::vector<FanoutConn> publisher_;  // one, or none when idle
  std::vector<uint64_t> sent_;         // per room: messages published so far (the next seq)
  uint64_t next_k_ = 0;                // messages published so far, all rooms
};

}  // namespace percore::tools
