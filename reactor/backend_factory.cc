#include "absl/strings/str_cat.h"
#include "reactor/backend.h"

namespace percore {

absl::StatusOr<std::unique_ptr<Backend>> MakeBackend(BackendKind kind, const Config& config,
                                                     IoSink* sink, std::string* fallback_note) {
  fallback_note->clear();
  switch (kind) {
    case BackendKind::kEpoll:
      return MakeEpollBackend(config, sink);
    case BackendKind::kIoUring:
      return MakeUringBackend(config, sink);
    case BackendKind::kAuto: {
      auto uring = MakeUringBackend(config, sink);
      if (uring.ok()) return uring;
      *fallback_note = absl::StrCat("backend=auto: io_uring unavailable (",
                                    uring.status().message(), "); using epoll");
      return MakeEpollBackend(config, sink);
    }
  }
  return absl::InvalidArgumentError("unknown backend");
}

}  // namespace percore
