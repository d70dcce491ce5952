// percore: serve built-in apps and benchmark TCP backends.
#include <sys/resource.h>

#include <cstdio>
#include <cstring>

#include "tools/commands.h"
#include "tools/version.h"

namespace {

// Like Go's runtime: a server that holds many sockets should not stop at a soft limit of 1024
// when the hard limit allows more. Raising the hard limit is the operator's call (docs/tuning.md).
void RaiseOpenFileLimit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const char* usage =
      "usage: percore serve [--app echo] [--port P] [--config file.toml] [flags...]\n"
      "       percore bench [--compare epoll,io_uring] [--conns N] [--size B] [--depth D] ...\n"
      "       percore probe [--target-conns N] [--json]   what this host allows\n"
      "       percore --version\n"
      "       percore <command> --help\n";
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::fputs(usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (std::strcmp(argv[1], "--version") == 0 || std::strcmp(argv[1], "version") == 0) {
    std::printf("%s\n", percore::tools::VersionString().c_str());
    return 0;
  }
  // Before the limit is raised: probe reports the limits this shell gives a program.
  if (std::strcmp(argv[1], "probe") == 0) return percore::tools::ProbeMain(argc - 1, argv + 1);
  RaiseOpenFileLimit();
  if (std::strcmp(argv[1], "serve") == 0) return percore::tools::ServeMain(argc - 1, argv + 1);
  if (std::strcmp(argv[1], "bench") == 0) return percore::tools::BenchMain(argc - 1, argv + 1);
  std::fprintf(stderr, "percore: unknown command '%s'\n%s", argv[1], usage);
  return 2;
}
