// SignalFd: delivers SIGINT/SIGTERM (or any set) as readable events on an fd, for the host's
// main thread. signalfd works only when every thread blocks the signals, so create it before
// starting any reactor thread (threads inherit the mask). Owned by the host program, never by
// the library: signals belong to the process.
#pragma once

#include <initializer_list>

#include "absl/status/statusor.h"
#include "reactor/fd.h"

namespace percore {

class SignalFd {
 public:
  static absl::StatusOr<SignalFd> Block(std::initializer_list<int> signals);
  int fd() const { return fd_.get(); }
  // Waits up to timeout_ms for a signal; returns its number, or 0 on timeout.
  int wait(int timeout_ms);

 private:
  explicit SignalFd(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
};

}  // namespace percore
