// Wires the end-to-end tunnel (src/relay/tunnel, docs/relay.md "Tunnel") onto the App's relay
// connection when [relay] is on: the paired devices and the edge's e2e key (identity.db, or
// PostgreSQL with the users: app/store_wiring.hpp open_paired_devices), the loopback client of callbridged's own API, and a housekeeping timer. Called once from
// App::start_relay on the io thread, before the connection starts.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "base/error.hpp"
#include "base/time.hpp"
#include "ports/paired_devices.hpp"

namespace callbridge::relay::edge {
class EdgeLink;
}
namespace callbridge::relay::tunnel {
class LoopbackApi;
class Tunnel;
}  // namespace callbridge::relay::tunnel

namespace callbridge::app {

class RelayCallSummaries;  // app/relay_call_summaries.hpp

struct RelayTunnelWiring {
  base::SystemClock clock;
  std::unique_ptr<ports::PairedDeviceStore> devices;
  std::unique_ptr<relay::tunnel::LoopbackApi> api;
  std::unique_ptr<relay::tunnel::Tunnel> tunnel;  // after what it uses: destroyed first
  std::unique_ptr<boost::asio::steady_timer> timer;
  // [relay] privacy = "relaxed" only (App::start_relay): the call summaries the edge shows its relay.
  std::unique_ptr<RelayCallSummaries> summaries;
  RelayTunnelWiring();
  ~RelayTunnelWiring();
};

struct RelayTunnelSetup {
  std::unique_ptr<ports::PairedDeviceStore> devices;  // open_paired_devices(); the wiring keeps it
  std::string edge_id;      // [relay] edge_id
  std::string api_host;     // callbridged's listener, as reached from this host
  std::uint16_t api_port = 0;
  std::string api_tls_cert_file;  // [server.tls] cert_file: the loopback client then speaks TLS, trusting it
  std::size_t max_frame_bytes = 0;  // 0: the relay's default
};

// Errors: the edge key cannot be read or made, the API's certificate does not load.
base::Result<std::unique_ptr<RelayTunnelWiring>> wire_relay_tunnel(boost::asio::io_context& io,
                                                                    relay::edge::EdgeLink& link,
                                                                    RelayTunnelSetup setup);

}  // namespace callbridge::app
