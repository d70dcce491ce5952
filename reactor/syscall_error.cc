#include "reactor/syscall_error.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"

namespace percore {

absl::Status SyscallError(std::string_view op, int err) {
  std::string msg = absl::StrFormat("%s: %s (errno %d)", op, std::strerror(err), err);
  switch (err) {
    case EADDRINUSE:
      return absl::AlreadyExistsError(msg);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(msg);
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case ENOBUFS:
      return absl::ResourceExhaustedError(msg);
    case ENOSYS:
    case EOPNOTSUPP:
      return absl::UnimplementedError(msg);
    case EINVAL:
      return absl::InvalidArgumentError(msg);
    default:
      return absl::InternalError(msg);
  }
}

}  // namespace percore
