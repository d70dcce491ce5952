#include "tools/load_flags.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tools/load_connect.h"

namespace percore::tools {

std::string ParseTarget(const std::string& target, LoadOptions& opt) {
  if (target.find('/') != std::string::npos) {
    opt.unix_path = target;
    return {};
  }
  size_t colon = target.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(target.substr(colon + 1), &port) ||
      port < 1 || port > 65535) {
    return absl::StrFormat("'%s' is neither HOST:PORT nor a Unix socket path", target);
  }
  std::string host = target.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (!host.empty()) opt.host = host;
  opt.port = static_cast<uint16_t>(port);
  opt.unix_path.clear();
  return {};
}

void AddLoadFlags(CLI::App& app, LoadOptions& opt) {
  app.add_option("--protocol", opt.protocol,
                 "what each request is and how its reply is checked: raw (echoed bytes), line, "
                 "length ([u16 len][body]), resp (--command), http (GET --path), ws (binary "
                 "frames after an upgrade at --path)")
      ->check(CLI::IsMember({"raw", "line", "length", "resp", "http", "ws"}))
      ->capture_default_str();
  app.add_option_function<std::string>(
         "--target",
         [&opt](const std::string& t) {
           if (std::string err = ParseTarget(t, opt); !err.empty()) {
             throw CLI::ValidationError("--target", err);
           }
         },
         "drive this running server, HOST:PORT or a Unix socket path, instead of starting ones")
      ->type_name("HOST:PORT|PATH");
  app.add_option("--command", opt.commands,
                 "resp: a command, sent in turn with the others (repeat the flag); __rand__ "
                 "becomes a key number below --keyspace")
      ->capture_default_str();
  app.add_option("--keyspace", opt.keyspace, "resp: __rand__ is below this")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--path", opt.path, "http, ws: the request path")->capture_default_str();
  app.add_option("--header", opt.headers,
                 "http, ws: a request header \"Name: value\" (repeat the flag)");
  app.add_option("--expect-status", opt.expect_status, "http: the status every response must have")
      ->check(CLI::Range(100, 599))
      ->capture_default_str();
  app.add_option("--rate", opt.rate,
                 "open loop: requests per second over all connections, on a fixed timetable "
                 "(latency from each request's scheduled time; --depth caps those in flight per "
                 "connection); 0 = closed loop")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--connect-rate", opt.connect_rate, "new connections per second; 0 = all at once")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--source-ips", opt.source_ips,
                 "bind connections round-robin to these IPv4 addresses, e.g. "
                 "127.0.0.2-127.0.0.9 or a comma list (past ~28k ports per address)")
      ->check([](const std::string& list) {
        auto ips = ParseSourceIps(list);
        return ips.ok() ? std::string() : std::string(ips.status().message());
      });
  app.add_option("--client-threads", opt.threads, "load threads")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--spread", opt.spread, "older form of --source-ips: 127.0.0.1..N")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--frame-header", opt.frame_header,
                 "older form of --protocol length: 2 = every message is [u16 length][body]")
      ->check(CLI::IsMember({0, 2}))
      ->capture_default_str();
}

}  // namespace percore::tools
