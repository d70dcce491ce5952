// The shape every codec in protocol/ shares. A codec is a small value type holding its
// options (limits included); it knows bytes only: no sockets, no reactor, no Connection.
//
//   Decoded d = codec.decode(state, in);   // `in`: the unconsumed input, one contiguous view
//   kFrame:    the message is in.subspan(d.offset, d.size); the frame (header, body,
//              delimiter) takes in.first(d.consumed); nothing was copied.
//   kNeedMore: call again once at least d.need bytes (in total, from the same start) are there.
//   kError:    the input can never become valid (d.error says why); close the connection.
//
// `state` is per connection (Codec::State, often empty): a decoder may remember how far it
// already scanned an incomplete frame so that input arriving in small pieces is not rescanned
// from the start; it is reset by the decoder whenever it returns a frame.
// Encoders append to any ByteSink (a Connection, a std::string) without temporaries.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace percore {

enum class CodecError : uint8_t {
  kNone,
  kTooLarge,     // a frame, line, header or length above the codec's limit
  kMalformed,    // bytes the protocol does not allow
  kUnsupported,  // valid, but not handled (e.g. an HTTP transfer coding)
};

const char* CodecErrorName(CodecError e);

struct Decoded {
  enum class Kind : uint8_t { kFrame, kNeedMore, kError };

  Kind kind = Kind::kNeedMore;
  CodecError error = CodecError::kNone;
  size_t consumed = 0;  // kFrame: bytes of input the whole frame takes
  size_t offset = 0;    // kFrame: where the message starts within those bytes
  size_t size = 0;      // kFrame: message length
  size_t need = 0;      // kNeedMore: total input bytes needed before the next call (>= in+1)

  static Decoded Frame(size_t consumed, size_t offset, size_t size) {
    return {Kind::kFrame, CodecError::kNone, consumed, offset, size, 0};
  }
  static Decoded NeedMore(size_t need) {
    return {Kind::kNeedMore, CodecError::kNone, 0, 0, 0, need};
  }
  static Decoded Error(CodecError e) { return {Kind::kError, e, 0, 0, 0, 0}; }
};

// Where encoders write: anything with send(string_view) (Connection) or append(data, size)
// (std::string and friends).
template <class S>
concept ByteSink = requires(S& s, std::string_view v) {
  s.send(v);
}
|| requires(S& s, const char* p, size_t n) { s.append(p, n); };

template <ByteSink S>
void Put(S& sink, std::string_view bytes) {
  if constexpr (requires { sink.send(bytes); }) {
    sink.send(bytes);
  } else {
    sink.append(bytes.data(), bytes.size());
  }
}

// Writes `head` then `parts`: in one call where the sink takes several parts at once (a
// Connection checks its state and limits once per call), else part by part. (One and two
// parts, what the codecs write, are spelled out: a zero-filled array of views costs more than
// the call it saves.)
template <ByteSink S>
void PutParts(S& sink, std::string_view head, std::span<const std::string_view> parts) {
  if constexpr (requires { sink.send(std::span<const std::string_view>()); }) {
    if (parts.size() == 1) {
      const std::string_view all[2] = {head, parts[0]};
      sink.send(std::span<const std::string_view>(all));
      return;
    }
    if (parts.size() == 2) {
      const std::string_view all[3] = {head, parts[0], parts[1]};
      sink.send(std::span<const std::string_view>(all));
      return;
    }
  }
  Put(sink, head);
  for (std::string_view part : parts) Put(sink, part);
}

}  // namespace percore
