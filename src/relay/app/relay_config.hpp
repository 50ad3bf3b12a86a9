// The relay node's configuration file (docs/relay.md "Configuration"): TOML, every key optional,
// unknown keys are errors. Read once at start by callbridge-relay. Pure; any thread.
#pragma once

#include <string>
#include <string_view>

#include "base/error.hpp"
#include "relay/node/router.hpp"
#include "relay/node/server.hpp"

namespace callbridge::relay::app {

struct RelayConfig {
  std::string name;      // node name; "" = the host name
  std::string listen = "0.0.0.0:8443";
  std::string registry = "/var/lib/callbridge-relay/edges.json";
  std::string web_root;  // "" = the installed web client
  std::string nats_url;  // "" = a single node
  std::string log_level = "info";
  // [diagnostics] token_file: the bearer token of GET /v1/diagnostics/EDGE ("" = off).
  std::string diagnostics_token_file;
  node::RouterOptions router;
  node::ServerOptions server;  // host/port come from `listen`
};

// "" = the defaults. Errors name the file, the key and what was expected.
base::Result<RelayConfig> load_relay_config(const std::string& path);
base::Result<RelayConfig> parse_relay_config(std::string_view text, std::string_view source);
// HOST:PORT into server.host/port.
base::Status apply_listen(RelayConfig& c, std::string_view listen);

// The commented sample configuration (`callbridge-relay --print-config`).
std::string_view sample_relay_config();

}  // namespace callbridge::relay::app
