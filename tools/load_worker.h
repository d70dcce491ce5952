// LoadWorker: one load thread of `percore bench`. It owns a share of the connections (every
// threads-th one), connects them at the paced times, and drives them in its own epoll loop:
// closed loop (keep `depth` requests in flight) or open loop (request j of the whole run is
// due at start + j / rate on connection j % conns; latency counts from that time). Every reply
// is checked by the BenchProtocol. Owned and joined by RunEchoLoad (tools/load_client.cc),
// which reads the live figures through Snapshot() once a second and the rest after join.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "tools/bench_protocol.h"
#include "tools/latency_histogram.h"
#include "tools/load_client.h"
#include "tools/load_connect.h"

namespace percore::tools {

// The load's timetable, the same for every worker.
struct LoadClock {
  uint64_t start_ns = 0, measure_ns = 0, end_ns = 0;
};

uint64_t MonotonicNs();

// When request k of connection c is due in the open loop: the run's requests are spread
// evenly over time and, in turn, over the connections.
inline uint64_t ScheduledNs(uint64_t start_ns, double rate, int conns, uint32_t c, uint64_t k) {
  double j = static_cast<double>(k) * conns + c;
  return start_ns + static_cast<uint64_t>(j * 1e9 / rate);
}

class LoadWorker {
 public:
  // What the calling thread sees live: since the last Snapshot (latencies, messages) or in all
  // (errors, open connections).
  struct Live {
    LatencyHistogram latency;
    uint64_t msgs = 0;
    uint64_t errors = 0;
    int open_conns = 0;
  };

  // Connections `index`, `index + stride`, ... of opt.conns.
  LoadWorker(const LoadOptions& opt, const BenchProtocol& protocol, const LoadTarget& target,
             int index, int stride);
  LoadWorker(const LoadWorker&) = delete;
  LoadWorker& operator=(const LoadWorker&) = delete;
  ~LoadWorker();

  void Run(const LoadClock& clock);
  Live Snapshot();  // thread-safe

  // After Run returned:
  const LatencyHistogram& latency() const { return latency_; }
  const LatencyHistogram& connect_latency() const { return connect_; }
  uint64_t msgs() const { return msgs_; }
  uint64_t request_bytes() const { return request_bytes_; }
  uint64_t reconnects() const { return reconnects_; }
  uint64_t connected() const { return connected_; }  // connects that succeeded
  const std::map<std::string, uint64_t>& errors_by_kind() const { return errors_by_kind_; }
  const std::string& first_error() const { return first_error_; }
  uint64_t first_error_ns() const { return first_error_ns_; }

 private:
  struct Conn;
  void StartConnects(uint64_t now);
  void Connect(Conn& c, uint64_t now);
  void Reconnect(Conn& c, uint64_t now);
  void ConnectDone(Conn& c, uint64_t now);
  void OnEvent(Conn& c, uint32_t events);
  void ReadAll(Conn& c);
  void CheckInput(Conn& c, uint64_t now);
  void Fill(Conn& c, uint64_t now);
  void Flush(Conn& c);
  void Fail(Conn& c, const std::string& kind, const std::string& what);
  void ScheduleDue(uint64_t now);
  uint64_t NextWakeNs(uint64_t now) const;
  void Publish(uint64_t now, bool force);
  void FlushSamples();

  const LoadOptions& opt_;
  const BenchProtocol& protocol_;
  const LoadTarget& target_;
  const int index_, stride_;
  LoadClock clock_;
  Fd ep_;
  std::vector<Conn> conns_;
  size_t next_connect_ = 0;  // conns_[next_connect_..] not started yet
  // Open loop: the next due request is request sched_k_ of conns_[sched_li_].
  uint64_t sched_k_ = 0;
  size_t sched_li_ = 0;

  LatencyHistogram latency_, connect_;
  uint64_t msgs_ = 0, request_bytes_ = 0, reconnects_ = 0, connected_ = 0;
  std::map<std::string, uint64_t> errors_by_kind_;
  std::string first_error_;
  uint64_t first_error_ns_ = 0;
  uint64_t errors_ = 0;
  int open_ = 0;

  // Latencies not yet merged into latency_ (if samples_measuring_) and live_: one add per reply;
  // flushed every ~100 ms and when the measured window opens or closes.
  LatencyHistogram samples_;
  bool samples_measuring_ = false;
  uint64_t next_publish_ns_ = 0;
  std::mutex mu_;
  Live live_;  // guarded by mu_
};

}  // namespace percore::tools
