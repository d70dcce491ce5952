#include "reactor/metrics_registry.h"

namespace percore {

MetricsRegistry::Registration& MetricsRegistry::Registration::operator=(Registration&& o) noexcept {
  if (this != &o) {
    reset();
    reg_ = o.reg_;
    id_ = o.id_;
    o.reg_ = nullptr;
  }
  return *this;
}

void MetricsRegistry::Registration::reset() {
  if (reg_ == nullptr) return;
  std::lock_guard lock(reg_->mu_);
  reg_->sources_.erase(id_);
  reg_ = nullptr;
}

MetricsRegistry::Registration MetricsRegistry::add(Source source) {
  std::lock_guard lock(mu_);
  const uint64_t id = next_id_++;
  sources_.emplace(id, std::move(source));
  return Registration(this, id);
}

std::string MetricsRegistry::Render() const {
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& [id, source] : sources_) source(out);
  return out;
}

}  // namespace percore
