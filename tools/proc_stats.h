// What the benches read about a server process from /proc, and how they place processes on
// CPUs: shared by `percore bench` and its --fanout mode.
#pragma once

#include <sys/types.h>

#include <vector>

namespace percore::tools {

// Pins a process (0: the caller) to one CPU; does nothing on a single-CPU machine.
void Pin(pid_t pid, int cpu);
// utime + stime of a process, in microseconds.
double CpuUs(pid_t pid);
// Resident set size, in KiB (0 if unknown).
long RssKb(pid_t pid);
double Median(std::vector<double> v);

}  // namespace percore::tools
