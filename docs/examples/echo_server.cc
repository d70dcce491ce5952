// The README's embedding example, compiled by the test build so it stays true.
#include <cstdio>
#include <span>

#include "net/tcp_server.h"

struct Echo {
  struct ConnState {  // lives in the connection's slab slot
    uint64_t bytes = 0;
  };
  size_t on_data(percore::Connection& c, std::span<const char> in) {
    c.state<ConnState>().bytes += in.size();
    // Above the high watermark: stop reading this peer until its output drains.
    if (c.send(in) == percore::SendResult::kBackpressure) c.pause_reading();
    return in.size();  // bytes consumed; a partial frame would be kept for the next call
  }
  void on_drain(percore::Connection& c) { c.resume_reading(); }
  void on_close(percore::Connection&, percore::CloseReason) {}
};

int main() {
  percore::Config config;                        // defaults that work; see reactor/config.h
  config.listen = "0.0.0.0:9000";                // every interface; the default is 127.0.0.1:9000
  config.backend = percore::BackendKind::kAuto;  // io_uring if the kernel allows, else epoll
  config.idle_timeout = absl::Minutes(5);
  Echo echo;  // shared by all reactor threads
  percore::TcpServer server(config, echo);
  if (absl::Status s = server.start(); !s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    return 1;
  }
  std::puts(server.startup_note().c_str());
  server.wait();  // until server.shutdown() from another thread
}
