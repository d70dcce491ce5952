// KvHandler: the `kv` app, a Redis-speaking key-value server over KvStore (RESP2 through
// RespCodec, the message-level API). Commands: PING ECHO SET GET DEL EXISTS INCR INCRBY DECR
// DECRBY MSET MGET DBSIZE FLUSHALL EXPIRE PEXPIRE TTL PTTL CONFIG(GET) COMMAND QUIT SELECT;
// names are case-insensitive and errors are worded as Redis 7 words them, so redis-cli and
// redis-benchmark work against it unchanged. As in single-threaded Redis, SET ... GET swaps
// under one lock and MSET and MGET hold all their keys' stripes (multi-key DEL and EXISTS go
// key by key).
//
// One handler object serves every reactor thread: its only state is the (thread-safe) store
// and const options; arguments are parsed into one thread_local vector of views, so a command
// allocates nothing beyond what the store keeps (MSET: a map of its keys, to count memory
// once per key). Replies go straight into the Connection (GET, MGET and SET ... GET copy
// values from under their stripe locks into the output queue, nothing in between).
// Backpressure: when a send reports kBackpressure the connection stops reading until on_drain.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "net/connection.h"
#include "protocol/resp_codec.h"
#include "tools/apps/kv_store.h"

namespace percore::apps {

class KvHandler {
 public:
  struct Options {
    size_t max_value = size_t{512} << 20;  // one value (and one argument): proto-max-bulk-len
    size_t max_memory = size_t{1} << 30;   // the store's bound; writes past it answer -OOM
  };

  explicit KvHandler(Options options);

  RespCodec codec;

  void on_message(Connection& c, std::span<const char> msg);
  void on_drain(Connection& c) { c.resume_reading(); }
  void on_codec_error(Connection& c, CodecError e, const RespCodec::State& state);

  KvStore& store() { return store_; }

  // A ByteSink over a Connection that remembers whether any send reported backpressure.
  struct Out {
    Connection& c;
    bool full = false;
    void send(std::string_view v) {
      if (c.send(v) == SendResult::kBackpressure) full = true;
    }
  };

 private:
  void dispatch(Out& out, std::vector<std::string_view>& args);

  KvStore store_;
};

}  // namespace percore::apps
