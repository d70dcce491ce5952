// ResolverThread: the thread a TcpClient with a host-name endpoint resolves on before each
// reconnect, so getaddrinfo (which may block for seconds) never runs on a reactor. The answer
// is posted back to the client's reactor. Owned by the TcpClient (and shared with its state on
// the reactor); shutdown() joins the thread, waiting out a resolve in progress.
#pragma once

#include <condition_variable>
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

  // reactor: where each answer is delivered; it must outlive this object's shutdown().
  ResolverThread(Reactor& reactor, std::string endpoint, Resolve resolve);
  ~ResolverThread();  // shutdown()
  ResolverThread(const ResolverThread&) = delete;
  ResolverThread& operator=(const ResolverThread&) = delete;

  // Any thread: resolve the endpoint once more, then call `done(result)` on the reactor.
  // One request at a time (a client asks again only after the answer came); ignored after
  // shutdown().
  void request(Done done);
  // No more answers are posted once this returns; joins the thread.
  void shutdown();

 private:
  void run();

  Reactor& reactor_;
  const std::string endpoint_;
  const Resolve resolve_;
  std::mutex mu_;
  std::condition_variable cv_;
  Done pending_;
  bool stop_ = false;
  std::thread thread_;  // last: started once the members above exist
};

}  // namespace percore
