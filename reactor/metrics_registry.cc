#include "reactor/metrics_registry.h"

#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace percore {
namespace {

// One metric family of the text format: its "# HELP" and "# TYPE" lines, then its samples.
struct Family {
  std::string_view help, type;
  std::string samples;
};

// The family a "# HELP name ..." or "# TYPE name ..." comment line names; empty otherwise.
std::string_view CommentFamily(std::string_view line, std::string_view* kind) {
  if (line.size() < 7 || line.substr(0, 2) != "# ") return {};
  *kind = line.substr(2, 5);
  if (*kind != "HELP " && *kind != "TYPE ") return {};
  std::string_view rest = line.substr(7);
  return rest.substr(0, rest.find(' '));
}

// Several sources may write the same family (two ClientPools each write every
// percore_client_pool_* family): strict parsers reject a second "# TYPE" line for a name and
// a family whose samples are not together, so each family is printed once, in the order it
// first appeared, with every source's samples under it.
std::string MergeFamilies(std::string_view text) {
  std::vector<Family> families(1);  // [0]: samples before any comment line, printed first
  absl::flat_hash_map<std::string_view, size_t> index;
  size_t current = 0;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (line.empty()) continue;
    std::string_view kind;
    if (std::string_view name = CommentFamily(line, &kind); !name.empty()) {
      auto [it, added] = index.try_emplace(name, families.size());
      if (added) families.emplace_back();
      current = it->second;
      Family& f = families[current];
      std::string_view& kept = kind == "HELP " ? f.help : f.type;
      if (kept.empty()) kept = line;  // on a repeat, the first source's line stands
      continue;
    }
    families[current].samples.append(line).push_back('\n');
  }
  std::string out;
  for (const Family& f : families) {
    if (!f.help.empty()) out.append(f.help).push_back('\n');
    if (!f.type.empty()) out.append(f.type).push_back('\n');
    out += f.samples;
  }
  return out;
}

}  // namespace

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
  std::string text;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, source] : sources_) source(text);
  }
  return MergeFamilies(text);
}

}  // namespace percore
