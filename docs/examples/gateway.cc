// An IM gateway: clients send length-framed messages ([u32 len][body], big endian); each is
// forwarded to a backend service through a ClientPool and the backend's answer goes back to
// the client that asked, whichever thread it arrives on. The backend speaks the pool's
// framing, [u32 len][u64 request id][payload], answering each id once, in any order.
// Usage: gateway PORT BACKEND_HOST:PORT
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>

#include "net/client_pool.h"
#include "net/tcp_server.h"
#include "protocol/length_field_codec.h"

namespace {

percore::LengthFieldCodec::Options ClientFraming() {
  percore::LengthFieldCodec::Options o;
  o.initial_bytes_to_strip = 4;  // on_message gets the body
  return o;
}

std::string Frame(std::string_view body) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(body.size() >> (8 * (3 - i)));
  out.append(body);
  return out;
}

struct Gateway {
  percore::LengthFieldCodec codec{ClientFraming()};
  percore::ClientPool* backend = nullptr;

  void on_message(percore::Connection& c, std::span<const char> msg) {
    // The answer comes on a pool reactor: reach the client through its handle, which is
    // harmless (a counted no-op) if the client has left meanwhile.
    absl::Status s = backend->call(
        std::string(msg.data(), msg.size()), [h = c.handle()](percore::ClientPool::Reply r) {
          std::string body = r.ok() ? *std::move(r) : "error: " + std::string(r.status().message());
          (void)h.send(Frame(body));
        });
    if (!s.ok()) c.send(Frame("busy"));  // in-flight or rate limit: refused at once
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: gateway PORT BACKEND_HOST:PORT\n");
    return 2;
  }
  percore::Config pool_config;
  pool_config.threads = 1;
  percore::ClientPoolOptions opts;
  opts.endpoint = argv[2];
  opts.connections = 2;
  opts.request_timeout = absl::Seconds(2);
  opts.max_in_flight = 10000;
  percore::ClientPool pool(pool_config, opts);
  if (absl::Status s = pool.start(); !s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    return 1;
  }
  Gateway gateway;
  gateway.backend = &pool;
  percore::Config config;
  config.listen = std::string("127.0.0.1:") + argv[1];
  percore::TcpServer server(config, gateway);
  if (absl::Status s = server.start(); !s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    return 1;
  }
  std::puts(server.startup_note().c_str());
  server.wait();    // until server.shutdown() from another thread (a signal handler's)
  pool.shutdown();  // after the server: no on_message calls into a stopped pool
}
