#include "tools/bench_contenders.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "reactor/config.h"
#include "reactor/fd.h"

namespace percore::tools {

const char kContenderForms[] =
    "BACKEND (epoll, io_uring, auto), APP@BACKEND (e.g. framed@epoll), "
    "NAME=COMMAND with {port} (e.g. 'raw=/path/raw_epoll_echo {port} 1'), "
    "or NAME@HOST:PORT (a server already running)";

const char* ContenderSpec::kind_name() const {
  switch (kind) {
    case Kind::kBuiltin:
      return "builtin";
    case Kind::kCommand:
      return "command";
    case Kind::kRemote:
      return "remote";
  }
  return "?";
}

namespace {

absl::Status Bad(absl::string_view entry, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrFormat("'%s': %s; each entry is %s", entry, why, kContenderForms));
}

absl::StatusOr<ContenderSpec> ParseOne(absl::string_view entry) {
  ContenderSpec s;
  // '=' first: a command may itself hold '@' or ':'.
  if (size_t eq = entry.find('='); eq != absl::string_view::npos) {
    s.kind = ContenderSpec::Kind::kCommand;
    s.name = std::string(entry.substr(0, eq));
    s.command = std::string(entry.substr(eq + 1));
    if (s.name.empty()) return Bad(entry, "no NAME before '='");
    if (s.command.find("{port}") == std::string::npos) {
      return Bad(entry, "the command has no {port} placeholder");
    }
    return s;
  }
  size_t at = entry.find('@');
  if (at != absl::string_view::npos && entry.find(':', at) != absl::string_view::npos) {
    s.kind = ContenderSpec::Kind::kRemote;
    s.name = std::string(entry.substr(0, at));
    absl::string_view where = entry.substr(at + 1);
    size_t colon = where.rfind(':');
    s.host = std::string(where.substr(0, colon));
    int port = 0;
    if (s.name.empty()) return Bad(entry, "no NAME before '@'");
    if (s.host.empty() || !absl::SimpleAtoi(where.substr(colon + 1), &port) || port < 1 ||
        port > 65535) {
      return Bad(entry, "HOST:PORT needs a host and a port from 1 to 65535");
    }
    s.port = static_cast<uint16_t>(port);
    return s;
  }
  s.name = std::string(entry);
  if (at != absl::string_view::npos) {
    s.app = std::string(entry.substr(0, at));
    s.backend = std::string(entry.substr(at + 1));
  } else {
    s.backend = std::string(entry);
  }
  BackendKind kind;
  if (absl::Status st = ParseBackend(s.backend, &kind); !st.ok()) {
    return Bad(entry, st.message());
  }
  if (s.app.empty()) return Bad(entry, "no APP before '@'");
  return s;
}

// Splits on commas outside single or double quotes, so that a command may hold a quoted comma.
std::vector<std::string> SplitEntries(const std::string& list) {
  std::vector<std::string> out(1);
  char quote = 0;
  for (char c : list) {
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == ',') {
      out.emplace_back();
      continue;
    }
    out.back() += c;
  }
  std::erase_if(out, [](const std::string& e) { return e.empty(); });
  return out;
}

}  // namespace

absl::StatusOr<std::vector<ContenderSpec>> ParseContenders(const std::string& list) {
  std::vector<ContenderSpec> out;
  for (const std::string& entry : SplitEntries(list)) {
    auto s = ParseOne(entry);
    if (!s.ok()) return s.status();
    for (const ContenderSpec& o : out) {
      if (o.name == s->name) return Bad(entry, "the name is given twice");
    }
    out.push_back(*std::move(s));
  }
  if (out.empty()) return absl::InvalidArgumentError(absl::StrCat("no entry; ", kContenderForms));
  return out;
}

uint16_t FreePort() {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(0x7F000001u);
  socklen_t len = sizeof a;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    return 0;
  }
  return ntohs(a.sin_port);
}

absl::StatusOr<LiveContender> StartContender(const ContenderSpec& spec, int server_threads,
                                             bool pin) {
  LiveContender c;
  c.spec = spec;
  std::string why;
  if (spec.kind == ContenderSpec::Kind::kRemote) {
    c.host = spec.host;
    c.port = spec.port;
    if (c.port != 0 && !ProbeAccepts(c.host, c.port, &why)) {
      return absl::UnavailableError(absl::StrFormat("%s:%d: %s", c.host, c.port, why));
    }
    return c;
  }
  c.host = "127.0.0.1";
  c.port = FreePort();
  if (c.port == 0) return absl::UnavailableError("no free port on 127.0.0.1");
  if (spec.kind == ContenderSpec::Kind::kBuiltin) {
    c.srv = ServerProcess::Start(
        {"percore", "serve", "--app", spec.app, "--backend", spec.backend, "--threads",
         std::to_string(server_threads), "--listen", absl::StrFormat("127.0.0.1:%d", c.port)},
        true, c.port, pin);
  } else {
    // exec: the shell becomes the server, so the pid we hold is the one /proc should read.
    std::string cmd = absl::StrReplaceAll(spec.command, {{"{port}", absl::StrCat(c.port)}});
    c.srv = ServerProcess::Start({"sh", "-c", "exec " + cmd}, false, c.port, pin);
  }
  if (!c.srv.WaitReady(&why)) {
    c.srv.Stop();
    return absl::UnavailableError(why);
  }
  return c;
}

bool StopContender(LiveContender& c) {
  if (c.spec.kind == ContenderSpec::Kind::kRemote) return true;
  bool clean = c.srv.Stop();
  return clean || c.spec.kind == ContenderSpec::Kind::kCommand;
}

}  // namespace percore::tools
