// The live line of `percore bench`: one line a second while a run is measured, from the load
// engine's LoadOptions::on_second samples. On a terminal it is rewritten in place (\r) and
// cleared when the run ends; piped, it prints plain lines, but only when asked (--live) or for
// a single long run, so CI logs of many short rounds stay short. Owned by the bench.
#pragma once

#include <cstdio>
#include <functional>
#include <string>

#include "tools/load_client.h"

namespace percore::tools {

enum class LiveMode { kOff, kInPlace, kLines };

// in_place: stderr is a terminal; asked: --live; long_single_run: one run of 10 s or more.
LiveMode ChooseLiveMode(bool in_place, bool asked, bool long_single_run);

// The text of one sample, without line ending.
std::string LiveText(const std::string& label, const LiveSample& s);

class LiveLine {
 public:
  LiveLine(LiveMode mode, std::FILE* out) : mode_(mode), out_(out) {}
  ~LiveLine() { end(); }
  LiveLine(const LiveLine&) = delete;
  LiveLine& operator=(const LiveLine&) = delete;

  // A callback for LoadOptions::on_second labelled `label`; empty when the mode is kOff.
  std::function<void(const LiveSample&)> for_run(std::string label);
  // Clears an in-place line so that the next output starts on a clean line.
  void end();

 private:
  LiveMode mode_;
  std::FILE* out_;
  size_t shown_ = 0;  // width of the in-place line now on screen
};

}  // namespace percore::tools
