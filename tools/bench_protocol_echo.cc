// The echo protocols: raw bytes, lines and length-framed messages. Each request comes back
// byte for byte, so the check regenerates the request and compares.
#include <cstring>

#include "absl/strings/str_format.h"
#include "tools/bench_protocol.h"

namespace percore::tools {
namespace {

// The byte at offset i of connection c's stream: cheap, and differs between connections.
inline char StreamByte(uint32_t c, uint64_t i) {
  return static_cast<char>((i * 131 + (i >> 9) * 7 + c * 97) & 0xFF);
}

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
      return ReplyCheck::Error("mismatch", absl::StrFormat("byte %d of reply %d on connection %d "
                                                           "differs",
                                                           i, k, c));
    }
    return ReplyCheck::Reply(size_);
  }

 protected:
  virtual void Fill(uint32_t c, uint64_t k, char* out) const {
    for (size_t i = 0; i < size_; ++i) out[i] = StreamByte(c, k * size_ + i);
  }
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
  return std::make_unique<EchoProtocol>(size);
}
std::unique_ptr<BenchProtocol> MakeLineProtocol(size_t size) {
  return std::make_unique<LineProtocol>(size);
}
std::unique_ptr<BenchProtocol> MakeLengthProtocol(size_t size) {
  return std::make_unique<LengthProtocol>(size);
}

}  // namespace percore::tools
