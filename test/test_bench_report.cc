// percore bench's front end without servers: the verdict line (which server, by how much,
// against whom), thousands separators, the --compare forms and their errors, the --hdr-out
// file names and the CSV rows.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tools/bench_contenders.h"
#include "tools/bench_report.h"

using percore::tools::BenchCase;
using percore::tools::BenchCsv;
using percore::tools::BenchRow;
using percore::tools::BenchRun;
using percore::tools::ContenderSpec;
using percore::tools::FormatNumber;
using percore::tools::HdrFileName;
using percore::tools::ParseContenders;
using percore::tools::Verdict;

namespace {

BenchRow Row(std::string server, double cpu, double ratio, std::vector<double> rounds) {
  BenchRow r;
  r.server = std::move(server);
  r.kind = "builtin";
  r.r.msgs = 1000;
  r.r.msgs_per_s = 100000 * ratio;
  r.server_us_per_msg = cpu;
  r.ratio = ratio;
  r.round_us_per_msg = std::move(rounds);
  r.ok = true;
  return r;
}

}  // namespace

TEST_CASE("thousands separators", "[bench]") {
  CHECK(FormatNumber(1234567.89, 1, true) == "1,234,567.9");
  CHECK(FormatNumber(999, 0, true) == "999");
  CHECK(FormatNumber(1000, 0, true) == "1,000");
  CHECK(FormatNumber(-1234, 0, true) == "-1,234");
  CHECK(FormatNumber(1234567.89, 1, false) == "1234567.9");
}

TEST_CASE("the verdict names the cheaper server, by how much, against the first", "[bench]") {
  BenchCase c;
  c.conns = 50;
  c.depth = 1;
  c.rows = {Row("epoll", 0.47, 1.0, {0.46, 0.47, 0.50}),
            Row("io_uring", 0.41, 1.02, {0.40, 0.48, 0.41})};
  CHECK(Verdict(c) ==
        "50 conns, depth 1: io_uring spent 13% less server CPU per message than epoll (0.41 vs "
        "0.47 us); throughput 1.02x; lower in 2 of 3 rounds");
  // Three servers: the cheapest against the first entry, not against the runner-up.
  c.rows.insert(c.rows.begin() + 1, Row("raw", 0.43, 1.01, {0.43, 0.43, 0.43}));
  CHECK(
      Verdict(c).starts_with("50 conns, depth 1: io_uring spent 13% less server CPU per "
                             "message than epoll (0.41 vs 0.47 us)"));
  // The first entry cheapest: compared with the runner-up; a server without CPU figures
  // (already running, not started by bench) is left out.
  BenchRow remote = Row("there", -1, 2.0, {});
  c.rows = {Row("epoll", 0.40, 1.0, {0.4}), remote, Row("raw", 0.50, 0.9, {0.5}),
            Row("io_uring", 0.45, 0.95, {0.45})};
  CHECK(Verdict(c) ==
        "50 conns, depth 1: epoll spent 11% less server CPU per message than io_uring (0.40 vs "
        "0.45 us); throughput 1.05x; lower in 1 of 1 rounds");
  c.rows = {Row("epoll", 0.221, 1.0, {0.2}), Row("io_uring", 0.220, 0.97, {0.3})};
  CHECK(Verdict(c) ==
        "50 conns, depth 1: io_uring and epoll spent the same server CPU per message, within 1% "
        "(0.22 vs 0.22 us); throughput 0.97x");
  c.rows = {Row("epoll", 0.40, 1.0, {0.4}), remote};
  CHECK(Verdict(c) ==
        "50 conns, depth 1: no verdict: server CPU per message known for 1 server(s)");
}

TEST_CASE("the idle verdict compares memory per connection", "[bench]") {
  BenchCase c;
  c.idle = true;
  c.conns = 10000;
  BenchRow a = Row("epoll", -1, -1, {}), b = Row("io_uring", -1, -1, {});
  a.idle_bytes_per_conn = 200;
  b.idle_bytes_per_conn = 1500;
  c.rows = {b, a};
  CHECK(Verdict(c) ==
        "idle memory at 10,000 connections: epoll took 87% less memory per connection than "
        "io_uring (200 vs 1,500 B)");
}

TEST_CASE("--compare entries: the four forms, quoted commas, errors naming the forms", "[bench]") {
  auto specs = ParseContenders(
      "epoll,framed@io_uring,raw=/kit/raw_epoll_echo {port} 1,py=sh -c 'echo a,b' {port},"
      "there@127.0.0.1:9000");
  REQUIRE(specs.ok());
  REQUIRE(specs->size() == 5);
  CHECK(((*specs)[0].kind == ContenderSpec::Kind::kBuiltin && (*specs)[0].app == "echo" &&
         (*specs)[0].backend == "epoll"));
  CHECK(((*specs)[1].kind == ContenderSpec::Kind::kBuiltin && (*specs)[1].app == "framed" &&
         (*specs)[1].backend == "io_uring" && (*specs)[1].name == "framed@io_uring"));
  CHECK(((*specs)[2].kind == ContenderSpec::Kind::kCommand && (*specs)[2].name == "raw" &&
         (*specs)[2].command == "/kit/raw_epoll_echo {port} 1"));
  CHECK((*specs)[3].command == "sh -c 'echo a,b' {port}");
  CHECK(((*specs)[4].kind == ContenderSpec::Kind::kRemote && (*specs)[4].name == "there" &&
         (*specs)[4].host == "127.0.0.1" && (*specs)[4].port == 9000));
  for (const char* bad :
       {"kqueue", "raw=/bin/true", "x@127.0.0.1:0", "=cmd {port}", "epoll,epoll"}) {
    auto s = ParseContenders(bad);
    INFO(bad);
    REQUIRE_FALSE(s.ok());
    CHECK(std::string(s.status().message()).find("NAME=COMMAND with {port}") != std::string::npos);
  }
}

TEST_CASE("--hdr-out names a file per row", "[bench]") {
  BenchCase c;
  c.conns = 50;
  c.depth = 32;
  BenchRow r = Row("framed@io_uring", 1, 1, {});
  CHECK(HdrFileName("lat.hgrm", c, r, false) == "lat.hgrm");
  CHECK(HdrFileName("out/lat.hgrm", c, r, true) == "out/lat.framed_io_uring.c50.d32.hgrm");
  CHECK(HdrFileName("out.d/lat", c, r, true) == "out.d/lat.framed_io_uring.c50.d32");
}

TEST_CASE("CSV: a header and a row per server per case", "[bench]") {
  BenchRun run;
  BenchCase c;
  c.conns = 2;
  c.depth = 1;
  c.rows = {Row("epoll", 0.5, 1, {0.5}), Row("there", -1, 1.1, {})};
  c.rows[1].r.errors = 3;
  c.rows[1].r.errors_by_kind = {{"mismatch", 2}, {"closed by server", 1}};
  run.cases = {c};
  std::string csv = BenchCsv(run);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 3);
  CHECK(csv.find(",\"there\",builtin,2,1,") != std::string::npos);
  CHECK(csv.find(",3,\"closed by server=1;mismatch=2\",,") != std::string::npos);
}
