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

  Decoded decode(State&, std::span<const char> in) const {
    // The plain configuration (see header()) inline: it runs once per message.
    if (plain_width_ != 0) {
      const size_t w = plain_width_;
      if (in.size() < w) return Decoded::NeedMore(w);
      const auto* p = reinterpret_cast<const unsigned char*>(in.data());
      uint64_t length = 0;
      for (size_t i = 0; i < w; ++i)
        length = (length << 8) | p[options_.big_endian ? i : w - 1 - i];
      if (length > options_.max_frame - w) return Decoded::Error(CodecError::kTooLarge);
      const size_t total = w + length;
      if (in.size() < total) return Decoded::NeedMore(total);
      return Decoded::Frame(total, plain_strip_, total - plain_strip_);
    }
    return general_decode(in);
  }

  // The encoder is the inverse of decode for configurations where that is well defined:
  // length_field_offset 0 and initial_bytes_to_strip 0, kStripHeader or the field's width.
  // It writes the header (length computed from the parts' total) and then the parts, so that
  // decode yields the parts as the message (with strip 0: header and parts).
  static constexpr size_t kMaxHeader = kMaxVarint;
  bool invertible() const;
  // Writes the header for a message of `payload` bytes into `out` and returns its size, or 0
  // if it cannot be encoded (not invertible, negative or too wide a length, above max_frame).
  size_t header(size_t payload, char (&out)[kMaxHeader]) const {
    // A fixed-width field at offset 0 holding the payload's size (the common game header):
    // inline, it is on every message's path. Every other configuration takes the general one.
    if (plain_width_ != 0) {
      const size_t w = plain_width_;
      if (payload > options_.max_frame - w || (w < 8 && (uint64_t{payload} >> (8 * w)) != 0)) {
        return 0;
      }
      for (size_t i = 0; i < w; ++i) {
        out[i] = static_cast<char>(payload >> (8 * (options_.big_endian ? w - 1 - i : i)));
      }
      return w;
    }
    return general_header(payload, out);
  }

  // Returns false and writes nothing when header() fails.
  template <ByteSink S>
  bool encode(S& sink, std::span<const std::string_view> parts) const {
    size_t payload = 0;
    for (std::string_view part : parts) payload += part.size();
    char head[kMaxHeader];
    const size_t head_size = header(payload, head);
    if (head_size == 0) return false;
    PutParts(sink, std::string_view(head, head_size), parts);
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
  Decoded general_decode(std::span<const char> in) const;
  size_t general_header(size_t payload, char (&out)[kMaxHeader]) const;

  Options options_;
  // The fast paths of decode() and header(): a fixed-width field at offset 0 counting the bytes
  // after it (no adjustment), stripping nothing or the header. plain_width_ is the field's
  // width, or 0 when the configuration is not plain.
  size_t plain_width_ = 0;
  size_t plain_strip_ = 0;
};

}  // namespace percore
