#include "tools/cli_help.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_join.h"

namespace percore::tools {

std::string HelpFormatter::make_option_name(const CLI::Option* opt, bool is_positional) const {
  if (is_positional) return CLI::Formatter::make_option_name(opt, is_positional);
  const std::vector<std::string>& longs = opt->get_lnames();
  // "no-x" folds into "--[no-]x" when it is the negation (an fname) of a flag also named "x".
  auto negation_of = [&](const std::string& name) {
    const std::string no = "no-" + name;
    return std::find(longs.begin(), longs.end(), no) != longs.end() && opt->check_fname(no);
  };
  std::vector<std::string> names;
  for (const std::string& s : opt->get_snames()) names.push_back("-" + s);
  for (const std::string& l : longs) {
    if (l.rfind("no-", 0) == 0 &&
        std::find(longs.begin(), longs.end(), l.substr(3)) != longs.end() &&
        negation_of(l.substr(3))) {
      continue;  // shown with its positive name
    }
    names.push_back((negation_of(l) ? "--[no-]" : "--") + l);
  }
  return absl::StrJoin(names, ",");
}

}  // namespace percore::tools
