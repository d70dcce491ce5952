// Precompiled for every source of the percore CLI (meson cpp_pch): CLI11 is header-only and
// costs seconds per file that includes it; parsed once per build instead.
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
