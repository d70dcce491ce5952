// `percore bench --fanout`: one message to many members, against chat servers and
// redis-server (tools/bench_fanout.cc says how it measures).
#pragma once

namespace percore::tools {

// argv[0] is "bench"; --fanout is among the arguments.
int FanoutBenchMain(int argc, char** argv);

}  // namespace percore::tools
