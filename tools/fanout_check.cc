#include "tools/fanout_check.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace percore::tools {

const char* FanoutErrorName(FanoutError e) {
  switch (e) {
    case FanoutError::kGap:
      return "gap";
    case FanoutError::kDuplicate:
      return "duplicate";
    case FanoutError::kReorder:
      return "reorder";
    case FanoutError::kMalformed:
      return "malformed";
    case FanoutError::kServerError:
      return "server_error";
    case FanoutError::kClosed:
      return "closed";
    case FanoutError::kCount:
      break;
  }
  return "?";
}

uint64_t FanoutErrors::total() const {
  uint64_t t = 0;
  for (uint64_t v : n) t += v;
  return t;
}

void FanoutErrors::add(const FanoutErrors& o) {
  for (size_t i = 0; i < n.size(); ++i) n[i] += o.n[i];
}

std::string FanoutErrors::ToString() const {
  std::string s;
  for (size_t i = 0; i < n.size(); ++i) {
    if (n[i] == 0) continue;
    absl::StrAppend(&s, s.empty() ? "" : " ", FanoutErrorName(static_cast<FanoutError>(i)), "=",
                    n[i]);
  }
  return s.empty() ? "none" : s;
}

bool SeqChecker::on(uint64_t seq, FanoutErrors& errors) {
  if (seq == next_) {
    ++next_;
    return true;
  }
  if (seq > next_) {
    for (uint64_t s = next_; s < seq; ++s) {
      if (missing_.size() < kMaxMissing) {
        missing_.push_back(s);
      } else {
        ++untracked_;
      }
    }
    next_ = seq + 1;
    return true;
  }
  auto it = std::find(missing_.begin(), missing_.end(), seq);
  if (it != missing_.end()) {
    missing_.erase(it);
    ++errors[FanoutError::kReorder];
    return true;
  }
  ++errors[FanoutError::kDuplicate];
  return false;
}

void SeqChecker::finish(uint64_t published, FanoutErrors& errors) {
  errors[FanoutError::kGap] += missing_.size() + untracked_;
  if (published > next_) errors[FanoutError::kGap] += published - next_;
  missing_.clear();
  untracked_ = 0;
  next_ = std::max(next_, published);
}

}  // namespace percore::tools
