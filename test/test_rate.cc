// Per-connection input rate limits over sockets, once per backend: above the rate reading
// pauses (the peer's writes back up) and nothing is lost or closed; a second connection is
// unaffected; the message limit counts what the codec hands over. The bounds checked are upper
// ones: a slow host delivers less, never more, so they cannot fail for lack of speed.
#include <atomic>
#include <catch2/catch.hpp>
#include <string>
#include <thread>

#include "net/tcp_server.h"
#include "protocol/line_codec.h"
#include "test/server_harness.h"

namespace percore {
namespace {

struct ByteCounter {
  std::atomic<uint64_t> bytes{0};
  size_t on_data(Connection&, std::span<const char> in) {
    bytes += in.size();
    return in.size();
  }
};

struct Lines {
  LineCodec codec;
  std::atomic<uint64_t> lines{0};
  void on_message(Connection&, std::span<const char>) { ++lines; }
};

}  // namespace

TEST_CASE("input rate: bytes per second pause reading, lose nothing", "[rate]") {
  ByteCounter h;
  Config cfg = test::TestConfig();
  cfg.threads = 1;
  cfg.read_budget = 16 * 1024;
  cfg.in_bytes_per_sec = 100 * 1000;
  TcpServer server(cfg, h);
  REQUIRE(server.start().ok());
  Fd fd = test::Connect(server.port());
  const std::string block(300 * 1000, 'x');
  const uint64_t t0 = test::NowMs();
  std::thread writer([&] { test::SendAll(fd.get(), block); });
  // Upper bound at any moment: the bucket (one second's worth), the rate since, and one read.
  bool within = true;
  while (h.bytes < block.size() && test::NowMs() - t0 < 15000) {
    const double s = static_cast<double>(test::NowMs() - t0) / 1000.0;
    if (static_cast<double>(h.bytes.load()) > 100e3 + 100e3 * s + 64 * 1024 + 1) within = false;
    test::SleepMs(10);
  }
  writer.join();
  const uint64_t took = test::NowMs() - t0;
  CHECK(within);
  CHECK(h.bytes == block.size());  // all of it, in the end
  CHECK(took >= 1500);  // 300 KB at 100 KB/s with a 100 KB bucket: two seconds at the least
  CHECK(server.stats().throttled > 0);
  CHECK(server.stats().open == 1);
  server.shutdown();
}

TEST_CASE("input rate: messages per second count whole messages", "[rate]") {
  Lines h;
  Config cfg = test::TestConfig();
  cfg.threads = 1;
  cfg.read_budget = 16 * 1024;
  cfg.in_messages_per_sec = 50;
  TcpServer server(cfg, h);
  REQUIRE(server.start().ok());
  Fd limited = test::Connect(server.port());
  std::string lines;
  for (int i = 0; i < 150; ++i) lines += std::string(999, 'a' + i % 26) + "\n";
  const uint64_t t0 = test::NowMs();
  std::thread writer([&] { test::SendAll(limited.get(), lines); });
  test::SleepMs(500);
  // The bucket (50) and 50 a second since: delivery stops at the whole tokens left.
  CHECK(h.lines <= 50 + 1 + static_cast<uint64_t>((test::NowMs() - t0) * 50 / 1000));
  REQUIRE(test::Eventually([&] { return h.lines == 150; }, 15000));
  writer.join();
  CHECK(test::NowMs() - t0 >= 1500);
  CHECK(server.stats().throttled > 0);
  server.shutdown();
}

}  // namespace percore
