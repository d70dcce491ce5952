// Sessions over sockets, once per backend: a second login with the same user id kicks the
// older connection (closed gracefully, reason kicked) or is refused; a user is found and sent
// to from a foreign thread on whichever reactor it lives; closes forget users.
#include <atomic>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "net/sessions.h"
#include "net/tcp_server.h"
#include "test/server_harness.h"

namespace percore {
namespace {

// Whatever a connection sends (one write) is its login: "ok\n", or the refusal's code.
struct Login {
  explicit Login(Sessions::OnDuplicate d) : sessions(d) {}
  Sessions sessions;
  size_t on_data(Connection& c, std::span<const char> in) {
    absl::Status s = sessions.bind(c, std::string_view(in.data(), in.size()));
    c.send(s.ok() ? std::string("ok\n") : absl::StatusCodeToString(s.code()) + "\n");
    return in.size();
  }
};

// Connects and logs in as `user`; `answer` is what the server must say to it.
Fd LogIn(uint16_t port, const std::string& user, const std::string& answer) {
  Fd fd = test::Connect(port);
  REQUIRE(test::SendAll(fd.get(), user));
  CHECK(test::RecvExactly(fd.get(), answer.size()) == answer);
  return fd;
}

}  // namespace

TEST_CASE("sessions: a second login kicks the first; sends find the newest", "[sessions]") {
  Login h(Sessions::OnDuplicate::kKick);
  TcpServer server(test::TestConfig(), h);
  REQUIRE(server.start().ok());
  Fd first = LogIn(server.port(), "alice", "ok\n");
  Fd second = LogIn(server.port(), "alice", "ok\n");
  bool closed = false, reset = false;
  CHECK(test::RecvAll(first.get(), 5000, &closed, &reset).empty());
  CHECK(closed);
  CHECK(!reset);  // graceful: what was queued for it went out first
  CHECK(server.stats().closed[size_t(CloseReason::kKicked)] == 1);
  CHECK(h.sessions.size() == 1);  // the kicked connection's close did not forget alice
  REQUIRE(h.sessions.send("alice", Payload::Copy("hi alice\n")).ok());
  CHECK(test::RecvExactly(second.get(), 9) == "hi alice\n");
  // A connection binds once.
  REQUIRE(test::SendAll(second.get(), "bob"));
  CHECK(test::RecvExactly(second.get(), 20) == "FAILED_PRECONDITION\n");
  second.reset();
  CHECK(test::Eventually([&] { return h.sessions.size() == 0; }));
  CHECK(h.sessions.find("alice").status().code() == absl::StatusCode::kNotFound);
  CHECK(h.sessions.send("alice", Payload::Copy("x")).status().code() ==
        absl::StatusCode::kNotFound);
  server.shutdown();
}

TEST_CASE("sessions: kRefuse keeps the first login", "[sessions]") {
  Login h(Sessions::OnDuplicate::kRefuse);
  TcpServer server(test::TestConfig(), h);
  REQUIRE(server.start().ok());
  Fd first = LogIn(server.port(), "alice", "ok\n");
  Fd second = LogIn(server.port(), "alice", "ALREADY_EXISTS\n");
  REQUIRE(h.sessions.send("alice", Payload::Copy("still you\n")).ok());
  CHECK(test::RecvExactly(first.get(), 10) == "still you\n");
  CHECK(server.stats().closed[size_t(CloseReason::kKicked)] == 0);
  server.shutdown();
}

TEST_CASE("sessions: users on every reactor, sent to from a foreign thread", "[sessions]") {
  Login h(Sessions::OnDuplicate::kKick);
  Config cfg = test::TestConfig();
  cfg.threads = 4;
  TcpServer server(cfg, h);
  REQUIRE(server.start().ok());
  std::vector<Fd> users;
  for (int i = 0; i < 20; ++i) {
    users.push_back(LogIn(server.port(), "user" + std::to_string(i), "ok\n"));
  }
  CHECK(h.sessions.size() == 20);
  for (int i = 0; i < 20; ++i) {
    std::string m = "to user" + std::to_string(i) + std::string(1000, '.') + "\n";
    REQUIRE(h.sessions.send("user" + std::to_string(i), Payload::Copy(m)).ok());
  }
  for (int i = 0; i < 20; ++i) {
    std::string m = "to user" + std::to_string(i) + std::string(1000, '.') + "\n";
    CHECK(test::RecvExactly(users[i].get(), m.size()) == m);
  }
  std::vector<uint64_t> per = server.stats().open_per_reactor;
  CHECK(per.size() == 4);
  users.clear();
  CHECK(test::Eventually([&] { return h.sessions.size() == 0; }));
  server.shutdown();
}

// require_bind: a connection that has not logged in by its deadline is closed (auth_timeout);
// one that did is left alone.
TEST_CASE("sessions: require_bind closes who did not log in in time", "[sessions]") {
  struct Strict : Login {
    Strict() : Login(Sessions::OnDuplicate::kKick) {}
    void on_open(Connection& c) {
      c.send(std::string_view("login?\n"));
      sessions.require_bind(c, absl::Seconds(1));
    }
  } h;
  TcpServer server(test::TestConfig(), h);
  REQUIRE(server.start().ok());
  Fd quick = test::Connect(server.port());
  Fd silent = test::Connect(server.port());
  CHECK(test::RecvExactly(quick.get(), 7) == "login?\n");
  REQUIRE(test::SendAll(quick.get(), "alice"));
  CHECK(test::RecvExactly(quick.get(), 3) == "ok\n");
  bool closed = false;
  CHECK(test::RecvAll(silent.get(), 5000, &closed) == "login?\n");  // the notice, then EOF
  CHECK(closed);
  CHECK(server.stats().closed[size_t(CloseReason::kAuthTimeout)] == 1);
  test::SleepMs(200);  // alice's deadline has passed too
  CHECK(server.stats().open == 1);
  REQUIRE(h.sessions.send("alice", Payload::Copy("still here\n")).ok());
  CHECK(test::RecvExactly(quick.get(), 11) == "still here\n");
  server.shutdown();
}

// set_farewell: the connection Sessions closes (kicked, or no login by its deadline) gets the
// application's goodbye first, written on its own reactor with its own Connection, also when
// the newer login is on another reactor.
TEST_CASE("sessions: the farewell reaches a kicked or timed-out connection first", "[sessions]") {
  struct Polite : Login {
    Polite() : Login(Sessions::OnDuplicate::kKick) {
      sessions.set_farewell([this](Connection& c, CloseReason why) {
        farewells_on_wrong_thread += !c.reactor().in_loop_thread();
        c.send(std::string_view(why == CloseReason::kKicked ? "bye kicked\n" : "bye late\n"));
      });
    }
    void on_open(Connection& c) { sessions.require_bind(c, absl::Milliseconds(500)); }
    std::atomic<int> farewells_on_wrong_thread{0};
  } h;
  Config cfg = test::TestConfig();
  cfg.accept_mode = AcceptMode::kRoundRobin;  // consecutive connections on different reactors
  TcpServer server(cfg, h);
  REQUIRE(server.start().ok());
  for (int i = 0; i < 4; ++i) {  // same reactor and the other one, whichever comes first
    const std::string user = "alice" + std::to_string(i);
    Fd first = LogIn(server.port(), user, "ok\n");
    if (i % 2 == 1) Fd filler = test::Connect(server.port());  // the next one lands elsewhere
    Fd second = LogIn(server.port(), user, "ok\n");
    bool closed = false, reset = false;
    CHECK(test::RecvAll(first.get(), 5000, &closed, &reset) == "bye kicked\n");
    CHECK(closed);
    CHECK(!reset);
  }
  Fd silent = test::Connect(server.port());
  bool closed = false;
  CHECK(test::RecvAll(silent.get(), 5000, &closed) == "bye late\n");
  CHECK(closed);
  CHECK(h.farewells_on_wrong_thread == 0);
  CHECK(server.stats().closed[size_t(CloseReason::kKicked)] == 4);
  server.shutdown();
}

// Many deadlines: in order they share one queue, a shorter one out of order gets its own timer;
// each silent connection is closed at its own deadline, in deadline order, and one that logged
// in in time stays.
TEST_CASE("sessions: login deadlines in and out of order", "[sessions]") {
  struct Mixed : Login {
    Mixed() : Login(Sessions::OnDuplicate::kKick) {}
    std::atomic<int> opened{0};
    void on_open(Connection& c) {
      // The 2nd connection's deadline is shorter than the 1st's: out of the queue's order.
      const int n = opened++;
      sessions.require_bind(c, absl::Milliseconds(n == 1 ? 300 : 900));
    }
  } h;
  Config cfg = test::TestConfig();
  cfg.threads = 1;  // one reactor, one queue
  TcpServer server(cfg, h);
  REQUIRE(server.start().ok());
  std::vector<Fd> fds;
  for (int i = 0; i < 5; ++i) {
    fds.push_back(test::Connect(server.port()));
    REQUIRE(test::Eventually([&] { return h.opened.load() == i + 1; }));
  }
  REQUIRE(test::SendAll(fds[4].get(), "alice"));
  CHECK(test::RecvExactly(fds[4].get(), 3) == "ok\n");
  CHECK(test::WaitClosed(fds[1].get(), 5000));  // the 300 ms one first...
  bool closed = false;
  test::RecvAll(fds[0].get(), 200, &closed);
  CHECK(!closed);  // ...while the 900 ms ones before it in the queue still wait
  for (int i : {0, 2, 3}) CHECK(test::WaitClosed(fds[i].get(), 5000));
  CHECK(server.stats().closed[size_t(CloseReason::kAuthTimeout)] == 4);
  test::SleepMs(100);
  CHECK(server.stats().open == 1);  // alice
  server.shutdown();
}

}  // namespace percore
