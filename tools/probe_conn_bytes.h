// What percore itself holds per idle connection, taken from the library as built: the
// Connection object, rounded to its slab slot, plus the slab's own bookkeeping per slot. An
// idle connection holds no buffer (docs/architecture.md), so this is all of it until a
// handler's ConnState is added to the slot.
#pragma once

#include <cstddef>

namespace percore::tools {

struct ConnBytes {
  size_t connection = 0;  // sizeof(Connection)
  size_t slot = 0;        // the slab stride for a handler without ConnState
  size_t per_conn = 0;    // slot + the slab's bookkeeping, per connection
};

ConnBytes PercoreConnBytes();

}  // namespace percore::tools
