// The servers `percore bench --compare` measures, one per --compare entry: a built-in backend
// (`epoll`, `APP@BACKEND`) started as `percore serve`, any program given as a command with a
// {port} placeholder (started through `sh -c 'exec ...'` so its pid is the server's, for /proc
// figures), or a server already running at HOST:PORT (no CPU figures). The bench owns each
// started server for one case and stops it with SIGTERM at the end.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/server_process.h"

namespace percore::tools {

struct ContenderSpec {
  enum class Kind { kBuiltin, kCommand, kRemote };
  Kind kind = Kind::kBuiltin;
  std::string name;                // as the table shows it: the entry, or NAME for = and @
  std::string app = "echo";        // kBuiltin: `percore serve --app`
  std::string backend;             // kBuiltin: `percore serve --backend`
  std::string command;             // kCommand: shell command with {port}
  std::string host = "127.0.0.1";  // kRemote
  uint16_t port = 0;               // kRemote
  const char* kind_name() const;   // "builtin", "command", "remote"
};

// The forms an entry may take, for --help and error messages.
extern const char kContenderForms[];

// Parses a --compare list: comma separated, except for commas inside quotes. Errors name the entry
// and the accepted forms.
absl::StatusOr<std::vector<ContenderSpec>> ParseContenders(const std::string& list);

// A port on 127.0.0.1 that nobody listened on a moment ago (bind to port 0, then close).
uint16_t FreePort();

// A contender up for one case: started (or, for kRemote, only located) and accepting.
struct LiveContender {
  ContenderSpec spec;
  ServerProcess srv;  // empty for kRemote
  std::string host;
  uint16_t port = 0;
  pid_t pid() const { return srv.pid(); }
};

// Starts the contender's server (pinned to CPU 0 when `pin`) and waits until it accepts;
// kRemote only checks that something accepts. On failure, says why.
absl::StatusOr<LiveContender> StartContender(const ContenderSpec& spec, int server_threads,
                                             bool pin);

// Stops a started server; true if it ended as it should (a built-in exits 0 on SIGTERM; a
// command's server may die of the signal).
bool StopContender(LiveContender& c);

}  // namespace percore::tools
