// ConnTable, input rate limits (Config::in_bytes_per_sec, in_messages_per_sec): a token bucket
// per connection and unit, holding one second's worth. Bytes are charged as they are read
// (kept input too: io_uring may have read ahead); a byte bucket that goes negative holds
// reading, as a handler's pause does, until the connection's timer sees it refilled. Messages
// are charged as the codec hands them over, and a delivery stops at the bucket's whole tokens
// (the rest waits as kept input), so a burst of buffered messages cannot overrun the limit.
// Nothing is closed: the kernel's receive buffer fills and TCP pushes back on the peer.
#include <cmath>

#include "net/conn_table.h"

namespace percore {

void ConnTable::rate_open(Connection& c) {
  if (rates_.size() <= c.ch_.slot) rates_.resize(slab_.capacity());
  rates_[c.ch_.slot] = {static_cast<double>(cfg_.in_bytes_per_sec),
                        static_cast<double>(cfg_.in_messages_per_sec), now32(), false};
}

namespace {

void Refill(double& tokens, uint32_t per_sec, uint32_t elapsed_ms) {
  if (per_sec == 0) return;
  tokens = std::min<double>(per_sec, tokens + static_cast<double>(elapsed_ms) * per_sec / 1000.0);
}

}  // namespace

void ConnTable::charge_input(Connection& c, size_t bytes, uint64_t messages) {
  InputRate& r = rates_[c.ch_.slot];
  const uint32_t now = now32();
  Refill(r.bytes, cfg_.in_bytes_per_sec, now - r.last_ms);
  Refill(r.messages, cfg_.in_messages_per_sec, now - r.last_ms);
  r.last_ms = now;
  if (cfg_.in_bytes_per_sec != 0) r.bytes -= static_cast<double>(bytes);
  if (cfg_.in_messages_per_sec != 0) r.messages -= static_cast<double>(messages);
  if (r.throttled || within(r) || !reads(c)) return;
  const bool was_held = held(c);
  r.throttled = true;
  r_.stats().throttled.add();
  if (!was_held) r_.backend().pause_recv(c.ch_);
  cancel_timer(c);  // it may be set for a later deadline (idle)
  arm_timer(c);
}

uint64_t ConnTable::rate_resume_ms(Connection& c) {
  const InputRate& r = rates_[c.ch_.slot];
  const uint32_t since = now32() - r.last_ms;
  auto wait = [since](double tokens, uint32_t per_sec) -> uint64_t {
    if (per_sec == 0 || tokens >= 0) return 0;
    const auto owed_ms = static_cast<uint64_t>(std::ceil(-tokens * 1000.0 / per_sec));
    // (messages are charged against tokens - 1 below: a delivery needs a whole one)
    return owed_ms > since ? owed_ms - since : 0;
  };
  return std::max<uint64_t>(1, std::max(wait(r.bytes, cfg_.in_bytes_per_sec),
                                        wait(r.messages - 1, cfg_.in_messages_per_sec)));
}

void ConnTable::rate_check(Connection& c) {
  charge_input(c, 0, 0);  // refills
  InputRate& r = rates_[c.ch_.slot];
  if (!within(r)) {
    arm_timer(c);
    return;
  }
  r.throttled = false;
  if (!(c.marks_ & Connection::kPaused)) unhold(c);
}

bool ConnTable::within(const InputRate& r) const {
  return r.bytes >= 0 && (cfg_.in_messages_per_sec == 0 || r.messages >= 1);
}

uint64_t ConnTable::message_budget(Connection& c) {
  if (!rate_on_ || cfg_.in_messages_per_sec == 0 || !reads(c)) return UINT64_MAX;
  charge_input(c, 0, 0);  // refills, and holds reading when not one whole token is left
  const InputRate& r = rates_[c.ch_.slot];
  return r.throttled ? 0 : static_cast<uint64_t>(r.messages);
}

void ConnTable::frames_counted(Connection& c, uint64_t n) {
  r_.stats().frames_in.add(n);
  if (rate_on_ && cfg_.in_messages_per_sec != 0 && reads(c)) charge_input(c, 0, n);
}

}  // namespace percore
