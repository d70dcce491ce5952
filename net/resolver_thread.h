// ResolverThread: the one thread a ClientGroup's clients resolve host names on before each
// reconnect, so getaddrinfo (which may block for seconds) never runs on a reactor. Requests
// are served in order; each answer is posted to the reactor that asked. Owned by the
// ClientGroup (started with its first request), joined by the group's shutdown(), which runs
// on an application thread: a client's stop() never waits for a lookup.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "net/address.h"

namespace percore {

class Reactor;

class ResolverThread {
 public:
  using Resolve = std::function<absl::StatusOr<Address>(const std::string& endpoint)>;
  using Done = absl::AnyInvocable<void(absl::StatusOr<Address>) &&>;

  ResolverThread() = default;
  ~ResolverThread();  // shutdown()
  ResolverThread(const ResolverThread&) = delete;
  ResolverThread& operator=(const ResolverThread&) = delete;

  // Any thread: resolve `endpoint` with `resolve`, then call `done(result)` on `reactor`
  // (which must run until shutdown()). Ignored after shutdown().
  void request(Reactor& reactor, std::string endpoint, Resolve resolve, Done done);
  // No more answers are posted once this returns; joins the thread (not on a reactor).
  void shutdown();

 private:
  struct Request {
    Reactor* reactor;
    std::string endpoint;
    Resolve resolve;
    Done done;
  };
  void run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Request> queue_;
  bool stop_ = false;
  std::thread thread_;  // started by the first request
};

}  // namespace percore
