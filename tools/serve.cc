// `percore serve`: runs a built-in app on a TcpServer until SIGINT/SIGTERM, then shuts down
// gracefully. Every Config field is a flag and a key of the --config TOML file.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "net/tcp_server.h"
#include "reactor/signals.h"
#include "tools/apps/echo.h"
#include "tools/cli_config.h"
#include "tools/commands.h"

namespace percore::tools {

int ServeMain(int argc, char** argv) {
  CLI::App app("percore serve: run a built-in app", "percore serve");
  app.set_config("--config", "", "TOML file; keys are the flag names without --");
  app.allow_config_extras(CLI::config_extras_mode::error);
  Config config;
  std::string app_name = "echo";
  int port = -1;
  bool stats = false;
  bool prometheus = false;
  app.add_option("--app", app_name, "built-in app to serve")
      ->check(CLI::IsMember({"echo"}))
      ->capture_default_str();
  app.add_option("--port", port, "shorthand for --listen 0.0.0.0:PORT")
      ->check(CLI::Range(0, 65535));
  app.add_flag("--stats", stats, "print a stats line every second");
  app.add_flag("--prometheus", prometheus, "with --stats, print Prometheus text instead");
  AddConfigOptions(app, config);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (port >= 0) config.listen = absl::StrCat("0.0.0.0:", port);

  // Before any thread exists, so every reactor thread inherits the blocked mask.
  auto signals = SignalFd::Block({SIGINT, SIGTERM});
  if (!signals.ok()) {
    std::fprintf(stderr, "percore serve: %s\n", std::string(signals.status().message()).c_str());
    return 1;
  }
  apps::EchoHandler echo;
  TcpServer server(config, echo);
  if (absl::Status s = server.start(); !s.ok()) {
    std::fprintf(stderr, "percore serve: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  std::fprintf(stderr, "%s\n", server.startup_note().c_str());
  int sig = 0;
  while ((sig = signals->wait(1000)) == 0) {
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

}  // namespace percore::tools
