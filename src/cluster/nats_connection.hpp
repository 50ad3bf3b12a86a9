// NatsConnection: one connection of this node to NATS (nats.c), for the cluster's JetStream
// key-value buckets (docs/cluster.md). Connects with a deadline, keeps reconnecting in the
// background (nats.c's own reconnect, every `reconnect_wait`), detects a dead server within
// ping_interval * max_pings_out, and reports state changes through `on_status` (called on a nats.c
// thread; keep it short). Errors are base::Error with nats.c's words. Thread-safe: nats.c
// serializes requests on the connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/error.hpp"

// nats.c types, kept out of the users' includes.
struct __natsConnection;
struct __jsCtx;
struct __kvStore;

namespace callbridge::cluster {

struct NatsOptions {
  std::string url = "nats://127.0.0.1:4222";  // one or several, comma-separated
  std::string name;                           // the client name the server shows (the node)
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds reconnect_wait{250};
  std::chrono::milliseconds ping_interval{1000};
  int max_pings_out = 2;
  std::chrono::milliseconds request_timeout{1000};  // each JetStream request (KV get/put)
};

enum class NatsState { connecting, connected, reconnecting, closed };
const char* to_string(NatsState s);

struct NatsStatus {
  NatsState state = NatsState::connecting;
  std::string server;            // the URL connected to ("" when not)
  std::uint64_t disconnects = 0;
  std::uint64_t reconnects = 0;
  std::string last_error;        // the last disconnect's reason ("" when none)
};

class NatsConnection {
 public:
  // Connects (at most connect_timeout). Error: unavailable with the server's URL and nats.c's reason.
  static base::Result<std::unique_ptr<NatsConnection>> connect(NatsOptions options,
                                                               std::function<void(const NatsStatus&)> on_status = {});
  ~NatsConnection();  // closes; callbacks have stopped when it returns
  NatsConnection(const NatsConnection&) = delete;
  NatsConnection& operator=(const NatsConnection&) = delete;

  NatsStatus status() const;
  bool connected() const;
  const NatsOptions& options() const { return options_; }

  // The key-value bucket `bucket` with the given TTL (max age of each value), in memory storage,
  // created when missing. Error (invalid_argument) when it exists with another TTL: every node of
  // a cluster must use the same lease settings. The handle is owned by the caller
  // (KvBucket frees it) and must not outlive this connection.
  class KvBucket {
   public:
    explicit KvBucket(__kvStore* kv) : kv_(kv) {}
    ~KvBucket();
    KvBucket(const KvBucket&) = delete;
    KvBucket& operator=(const KvBucket&) = delete;
    __kvStore* get() const { return kv_; }

   private:
    __kvStore* kv_;
  };
  base::Result<std::unique_ptr<KvBucket>> key_value(const std::string& bucket, std::chrono::milliseconds ttl);
  // The JetStream context of this connection (for publishes with expectations, cluster/lease_manager).
  __jsCtx* jetstream() const { return js_; }
  // The nats.c connection (subscriptions and publishes of cluster/command_relay).
  __natsConnection* handle() const { return nc_; }

 private:
  // What nats.c's callback thread touches; freed after the closed callback ran (leaked, not freed,
  // if that never comes: a callback must not find it gone).
  struct Shared;
  explicit NatsConnection(NatsOptions options, Shared* shared);

  NatsOptions options_;
  Shared* shared_;
  __natsConnection* nc_ = nullptr;
  __jsCtx* js_ = nullptr;
};

// "nats: <what>: <nats.c status text> (<nats.c's last error detail>)"; for the cluster's errors.
base::Error nats_error(base::Errc code, const std::string& what, int status);

}  // namespace callbridge::cluster
