// The fan-out bench's verdict on one member: each message of its room arrives exactly once and
// in publish order (the seq goes up by one per message). A message that comes after a later
// one is a reorder, one that comes twice a duplicate, one that never comes a gap. Kept apart
// from the I/O so tests can feed it broken streams.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace percore::tools {

enum class FanoutError : uint8_t {
  kGap,          // a message never arrived
  kDuplicate,    // a message arrived twice
  kReorder,      // a message arrived after a later one
  kMalformed,    // bytes that are not the protocol, or a delivery without a seq
  kServerError,  // ERR line, RESP error, WebSocket close
  kClosed,       // the server closed or reset a member
  kCount,
};

const char* FanoutErrorName(FanoutError e);

struct FanoutErrors {
  std::array<uint64_t, static_cast<size_t>(FanoutError::kCount)> n{};
  uint64_t& operator[](FanoutError e) { return n[static_cast<size_t>(e)]; }
  uint64_t operator[](FanoutError e) const { return n[static_cast<size_t>(e)]; }
  uint64_t total() const;
  void add(const FanoutErrors& o);
  std::string ToString() const;  // "gap=3 reorder=1", or "none"
};

// One member's deliveries of one publisher's messages.
class SeqChecker {
 public:
  // Message `seq` arrived; true the first time it does (in order, after a gap, or late),
  // false for a duplicate.
  bool on(uint64_t seq, FanoutErrors& errors);
  // The run is over and `published` messages went out: those that never came are gaps.
  void finish(uint64_t published, FanoutErrors& errors);
  uint64_t next() const { return next_; }

 private:
  // Seqs skipped over and not seen since, so a late one is told from a duplicate. Kept short:
  // past the cap a skipped seq is only counted (a late arrival of it then reads as duplicate).
  static constexpr size_t kMaxMissing = 1024;
  uint64_t next_ = 0;
  uint64_t untracked_ = 0;
  std::vector<uint64_t> missing_;
};

}  // namespace percore::tools
