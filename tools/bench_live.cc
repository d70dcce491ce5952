#include "tools/bench_live.h"

#include "absl/strings/str_format.h"
#include "tools/bench_report.h"

namespace percore::tools {

LiveMode ChooseLiveMode(bool in_place, bool asked, bool long_single_run) {
  if (in_place) return LiveMode::kInPlace;
  return asked || long_single_run ? LiveMode::kLines : LiveMode::kOff;
}

std::string LiveText(const std::string& label, const LiveSample& s) {
  return absl::StrFormat("%s %5.1f s%s  %s msgs/s  p50 %s us  p99 %s us  errors %d  open %d", label,
                         s.elapsed_s, s.measuring ? "" : " (warm-up)",
                         FormatNumber(s.msgs_per_s, 0, true), FormatNumber(s.p50_us, 1, true),
                         FormatNumber(s.p99_us, 1, true), s.errors, s.open_conns);
}

std::function<void(const LiveSample&)> LiveLine::for_run(std::string label) {
  if (mode_ == LiveMode::kOff) return {};
  return [this, label = std::move(label)](const LiveSample& s) {
    std::string text = LiveText(label, s);
    if (mode_ == LiveMode::kLines) {
      std::fprintf(out_, "%s\n", text.c_str());
    } else {
      // Pad over what the previous, longer line left on screen.
      size_t pad = shown_ > text.size() ? shown_ - text.size() : 0;
      std::fprintf(out_, "\r%s%*s", text.c_str(), static_cast<int>(pad), "");
      shown_ = text.size();
    }
    std::fflush(out_);
  };
}

void LiveLine::end() {
  if (mode_ != LiveMode::kInPlace || shown_ == 0) return;
  std::fprintf(out_, "\r%*s\r", static_cast<int>(shown_), "");
  std::fflush(out_);
  shown_ = 0;
}

}  // namespace percore::tools
