// ConnHandle from foreign threads: backpressure is answered (kBackpressure above the high
// watermark, output_bytes() falls to 0 once the peer reads), and the bytes a reactor holds
// for handle sends are bounded (ResourceExhausted, nothing lost among what was accepted).
// Runs once per backend.
#include <sys/socket.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "net/tcp_server.h"
#include "test/reactor_sync.h"
#include "test/server_harness.h"

namespace percore {
namespace {

// Keeps the handle of every connection; ignores input.
struct HandleKeeper {
  std::mutex mu;
  std::vector<ConnHandle> handles;
  void on_open(Connection& c) {
    std::lock_guard<std::mutex> lock(mu);
    handles.push_back(c.handle());
  }
  size_t on_data(Connection&, std::span<const char> in) { return in.size(); }
  ConnHandle at(size_t i) {
    std::lock_guard<std::mutex> lock(mu);
    return handles.at(i);
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu);
    return handles.size();
  }
};

// Message i of a stream: its index in 8 bytes, then filler, so order and loss both show.
std::string Message(uint64_t i, size_t size) {
  std::string m(size, static_cast<char>('a' + i % 26));
  std::memcpy(m.data(), &i, sizeof i);
  return m;
}

bool CheckStream(const std::string& got, size_t size, uint64_t count) {
  if (got.size() != size * count) return false;
  for (uint64_t i = 0; i < count; ++i) {
    if (got.compare(i * size, size, Message(i, size)) != 0) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("ConnHandle::send answers backpressure; output_bytes() shows the drain", "[handles]") {
  HandleKeeper keeper;
  Config cfg = test::TestConfig();
  cfg.out_high_watermark = 256 * 1024;
  cfg.out_low_watermark = 64 * 1024;
  cfg.out_cap = 64 * 1024 * 1024;
  cfg.sndbuf = 16 * 1024;
  TcpServer server(cfg, keeper);
  REQUIRE(server.start().ok());
  Fd peer = test::Connect(server.port(), 16 * 1024);  // reads nothing until told
  REQUIRE(test::Eventually([&] { return keeper.size() == 1; }));
  ConnHandle h = keeper.at(0);
  const size_t size = 16 * 1024;
  uint64_t sent = 0;
  bool saw_backpressure = false;
  size_t output_seen = 0;
  // A producer on this (foreign) thread that respects backpressure.
  for (int i = 0; i < 200 && !saw_backpressure; ++i) {
    auto r = h.send(Message(sent, size));
    REQUIRE(r.ok());
    ++sent;
    if (*r == SendResult::kBackpressure) {
      saw_backpressure = true;
      output_seen = h.output_bytes();
    }
  }
  CHECK(saw_backpressure);
  // Read a moment after the answer: the reactor may have flushed into the socket buffers since.
  CHECK(output_seen + 160 * 1024 > cfg.out_high_watermark);
  // Once the reactor applied every send, what it still holds is published: all of it but
  // what the two small socket buffers took.
  test::SyncReactor(server, h.reactor_index());
  CHECK(h.output_bytes() + 160 * 1024 > sent * size);
  // The peer starts reading: everything arrives in order and the output drains to zero.
  std::string got = test::RecvExactly(peer.get(), sent * size, 10000);
  CHECK(CheckStream(got, size, sent));
  CHECK(test::Eventually([&] { return h.output_bytes() == 0; }));
  CHECK(server.stats().closed_total() == 0);
  server.shutdown();
}

TEST_CASE("handle sends are bounded in bytes per reactor; refused ones are an answer",
          "[handles]") {
  HandleKeeper keeper;
  Config cfg = test::TestConfig();
  cfg.handle_queue_bytes = 256 * 1024;
  cfg.out_cap = 64 * 1024 * 1024;
  cfg.out_high_watermark = 32 * 1024 * 1024;
  TcpServer server(cfg, keeper);
  REQUIRE(server.start().ok());
  Fd peer = test::Connect(server.port());
  REQUIRE(test::Eventually([&] { return keeper.size() == 1; }));
  ConnHandle h = keeper.at(0);
  // Hold the owning reactor so that nothing is applied while we send.
  test::ReactorBlock block(server, h.reactor_index());
  const size_t size = 10 * 1000;
  uint64_t accepted = 0;
  absl::Status refused;
  for (int i = 0; i < 1000; ++i) {
    auto r = h.send(Message(accepted, size));
    if (!r.ok()) {
      refused = r.status();
      break;
    }
    ++accepted;
  }
  CHECK(refused.code() == absl::StatusCode::kResourceExhausted);
  CHECK(accepted * size <= cfg.handle_queue_bytes);
  CHECK(accepted * size + size > cfg.handle_queue_bytes);
  CHECK(h.output_bytes() == accepted * size);  // pending: posted, not yet applied
  CHECK(server.stats().handle_refused >= 1);
  block.release();
  std::string got = test::RecvExactly(peer.get(), accepted * size, 10000);
  CHECK(CheckStream(got, size, accepted));
  // Once applied, the bound is free again.
  CHECK(h.send(Message(accepted, size)).ok());
  CHECK(test::RecvExactly(peer.get(), size, 5000) == Message(accepted, size));
  server.shutdown();
}

}  // namespace percore
