// `percore bench --fanout`: N members in one room (or R), one publisher, every delivery
// checked for order and uniqueness. With --compare it starts the servers itself, side by side
// (pinned to CPU 0, load on CPU 1) and alternates rounds between them, as `percore bench`
// does: `chat@BACKEND` is `percore serve --app chat`, `redis` is Debian's redis-server. It
// reports per server the median deliveries/s, server CPU per delivery (from /proc) and the
// median per-round ratio to the first server. --idle-members N measures instead the server's
// RSS per joined, idle member.
#include "tools/bench_fanout.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "tools/fanout_load.h"
#include "tools/proc_stats.h"
#include "tools/server_process.h"

namespace percore::tools {
namespace {

struct Settings {
  FanoutOptions opt;
  std::vector<int> bursts;
  std::vector<std::string> servers;  // chat@BACKEND | redis
  FanoutProtocol chat_protocol = FanoutProtocol::kChat;
  std::string heartbeat;  // passed to chat servers as --heartbeat-interval when given
  std::string percore;    // the binary that serves chat@; empty: this one
  int rounds = 5;
  int idle_members = 0;
  bool pin = true;
};

// The protocol a contender speaks, and how to start it.
FanoutProtocol ProtocolOf(const Settings& st, const std::string& server) {
  return server == "redis" ? FanoutProtocol::kRedis : st.chat_protocol;
}

ServerProcess StartServer(const Settings& st, const std::string& server, uint16_t port) {
  if (server == "redis") {
    return ServerProcess::Start(
        {"redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--daemonize", "no"},
        false, port, st.pin);
  }
  std::string backend = server.substr(server.find('@') + 1);
  std::vector<std::string> args = {
      "percore", "serve",     "--app", "chat",     "--backend",
      backend,   "--threads", "1",     "--listen", absl::StrCat("127.0.0.1:", port)};
  if (!st.heartbeat.empty()) {
    args.push_back("--heartbeat-interval");
    args.push_back(st.heartbeat);
  }
  if (!st.percore.empty()) args[0] = st.percore;
  return ServerProcess::Start(args, st.percore.empty(), port, st.pin);
}

struct Row {
  std::string server;
  int burst = 1;
  std::string unavailable;
  double msgs_per_s = 0, deliveries_per_s = 0, us_per_delivery = -1, ratio = -1;
  FanoutErrors errors;
  std::string first_error;
};

void PrintTable(const Settings& st, const std::vector<Row>& rows) {
  const FanoutOptions& o = st.opt;
  std::printf("\n%-16s %-8s %7s %5s %5s %5s %8s %10s %12s %12s %6s %6s\n", "server", "proto",
              "members", "rooms", "size", "burst", "rate", "msgs/s", "deliveries/s", "srv us/deliv",
              "ratio", "errors");
  for (const Row& r : rows) {
    const char* proto = FanoutProtocolName(ProtocolOf(st, r.server));
    if (!r.unavailable.empty()) {
      std::printf("%-16s %-8s %7d %5d %5zu %5d  unavailable: %s\n", r.server.c_str(), proto,
                  o.members, o.rooms, o.size, r.burst, r.unavailable.c_str());
      continue;
    }
    std::string ratio = r.ratio < 0 ? "-" : absl::StrFormat("%.2f", r.ratio);
    std::string rate = o.rate > 0 ? absl::StrFormat("%.0f", o.rate) : "max";
    std::string cpu = r.us_per_delivery < 0 ? "-" : absl::StrFormat("%.3f", r.us_per_delivery);
    std::printf("%-16s %-8s %7d %5d %5zu %5d %8s %10.0f %12.0f %12s %6s %6llu\n", r.server.c_str(),
                proto, o.members, o.rooms, o.size, r.burst, rate.c_str(), r.msgs_per_s,
                r.deliveries_per_s, cpu.c_str(), ratio.c_str(),
                static_cast<unsigned long long>(r.errors.total()));
  }
  for (const Row& r : rows) {
    if (r.errors.total() > 0) {
      std::printf("%s burst %d errors: %s%s%s\n", r.server.c_str(), r.burst,
                  r.errors.ToString().c_str(),
                  r.first_error.empty() ? "" : "; first: ", r.first_error.c_str());
    }
  }
  for (const Row& r : rows) {
    if (!r.unavailable.empty()) continue;
    std::printf(
        "FANOUT server=%s protocol=%s members=%d rooms=%d size=%zu burst=%d rate=%.0f "
        "msgs_per_s=%.0f deliveries_per_s=%.0f server_us_per_delivery=%.4f ratio=%.3f "
        "errors=%llu %s\n",
        r.server.c_str(), FanoutProtocolName(ProtocolOf(st, r.server)), o.members, o.rooms, o.size,
        r.burst, o.rate, r.msgs_per_s, r.deliveries_per_s, r.us_per_delivery, r.ratio,
        static_cast<unsigned long long>(r.errors.total()), r.errors.ToString().c_str());
  }
}

// One server's rounds: medians of its rounds, and of the per-round ratios to `base`.
Row Combine(const std::string& server, int burst, const std::vector<FanoutResult>& runs,
            const std::vector<FanoutResult>* base) {
  Row row;
  row.server = server;
  row.burst = burst;
  std::vector<double> msgs, deliveries, cpu, ratios;
  for (size_t k = 0; k < runs.size(); ++k) {
    const FanoutResult& r = runs[k];
    msgs.push_back(r.msgs_per_s);
    deliveries.push_back(r.deliveries_per_s);
    if (r.server_cpu_us >= 0 && r.deliveries > 0) {
      cpu.push_back(r.server_cpu_us / static_cast<double>(r.deliveries));
    }
    if (base != nullptr && k < base->size() && (*base)[k].deliveries_per_s > 0) {
      ratios.push_back(r.deliveries_per_s / (*base)[k].deliveries_per_s);
    }
    row.errors.add(r.errors);
    if (row.first_error.empty()) row.first_error = r.first_error;
  }
  row.msgs_per_s = Median(msgs);
  row.deliveries_per_s = Median(deliveries);
  if (!cpu.empty()) row.us_per_delivery = Median(cpu);
  if (!ratios.empty()) row.ratio = Median(ratios);
  return row;
}

void ReportRound(const std::string& server, int round, const FanoutResult& r) {
  std::fprintf(stderr, "fanout: %s round %d: %.0f deliveries/s%s%s\n", server.c_str(), round + 1,
               r.deliveries_per_s, r.errors.total() ? ", errors: " : "",
               r.errors.total() ? r.errors.ToString().c_str() : "");
}

int RunExternal(Settings& st, uint16_t port) {
  FanoutOptions o = st.opt;
  o.target.port = port;
  o.target.protocol = st.chat_protocol;
  if (st.idle_members > 0) {
    auto held = FanoutLoad::ConnectIdle(o.target, st.idle_members);
    if (!held.ok()) {
      std::fprintf(stderr, "fanout: %s\n", std::string(held.status().message()).c_str());
      return 1;
    }
    std::printf("%d idle members joined\n", st.idle_members);
    return 0;
  }
  std::vector<Row> rows;
  bool ok = true;
  for (int burst : st.bursts) {
    o.burst = burst;
    Row row;
    row.server = "external";
    row.burst = burst;
    auto load = FanoutLoad::Connect(o);
    if (!load.ok()) {
      row.unavailable = std::string(load.status().message());
      ok = false;
    } else {
      FanoutResult r = (*load)->Run(-1);
      row = Combine("external", burst, {r}, nullptr);
      ok &= r.errors.total() == 0 && r.deliveries > 0;
    }
    rows.push_back(row);
  }
  PrintTable(st, rows);
  return ok ? 0 : 1;
}

int RunCompare(Settings& st, uint16_t& next_port) {
  std::vector<Row> rows;
  bool ok = true;
  for (int burst : st.bursts) {
    struct Contender {
      std::string server;
      std::optional<ServerProcess> child;
      std::unique_ptr<FanoutLoad> load;
      std::string unavailable;
      std::vector<FanoutResult> runs;
    };
    std::vector<Contender> cs;
    for (const std::string& server : st.servers) {
      Contender& k = cs.emplace_back();
      k.server = server;
      const uint16_t port = next_port++;
      k.child.emplace(StartServer(st, server, port));
      if (!k.child->WaitReady(&k.unavailable)) continue;
      FanoutOptions o = st.opt;
      o.burst = burst;
      o.target.port = port;
      o.target.protocol = ProtocolOf(st, server);
      auto load = FanoutLoad::Connect(o);
      if (!load.ok()) {
        k.unavailable = std::string(load.status().message());
        continue;
      }
      k.load = std::move(*load);
    }
    for (int round = 0; round < st.rounds; ++round) {
      for (Contender& k : cs) {
        if (!k.unavailable.empty()) continue;
        k.runs.push_back(k.load->Run(k.child->pid()));
        ReportRound(k.server, round, k.runs.back());
      }
    }
    const std::vector<FanoutResult>* base = nullptr;
    for (Contender& k : cs) {
      Row row;
      if (!k.unavailable.empty()) {
        row.server = k.server;
        row.burst = burst;
        row.unavailable = k.unavailable;
        std::fprintf(stderr, "fanout: %s unavailable: %s\n", k.server.c_str(),
                     k.unavailable.c_str());
        ok = false;
      } else {
        if (base == nullptr) base = &k.runs;
        row = Combine(k.server, burst, k.runs, base);
        ok &= row.errors.total() == 0 && row.deliveries_per_s > 0;
      }
      k.load.reset();
      if (!k.child->Stop() && k.unavailable.empty()) {
        std::fprintf(stderr, "fanout: %s did not exit cleanly\n", k.server.c_str());
      }
      rows.push_back(row);
    }
  }
  PrintTable(st, rows);
  return ok ? 0 : 1;
}

// RSS growth per joined idle member; one server at a time (N members each side of a socket
// pair would need 2N fds per server side by side).
int RunIdle(Settings& st, uint16_t& next_port) {
  bool ok = true;
  std::printf("\n%-16s %-8s %8s %12s %12s %12s\n", "server", "proto", "members", "rss0 KiB",
              "rss KiB", "B/member");
  std::vector<std::string> lines;
  for (const std::string& server : st.servers) {
    const uint16_t port = next_port++;
    ServerProcess child = StartServer(st, server, port);
    std::string why;
    const char* proto = FanoutProtocolName(ProtocolOf(st, server));
    if (!child.WaitReady(&why)) {
      std::printf("%-16s %-8s unavailable: %s\n", server.c_str(), proto, why.c_str());
      ok = false;
      continue;
    }
    FanoutTarget t = st.opt.target;
    t.port = port;
    t.protocol = ProtocolOf(st, server);
    // One member first, outside the count: what the first of its kind costs once per process
    // (the first WebSocket handshake initialises libcrypto for SHA-1: about 2 MB) is not a
    // per-member cost.
    auto warm = FanoutLoad::ConnectIdle(t, 1, "warm");
    ::usleep(500'000);
    const long before = RssKb(child.pid());
    auto held = FanoutLoad::ConnectIdle(t, st.idle_members);
    if (!held.ok()) {
      std::printf("%-16s %-8s failed: %s\n", server.c_str(), proto,
                  std::string(held.status().message()).c_str());
      ok = false;
      continue;
    }
    // Settle: the last joins' output drained, and two pool trims (a second apart: the first
    // keeps what the burst used since the trim before) gave the burst's chunks back.
    ::sleep(3);
    const long after = RssKb(child.pid());
    const double per = static_cast<double>(after - before) * 1024.0 / st.idle_members;
    std::printf("%-16s %-8s %8d %12ld %12ld %12.0f\n", server.c_str(), proto, st.idle_members,
                before, after, per);
    lines.push_back(absl::StrFormat(
        "FANOUT_IDLE server=%s protocol=%s members=%d rss_before_kb=%ld rss_after_kb=%ld "
        "bytes_per_member=%.0f",
        server, proto, st.idle_members, before, after, per));
    held->reset();
    if (warm.ok()) warm->reset();
    if (!child.Stop()) std::fprintf(stderr, "fanout: %s did not exit cleanly\n", server.c_str());
  }
  for (const std::string& l : lines) std::printf("%s\n", l.c_str());
  return ok ? 0 : 1;
}

}  // namespace

int FanoutBenchMain(int argc, char** argv) {
  CLI::App app(
      "percore bench --fanout: one publisher, N members in R rooms, every delivery checked for "
      "order and uniqueness; against chat servers (TCP lines or WebSocket) and redis-server",
      "percore bench --fanout");
  Settings st;
  FanoutOptions& o = st.opt;
  int port = 0;
  bool fanout = false, no_pin = false;
  std::string compare = "chat@epoll,chat@io_uring,redis", bursts = "1,16", protocol = "chat";
  app.add_flag("--fanout", fanout, "this mode")->required();
  app.add_option("--port", port, "drive a running server (speaking --protocol) instead")
      ->check(CLI::Range(1, 65535));
  app.add_option("--host", o.target.host, "server address for --port")->capture_default_str();
  app.add_option("--compare", compare,
                 "servers to start side by side: chat@BACKEND (percore serve --app chat), redis "
                 "(redis-server)")
      ->capture_default_str();
  app.add_option("--protocol", protocol,
                 "what chat servers are spoken to with: chat (TCP lines) or ws-chat (WebSocket "
                 "/ws); with --port also redis (SUBSCRIBE, PUBLISH)")
      ->capture_default_str();
  app.add_option("--members", o.members, "members (subscriber connections)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1'000'000));
  app.add_option("--rooms", o.rooms, "rooms the members are spread over (member i: i % R)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100'000));
  app.add_option("--size", o.size, "bytes of each message's text")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--rate", o.rate, "messages/s published, open loop; 0: as fast as --window lets")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--window", o.window,
                 "--rate 0: message k is sent once every member has message k - window")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--burst", bursts, "messages per write() (a comma list runs each)")
      ->capture_default_str();
  app.add_option("--duration", o.duration_s, "measured seconds per round")->capture_default_str();
  app.add_option("--warmup", o.warmup_s, "unmeasured seconds first, per round")
      ->capture_default_str();
  app.add_option("--rounds", st.rounds, "alternating rounds per server; medians")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--client-threads", o.threads, "threads the members are spread over")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--spread", o.target.spread, "source addresses 127.0.0.1..N")
      ->capture_default_str();
  app.add_option("--heartbeat-interval", st.heartbeat,
                 "passed to the chat servers started (e.g. 30s)");
  app.add_option("--percore", st.percore,
                 "the percore binary that serves chat@BACKEND (default: this one; another build "
                 "to compare builds)");
  app.add_option("--idle-members", st.idle_members,
                 "instead: server RSS per idle member with N joined (NICK, JOIN lobby)")
      ->check(CLI::Range(1, 1'000'000));
  app.add_flag("--no-pin", no_pin, "do not pin servers to CPU 0 and the load to CPU 1");
  try {
    app.parse(argc, argv);
    auto p = ParseFanoutProtocol(protocol);
    if (!p.ok() || (*p == FanoutProtocol::kRedis && port == 0)) {
      throw CLI::ValidationError("--protocol",
                                 "choose chat or ws-chat (redis with --port; with --compare, "
                                 "`redis` is spoken to in redis)");
    }
    st.chat_protocol = *p;
    for (absl::string_view b : absl::StrSplit(bursts, ',', absl::SkipEmpty())) {
      int v = 0;
      if (!absl::SimpleAtoi(b, &v) || v < 1 || v > o.window) {
        throw CLI::ValidationError("--burst", absl::StrFormat("'%s' must be in [1, --window]", b));
      }
      st.bursts.push_back(v);
    }
    if (st.bursts.empty()) throw CLI::ValidationError("--burst", "empty");
    for (absl::string_view s : absl::StrSplit(compare, ',', absl::SkipEmpty())) {
      std::string server(s);
      if (server != "redis" && server != "chat@epoll" && server != "chat@io_uring" &&
          server != "chat@auto") {
        throw CLI::ValidationError("--compare",
                                   absl::StrFormat("'%s': choose chat@epoll, chat@io_uring, "
                                                   "chat@auto or redis",
                                                   server));
      }
      st.servers.push_back(server);
    }
    if (o.members < o.rooms) throw CLI::ValidationError("--rooms", "more rooms than members");
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  st.pin = !no_pin;
  if (port > 0) return RunExternal(st, static_cast<uint16_t>(port));
  if (st.pin) Pin(0, 1);
  // Below the usual ephemeral range (32768+), where the members' own sockets would collide.
  uint16_t next_port = static_cast<uint16_t>(10000 + ::getpid() % 20000);
  return st.idle_members > 0 ? RunIdle(st, next_port) : RunCompare(st, next_port);
}

}  // namespace percore::tools
