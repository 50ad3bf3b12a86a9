// NatsBus: the cluster bus between relay nodes over NATS core (nats.c; docs/relay.md "Many nodes").
// Subjects: cbrelay.<edge>.toclient / .presence (watched by nodes with the edge or its clients),
// cbrelay.<edge>.toedge (the edge's node), cbrelay.nodes (heartbeats). No persistence: a message
// nobody listens to is gone. nats.c delivers on its own threads; NatsBus posts every message to the
// node's io_context, so the Router sees them on its thread. watch/home/publish: io thread.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "relay/node/router.hpp"

namespace boost::asio {
class io_context;
}

namespace callbridge::relay::node {

class NatsBus final : public Bus {
 public:
  using Deliver = std::function<void(std::string_view subject, std::string_view data)>;
  // Connects (and keeps reconnecting for ever); a server that is not up yet is retried in the
  // background (connected() says false meanwhile). Errc::invalid_argument for a bad URL.
  static base::Result<std::unique_ptr<NatsBus>> create(boost::asio::io_context& io, const std::string& url,
                                                       const std::string& node, Deliver deliver);
  ~NatsBus() override;

  void watch(const std::string& edge, bool on) override;
  void home(const std::string& edge, bool on) override;
  void publish(std::string subject, std::string data) override;

  bool connected() const { return state_->connected.load(); }
  std::uint64_t publish_errors() const { return publish_errors_; }

  struct State {
    boost::asio::io_context* io = nullptr;
    Deliver deliver;
    std::atomic<bool> connected{false};
    std::atomic<bool> closing{false};
  };

 private:
  NatsBus() = default;
  void subscribe(const std::string& subject, bool on);

  std::shared_ptr<State> state_;
  struct Conn;
  std::unique_ptr<Conn> conn_;
  std::map<std::string, void*> subs_;  // subject -> natsSubscription*
  std::uint64_t publish_errors_ = 0;
};

}  // namespace callbridge::relay::node
