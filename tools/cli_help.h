// HelpFormatter: CLI11's help with every default in view. CLI11 shows a negatable flag as
// `--tcp-nodelay,--no-tcp-nodelay{false}`, where {false} is the value --no-tcp-nodelay sets,
// which reads as the flag's default; this shows `--[no-]tcp-nodelay=true` instead, where the
// value after "=" is the default, as it is for options (`--threads INT=0`).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace percore::tools {

class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_option_name(const CLI::Option* opt, bool is_positional) const override;
};

}  // namespace percore::tools
