// ProbeReport: what `percore probe` found, as sections of rows, rendered once for people
// (aligned plain text) and once for machines (one JSON object). Each row carries both forms of
// its value, so the two renderings cannot disagree about what was measured.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace percore::tools {

struct ProbeRow {
  std::string key;    // JSON key, snake_case
  std::string label;  // text label
  std::string shown;  // text value (with units, separators, a short explanation)
  std::string json;   // the value encoded as JSON
};

struct ProbeSection {
  ProbeSection(std::string key, std::string title) : key(std::move(key)), title(std::move(title)) {}

  std::string key;    // JSON key
  std::string title;  // text heading
  std::vector<ProbeRow> rows;
  // Free lines under the rows (the fixes to apply), a JSON array of strings under "lines".
  std::vector<std::string> lines;

  void add(std::string key, std::string label, std::string shown, std::string json);
  void add_int(std::string key, std::string label, int64_t v, const std::string& suffix = "");
  void add_text(std::string key, std::string label, std::string v);
  void add_bool(std::string key, std::string label, bool v, const std::string& why = "");
};

// "1,048,576": figures people compare by eye.
std::string Thousands(int64_t v);
// "1.5 GiB", "812 KiB", "96 B".
std::string Bytes(double v);
// A JSON string literal, quotes included.
std::string JsonString(std::string_view s);

std::string RenderText(const std::vector<ProbeSection>& sections);
// One object: {"<section key>": {"<row key>": value, ..., "lines": [...]}, ...}.
std::string RenderJson(const std::vector<ProbeSection>& sections);

}  // namespace percore::tools
