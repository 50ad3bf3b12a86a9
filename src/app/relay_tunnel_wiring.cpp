#include "app/relay_tunnel_wiring.hpp"

#include <spdlog/spdlog.h>

#include "app/relay_call_summaries.hpp"
#include "relay/pairing/pairing.hpp"
#include "relay/tunnel/loopback_api.hpp"
#include "relay/tunnel/tunnel.hpp"

namespace callbridge::app {

RelayTunnelWiring::RelayTunnelWiring() = default;
RelayTunnelWiring::~RelayTunnelWiring() {
  if (timer) timer->cancel();
}

namespace {

void arm(RelayTunnelWiring* w) {
  w->timer->expires_after(std::chrono::seconds(5));
  w->timer->async_wait([w](const boost::system::error_code& ec) {
    if (ec) return;
    w->tunnel->tick();
    arm(w);
  });
}

}  // namespace

base::Result<std::unique_ptr<RelayTunnelWiring>> wire_relay_tunnel(boost::asio::io_context& io,
                                                                    relay::edge::EdgeLink& link,
                                                                    RelayTunnelSetup s) {
  auto w = std::make_unique<RelayTunnelWiring>();
  w->devices = std::move(s.devices);
  auto key = w->devices->edge_key();
  if (!key) return base::fail(key.error());
  relay::tunnel::LoopbackOptions lo;
  lo.host = relay::tunnel::loopback_host(s.api_host);
  lo.port = s.api_port;
  lo.tls_cert_file = s.api_tls_cert_file;
  auto api = relay::tunnel::LoopbackApi::create(io, lo);
  if (!api) return base::fail(api.error());
  w->api = std::move(*api);
  relay::tunnel::TunnelOptions to;
  to.edge_id = s.edge_id;
  if (s.max_frame_bytes) to.max_frame_bytes = s.max_frame_bytes;
  w->tunnel = std::make_unique<relay::tunnel::Tunnel>(link, *w->devices, *w->api, *key, to, w->clock);
  w->tunnel->attach();
  w->timer = std::make_unique<boost::asio::steady_timer>(io);
  arm(w.get());
  spdlog::info("relay: end-to-end tunnel for edge \"{}\" (edge key fingerprint {}) to the API at {}:{}", s.edge_id,
               relay::pairing::fingerprint_text(key->pk), lo.host, lo.port);
  return w;
}

}  // namespace callbridge::app
