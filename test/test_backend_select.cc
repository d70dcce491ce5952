// Backend selection when the kernel refuses io_uring, for real: a child process installs a
// seccomp filter that makes io_uring_setup fail with EPERM (what default container profiles
// do), then starts servers with backend = auto and backend = io_uring.
#include <seccomp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <string>

#include "net/tcp_server.h"
#include "test/server_harness.h"
#include "tools/apps/echo.h"

namespace percore {
namespace {

// Runs fn in a forked child with io_uring_setup refused; returns the child's exit code.
template <class Fn>
int InChildWithoutIoUring(Fn fn) {
  pid_t pid = ::fork();
  if (pid == 0) {
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (ctx == nullptr ||
        seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(io_uring_setup), 0) != 0 ||
        seccomp_load(ctx) != 0) {
      ::_exit(90);
    }
    seccomp_release(ctx);
    ::_exit(fn());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

TEST_CASE("backend = auto falls back to epoll when io_uring is refused, and says why",
          "[backend]") {
  int rc = InChildWithoutIoUring([] {
    apps::EchoHandler echo;
    Config cfg = test::TestConfig();
    cfg.backend = BackendKind::kAuto;
    cfg.threads = 1;
    TcpServer server(cfg, echo);
    if (!server.start().ok()) return 1;
    std::string note = server.startup_note();
    if (server.stats().backend.rfind("epoll", 0) != 0) return 2;
    if (note.find("io_uring unavailable") == std::string::npos) return 3;
    if (note.find("Operation not permitted") == std::string::npos) return 4;
    Fd fd = test::Connect(server.port());  // and it serves
    if (!test::SendAll(fd.get(), "ok") || test::RecvExactly(fd.get(), 2) != "ok") return 5;
    server.shutdown();
    return 0;
  });
  CHECK(rc == 0);
}

TEST_CASE("backend = io_uring fails start-up with the reason and the fix", "[backend]") {
  int rc = InChildWithoutIoUring([] {
    apps::EchoHandler echo;
    Config cfg = test::TestConfig();
    cfg.backend = BackendKind::kIoUring;
    cfg.threads = 1;
    TcpServer server(cfg, echo);
    absl::Status st = server.start();
    if (st.ok()) return 1;
    std::string msg(st.message());
    if (msg.find("io_uring") == std::string::npos) return 2;
    if (msg.find("Operation not permitted") == std::string::npos) return 3;
    if (msg.find("epoll") == std::string::npos) return 4;  // tells how to get going
    return 0;
  });
  CHECK(rc == 0);
}

TEST_CASE("backend = auto uses io_uring where the kernel allows it", "[backend]") {
  apps::EchoHandler echo;
  Config cfg = test::TestConfig();
  cfg.backend = BackendKind::kAuto;
  TcpServer server(cfg, echo);
  REQUIRE(server.start().ok());
  std::string backend = server.stats().backend;
  INFO(server.startup_note());
  // Asked independently of the server: can this build and kernel make a ring at all?
  Config probe_cfg = cfg;
  absl::Status probe = MakeUringBackend(probe_cfg, nullptr).status();
  INFO("io_uring probe: " << probe);
  if (probe.ok()) {
    CHECK(backend.rfind("io_uring", 0) == 0);
  } else {
    CHECK(backend.rfind("epoll", 0) == 0);
    CHECK(!server.reactors().at(0).fallback_note().empty());
  }
  Fd fd = test::Connect(server.port());
  REQUIRE(test::SendAll(fd.get(), "hey"));
  CHECK(test::RecvExactly(fd.get(), 3) == "hey");
  server.shutdown();
}

}  // namespace percore
