#include "tools/cli_config.h"

#include <limits>

#include "absl/strings/numbers.h"
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
      ->default_str(absl::FormatDuration(*d))
      ->type_name("DURATION");
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

// A count or size: a whole number of T's range from `min` up, refused by the flag's name (and
// before CLI11's conversion, whose error names neither the flag's type nor its range).
template <class T>
void AddNumber(CLI::App& app, const std::string& name, T* v, const std::string& help, T min = 0) {
  CLI::Validator whole(
      [min](std::string& text) -> std::string {
        T parsed{};
        if (absl::SimpleAtoi(text, &parsed) && parsed >= min) return "";
        return absl::StrCat("'", text, "' is not a whole number from ", min, " to ",
                            std::numeric_limits<T>::max());
      },
      "");
  app.add_option(name, *v, help)->check(whole)->capture_default_str();
}

// A negatable boolean ("--x,!--no-x"), its default shown as for options (see HelpFormatter).
// A value given to it (--x=maybe, or `x = maybe` in the file) is refused by the flag's name.
void AddSwitch(CLI::App& app, const std::string& names, bool* v, const std::string& help) {
  CLI::Validator boolean(
      [](std::string& text) -> std::string {
        try {
          CLI::detail::to_flag_value(text);
          return "";
        } catch (const std::exception&) {
          return absl::StrCat("'", text, "' is not true or false (on/off, yes/no, 1/0)");
        }
      },
      "");
  app.add_flag(names, *v, help)->check(boolean)->default_str(*v ? "true" : "false");
}

}  // namespace

void AddConfigOptions(CLI::App& app, Config& c) {
  AddEnum(app, "--backend", &c.backend, ParseBackend, BackendName,
          "reactor backend: epoll, io_uring or auto (io_uring, else epoll)");
  AddNumber(app, "--threads", &c.threads, "reactor threads (0 = one per CPU)");
  AddSwitch(app, "--pin-cpus,!--no-pin-cpus", &c.pin_cpus, "pin reactor i to CPU i");
  app.add_option("--listen", c.listen, "host:port, [v6]:port or unix:/path")->capture_default_str();
  AddNumber(app, "--backlog", &c.backlog, "listen backlog", 1);
  AddEnum(app, "--accept-mode", &c.accept_mode, ParseAcceptMode, AcceptModeName,
          "reuseport (a listener per reactor), round_robin or least_conns (one acceptor)");
  AddNumber(app, "--max-connections", &c.max_connections, "0 = unlimited; excess closed at once");
  AddNumber(app, "--in-bytes-per-sec", &c.in_bytes_per_sec,
            "per-connection input rate; above it reading pauses (0 = off)");
  AddNumber(app, "--in-messages-per-sec", &c.in_messages_per_sec,
            "per-connection message rate (apps with a codec); above it reading pauses (0 = off)");
  AddNumber(app, "--max-conns-per-ip", &c.max_conns_per_ip,
            "connections per source IP; excess reset at once (unix peers exempt; 0 = off)");
  AddNumber(app, "--accept-rate", &c.accept_rate,
            "accepted connections per second, server-wide; excess reset at once (0 = off)");
  AddNumber(app, "--accept-burst", &c.accept_burst,
            "accept-rate bucket size (0 = one second's worth)");
  AddSwitch(app, "--tcp-nodelay,!--no-tcp-nodelay", &c.tcp_nodelay,
            "TCP_NODELAY on accepted sockets");
  AddSwitch(app, "--keepalive,!--no-keepalive", &c.keepalive, "SO_KEEPALIVE on accepted sockets");
  AddNumber(app, "--rcvbuf", &c.rcvbuf, "SO_RCVBUF (0 = kernel default)");
  AddNumber(app, "--sndbuf", &c.sndbuf, "SO_SNDBUF (0 = kernel default)");
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
  AddDuration(app, "--busy-poll", &c.busy_poll,
              "before sleeping, poll without blocking this long (e.g. 20us): no wake-up for work "
              "that arrives meanwhile, at the cost of CPU spent spinning (0 = off, at most 1s)");
  AddNumber(app, "--out-high-watermark", &c.out_high_watermark,
            "send() reports backpressure above");
  AddNumber(app, "--out-low-watermark", &c.out_low_watermark, "on_drain() below");
  AddNumber(app, "--out-cap", &c.out_cap, "per-connection output cap; the peer is closed above it");
  AddNumber(app, "--read-budget", &c.read_budget, "bytes read per connection per wake-up");
  AddNumber(app, "--max-frame", &c.max_frame, "bytes a handler may leave unconsumed");
  AddNumber(app, "--chunk-size", &c.chunk_size, "buffer pool chunk size (power of two)");
  AddNumber(app, "--max-chunks", &c.max_chunks, "buffer pool chunks per reactor");
  AddNumber(app, "--task-queue-cap", &c.task_queue_cap, "cross-thread posts per reactor");
  AddNumber(app, "--handle-queue-bytes", &c.handle_queue_bytes,
            "bytes of ConnHandle sends a reactor holds before refusing more");
  AddNumber(app, "--uring-entries", &c.uring_entries, "io_uring submission queue entries");
  AddNumber(app, "--uring-buffers", &c.uring_buffers,
            "io_uring provided receive buffers per reactor");
  AddNumber(app, "--uring-buffer-size", &c.uring_buffer_size, "bytes per provided buffer");
}

}  // namespace percore::tools
