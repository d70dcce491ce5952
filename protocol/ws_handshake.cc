#include "protocol/ws_handshake.h"

#include <absl/strings/escaping.h>
#include <absl/strings/string_view.h>
#include <openssl/evp.h>

#include <cstddef>

namespace percore {
namespace {

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// Whether any field line named `name` lists `token` (case-insensitive): "Connection:
// keep-alive, Upgrade" is an upgrade, and a field may be split over several lines.
bool HasToken(const HttpRequest& req, std::string_view name, std::string_view token) {
  for (const HttpHeader& h : req.headers) {
    if (!EqualsIgnoreCase(h.name, name)) continue;
    std::string_view list = h.value;
    while (!list.empty()) {
      const size_t comma = list.find(',');
      if (EqualsIgnoreCase(Trim(list.substr(0, comma)), token)) return true;
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  return false;
}

// The only value of `name`, or false if it is missing or repeated (two keys or versions leave
// nothing to answer to).
bool SingleValue(const HttpRequest& req, std::string_view name, std::string_view* value) {
  int count = 0;
  for (const HttpHeader& h : req.headers) {
    if (EqualsIgnoreCase(h.name, name)) {
      *value = h.value;
      ++count;
    }
  }
  return count == 1;
}

}  // namespace

WsUpgrade CheckWsUpgrade(const HttpRequest& req) {
  WsUpgrade out;
  if (req.method != "GET" || req.minor != 1) return out;
  if (!HasToken(req, "Upgrade", "websocket") || !HasToken(req, "Connection", "upgrade")) {
    return out;
  }
  std::string_view version;
  if (!SingleValue(req, "Sec-WebSocket-Version", &version) || version != "13") {
    out.status = 426;
    return out;
  }
  std::string_view key;
  if (!SingleValue(req, "Sec-WebSocket-Key", &key)) return out;
  // 16 bytes are 24 base64 characters with "==" padding; checking the size first also keeps
  // a long header from being decoded at all.
  std::string raw;
  if (key.size() != 24 || !absl::Base64Unescape(absl::string_view(key.data(), key.size()), &raw) ||
      raw.size() != 16) {
    return out;
  }
  out.status = 101;
  out.key = key;
  return out;
}

std::string WsAcceptKey(std::string_view key) {
  std::string input;
  input.reserve(key.size() + kWsGuid.size());
  input.append(key).append(kWsGuid);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  // SHA-1 is what RFC 6455 specifies here; it is a fixed transform, not a security choice.
  if (EVP_Digest(input.data(), input.size(), digest, &size, EVP_sha1(), nullptr) != 1) return {};
  std::string accept;
  absl::Base64Escape(absl::string_view(reinterpret_cast<const char*>(digest), size), &accept);
  return accept;
}

}  // namespace percore
