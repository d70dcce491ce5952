// The `percore` subcommands; each parses its own arguments (argv[0] is the subcommand).
#pragma once

namespace percore::tools {

int ServeMain(int argc, char** argv);
int BenchMain(int argc, char** argv);
int ClientPoolBenchMain(int argc, char** argv);  // bench --client-pool (bench_client_pool.cc)
int ProbeMain(int argc, char** argv);

}  // namespace percore::tools
