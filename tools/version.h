// The version `percore --version` prints: meson's project version and the git commit the
// binary was built from, both filled in at build time (tools/version.cc.in).
#pragma once

#include <string>

namespace percore::tools {

// "percore 0.1.0 (git a71b594)"; "-dirty" after the commit when built with local changes.
std::string VersionString();

}  // namespace percore::tools
