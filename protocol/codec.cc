#include "protocol/codec.h"

namespace percore {

const char* CodecErrorName(CodecError e) {
  switch (e) {
    case CodecError::kNone:
      return "none";
    case CodecError::kTooLarge:
      return "too_large";
    case CodecError::kMalformed:
      return "malformed";
    case CodecError::kUnsupported:
      return "unsupported";
  }
  return "?";
}

}  // namespace percore
