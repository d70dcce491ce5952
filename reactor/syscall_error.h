// SyscallError: turns a failed syscall into an absl::Status that names the operation and errno.
#pragma once

#include <string_view>

#include "absl/status/status.h"

namespace percore {

absl::Status SyscallError(std::string_view op, int err);

}  // namespace percore
