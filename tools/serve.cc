// `percore serve`: runs a built-in app on a TcpServer until SIGINT/SIGTERM, then shuts down
// gracefully. Every Config field is a flag and a key of the --config TOML file.
//
// Where it listens: 127.0.0.1 (loopback only) unless --listen or the file's `listen` names a
// host. `--port N` alone is 127.0.0.1:N; with an explicit --listen/`listen` it replaces that
// address's port and keeps its host. A server that faces the network is always asked for.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "net/address.h"
#include "net/tcp_server.h"
#include "reactor/signals.h"
#include "tools/apps/chat.h"
#include "tools/apps/echo.h"
#include "tools/apps/framed.h"
#include "tools/apps/http.h"
#include "tools/apps/kv.h"
#include "tools/apps/line.h"
#include "tools/apps/ws.h"
#include "tools/cli_config.h"
#include "tools/cli_help.h"
#include "tools/commands.h"

namespace percore::tools {
namespace {

// The address to listen on from --listen (or the file's `listen`, if either was given) and
// --port (-1 if not given). Without an explicit --listen the host is 127.0.0.1.
absl::StatusOr<std::string> ListenAddress(bool listen_given, const std::string& listen, int port) {
  if (port < 0) return listen;  // the flag's, the file's or Config's default (127.0.0.1:9000)
  if (!listen_given) return absl::StrCat("127.0.0.1:", port);
  absl::StatusOr<Address> addr = Address::Parse(listen);
  if (!addr.ok()) return addr.status();
  if (addr->is_unix()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--port ", port, " does not apply to the unix socket '", listen, "'"));
  }
  addr->set_port(static_cast<uint16_t>(port));
  return addr->ToString();
}

bool IsLoopback(const Address& a) {
  if (a.family() == AF_INET) {
    uint32_t ip = ntohl(reinterpret_cast<const sockaddr_in*>(a.sa())->sin_addr.s_addr);
    return (ip >> 24) == 127;
  }
  if (a.family() == AF_INET6) {
    const in6_addr& ip = reinterpret_cast<const sockaddr_in6*>(a.sa())->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&ip)) return true;
    if (IN6_IS_ADDR_V4MAPPED(&ip)) return ip.s6_addr[12] == 127;
  }
  return false;
}

}  // namespace

// Runs `handler` on a TcpServer until SIGINT/SIGTERM, printing stats if asked. A handler
// with set_stats_source() (the http app's /metrics) is given the server's snapshot.
template <class H>
int Serve(const Config& config, H& handler, SignalFd& signals, bool stats, bool prometheus) {
  TcpServer server(config, handler);
  if constexpr (requires { handler.set_stats_source([&server] { return server.stats(); }); }) {
    handler.set_stats_source([&server] { return server.stats(); });
  }
  if (absl::Status s = server.start(); !s.ok()) {
    std::fprintf(stderr, "percore serve: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  std::fprintf(stderr, "%s\n", server.startup_note().c_str());
  if (IsLoopback(server.address())) {
    std::fprintf(stderr,
                 "percore serve: %s is loopback only, unreachable from other hosts; to listen "
                 "on all interfaces: --listen 0.0.0.0:%d\n",
                 server.address().ToString().c_str(), server.port());
  }
  int sig = 0;
  while ((sig = signals.wait(1000)) == 0) {
    if (!stats) continue;
    StatsSnapshot s = server.stats();
    std::printf("%s\n", prometheus ? s.ToPrometheus().c_str() : s.ToLine().c_str());
    std::fflush(stdout);
  }
  std::fprintf(stderr, "percore serve: signal %d, draining (up to %s)\n", sig,
               absl::FormatDuration(config.drain_timeout).c_str());
  server.shutdown();
  std::fprintf(stderr, "percore serve: stopped. %s\n", server.stats().ToLine().c_str());
  return 0;
}

int ServeMain(int argc, char** argv) {
  CLI::App app("percore serve: run a built-in app", "percore serve");
  app.formatter(std::make_shared<HelpFormatter>());
  app.set_config("--config", "", "TOML file; keys are the flag names without --");
  app.allow_config_extras(CLI::config_extras_mode::error);
  Config config;
  std::string app_name = "echo";
  int port = -1;
  bool stats = false;
  bool prometheus = false;
  app.add_option("--app", app_name,
                 "built-in app to serve (ws: HTTP on / and a WebSocket echo at /ws; chat: a "
                 "chat server, line protocol and WebSocket at /ws on one port)")
      ->check(CLI::IsMember({"echo", "framed", "line", "kv", "http", "ws", "chat"}))
      ->capture_default_str();
  app.add_option("--port", port,
                 "shorthand for --listen 127.0.0.1:PORT (loopback only); with --listen, "
                 "replaces its port")
      ->check(CLI::Range(0, 65535));
  apps::KvHandler::Options kv_options;
  app.add_option("--kv-max-memory", kv_options.max_memory,
                 "kv app: bytes of keys + values (+64 per entry) before writes answer -OOM")
      ->capture_default_str();
  app.add_option("--kv-max-value", kv_options.max_value,
                 "kv app: largest value (and argument) in bytes, like proto-max-bulk-len")
      ->check(CLI::Range(size_t{1}, size_t{3} << 30))
      ->capture_default_str();
  apps::ChatHandler::Options chat_options;
  std::string chat_duplicate = "kick";
  app.add_option("--chat-duplicate", chat_duplicate,
                 "chat app: a NICK another connection holds kicks that one or is refused")
      ->check(CLI::IsMember({"kick", "refuse"}))
      ->capture_default_str();
  app.add_option_function<std::string>(
         "--chat-login-timeout",
         [&chat_options](const std::string& text) {
           if (!absl::ParseDuration(text, &chat_options.login_timeout) ||
               chat_options.login_timeout < absl::ZeroDuration()) {
             throw CLI::ValidationError("--chat-login-timeout",
                                        "'" + text + "' is not a duration like 250ms, 30s, 2m");
           }
         },
         "chat app: close a connection that has not sent NICK within this long (0 = never)")
      ->default_str(absl::FormatDuration(chat_options.login_timeout));
  app.add_flag("--stats", stats, "print a stats line every second");
  app.add_flag("--prometheus", prometheus, "with --stats, print Prometheus text instead");
  AddConfigOptions(app, config);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  // count() includes a value read from the --config file.
  const bool listen_given = app.get_option("--listen")->count() > 0;
  absl::StatusOr<std::string> listen = ListenAddress(listen_given, config.listen, port);
  if (!listen.ok()) {
    std::fprintf(stderr, "percore serve: %s\n", std::string(listen.status().message()).c_str());
    return 1;
  }
  config.listen = *listen;
  if (app_name != "kv" && (app.get_option("--kv-max-memory")->count() > 0 ||
                           app.get_option("--kv-max-value")->count() > 0)) {
    std::fprintf(stderr,
                 "percore serve: --kv-max-memory and --kv-max-value apply to --app kv only\n");
    return 1;
  }
  if (app_name != "chat" && (app.get_option("--chat-duplicate")->count() > 0 ||
                             app.get_option("--chat-login-timeout")->count() > 0)) {
    std::fprintf(stderr,
                 "percore serve: --chat-duplicate and --chat-login-timeout apply to --app chat "
                 "only\n");
    return 1;
  }

  // Before any thread exists, so every reactor thread inherits the blocked mask.
  auto signals = SignalFd::Block({SIGINT, SIGTERM});
  if (!signals.ok()) {
    std::fprintf(stderr, "percore serve: %s\n", std::string(signals.status().message()).c_str());
    return 1;
  }
  if (app_name == "framed") {
    apps::FramedEchoHandler framed;
    return Serve(config, framed, *signals, stats, prometheus);
  }
  if (app_name == "kv") {
    apps::KvHandler kv(kv_options);
    // Config::max_frame bounds the partial input the framework keeps for a connection; a SET
    // arrives as one frame, so a value of up to --kv-max-value must fit or the connection is
    // closed as frame_too_large before the codec sees the whole command. Raise it to the
    // codec's largest frame (value + 1 MiB for key and headers). GET queues the whole value at
    // once, so the per-connection output cap must hold one too (Redis puts no limit on normal
    // clients' output). Both only grow: a larger bound given on the command line stays.
    config.max_frame = static_cast<uint32_t>(
        std::max<size_t>(config.max_frame, std::min<size_t>(kv.codec.max_frame(), UINT32_MAX)));
    config.out_cap = static_cast<uint32_t>(std::max<size_t>(
        config.out_cap, std::min<size_t>(kv_options.max_value + (size_t{1} << 20), UINT32_MAX)));
    return Serve(config, kv, *signals, stats, prometheus);
  }
  if (app_name == "http") {
    apps::HttpHandler http;
    // The framework closes (frame_too_large) a connection that leaves more than max_frame bytes
    // unconsumed. A request within the codec's own limits (8 KiB line + 16 KiB of headers + 1 MiB
    // of body) must fit, so that the codec, not the framework, decides and answers 413/414/431.
    if (config.max_frame < http.codec.max_frame()) {
      config.max_frame = static_cast<uint32_t>(http.codec.max_frame());
    }
    return Serve(config, http, *signals, stats, prometheus);
  }
  if (app_name == "ws") {
    apps::WsHandler ws;
    // As for http: a frame within the codec's limits (a 1 MiB WebSocket frame, or a request)
    // must fit in the kept input, so that the codec decides and answers 1009 (or 413) with a
    // close frame rather than the framework closing without one. A fragmented message is
    // gathered in the codec's State, not in the kept input.
    if (config.max_frame < ws.codec.max_frame()) {
      config.max_frame = static_cast<uint32_t>(ws.codec.max_frame());
    }
    return Serve(config, ws, *signals, stats, prometheus);
  }
  if (app_name == "chat") {
    chat_options.duplicate =
        chat_duplicate == "refuse" ? Sessions::OnDuplicate::kRefuse : Sessions::OnDuplicate::kKick;
    apps::ChatHandler chat(chat_options);
    // As for ws: whatever the codec may still accept (an HTTP request with its headers) must
    // fit in the kept input, so that the codec, not the framework, decides.
    if (config.max_frame < chat.codec.max_frame()) {
      config.max_frame = static_cast<uint32_t>(chat.codec.max_frame());
    }
    return Serve(config, chat, *signals, stats, prometheus);
  }
  if (app_name == "line") {
    apps::LineHandler line;
    return Serve(config, line, *signals, stats, prometheus);
  }
  apps::EchoHandler echo;
  return Serve(config, echo, *signals, stats, prometheus);
}

}  // namespace percore::tools
