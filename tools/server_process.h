// ServerProcess: a server a bench started (`percore serve ...` as this very binary, or any
// program such as redis-server): optionally pinned to CPU 0, its output in a log file, ready
// once it accepts on 127.0.0.1:port, stopped with SIGTERM and killed (by its PID only) if it
// does not exit. Owned by the bench that started it; stopped when destroyed, and sent SIGTERM
// by the kernel if the bench dies first.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace percore::tools {

class ServerProcess {
 public:
  ServerProcess() = default;
  ServerProcess(ServerProcess&& o) noexcept;
  ServerProcess& operator=(ServerProcess&& o) noexcept;
  ~ServerProcess() { Stop(); }

  // args[0] is the program; self: run this binary (/proc/self/exe) with args instead.
  static ServerProcess Start(const std::vector<std::string>& args, bool self, uint16_t port,
                             bool pin);
  // Waits (bounded, 5 s) until it accepts; on failure says why (the start of its log).
  bool WaitReady(std::string* why);
  // SIGTERM, up to 5 s, then SIGKILL; true if it exited 0 by itself (or was not running).
  bool Stop();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string log_;
};

// True if something accepts a TCP connection at host:port (an IPv4 address) within a second;
// otherwise *why says what went wrong.
bool ProbeAccepts(const std::string& host, uint16_t port, std::string* why);

}  // namespace percore::tools
