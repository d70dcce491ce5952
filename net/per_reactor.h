// PerReactor<T>: one T per reactor of a server, for library parts that keep per-reactor state
// without locks (Rooms' memberships, Sessions' bound connections). A reactor's T is made by
// that reactor's own thread the first time one of its connections needs it, and registered to
// hear every close on that reactor (T is a CloseObserver). Other threads may read which T
// exist (at). Owned by the library part; it must outlive the server and serve only one.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "net/conn_table.h"
#include "net/connection.h"

namespace percore {

// Grows a table indexed by connection slot so that it holds `slot`: in steps of 1024 slots
// (the slab's block) and exactly, without vector's doubling, so a per-slot table costs what
// the slots in use cost.
template <class V>
void GrowToSlot(V& v, uint32_t slot) {
  if (slot < v.size()) return;
  const size_t n = (size_t{slot} / 1024 + 1) * 1024;
  v.reserve(n);
  v.resize(n);
}

template <class T>
class PerReactor {
 public:
  static constexpr size_t kMaxReactors = 64;  // a publish's reactors fit in a uint64_t mask

  PerReactor() = default;
  ~PerReactor() {
    for (auto& t : slots_) delete t.load(std::memory_order_acquire);
  }
  PerReactor(const PerReactor&) = delete;
  PerReactor& operator=(const PerReactor&) = delete;

  // On c's reactor thread: that reactor's T, made by make(ConnTable&) on first use.
  template <class Make>
  T& of(Connection& c, Make&& make) {
    ConnTable& table = *c.table_;
    const uint32_t i = table.reactor().index();
    if (i >= kMaxReactors) Die("reactor index is above the 64 reactors it serves");
    T* t = slots_[i].load(std::memory_order_acquire);
    if (t == nullptr) {  // only reactor i's thread writes slot i
      t = make(table);
      table.add_close_observer(t);
      tables_[i] = &table;
      slots_[i].store(t, std::memory_order_release);
    } else if (tables_[i] != &table) {
      Die("one object serves the connections of one server");
    }
    return *t;
  }
  // Any thread: reactor i's T, or nullptr while none of its connections needed one.
  T* at(uint32_t i) const { return slots_[i].load(std::memory_order_acquire); }

 private:
  [[noreturn]] static void Die(const char* why) {
    std::fprintf(stderr, "percore: per-reactor state: %s\n", why);
    std::abort();
  }
  std::array<std::atomic<T*>, kMaxReactors> slots_{};
  std::array<ConnTable*, kMaxReactors> tables_{};  // read and written by reactor i only
};

}  // namespace percore
