// HostFacts: the kernel settings and limits that decide how many connections a Linux host can
// hold, read from uname, getrlimit, /proc/sys and /proc/meminfo. A value that cannot be read
// (no /proc in a bare chroot, a sysctl the kernel does not have) is left unset, never guessed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace percore::tools {

struct HostFacts {
  std::string kernel_release, kernel_version, machine;
  // RLIM_INFINITY shows as INT64_MAX.
  int64_t nofile_soft = 0, nofile_hard = 0;
  int64_t memlock_soft = 0, memlock_hard = 0;  // bytes
  std::optional<int64_t> nr_open, file_max, files_allocated;
  std::optional<int64_t> somaxconn, tcp_max_syn_backlog, tcp_tw_reuse;
  std::optional<int64_t> port_low, port_high;
  std::vector<int64_t> tcp_mem;  // min, pressure, max, in pages
  int64_t page_size = 4096;
  std::optional<int64_t> mem_total, mem_available;  // bytes
  // kernel.io_uring_disabled (6.6+): 0 allowed, 1 only for kernel.io_uring_group, 2 refused.
  std::optional<int64_t> io_uring_disabled, io_uring_group;
  // /proc/self/status: 0 off, 1 strict, 2 filter; and how many filters are stacked.
  std::optional<int64_t> seccomp, seccomp_filters;
};

HostFacts ReadHostFacts();

// The whitespace-separated integers of a /proc file ("32768\t60999"); empty if unreadable.
std::vector<int64_t> ReadProcInts(const char* path);
// A "Name:  value [kB]" field of /proc/meminfo or /proc/self/status, kB turned into bytes.
std::optional<int64_t> ReadProcField(const char* path, const char* name);

}  // namespace percore::tools
