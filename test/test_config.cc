#include <catch2/catch.hpp>

#include "net/address.h"
#include "reactor/config.h"

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
