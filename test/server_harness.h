// Helpers for the loopback integration tests: the backend under test (PERCORE_TEST_BACKEND,
// so one binary runs the whole suite once per backend), a test Config, and small blocking
// client sockets with bounded waits. Catch2 assertions stay on the test thread.
#pragma once

#include <cstdint>
#include <string>

#include "reactor/config.h"
#include "reactor/fd.h"

namespace percore::test {

BackendKind TestBackend();
// 127.0.0.1, port 0, two reactors, the backend under test.
Config TestConfig();

Fd Connect(uint16_t port, int rcvbuf = 0);
// A loopback TCP port nobody listens on now (bound, then closed); 0 if none could be bound.
uint16_t UnusedPort();
bool SendAll(int fd, std::string_view data);
// Reads exactly n bytes, or fewer if the peer closed or timeout_ms passed.
std::string RecvExactly(int fd, size_t n, int timeout_ms = 5000);
// Reads until EOF/reset or timeout; *closed tells whether EOF (or reset) was seen, *reset
// whether it was a reset or another error.
std::string RecvAll(int fd, int timeout_ms, bool* closed = nullptr, bool* reset = nullptr);
// True if the peer closed (EOF or reset) within timeout_ms; discards data.
bool WaitClosed(int fd, int timeout_ms);
std::string RandomBytes(size_t n, uint32_t seed);
// Polls pred every millisecond until true or timeout_ms passed.
template <class Pred>
bool Eventually(Pred pred, int timeout_ms = 5000);
void SleepMs(int ms);
uint64_t NowMs();
// Threads of this process now (/proc/self/task).
size_t ThreadCount();

template <class Pred>
bool Eventually(Pred pred, int timeout_ms) {
  uint64_t end = NowMs() + static_cast<uint64_t>(timeout_ms);
  while (!pred()) {
    if (NowMs() > end) return false;
    SleepMs(1);
  }
  return true;
}

}  // namespace percore::test
