// Binds every Config field to a CLI11 option of the same name, so each can be given as a flag
// (--idle-timeout 30s) or as a key of the TOML file passed with --config (idle-timeout = "30s").
// Flags override the file. Durations take absl syntax ("250ms", "30s", "1m").
#pragma once

#include <CLI/CLI.hpp>

#include "reactor/config.h"

namespace percore::tools {

void AddConfigOptions(CLI::App& app, Config& config);

}  // namespace percore::tools
