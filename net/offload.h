// Offload: blocking work for a connection, run on a WorkerPool so the connection's reactor
// keeps serving everyone else; the result comes back to that reactor and reaches the
// connection if it is still open, or is dropped and counted (offload_results_dropped_total)
// if it closed meanwhile. Call it from the connection's callbacks; the pool must be destroyed
// (which finishes its queued jobs) before the server whose connections it serves.
#pragma once

#include <chrono>
#include <thread>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "net/connection.h"
#include "pool/worker_pool.h"
#include "reactor/reactor.h"

namespace percore {

// work() runs on a worker thread; then done(conn, result) (done(conn) when work returns
// void) on the connection's reactor thread. ResourceExhausted when the pool's queue is full:
// nothing was queued, answer "busy" or try later.
template <class Work, class Done>
absl::Status Offload(WorkerPool& pool, Connection& c, Work work, Done done) {
  using R = std::invoke_result_t<Work&>;
  WorkerPool::Job job = [h = c.handle(), work = std::move(work), done = std::move(done)]() mutable {
    ConnHandle::Visit home;
    if constexpr (std::is_void_v<R>) {
      work();
      home = [done = std::move(done)](Connection* c) mutable {
        if (c == nullptr) return Reactor::current()->stats().offload_dropped.add();
        done(*c);
      };
    } else {
      home = [result = work(), done = std::move(done)](Connection* c) mutable {
        if (c == nullptr) return Reactor::current()->stats().offload_dropped.add();
        done(*c, std::move(result));
      };
    }
    // A full reactor queue is waited out here: a worker may block, a reactor may not.
    while (h.run(home).code() == absl::StatusCode::kResourceExhausted) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  };
  return pool.submit(job);
}

}  // namespace percore
