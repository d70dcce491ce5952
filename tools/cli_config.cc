#include "tools/cli_config.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace percore::tools {
namespace {

void AddDuration(CLI::App& app, const std::string& name, absl::Duration* d,
                 const std::string& help) {
  app.add_option_function<std::string>(
         name,
         [d, name](const std::string& text) {
           if (!absl::ParseDuration(text, d) || *d < absl::ZeroDuration()) {
             throw CLI::ValidationError(
                 name, absl::StrCat("'", text, "' is not a duration like 250ms, 30s, 2m"));
           }
         },
         help)
      ->default_str(absl::FormatDuration(*d));
}

template <class Enum>
void AddEnum(CLI::App& app, const std::string& name, Enum* e,
             absl::Status (*parse)(std::string_view, Enum*), const char* (*print)(Enum),
             const std::string& help) {
  app.add_option_function<std::string>(
         name,
         [e, parse, name](const std::string& text) {
           if (absl::Status s = parse(text, e); !s.ok()) {
             throw CLI::ValidationError(name, std::string(s.message()));
           }
         },
         help)
      ->default_str(std::string(print(*e)));
}

}  // namespace

void AddConfigOptions(CLI::App& app, Config& c) {
  AddEnum(app, "--backend", &c.backend, ParseBackend, BackendName,
          "reactor backend: epoll, io_uring or auto (io_uring, else epoll)");
  app.add_option("--threads", c.threads, "reactor threads (0 = one per CPU)")
      ->capture_default_str();
  app.add_flag("--pin-cpus,!--no-pin-cpus", c.pin_cpus, "pin reactor i to CPU i");
  app.add_option("--listen", c.listen, "host:port, [v6]:port or unix:/path")->capture_default_str();
  app.add_option("--backlog", c.backlog, "listen backlog")->capture_default_str();
  AddEnum(app, "--accept-mode", &c.accept_mode, ParseAcceptMode, AcceptModeName,
          "reuseport (a listener per reactor), round_robin or least_conns (one acceptor)");
  app.add_option("--max-connections", c.max_connections, "0 = unlimited; excess closed at once")
      ->capture_default_str();
  app.add_flag("--tcp-nodelay,!--no-tcp-nodelay", c.tcp_nodelay, "TCP_NODELAY on accepted sockets");
  app.add_flag("--keepalive,!--no-keepalive", c.keepalive, "SO_KEEPALIVE on accepted sockets");
  app.add_option("--rcvbuf", c.rcvbuf, "SO_RCVBUF (0 = kernel default)")->capture_default_str();
  app.add_option("--sndbuf", c.sndbuf, "SO_SNDBUF (0 = kernel default)")->capture_default_str();
  AddDuration(app, "--idle-timeout", &c.idle_timeout, "close connections idle this long (0 = off)");
  AddDuration(app, "--write-timeout", &c.write_timeout,
              "close a peer whose pending output makes no progress this long (0 = off)");
  AddDuration(app, "--drain-timeout", &c.drain_timeout, "graceful shutdown bound");
  AddDuration(app, "--linger-timeout", &c.linger_timeout,
              "after a graceful close, read and discard until the peer closes, at most this long "
              "(0 = close at once)");
  AddDuration(app, "--heartbeat-interval", &c.heartbeat_interval,
              "apps with a heartbeat ping a connection silent this long and close it if it stays "
              "silent as long again (0 = off)");
  AddDuration(app, "--defer-accept", &c.defer_accept,
              "accept a connection once its first bytes arrived (TCP_DEFER_ACCEPT; client-speaks-"
              "first protocols only; 0 = off)");
  app.add_option("--out-high-watermark", c.out_high_watermark, "send() reports backpressure above")
      ->capture_default_str();
  app.add_option("--out-low-watermark", c.out_low_watermark, "on_drain() below")
      ->capture_default_str();
  app.add_option("--out-cap", c.out_cap, "per-connection output cap; the peer is closed above it")
      ->capture_default_str();
  app.add_option("--read-budget", c.read_budget, "bytes read per connection per wake-up")
      ->capture_default_str();
  app.add_option("--max-frame", c.max_frame, "bytes a handler may leave unconsumed")
      ->capture_default_str();
  app.add_option("--chunk-size", c.chunk_size, "buffer pool chunk size (power of two)")
      ->capture_default_str();
  app.add_option("--max-chunks", c.max_chunks, "buffer pool chunks per reactor")
      ->capture_default_str();
  app.add_option("--task-queue-cap", c.task_queue_cap, "cross-thread posts per reactor")
      ->capture_default_str();
  app.add_option("--handle-queue-bytes", c.handle_queue_bytes,
                 "bytes of ConnHandle sends a reactor holds before refusing more")
      ->capture_default_str();
  app.add_option("--uring-entries", c.uring_entries, "io_uring submission queue entries")
      ->capture_default_str();
  app.add_option("--uring-buffers", c.uring_buffers,
                 "io_uring provided receive buffers per reactor")
      ->capture_default_str();
  app.add_option("--uring-buffer-size", c.uring_buffer_size, "bytes per provided buffer")
      ->capture_default_str();
}

}  // namespace percore::tools
