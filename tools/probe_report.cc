#include "tools/probe_report.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace percore::tools {

void ProbeSection::add(std::string key, std::string label, std::string shown, std::string json) {
  rows.push_back({std::move(key), std::move(label), std::move(shown), std::move(json)});
}

void ProbeSection::add_int(std::string key, std::string label, int64_t v,
                           const std::string& suffix) {
  add(std::move(key), std::move(label), absl::StrCat(Thousands(v), suffix), absl::StrCat(v));
}

void ProbeSection::add_text(std::string key, std::string label, std::string v) {
  std::string json = JsonString(v);
  add(std::move(key), std::move(label), std::move(v), std::move(json));
}

void ProbeSection::add_bool(std::string key, std::string label, bool v, const std::string& why) {
  std::string shown = v ? "yes" : "no";
  if (!why.empty()) absl::StrAppend(&shown, " (", why, ")");
  add(std::move(key), std::move(label), std::move(shown), v ? "true" : "false");
}

std::string Thousands(int64_t v) {
  std::string digits = absl::StrCat(v < 0 ? -v : v);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return v < 0 ? "-" + out : out;
}

std::string Bytes(double v) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (std::abs(v) >= 1024 && u < 4) v /= 1024, ++u;
  return u == 0 ? absl::StrFormat("%.0f B", v) : absl::StrFormat("%.1f %s", v, units[u]);
}

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string RenderText(const std::vector<ProbeSection>& sections) {
  // One label column for the whole report, so values line up across sections too.
  size_t width = 0;
  for (const ProbeSection& s : sections) {
    for (const ProbeRow& r : s.rows) width = std::max(width, r.label.size());
  }
  std::string out;
  for (const ProbeSection& s : sections) {
    if (!out.empty()) out += '\n';
    absl::StrAppend(&out, s.title, "\n");
    for (const ProbeRow& r : s.rows) {
      std::string line = absl::StrFormat("  %-*s  %s", static_cast<int>(width), r.label, r.shown);
      line.erase(line.find_last_not_of(' ') + 1);
      absl::StrAppend(&out, line, "\n");
    }
    for (const std::string& line : s.lines) {
      absl::StrAppend(&out, line.empty() ? "" : "  ", line, "\n");
    }
  }
  return out;
}

std::string RenderJson(const std::vector<ProbeSection>& sections) {
  std::string out = "{";
  const char* section_sep = "\n  ";
  for (const ProbeSection& s : sections) {
    absl::StrAppend(&out, section_sep, JsonString(s.key), ": {");
    section_sep = ",\n  ";
    const char* row_sep = "\n    ";
    for (const ProbeRow& r : s.rows) {
      absl::StrAppend(&out, row_sep, JsonString(r.key), ": ", r.json);
      row_sep = ",\n    ";
    }
    if (!s.lines.empty()) {
      absl::StrAppend(&out, row_sep, "\"lines\": [");
      const char* line_sep = "";
      for (const std::string& line : s.lines) {
        absl::StrAppend(&out, line_sep, "\n      ", JsonString(line));
        line_sep = ",";
      }
      out += "\n    ]";
    }
    out += "\n  }";
  }
  return out + "\n}\n";
}

}  // namespace percore::tools
