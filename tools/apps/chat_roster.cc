#include "tools/apps/chat_roster.h"

namespace percore::apps {

ChatRoster::Stripe& ChatRoster::stripe_of(std::string_view room) {
  return stripes_[(Hash{}(room) >> 40) % kStripes];
}
const ChatRoster::Stripe& ChatRoster::stripe_of(std::string_view room) const {
  return stripes_[(Hash{}(room) >> 40) % kStripes];
}

void ChatRoster::add(std::string_view room, std::string_view nick) {
  Stripe& s = stripe_of(room);
  std::lock_guard<std::mutex> lock(s.mu);
  auto r = s.rooms.find(room);
  if (r == s.rooms.end()) r = s.rooms.emplace(std::string(room), Nicks()).first;
  Nicks& nicks = r->second;
  auto it = nicks.find(nick);
  if (it == nicks.end()) it = nicks.emplace(std::string(nick), 0).first;
  ++it->second;
}

void ChatRoster::remove(std::string_view room, std::string_view nick) {
  Stripe& s = stripe_of(room);
  std::lock_guard<std::mutex> lock(s.mu);
  auto r = s.rooms.find(room);
  if (r == s.rooms.end()) return;
  auto it = r->second.find(nick);
  if (it == r->second.end()) return;
  if (--it->second == 0) r->second.erase(it);
  if (r->second.empty()) s.rooms.erase(r);
}

std::string ChatRoster::who(std::string_view room) const {
  std::string out = "WHO ";
  out += room;
  const Stripe& s = stripe_of(room);
  std::lock_guard<std::mutex> lock(s.mu);
  auto r = s.rooms.find(room);
  if (r == s.rooms.end()) return out;
  for (const auto& [nick, count] : r->second) {
    out += ' ';
    out += nick;
  }
  return out;
}

}  // namespace percore::apps
