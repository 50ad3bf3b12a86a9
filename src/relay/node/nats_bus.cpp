#include "relay/node/nats_bus.hpp"

#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

namespace callbridge::relay::node {

struct NatsBus::Conn {
  natsConnection* nc = nullptr;
  natsOptions* opts = nullptr;
  // Keeps the callbacks' target alive until nats.c's threads are done with it.
  std::shared_ptr<State>* cb_state = nullptr;
};

namespace {

NatsBus::State& state_of(void* closure) { return **static_cast<std::shared_ptr<NatsBus::State>*>(closure); }

void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto state = *static_cast<std::shared_ptr<NatsBus::State>*>(closure);
  std::string subject(natsMsg_GetSubject(msg));
  std::string data(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
  natsMsg_Destroy(msg);
  if (state->closing) return;
  boost::asio::post(*state->io, [state, subject = std::move(subject), data = std::move(data)] {
    if (!state->closing && state->deliver) state->deliver(subject, data);
  });
}

void on_disconnected(natsConnection*, void* closure) {
  state_of(closure).connected = false;
  spdlog::warn("relay: lost the NATS connection; reconnecting");
}

void on_reconnected(natsConnection*, void* closure) {
  state_of(closure).connected = true;
  spdlog::info("relay: NATS connection back");
}

void on_connected(natsConnection*, void* closure) { state_of(closure).connected = true; }

void on_error(natsConnection*, natsSubscription*, natsStatus s, void*) {
  spdlog::warn("relay: NATS: {}", natsStatus_GetText(s));
}

}  // namespace

base::Result<std::unique_ptr<NatsBus>> NatsBus::create(boost::asio::io_context& io, const std::string& url,
                                                       const std::string& node, Deliver deliver) {
  std::unique_ptr<NatsBus> bus(new NatsBus());
  bus->state_ = std::make_shared<State>();
  bus->state_->io = &io;
  bus->state_->deliver = std::move(deliver);
  bus->conn_ = std::make_unique<Conn>();
  Conn& c = *bus->conn_;
  c.cb_state = new std::shared_ptr<State>(bus->state_);
  auto fail = [&](natsStatus s, const std::string& what) {
    return base::fail(base::Error::invalid_argument("NATS " + what + ": " + natsStatus_GetText(s)));
  };
  natsStatus s = natsOptions_Create(&c.opts);
  if (s != NATS_OK) return fail(s, "options");
  const char* servers[] = {url.c_str()};
  s = natsOptions_SetServers(c.opts, servers, 1);
  if (s != NATS_OK) return fail(s, "url " + url);
  natsOptions_SetName(c.opts, ("callbridge-relay " + node).c_str());
  natsOptions_SetNoEcho(c.opts, true);  // our own publications never come back
  natsOptions_SetMaxReconnect(c.opts, -1);
  natsOptions_SetReconnectWait(c.opts, 250);
  natsOptions_SetReconnectBufSize(c.opts, 8 * 1024 * 1024);
  natsOptions_SetDisconnectedCB(c.opts, on_disconnected, c.cb_state);
  natsOptions_SetReconnectedCB(c.opts, on_reconnected, c.cb_state);
  natsOptions_SetErrorHandler(c.opts, on_error, nullptr);
  natsOptions_SetRetryOnFailedConnect(c.opts, true, on_connected, c.cb_state);
  s = natsConnection_Connect(&c.nc, c.opts);
  if (s == NATS_OK) {
    bus->state_->connected = true;
  } else if (s != NATS_NOT_YET_CONNECTED) {
    return fail(s, "connect to " + url);
  }
  bus->subscribe("cbrelay.nodes", true);
  return bus;
}

NatsBus::~NatsBus() {
  if (!conn_) return;
  state_->closing = true;
  for (auto& [subject, sub] : subs_) natsSubscription_Destroy(static_cast<natsSubscription*>(sub));
  if (conn_->nc) {
    natsConnection_Close(conn_->nc);
    natsConnection_Destroy(conn_->nc);
  }
  if (conn_->opts) natsOptions_Destroy(conn_->opts);
  delete conn_->cb_state;
}

void NatsBus::subscribe(const std::string& subject, bool on) {
  auto it = subs_.find(subject);
  if (on == (it != subs_.end())) return;
  if (!on) {
    natsSubscription_Unsubscribe(static_cast<natsSubscription*>(it->second));
    natsSubscription_Destroy(static_cast<natsSubscription*>(it->second));
    subs_.erase(it);
    return;
  }
  natsSubscription* sub = nullptr;
  natsStatus s = natsConnection_Subscribe(&sub, conn_->nc, subject.c_str(), on_message, conn_->cb_state);
  if (s != NATS_OK) {
    spdlog::warn("relay: NATS subscribe {}: {}", subject, natsStatus_GetText(s));
    return;
  }
  natsSubscription_SetPendingLimits(sub, 100000, 256 * 1024 * 1024);
  subs_[subject] = sub;
}

void NatsBus::watch(const std::string& edge, bool on) {
  subscribe("cbrelay." + edge + ".toclient", on);
  subscribe("cbrelay." + edge + ".presence", on);
}

void NatsBus::home(const std::string& edge, bool on) { subscribe("cbrelay." + edge + ".toedge", on); }

void NatsBus::publish(std::string subject, std::string data) {
  natsStatus s = natsConnection_Publish(conn_->nc, subject.c_str(), data.data(), static_cast<int>(data.size()));
  if (s != NATS_OK) ++publish_errors_;
}

}  // namespace callbridge::relay::node
