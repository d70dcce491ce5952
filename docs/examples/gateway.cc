// An IM gateway: clients send length-framed messages ([u32 len][body], big endian); each is
// forwarded to a backend service through a ClientPool and the backend's answer goes back to
// the client that asked. The pool's connections live on the server's own reactors (no thread
// of their own), one per reactor: a message is sent to the backend on the reactor that read
// it, and the answer comes back on that same reactor, with no thread hop. The backend speaks
// the pool's framing, [u32 len][u64 request id][payload], answering each id once, in any
// order. When the backend cannot answer (down, timed out) the client gets "error: " and the
// reason; when the pool's in-flight limit is reached, "busy". SIGINT/SIGTERM: graceful stop.
// Usage: gateway PORT BACKEND_HOST:PORT
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>

#include "net/client_pool.h"
#include "net/tcp_server.h"
#include "protocol/length_field_codec.h"
#include "reactor/signals.h"

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
    // The answer normally runs on this reactor (the pool picks the connection living here);
    // the handle reaches the client from any reactor and is a counted no-op if it has left.
    absl::Status s = backend->call(
        std::string(msg.data(), msg.size()), [h = c.handle()](percore::ClientPool::Reply r) {
          std::string body = r.ok() ? *std::move(r) : "error: " + std::string(r.status().message());
          (void)h.send(Frame(body));
        });
    if (!s.ok()) c.send(Frame("busy"));  // in-flight or rate limit: refused at once
  }
};

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "gateway: %s\n", std::string(s.message()).c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: gateway PORT BACKEND_HOST:PORT\n");
    return 2;
  }
  auto signals = percore::SignalFd::Block({SIGINT, SIGTERM});  // before any reactor thread
  if (!signals.ok()) return Fail(signals.status());
  Gateway gateway;
  percore::Config config;
  config.listen = std::string("127.0.0.1:") + argv[1];
  percore::TcpServer server(config, gateway);
  percore::ClientPoolOptions opts;
  opts.endpoint = argv[2];
  opts.connections = server.reactors().size();  // one on each reactor
  opts.request_timeout = absl::Seconds(2);
  opts.max_in_flight = 10000;
  opts.client.connect_timeout = absl::Seconds(1);
  opts.client.reconnect.initial = absl::Milliseconds(50);
  opts.client.reconnect.max = absl::Seconds(1);
  percore::ClientPool pool(server, opts);  // on the server's reactors: declared after it
  gateway.backend = &pool;
  // Started before the server: the backend connections open as soon as the reactors run.
  if (absl::Status s = pool.start(); !s.ok()) return Fail(s);
  if (absl::Status s = server.start(); !s.ok()) return Fail(s);
  std::fprintf(stderr, "%s\ngateway: backend %s over %zu connection(s)\n",
               server.startup_note().c_str(), argv[2], opts.connections);
  while (signals->wait(-1) == 0) {
  }
  // The server's shutdown closes the pool's connections too (pending calls fail); then the
  // pool answers what it still queued.
  server.shutdown();
  pool.shutdown();
  std::fprintf(stderr, "gateway: stopped\n");
}
