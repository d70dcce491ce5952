// TcpClient against the real redis-server (Debian's binary, one per test on a free loopback
// port, killed by PID): requests encoded with the RESP encoders, replies decoded with
// RespReplyCodec. 100 PING/SET/GET commands in one write, every reply matched in order; then
// redis-server is killed and started again on the same port: the client backs off, reconnects
// and the next commands succeed. Fails (does not skip) without redis-server on PATH: the test
// command installs it (tools/setup.sh --test).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "net/client_group.h"
#include "net/tcp_client.h"
#include "protocol/resp_codec.h"
#include "protocol/resp_reply.h"
#include "reactor/fd.h"
#include "test/server_harness.h"

extern char** environ;

namespace percore {
namespace {

using test::Eventually;

std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  for (size_t at = 0; at <= dirs.size();) {
    size_t end = dirs.find(':', at);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(at, end - at) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    at = end + 1;
  }
  return "";
}

bool Accepting(uint16_t port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

// One redis-server process, no persistence, output to /dev/null; killed by its PID.
class RedisServer {
 public:
  RedisServer(const std::string& binary, uint16_t port) {
    const std::string p = std::to_string(port);
    std::vector<std::string> args = {
        binary, "--port",      p,    "--bind",    "127.0.0.1", "--save", "", "--appendonly",
        "no",   "--daemonize", "no", "--logfile", "/dev/null"};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    if (::posix_spawn(&pid_, binary.c_str(), &fa, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  ~RedisServer() { kill(); }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;
  bool running() const { return pid_ > 0; }
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

// The client side: each reply decoded into "type:text" ("+:PONG", "$:v1", "null"...).
struct RedisClient {
  RespReplyCodec codec;
  std::mutex mu;
  std::vector<std::string> replies;
  std::atomic<int> opens{0}, closes{0};

  void on_open(Connection&) { ++opens; }
  void on_close(Connection&, CloseReason) { ++closes; }
  void on_message(Connection&, std::span<const char> frame) {
    RespReplyReader r(frame);
    std::string text;
    for (RespValue v; r.Next(v);) {
      if (!text.empty()) text += ' ';
      switch (v.type) {
        case RespType::kSimple:
          text += "+:" + std::string(v.text);
          break;
        case RespType::kError:
          text += "-:" + std::string(v.text);
          break;
        case RespType::kInteger:
          text += ":" + std::to_string(v.integer);
          break;
        case RespType::kBulk:
          text += "$:" + std::string(v.text);
          break;
        case RespType::kNull:
          text += "null";
          break;
        case RespType::kArray:
          text += "*" + std::to_string(v.integer);
          break;
      }
    }
    std::lock_guard lock(mu);
    replies.push_back(std::move(text));
  }
  size_t count() {
    std::lock_guard lock(mu);
    return replies.size();
  }
};

// One command as a RESP array of bulk strings, appended to `out`.
void Command(std::string& out, std::initializer_list<std::string_view> words) {
  RespArrayHeader(out, words.size());
  for (std::string_view w : words) RespBulk(out, w);
}

TEST_CASE("redis: PING/SET/GET pipelined against redis-server, then a restart", "[redis]") {
  const std::string binary = FindOnPath("redis-server");
  {
    INFO("redis-server must be on PATH: tools/setup.sh --test installs it");
    REQUIRE(!binary.empty());
  }
  const uint16_t port = test::UnusedPort();
  auto redis = std::make_unique<RedisServer>(binary, port);
  REQUIRE(redis->running());
  REQUIRE(Eventually([&] { return Accepting(port); }));

  RedisClient handler;
  Config config = test::TestConfig();
  config.threads = 1;
  ClientGroup group(config, handler);
  REQUIRE(group.start().ok());
  std::mutex mu;
  std::vector<uint64_t> delays;
  std::vector<ConnectError> failures;
  ClientOptions o;
  o.reconnect.initial = absl::Milliseconds(20);
  o.reconnect.max = absl::Milliseconds(80);
  o.on_reconnect_scheduled = [&](uint64_t ms) {
    std::lock_guard lock(mu);
    delays.push_back(ms);
  };
  o.on_connect_failed = [&](const ConnectFailure& f) {
    std::lock_guard lock(mu);
    failures.push_back(f.error);
  };
  TcpClient client(group, 0, "127.0.0.1:" + std::to_string(port), o);
  REQUIRE(client.start().ok());
  REQUIRE(Eventually([&] { return client.handle().valid(); }));

  // 100 commands, one write: PING, SET k<i> v<i>, GET k<i-1> over and over.
  std::string batch;
  std::vector<std::string> want;
  for (int i = 0; i < 100; ++i) {
    const std::string key = "k" + std::to_string(i), prev = "k" + std::to_string(i - 1);
    switch (i % 3) {
      case 0:
        Command(batch, {"PING"});
        want.push_back("+:PONG");
        break;
      case 1:
        Command(batch, {"SET", key, "v" + std::to_string(i)});
        want.push_back("+:OK");
        break;
      default:
        Command(batch, {"GET", prev});
        want.push_back("$:v" + std::to_string(i - 1));
        break;
    }
  }
  REQUIRE(client.handle().send(batch).ok());
  REQUIRE(Eventually([&] { return handler.count() == 100; }));
  {
    std::lock_guard lock(handler.mu);
    CHECK(handler.replies == want);
  }

  // Killed: the client backs off against the closed port; started again on the same port,
  // it reconnects and serves (an empty server: k1 is gone).
  redis->kill();
  // At least 1: a retry may land in the dying listener's backlog (seen under io_uring) and
  // close again before this thread looks.
  REQUIRE(Eventually([&] { return handler.closes >= 1; }));
  REQUIRE(Eventually([&] {
    std::lock_guard lock(mu);
    return failures.size() >= 2;
  }));
  CHECK(client.attempts() >= 2);
  redis = std::make_unique<RedisServer>(binary, port);
  REQUIRE(redis->running());
  REQUIRE(Eventually([&] { return handler.opens >= 2 && client.handle().valid(); }));
  std::string after;
  Command(after, {"GET", "k1"});
  Command(after, {"SET", "a", "1"});
  Command(after, {"INCR", "a"});
  Command(after, {"GET", "a"});
  REQUIRE(client.handle().send(after).ok());
  REQUIRE(Eventually([&] { return handler.count() == 104; }));
  std::lock_guard lock(handler.mu);
  CHECK(std::vector<std::string>(handler.replies.begin() + 100, handler.replies.end()) ==
        std::vector<std::string>{"null", "+:OK", ":2", "$:2"});
  std::lock_guard lock2(mu);
  REQUIRE(delays.size() >= 2);
  for (uint64_t d : delays) CHECK(d <= 80);  // drawn under the back-off's ceiling
  for (ConnectError e : failures) CHECK(e == ConnectError::kRefused);
}

}  // namespace
}  // namespace percore
