#include "tools/server_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <utility>

#include "absl/strings/str_format.h"
#include "reactor/fd.h"
#include "tools/proc_stats.h"

namespace percore::tools {

ServerProcess::ServerProcess(ServerProcess&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), port_(o.port_), log_(std::move(o.log_)) {}

ServerProcess& ServerProcess::operator=(ServerProcess&& o) noexcept {
  if (this != &o) {
    Stop();
    pid_ = std::exchange(o.pid_, -1);
    port_ = o.port_;
    log_ = std::move(o.log_);
  }
  return *this;
}

ServerProcess ServerProcess::Start(const std::vector<std::string>& args, bool self, uint16_t port,
                                   bool pin) {
  ServerProcess s;
  s.port_ = port;
  s.log_ = absl::StrFormat("/tmp/percore-bench-%d-%d.log", ::getpid(), port);
  s.pid_ = ::fork();
  if (s.pid_ == 0) {
    // A bench killed before it can stop its servers must not leave them running (the signal
    // survives exec; it fires when the forking thread, the bench's main thread, ends).
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (pin) Pin(0, 0);
    FILE* log = std::fopen(s.log_.c_str(), "w");
    if (log != nullptr) {
      ::dup2(::fileno(log), 1);
      ::dup2(::fileno(log), 2);
    }
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    if (self) {
      ::execv("/proc/self/exe", argv.data());
    } else {
      ::execvp(argv[0], argv.data());
    }
    ::_exit(127);
  }
  return s;
}

bool ServerProcess::WaitReady(std::string* why) {
  for (int i = 0; i < 100; ++i) {
    int status;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      std::ifstream f(log_);
      std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      while (!text.empty() && text.back() == '\n') text.pop_back();
      *why = text.empty() ? "server exited at start" : text.substr(0, 300);
      return false;
    }
    std::string not_yet;
    if (ProbeAccepts("127.0.0.1", port_, &not_yet)) return true;
    ::usleep(50'000);
  }
  *why = "server did not accept within 5 s";
  return false;
}

bool ServerProcess::Stop() {
  if (pid_ <= 0) return true;
  ::kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 100; ++i) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      ::unlink(log_.c_str());
      return WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    ::usleep(50'000);
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return false;
}

bool ProbeAccepts(const std::string& host, uint16_t port, std::string* why) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) {
    *why = absl::StrFormat("'%s' is not an IPv4 address", host);
    return false;
  }
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return true;
  if (errno == EINPROGRESS) {
    pollfd p{fd.get(), POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (::poll(&p, 1, 1000) == 1 && ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
        err == 0) {
      return true;
    }
    *why = err ? std::strerror(err) : "connect timed out";
    return false;
  }
  *why = std::strerror(errno);
  return false;
}

}  // namespace percore::tools
