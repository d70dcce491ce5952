// MetricsRegistry: extra sources of Prometheus text (a ClientPool's counters, anything an
// application adds) that an exporter prints after the server's StatsSnapshot: the http app's
// /metrics renders it. Owned by the application. A source stays registered while the
// Registration that add() returned lives; destroy that before whatever the source reads.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace percore {

class MetricsRegistry {
 public:
  // Appends "# TYPE" lines and samples to `out`. Called on the exporter's thread
  // (a reactor of the serving server): it must not block.
  using Source = std::function<void(std::string& out)>;

  class Registration {
   public:
    Registration() = default;
    Registration(Registration&& o) noexcept : reg_(o.reg_), id_(o.id_) { o.reg_ = nullptr; }
    Registration& operator=(Registration&& o) noexcept;
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
    ~Registration() { reset(); }
    void reset();  // unregisters now; Render() is not inside the source once this returns

   private:
    friend class MetricsRegistry;
    Registration(MetricsRegistry* reg, uint64_t id) : reg_(reg), id_(id) {}
    MetricsRegistry* reg_ = nullptr;
    uint64_t id_ = 0;
  };

  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Any thread. Sources render in the order they were added.
  [[nodiscard]] Registration add(Source source);
  // Any thread: every source's text, each family once: a family several sources write (two
  // ClientPools) gets one "# TYPE" line and all their samples together under it.
  std::string Render() const;

 private:
  mutable std::mutex mu_;  // held while rendering, so reset() waits out a render in progress
  uint64_t next_id_ = 1;
  std::map<uint64_t, Source> sources_;
};

}  // namespace percore
