// Built instead of probe_uring.cc when meson found no liburing (-Dio_uring=disabled).
#include "tools/probe_uring.h"

namespace percore::tools {

UringFacts ProbeUring(const HostFacts&) {
  UringFacts f;
  f.why = "this percore was built without liburing (-Dio_uring=disabled or no liburing-dev)";
  return f;
}

}  // namespace percore::tools
