#include "tools/probe_host.h"

#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace percore::tools {
namespace {

int64_t Limit(rlim_t v) {
  return v == RLIM_INFINITY ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(v);
}

std::optional<int64_t> ReadOne(const char* path) {
  std::vector<int64_t> v = ReadProcInts(path);
  if (v.empty()) return std::nullopt;
  return v[0];
}

}  // namespace

std::vector<int64_t> ReadProcInts(const char* path) {
  std::ifstream in(path);
  std::vector<int64_t> out;
  std::string word;
  while (in >> word) {
    int64_t v = 0;
    uint64_t u = 0;
    if (absl::SimpleAtoi(word, &v)) {
      out.push_back(v);
    } else if (absl::SimpleAtoi(word, &u)) {  // fs.file-max is ULONG_MAX on recent kernels
      out.push_back(std::numeric_limits<int64_t>::max());
    } else {
      return {};
    }
  }
  return out;
}

std::optional<int64_t> ReadProcField(const char* path, const char* name) {
  std::ifstream in(path);
  std::string line;
  const size_t n = std::strlen(name);
  while (std::getline(in, line)) {
    if (line.compare(0, n, name) != 0 || line.size() <= n || line[n] != ':') continue;
    std::vector<std::string> words =
        absl::StrSplit(line.substr(n + 1), ' ', absl::SkipWhitespace());
    int64_t v = 0;
    if (words.empty() || !absl::SimpleAtoi(absl::StripAsciiWhitespace(words[0]), &v)) {
      return std::nullopt;
    }
    if (words.size() > 1 && words[1] == "kB") v *= 1024;
    return v;
  }
  return std::nullopt;
}

HostFacts ReadHostFacts() {
  HostFacts f;
  if (utsname u{}; ::uname(&u) == 0) {
    f.kernel_release = u.release;
    f.kernel_version = u.version;
    f.machine = u.machine;
  }
  if (rlimit r{}; ::getrlimit(RLIMIT_NOFILE, &r) == 0) {
    f.nofile_soft = Limit(r.rlim_cur);
    f.nofile_hard = Limit(r.rlim_max);
  }
  if (rlimit r{}; ::getrlimit(RLIMIT_MEMLOCK, &r) == 0) {
    f.memlock_soft = Limit(r.rlim_cur);
    f.memlock_hard = Limit(r.rlim_max);
  }
  f.nr_open = ReadOne("/proc/sys/fs/nr_open");
  f.file_max = ReadOne("/proc/sys/fs/file-max");
  f.files_allocated = ReadOne("/proc/sys/fs/file-nr");
  f.somaxconn = ReadOne("/proc/sys/net/core/somaxconn");
  f.tcp_max_syn_backlog = ReadOne("/proc/sys/net/ipv4/tcp_max_syn_backlog");
  f.tcp_tw_reuse = ReadOne("/proc/sys/net/ipv4/tcp_tw_reuse");
  if (std::vector<int64_t> r = ReadProcInts("/proc/sys/net/ipv4/ip_local_port_range");
      r.size() == 2) {
    f.port_low = r[0];
    f.port_high = r[1];
  }
  f.tcp_mem = ReadProcInts("/proc/sys/net/ipv4/tcp_mem");
  if (f.tcp_mem.size() != 3) f.tcp_mem.clear();
  f.page_size = ::sysconf(_SC_PAGESIZE);
  f.mem_total = ReadProcField("/proc/meminfo", "MemTotal");
  f.mem_available = ReadProcField("/proc/meminfo", "MemAvailable");
  f.io_uring_disabled = ReadOne("/proc/sys/kernel/io_uring_disabled");
  f.io_uring_group = ReadOne("/proc/sys/kernel/io_uring_group");
  f.seccomp = ReadProcField("/proc/self/status", "Seccomp");
  f.seccomp_filters = ReadProcField("/proc/self/status", "Seccomp_filters");
  return f;
}

}  // namespace percore::tools
