#include "tools/probe_conn_bytes.h"

#include <vector>

#include "net/connection.h"
#include "pool/slab.h"

namespace percore::tools {

ConnBytes PercoreConnBytes() {
  ConnBytes b;
  b.connection = sizeof(Connection);
  // A slab laid out as ConnTable lays out its own (Connection, then ConnState from
  // kConnStateOffset; none here), filled and emptied once so that its generation and
  // free-list vectors are as large as a table that has seen that many connections.
  constexpr uint32_t kSlots = 4096;
  SlabStorage slab(kConnStateOffset, alignof(std::max_align_t));
  std::vector<uint32_t> slots;
  slots.reserve(kSlots);
  for (uint32_t i = 0; i < kSlots; ++i) slots.push_back(slab.allocate());
  for (uint32_t s : slots) slab.free(s);
  b.slot = slab.stride();
  b.per_conn = (slab.bytes_reserved() + kSlots - 1) / kSlots;
  return b;
}

}  // namespace percore::tools
