// LengthFieldCodec: frames whose header carries the length of what follows, configured like
// Netty's LengthFieldBasedFrameDecoder (and libhv's unpack_setting_t): fixed 1/2/3/4/8-byte
// fields in either byte order or a protobuf base-128 varint, at any offset in the header.
//
//   frame = [length_field_offset bytes][length field][rest]
//   rest  = length + length_adjustment                      (bytes after the field), or
//   frame = length + length_adjustment                      with length_includes_header
//   message = frame without its first initial_bytes_to_strip bytes
//
// Examples, one Options line each:
//   [u16 len][u16 msg id][body], len counts msg id + body, message = [msg id][body]:
//     {.length_field_length = 2, .initial_bytes_to_strip = 2}
//   protobuf varint-delimited stream, message = the serialized protobuf:
//     {.length_field_length = LengthFieldCodec::kVarint,
//      .initial_bytes_to_strip = LengthFieldCodec::kStripHeader}
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>

#include "protocol/codec.h"

namespace percore {

class LengthFieldCodec {
 public:
  static constexpr uint8_t kVarint = 0;             // length_field_length: base-128 varint
  static constexpr size_t kMaxVarint = 10;          // bytes of a 64-bit varint
  static constexpr size_t kStripHeader = SIZE_MAX;  // strip offset + length field, any width

  struct Options {
    size_t length_field_offset = 0;       // bytes before the length field
    uint8_t length_field_length = 4;      // 1, 2, 3, 4, 8 or kVarint
    bool big_endian = true;               // fixed widths only
    int64_t length_adjustment = 0;        // added to the length to get the bytes after the field
    size_t initial_bytes_to_strip = 0;    // from the frame's start; or kStripHeader
    bool length_includes_header = false;  // the length counts the whole frame
    size_t max_frame = 1 << 20;           // whole frame bytes; above -> kTooLarge
  };

  // Nothing to remember: the header is re-read on each call (a few bytes).
  struct State {};

  // The field length must be one of the above (checked: aborts otherwise, a configuration bug).
  LengthFieldCodec() : LengthFieldCodec(Options{}) {}
  explicit LengthFieldCodec(const Options& options);

  Decoded decode(State& state, std::span<const char> in) const;

  // The encoder is the inverse of decode for configurations where that is well defined:
  // length_field_offset 0 and initial_bytes_to_strip 0, kStripHeader or the field's width.
  // It writes the header (length computed from the parts' total) and then the parts, so that
  // decode yields the parts as the message (with strip 0: header and parts).
  static constexpr size_t kMaxHeader = kMaxVarint;
  bool invertible() const;
  // Writes the header for a message of `payload` bytes into `out` and returns its size, or 0
  // if it cannot be encoded (not invertible, negative or too wide a length, above max_frame).
  size_t header(size_t payload, char (&out)[kMaxHeader]) const;

  // Returns false and writes nothing when header() fails.
  template <ByteSink S>
  bool encode(S& sink, std::span<const std::string_view> parts) const {
    size_t payload = 0;
    for (std::string_view part : parts) payload += part.size();
    char head[kMaxHeader];
    const size_t head_size = header(payload, head);
    if (head_size == 0) return false;
    Put(sink, std::string_view(head, head_size));
    for (std::string_view part : parts) Put(sink, part);
    return true;
  }
  template <ByteSink S>
  bool encode(S& sink, std::string_view message) const {
    return encode(sink, std::span<const std::string_view>(&message, 1));
  }
  template <ByteSink S>
  bool encode(S& sink, std::initializer_list<std::string_view> parts) const {
    return encode(sink, std::span<const std::string_view>(parts.begin(), parts.size()));
  }

  const Options& options() const { return options_; }

 private:
  Options options_;
};

}  // namespace percore
