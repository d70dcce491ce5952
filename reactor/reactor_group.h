// ReactorGroup: one Reactor per thread, one thread per core by default (Config::threads),
// optionally pinned to CPUs. It owns the reactors and their threads; start() runs a setup
// function on each reactor's own thread (where its backend must be created) before looping.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "reactor/reactor.h"
#include "reactor/stats.h"

namespace percore {

class ReactorGroup {
 public:
  explicit ReactorGroup(const Config& config, Reactor::Clock clock = nullptr);
  ~ReactorGroup();  // stops and joins
  ReactorGroup(const ReactorGroup&) = delete;
  ReactorGroup& operator=(const ReactorGroup&) = delete;

  size_t size() const { return reactors_.size(); }
  Reactor& at(size_t i) { return *reactors_[i]; }

  // Starts the threads. Each runs setup(its reactor) on its own thread, then the loop.
  // Returns after every setup finished; if one failed, all are stopped and joined and the
  // first error is returned.
  // teardown(its reactor), if given, runs on the thread after the loop exits.
  absl::Status start(std::function<absl::Status(Reactor&)> setup,
                     std::function<void(Reactor&)> teardown = nullptr);
  void stop();         // asks every loop to exit; any thread
  void join();         // joins the threads; one caller at a time (the owner)
  void wait_exited();  // blocks until every loop has exited; any number of threads
  StatsSnapshot stats() const;

 private:
  Config config_;
  std::vector<std::unique_ptr<Reactor>> reactors_;
  std::vector<std::thread> threads_;
  std::function<void(Reactor&)> teardown_;
  std::mutex exit_mu_;
  std::condition_variable exit_cv_;
  size_t running_ = 0;
};

}  // namespace percore
