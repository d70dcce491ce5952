// LineCodec: frames ended by a delimiter of 1-8 bytes ("\n" by default, "\r\n", "\0", ...),
// as used by text protocols, admin consoles and newline-delimited JSON. The message is the line
// without its delimiter (and, with strip_cr, without one '\r' before a "\n" delimiter).
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "protocol/codec.h"

namespace percore {

class LineCodec {
 public:
  static constexpr size_t kMaxDelimiter = 8;

  struct Options {
    std::string_view delimiter = "\n";  // 1 to kMaxDelimiter bytes; copied by the codec
    size_t max_line = 64 * 1024;        // bytes of a message; above -> kTooLarge
    bool strip_cr = false;              // "\r\n" ends a line too (only with a "\n" delimiter)
  };

  // How far an incomplete line was already searched, so that input arriving a byte at a time
  // is scanned once in total (O(n)), not once per call.
  struct State {
    size_t scanned = 0;  // positions [0, scanned) cannot start a delimiter
  };

  // The delimiter must be 1 to kMaxDelimiter bytes (checked: aborts otherwise, a
  // configuration bug).
  LineCodec() : LineCodec(Options{}) {}
  explicit LineCodec(const Options& options);

  Decoded decode(State& state, std::span<const char> in) const;

  // Appends `line` and the delimiter. The line must not contain the delimiter (not checked: it
  // is the caller's data and scanning it would double the encoder's cost).
  template <ByteSink S>
  void encode(S& sink, std::string_view line) const {
    const std::string_view delim = delimiter();
    PutParts(sink, line, std::span<const std::string_view>(&delim, 1));
  }

  std::string_view delimiter() const { return {delimiter_, delimiter_size_}; }
  size_t max_line() const { return max_line_; }
  bool strip_cr() const { return strip_cr_; }

 private:
  char delimiter_[kMaxDelimiter] = {};
  size_t delimiter_size_ = 0;
  size_t max_line_ = 0;
  bool strip_cr_ = false;  // only true with a "\n" delimiter
};

}  // namespace percore
