// Built instead of uring_backend.cc when meson found no liburing (-Dio_uring=disabled).
#include "reactor/backend.h"

namespace percore {

absl::StatusOr<std::unique_ptr<Backend>> MakeUringBackend(const Config&, IoSink*) {
  return absl::UnimplementedError(
      "io_uring backend not built: install liburing-dev and rebuild with -Dio_uring=enabled, "
      "or use backend = epoll");
}

}  // namespace percore
