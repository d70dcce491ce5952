// The echo protocols: raw bytes, lines and length-framed messages. Each request comes back
// byte for byte, so the check regenerates the request and compares.
#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/str_format.h"
#include "tools/bench_protocol.h"

namespace percore::tools {
namespace {

// The byte at offset i of connection c's stream: cheap, and differs between connections.
inline char StreamByte(uint32_t c, uint64_t i) {
  return static_cast<char>((i * 131 + (i >> 9) * 7 + c * 97) & 0xFF);
}

// The whole replies before byte `bad` (0-based) of a checked run are good; that byte differs.
void Mismatch(size_t bad, size_t size, uint64_t k, uint32_t c, ReplyBatch* out) {
  out->replies = bad / size;
  out->consumed = out->replies * size;
  out->error = true;
  out->error_kind = "mismatch";
  out->what = absl::StrFormat("byte %d of reply %d on connection %d differs", bad % size,
                              k + out->replies, c);
}

// Raw: connection c's stream is StreamByte(c, i), which repeats every kPeriod bytes and differs
// between connections by a constant added to each byte; so one precomputed copy of the
// period serves every connection and request, and making or checking a request is one
// vectorizable pass (the engine's cheapest protocol should not be the client's bottleneck).
class RawProtocol : public BenchProtocol {
 public:
  static constexpr uint64_t kPeriod = 131072;  // lcm of the periods of i * 131 and (i >> 9) * 7

  explicit RawProtocol(size_t size) : size_(size), pattern_(kPeriod + size) {
    for (uint64_t i = 0; i < pattern_.size(); ++i) pattern_[i] = StreamByte(0, i);
  }
  void AppendRequest(uint32_t c, uint64_t k, std::string& out) const override {
    size_t at = out.size();
    out.resize(at + size_);
    const char* p = Window(k);
    const char d = Delta(c);
    for (size_t i = 0; i < size_; ++i) out[at + i] = static_cast<char>(p[i] + d);
  }
  ReplyCheck CheckReply(uint32_t c, uint64_t k, std::string_view in) const override {
    if (in.size() < size_) return ReplyCheck::NeedMore();
    const char* p = Window(k);
    const char d = Delta(c);
    uint8_t diff = 0;
    for (size_t i = 0; i < size_; ++i) diff |= static_cast<uint8_t>(in[i] - p[i] - d);
    if (diff != 0) {
      size_t i = 0;
      while (static_cast<char>(in[i] - p[i] - d) == 0) ++i;
      return ReplyCheck::Error(
          "mismatch", absl::StrFormat("byte %d of reply %d on connection %d differs", i, k, c));
    }
    return ReplyCheck::Reply(size_);
  }
  void AppendRequests(uint32_t c, uint64_t k, uint64_t n, std::string& out) const override {
    const size_t at = out.size();
    out.resize(at + n * size_);
    const char d = Delta(c);
    char* o = out.data() + at;
    Pieces(k * size_, n * size_, [&](const char* p, size_t from, size_t m) {
      for (size_t i = 0; i < m; ++i) o[from + i] = static_cast<char>(p[i] + d);
    });
  }
  void CheckReplies(uint32_t c, uint64_t k, std::string_view in, uint64_t max,
                    ReplyBatch* out) const override {
    const uint64_t n = std::min<uint64_t>(in.size() / size_, max);
    const char d = Delta(c);
    uint8_t diff = 0;
    Pieces(k * size_, n * size_, [&](const char* p, size_t from, size_t m) {
      const char* q = in.data() + from;
      for (size_t i = 0; i < m; ++i) diff |= static_cast<uint8_t>(q[i] - p[i] - d);
    });
    if (diff == 0) {
      out->replies = n;
      out->consumed = n * size_;
      return;
    }
    size_t bad = 0;  // rare: find the first wrong byte, then say which reply holds it
    Pieces(k * size_, n * size_, [&](const char* p, size_t from, size_t m) {
      for (size_t i = 0; i < m && bad == 0; ++i) {
        if (static_cast<char>(in[from + i] - p[i] - d) != 0) bad = from + i + 1;
      }
    });
    Mismatch(bad - 1, size_, k, c, out);
  }

 private:
  // Calls f(p, from, m) for the consecutive pieces of connection 0's stream from byte `start`,
  // `len` bytes in all: p is the pattern at stream byte start + from, m bytes of it.
  template <class F>
  void Pieces(uint64_t start, size_t len, F f) const {
    for (size_t from = 0; from < len;) {
      const size_t off = (start + from) % kPeriod;
      const size_t m = std::min(len - from, pattern_.size() - off);
      f(pattern_.data() + off, from, m);
      from += m;
    }
  }
  const char* Window(uint64_t k) const { return pattern_.data() + (k * size_) % kPeriod; }
  static char Delta(uint32_t c) { return static_cast<char>(c * 97); }
  size_t size_;
  std::vector<char> pattern_;
};

// Line and length: the request regenerated and compared.
class EchoProtocol : public BenchProtocol {
 public:
  explicit EchoProtocol(size_t size) : size_(size) {}
  void AppendRequest(uint32_t c, uint64_t k, std::string& out) const override {
    size_t at = out.size();
    out.resize(at + size_);
    Fill(c, k, out.data() + at);
  }
  ReplyCheck CheckReply(uint32_t c, uint64_t k, std::string_view in) const override {
    if (in.size() < size_) return ReplyCheck::NeedMore();
    thread_local std::string want;
    want.resize(size_);
    Fill(c, k, want.data());
    if (std::memcmp(want.data(), in.data(), size_) != 0) {
      size_t i = 0;
      while (want[i] == in[i]) ++i;
      return ReplyCheck::Error(
          "mismatch", absl::StrFormat("byte %d of reply %d on connection %d differs", i, k, c));
    }
    return ReplyCheck::Reply(size_);
  }
  void AppendRequests(uint32_t c, uint64_t k, uint64_t n, std::string& out) const override {
    const size_t at = out.size();
    out.resize(at + n * size_);
    for (uint64_t i = 0; i < n; ++i) Fill(c, k + i, out.data() + at + i * size_);
  }
  // The run's requests regenerated in one buffer and compared with one memcmp.
  void CheckReplies(uint32_t c, uint64_t k, std::string_view in, uint64_t max,
                    ReplyBatch* out) const override {
    const uint64_t n = std::min<uint64_t>(in.size() / size_, max);
    thread_local std::string want;
    want.resize(n * size_);
    for (uint64_t i = 0; i < n; ++i) Fill(c, k + i, want.data() + i * size_);
    if (std::memcmp(want.data(), in.data(), n * size_) == 0) {
      out->replies = n;
      out->consumed = n * size_;
      return;
    }
    size_t bad = 0;
    while (want[bad] == in[bad]) ++bad;
    Mismatch(bad, size_, k, c, out);
  }

 protected:
  virtual void Fill(uint32_t c, uint64_t k, char* out) const = 0;
  size_t size_;
};

// `size` bytes with the "\n": letters only, so the server finds exactly one line.
class LineProtocol : public EchoProtocol {
 public:
  using EchoProtocol::EchoProtocol;

 private:
  void Fill(uint32_t c, uint64_t k, char* out) const override {
    for (size_t i = 0; i + 1 < size_; ++i) {
      out[i] = static_cast<char>('a' + static_cast<uint8_t>(StreamByte(c, k * size_ + i)) % 26);
    }
    out[size_ - 1] = '\n';
  }
};

// [u16 big-endian body length][body], `size` bytes in all.
class LengthProtocol : public EchoProtocol {
 public:
  using EchoProtocol::EchoProtocol;

 private:
  void Fill(uint32_t c, uint64_t k, char* out) const override {
    const size_t body = size_ - 2;
    out[0] = static_cast<char>(body >> 8);
    out[1] = static_cast<char>(body & 0xFF);
    for (size_t i = 2; i < size_; ++i) out[i] = StreamByte(c, k * size_ + i);
  }
};

}  // namespace

std::unique_ptr<BenchProtocol> MakeRawProtocol(size_t size) {
  return std::make_unique<RawProtocol>(size);
}
std::unique_ptr<BenchProtocol> MakeLineProtocol(size_t size) {
  return std::make_unique<LineProtocol>(size);
}
std::unique_ptr<BenchProtocol> MakeLengthProtocol(size_t size) {
  return std::make_unique<LengthProtocol>(size);
}

}  // namespace percore::tools
