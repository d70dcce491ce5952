#include "tools/probe_uring.h"

#include <liburing.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "reactor/config.h"
#include "tools/probe_sockets.h"

namespace percore::tools {
namespace {

struct Named {
  unsigned bit;
  const char* name;
};

// IORING_FEAT_*; the last five are newer than liburing 2.3's header, so named by their bits.
constexpr Named kFeatures[] = {
    {IORING_FEAT_SINGLE_MMAP, "single_mmap"},
    {IORING_FEAT_NODROP, "nodrop"},
    {IORING_FEAT_SUBMIT_STABLE, "submit_stable"},
    {IORING_FEAT_RW_CUR_POS, "rw_cur_pos"},
    {IORING_FEAT_CUR_PERSONALITY, "cur_personality"},
    {IORING_FEAT_FAST_POLL, "fast_poll"},
    {IORING_FEAT_POLL_32BITS, "poll_32bits"},
    {IORING_FEAT_SQPOLL_NONFIXED, "sqpoll_nonfixed"},
    {IORING_FEAT_EXT_ARG, "ext_arg"},
    {IORING_FEAT_NATIVE_WORKERS, "native_workers"},
    {IORING_FEAT_RSRC_TAGS, "rsrc_tags"},
    {IORING_FEAT_CQE_SKIP, "cqe_skip"},
    {IORING_FEAT_LINKED_FILE, "linked_file"},
    {1U << 13, "reg_reg_ring"},
    {1U << 14, "recvsend_bundle"},
    {1U << 15, "min_timeout"},
    {1U << 16, "rw_attr"},
    {1U << 17, "no_iowait"},
};

// What percore relies on: socket operations polled in the ring rather than punted to worker
// threads (fast_poll), completions kept when the CQ overflows (nodrop), and a wait with a
// timeout in one io_uring_enter (ext_arg; without it liburing submits a timeout SQE).
constexpr Named kUsed[] = {
    {IORING_FEAT_FAST_POLL, "fast_poll"},
    {IORING_FEAT_NODROP, "nodrop"},
    {IORING_FEAT_EXT_ARG, "ext_arg"},
};

// The opcodes reactor/uring_backend.cc submits.
constexpr Named kOps[] = {
    {IORING_OP_ACCEPT, "accept"},   {IORING_OP_RECV, "recv"},
    {IORING_OP_SENDMSG, "sendmsg"}, {IORING_OP_ASYNC_CANCEL, "async_cancel"},
    {IORING_OP_TIMEOUT, "timeout"}, {IORING_OP_READ, "read"},
    {IORING_OP_CLOSE, "close"},
};

// A ring and its provided buffers, torn down in order whatever step failed.
class ProbeRing {
 public:
  ~ProbeRing() {
    if (ready) io_uring_queue_exit(&ring);
    if (buf_ring != nullptr) ::munmap(buf_ring, kBufRingBytes);
    if (bufs != nullptr) ::munmap(bufs, kBufs * kBufSize);
  }

  static constexpr unsigned kBufs = 8;
  static constexpr unsigned kBufSize = 4096;
  static constexpr size_t kBufRingBytes = sizeof(io_uring_buf) * kBufs;
  static constexpr uint16_t kGroup = 0;

  io_uring ring{};
  bool ready = false;
  io_uring_buf_ring* buf_ring = nullptr;
  char* bufs = nullptr;
};

// The next completion within a second, or -ETIME.
int WaitOne(io_uring& ring, io_uring_cqe* out) {
  __kernel_timespec ts{.tv_sec = 1, .tv_nsec = 0};
  io_uring_cqe* cqe = nullptr;
  if (int r = io_uring_wait_cqe_timeout(&ring, &cqe, &ts); r < 0) return r;
  *out = *cqe;
  io_uring_cqe_seen(&ring, cqe);
  return 0;
}

// The same setup flags as UringBackend::init, strongest first; "" and the errno if none.
std::string Setup(ProbeRing& r, unsigned* features, int* err) {
  const unsigned flag_sets[] = {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
                                IORING_SETUP_COOP_TASKRUN, 0};
  const char* names[] = {"single_issuer,defer_taskrun", "coop_taskrun", "plain"};
  const unsigned entries = Config{}.uring_entries;
  for (size_t i = 0; i < 3; ++i) {
    io_uring_params p{};
    p.flags = flag_sets[i] | IORING_SETUP_CQSIZE;
    p.cq_entries = entries * 8;
    *err = io_uring_queue_init_params(entries, &r.ring, &p);
    if (*err == 0) {
      r.ready = true;
      *features = p.features;
      return absl::StrCat(names[i], " (sq ", entries, ", cq ", p.cq_entries, ")");
    }
    if (*err != -EINVAL) break;
  }
  *err = -*err;
  return "";
}

bool RegisterBufRing(ProbeRing& r, std::string* error) {
  void* ring_mem = ::mmap(nullptr, ProbeRing::kBufRingBytes, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  void* buf_mem = ::mmap(nullptr, ProbeRing::kBufs * ProbeRing::kBufSize, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (ring_mem != MAP_FAILED) r.buf_ring = static_cast<io_uring_buf_ring*>(ring_mem);
  if (buf_mem != MAP_FAILED) r.bufs = static_cast<char*>(buf_mem);
  if (r.buf_ring == nullptr || r.bufs == nullptr) {
    *error = absl::StrCat("mmap: ", std::strerror(errno));
    return false;
  }
  io_uring_buf_ring_init(r.buf_ring);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(r.buf_ring);
  reg.ring_entries = ProbeRing::kBufs;
  reg.bgid = ProbeRing::kGroup;
  if (int e = io_uring_register_buf_ring(&r.ring, &reg, 0); e != 0) {
    *error = absl::StrFormat("io_uring_register_buf_ring: %s (errno %d)", std::strerror(-e), -e);
    return false;
  }
  for (unsigned i = 0; i < ProbeRing::kBufs; ++i) {
    io_uring_buf_ring_add(r.buf_ring, r.bufs + size_t{i} * ProbeRing::kBufSize, ProbeRing::kBufSize,
                          static_cast<unsigned short>(i), io_uring_buf_ring_mask(ProbeRing::kBufs),
                          static_cast<int>(i));
  }
  io_uring_buf_ring_advance(r.buf_ring, ProbeRing::kBufs);
  return true;
}

// Multishot accept, then (with provided buffers) multishot recv, over one loopback connection:
// each must complete with IORING_CQE_F_MORE, which says the operation stays armed.
void ProbeMultishot(ProbeRing& r, UringFacts& f) {
  auto listener = ListenLoopback(4);
  if (!listener.ok()) {
    f.detail_error = std::string(listener.status().message());
    return;
  }
  io_uring_prep_multishot_accept(io_uring_get_sqe(&r.ring), listener->fd.get(), nullptr, nullptr,
                                 SOCK_CLOEXEC);
  io_uring_submit(&r.ring);
  auto client = ConnectLoopback(listener->port);
  if (!client.ok()) {
    f.detail_error = std::string(client.status().message());
    return;
  }
  io_uring_cqe cqe{};
  if (int e = WaitOne(r.ring, &cqe); e < 0 || cqe.res < 0) {
    const int err = e < 0 ? -e : -cqe.res;
    f.multishot_accept = false;
    f.detail_error = absl::StrFormat("multishot accept: %s (errno %d)", std::strerror(err), err);
    return;
  }
  Fd accepted(cqe.res);
  f.multishot_accept = (cqe.flags & IORING_CQE_F_MORE) != 0;
  if (!*f.buf_ring) return;

  io_uring_sqe* s = io_uring_get_sqe(&r.ring);
  io_uring_prep_recv_multishot(s, accepted.get(), nullptr, 0, 0);
  s->flags |= IOSQE_BUFFER_SELECT;
  s->buf_group = ProbeRing::kGroup;
  io_uring_submit(&r.ring);
  if (::send(client->get(), "x", 1, MSG_NOSIGNAL) != 1) {
    f.detail_error = absl::StrCat("send: ", std::strerror(errno));
    return;
  }
  if (int e = WaitOne(r.ring, &cqe); e < 0 || cqe.res < 0) {
    const int err = e < 0 ? -e : -cqe.res;
    f.multishot_recv = false;
    f.detail_error = absl::StrFormat("multishot recv: %s (errno %d)", std::strerror(err), err);
    return;
  }
  f.multishot_recv =
      cqe.res == 1 && (cqe.flags & IORING_CQE_F_BUFFER) && (cqe.flags & IORING_CQE_F_MORE);
}

}  // namespace

UringFacts ProbeUring(const HostFacts& host) {
  UringFacts f;
  f.built = true;
  ProbeRing r;
  f.setup = Setup(r, &f.features, &f.setup_errno);
  if (!r.ready) {
    f.why = ExplainUringError(f.setup_errno, host);
    return f;
  }
  f.available = true;
  for (const Named& n : kFeatures) {
    if (f.features & n.bit) f.feature_names.push_back(n.name);
  }
  for (const Named& n : kUsed) f.used.emplace_back(n.name, (f.features & n.bit) != 0);
  if (io_uring_probe* p = io_uring_get_probe_ring(&r.ring); p != nullptr) {
    for (const Named& n : kOps) {
      if (!io_uring_opcode_supported(p, static_cast<int>(n.bit))) f.missing_ops.push_back(n.name);
    }
    io_uring_free_probe(p);
  } else {
    f.missing_ops.push_back("(IORING_REGISTER_PROBE refused: kernel before 5.6)");
  }
  f.buf_ring = RegisterBufRing(r, &f.detail_error);
  f.registered_files = io_uring_register_files_sparse(&r.ring, 1) == 0;
  ProbeMultishot(r, f);
  return f;
}

}  // namespace percore::tools
