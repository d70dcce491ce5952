#include <catch2/catch.hpp>
#include <string>

#include "net/address.h"
#include "reactor/config.h"
#include "reactor/stats.h"

namespace percore {

TEST_CASE("default config is valid", "[config]") { CHECK(Config().Validate().ok()); }

TEST_CASE("bad config values are refused with a clear message", "[config]") {
  Config c;
  c.out_low_watermark = c.out_high_watermark + 1;
  absl::Status s = c.Validate();
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(s.message().find("out_low_watermark") != std::string_view::npos);
  c = Config();
  c.chunk_size = 5000;
  CHECK(!c.Validate().ok());
  c = Config();
  c.threads = -1;
  CHECK(!c.Validate().ok());
  c = Config();
  c.out_cap = c.out_high_watermark - 1;
  CHECK(!c.Validate().ok());
  c = Config();
  c.linger_timeout = absl::Milliseconds(-1);
  CHECK(c.Validate().message().find("timeouts") != std::string_view::npos);
  for (absl::Duration d : {absl::Microseconds(-1), absl::Seconds(1) + absl::Nanoseconds(1)}) {
    c = Config();
    c.busy_poll = d;
    CHECK(c.Validate().message().find("busy_poll must be in [0, 1s]") != std::string_view::npos);
  }
  c.busy_poll = absl::Seconds(1);
  CHECK(c.Validate().ok());
  BackendKind k;
  CHECK(ParseBackend("io_uring", &k).ok());
  CHECK(k == BackendKind::kIoUring);
  CHECK(!ParseBackend("kqueue", &k).ok());
  AcceptMode m;
  CHECK(ParseAcceptMode("least_conns", &m).ok());
  CHECK(m == AcceptMode::kLeastConns);
  CHECK(!ParseAcceptMode("random", &m).ok());
}

TEST_CASE("addresses parse for IPv4, IPv6 and Unix sockets", "[config]") {
  auto v4 = Address::Parse("127.0.0.1:8080");
  REQUIRE(v4.ok());
  CHECK(v4->port() == 8080);
  CHECK(v4->ToString() == "127.0.0.1:8080");
  auto v6 = Address::Parse("[::1]:9000");
  REQUIRE(v6.ok());
  CHECK(v6->family() == AF_INET6);
  CHECK(v6->ToString() == "[::1]:9000");
  auto un = Address::Parse("unix:/tmp/percore.sock");
  REQUIRE(un.ok());
  CHECK(un->is_unix());
  CHECK(!Address::Parse("127.0.0.1").ok());
  CHECK(!Address::Parse("127.0.0.1:99999").ok());
  CHECK(!Address::Parse("example.com:80").ok());
  CHECK(!Address::Parse("[::1:80").ok());
}

}  // namespace percore

TEST_CASE("Prometheus text: every counter, totals and per reactor", "[stats]") {
  percore::ReactorStats a, b;
  a.accepted.add(3);
  b.accepted.add(4);
  b.frames_in.add(7);
  a.handle_refused.add(1);
  b.handoffs_failed.add(2);
  a.posts_dropped.add(5);
  b.tasks.add(9);
  a.offload_dropped.add(6);
  b.open.add(2);
  a.closed[size_t(percore::CloseReason::kMalformed)].add(1);
  percore::StatsSnapshot s;
  s.add(a);
  s.add(b);
  std::string p = s.ToPrometheus();
  for (const char* line :
       {"percore_connections_accepted_total 7\n", "percore_frames_in_total 7\n",
        "percore_handle_sends_refused_total 1\n", "percore_handoffs_failed_total 2\n",
        "percore_posts_dropped_total 5\n", "percore_tasks_total 9\n",
        "percore_buffer_pool_failures_total 0\n", "percore_offload_results_dropped_total 6\n",
        "percore_connections_open 2\n", "percore_reactor_connections_open{reactor=\"1\"} 2\n",
        "percore_reactor_connections_accepted_total{reactor=\"0\"} 3\n",
        "percore_reactor_connections_accepted_total{reactor=\"1\"} 4\n",
        "percore_reactor_frames_in_total{reactor=\"1\"} 7\n",
        "percore_connections_closed_total{reason=\"malformed\"} 1\n",
        "percore_reactor_connections_closed_total{reactor=\"0\",reason=\"malformed\"} 1\n",
        "# TYPE percore_reactor_posts_dropped_total counter\n"}) {
    CHECK(p.find(line) != std::string::npos);
  }
  CHECK(s.reactors == 2);
  CHECK(s.open_per_reactor == std::vector<uint64_t>{0, 2});
}
