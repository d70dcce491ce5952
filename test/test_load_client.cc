// The bench's load client must catch a server that corrupts a byte, or it measures nothing.
#include <catch2/catch.hpp>

#include "net/tcp_server.h"
#include "test/server_harness.h"
#include "tools/apps/echo.h"
#include "tools/load_client.h"

namespace percore {
namespace {

// Echoes, but flips one byte once ~100 KB have gone by.
struct Corrupter {
  std::atomic<uint64_t> seen{0};
  size_t on_data(Connection& c, std::span<const char> in) {
    std::string copy(in.data(), in.size());
    uint64_t before = seen.fetch_add(in.size());
    if (before < 100000 && before + in.size() >= 100000) copy[0] ^= 1;
    c.send(copy);
    return in.size();
  }
};

template <class H>
tools::LoadResult Drive(H& handler) {
  TcpServer server(test::TestConfig(), handler);
  REQUIRE(server.start().ok());
  tools::LoadOptions opt;
  opt.port = server.port();
  opt.conns = 8;
  opt.depth = 4;
  opt.warmup_s = 0.1;
  opt.duration_s = 0.4;
  auto r = tools::RunEchoLoad(opt);
  REQUIRE(r.ok());
  server.shutdown();
  return *r;
}

}  // namespace

TEST_CASE("load client: a correct echo server passes with messages measured", "[bench]") {
  apps::EchoHandler echo;
  tools::LoadResult r = Drive(echo);
  CHECK(r.errors == 0);
  CHECK(r.msgs > 0);
  CHECK(r.p50_us > 0);
  CHECK(r.p99_us >= r.p50_us);
}

TEST_CASE("load client: one corrupted byte is an error", "[bench]") {
  Corrupter bad;
  tools::LoadResult r = Drive(bad);
  CHECK(r.errors == 1);
  CHECK(r.first_error.find("differs") != std::string::npos);
}

TEST_CASE("load client: refuses more connections than the fd limit allows", "[bench]") {
  tools::LoadOptions opt;
  opt.port = 1;
  opt.conns = 10'000'000;
  auto r = tools::RunEchoLoad(opt);
  CHECK(r.status().code() == absl::StatusCode::kResourceExhausted);
}

}  // namespace percore
