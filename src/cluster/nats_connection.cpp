#include "cluster/nats_connection.hpp"

#include <nats/nats.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace callbridge::cluster {

using base::Errc;
using base::Error;
using base::fail;

const char* to_string(NatsState s) {
  switch (s) {
    case NatsState::connecting: return "connecting";
    case NatsState::connected: return "connected";
    case NatsState::reconnecting: return "reconnecting";
    case NatsState::closed: return "closed";
  }
  return "?";
}

Error nats_error(Errc code, const std::string& what, int status) {
  auto st = static_cast<natsStatus>(status);
  std::string m = "nats: " + what + ": " + natsStatus_GetText(st);
  natsStatus last = NATS_OK;
  if (const char* detail = nats_GetLastError(&last); detail && *detail && std::string(detail) != natsStatus_GetText(st))
    m += std::string(" (") + detail + ")";
  if (st == NATS_TIMEOUT) code = Errc::timeout;
  return Error(code, std::move(m));
}

struct NatsConnection::Shared {
  std::function<void(const NatsStatus&)> on_status;
  std::atomic<NatsState> state{NatsState::connecting};
  std::atomic<std::uint64_t> disconnects{0};
  std::atomic<std::uint64_t> reconnects{0};
  std::mutex mu;
  std::condition_variable cv;
  bool closed = false;
  std::string server;
  std::string last_error;

  NatsStatus status() {
    NatsStatus s;
    s.state = state.load();
    s.disconnects = disconnects.load();
    s.reconnects = reconnects.load();
    std::lock_guard lk(mu);
    s.server = server;
    s.last_error = last_error;
    return s;
  }
  void report() {
    if (on_status) on_status(status());
  }
  static void disconnected(natsConnection* nc, void* p) {
    auto* self = static_cast<Shared*>(p);
    if (self->state.load() == NatsState::closed) return;
    self->state = NatsState::reconnecting;
    ++self->disconnects;
    {
      std::lock_guard lk(self->mu);
      const char* why = nullptr;
      natsStatus ls = natsConnection_GetLastError(nc, &why);
      self->last_error = (ls != NATS_OK && why && *why) ? why : "connection lost";
      self->server.clear();
    }
    self->report();
  }
  static void reconnected(natsConnection* nc, void* p) {
    auto* self = static_cast<Shared*>(p);
    self->state = NatsState::connected;
    ++self->reconnects;
    {
      std::lock_guard lk(self->mu);
      char url[256] = {0};
      if (natsConnection_GetConnectedUrl(nc, url, sizeof url) == NATS_OK) self->server = url;
    }
    self->report();
  }
  static void closed_cb(natsConnection*, void* p) {
    auto* self = static_cast<Shared*>(p);
    self->state = NatsState::closed;
    self->report();
    std::lock_guard lk(self->mu);
    self->closed = true;
    self->cv.notify_all();
  }
};

NatsConnection::NatsConnection(NatsOptions options, Shared* shared) : options_(std::move(options)), shared_(shared) {}

bool NatsConnection::connected() const { return shared_->state.load() == NatsState::connected; }

NatsStatus NatsConnection::status() const { return shared_->status(); }

base::Result<std::unique_ptr<NatsConnection>> NatsConnection::connect(NatsOptions options,
                                                                       std::function<void(const NatsStatus&)> on_status) {
  auto* shared = new Shared;
  shared->on_status = std::move(on_status);
  std::unique_ptr<NatsConnection> c(new NatsConnection(std::move(options), shared));
  const auto& o = c->options_;

  natsOptions* opts = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  if (s == NATS_OK) s = natsOptions_SetURL(opts, o.url.c_str());
  if (s == NATS_OK && !o.name.empty()) s = natsOptions_SetName(opts, o.name.c_str());
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, o.connect_timeout.count());
  if (s == NATS_OK) s = natsOptions_SetAllowReconnect(opts, true);
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);  // for ever
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, o.reconnect_wait.count());
  if (s == NATS_OK) s = natsOptions_SetPingInterval(opts, o.ping_interval.count());
  if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(opts, o.max_pings_out);
  if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(opts, &Shared::disconnected, shared);
  if (s == NATS_OK) s = natsOptions_SetReconnectedCB(opts, &Shared::reconnected, shared);
  if (s == NATS_OK) s = natsOptions_SetClosedCB(opts, &Shared::closed_cb, shared);
  if (s != NATS_OK) {
    natsOptions_Destroy(opts);
    return fail(nats_error(Errc::invalid_argument, "options for " + o.url, s));
  }
  s = natsConnection_Connect(&c->nc_, opts);
  natsOptions_Destroy(opts);
  if (s != NATS_OK) {
    c->nc_ = nullptr;  // nothing to close; no callback will come
    return fail(nats_error(Errc::unavailable, "cannot connect to " + o.url, s));
  }
  shared->state = NatsState::connected;
  {
    char url[256] = {0};
    if (natsConnection_GetConnectedUrl(c->nc_, url, sizeof url) == NATS_OK) {
      std::lock_guard lk(shared->mu);
      shared->server = url;
    }
  }
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = o.request_timeout.count();
  s = natsConnection_JetStream(&c->js_, c->nc_, &jo);
  if (s != NATS_OK) return fail(nats_error(Errc::unavailable, "JetStream context on " + o.url, s));
  shared->report();
  return c;
}

NatsConnection::~NatsConnection() {
  if (js_) jsCtx_Destroy(js_);
  if (!nc_) {
    delete shared_;
    return;
  }
  natsConnection_Close(nc_);
  bool closed = false;
  {
    std::unique_lock lk(shared_->mu);
    closed = shared_->cv.wait_for(lk, std::chrono::seconds(5), [&] { return shared_->closed; });
  }
  natsConnection_Destroy(nc_);
  if (closed) delete shared_;  // else leaked: a late callback must still find it
}

NatsConnection::KvBucket::~KvBucket() {
  if (kv_) kvStore_Destroy(kv_);
}

base::Result<std::unique_ptr<NatsConnection::KvBucket>> NatsConnection::key_value(const std::string& bucket,
                                                                                 std::chrono::milliseconds ttl) {
  kvStore* kv = nullptr;
  natsStatus s = js_KeyValue(&kv, js_, bucket.c_str());
  if (s == NATS_NOT_FOUND) {
    kvConfig cfg;
    kvConfig_Init(&cfg);
    cfg.Bucket = bucket.c_str();
    cfg.Description = "callbridge: which node owns which PBX link (docs/cluster.md)";
    cfg.History = 1;
    cfg.TTL = std::chrono::nanoseconds(ttl).count();  // nats.c 3.4: nanoseconds
    cfg.StorageType = js_MemoryStorage;
    cfg.Replicas = 1;
    s = js_CreateKeyValue(&kv, js_, &cfg);
    if (s != NATS_OK) {
      // Another node may have created it at the same moment: bind to it.
      kv = nullptr;
      s = js_KeyValue(&kv, js_, bucket.c_str());
    }
  }
  if (s != NATS_OK) return fail(nats_error(Errc::unavailable, "key-value bucket " + bucket, s));
  auto out = std::make_unique<KvBucket>(kv);
  kvStatus* st = nullptr;
  s = kvStore_Status(&st, kv);
  if (s != NATS_OK) return fail(nats_error(Errc::unavailable, "status of key-value bucket " + bucket, s));
  const std::int64_t have_ms = kvStatus_TTL(st) / 1'000'000;  // nats.c 3.4 reports nanoseconds
  kvStatus_Destroy(st);
  if (have_ms != ttl.count())
    return fail(Error::invalid_argument("nats: key-value bucket " + bucket + " has a TTL of " +
                                        std::to_string(have_ms) + " ms, this node is configured for " +
                                        std::to_string(ttl.count()) +
                                        " ms: every node of a cluster needs the same lease settings (or delete "
                                        "the bucket while no node runs)"));
  return out;
}

}  // namespace callbridge::cluster
