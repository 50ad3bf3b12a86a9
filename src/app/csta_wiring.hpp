// Wires the CSTA server (src/csta_server, docs/csta.md "Server") into a running App when [csta]
// listen is set: the [[csta.client]] credentials (secret files read now), API tokens through the
// REST API's Authenticator, the tenants' runtimes, the audit log; then the TCP/TLS listener on the
// App's io_context. Called once from App::create on the io thread.
#pragma once

#include <memory>

#include "app/config.hpp"
#include "app/rest_wiring.hpp"
#include "base/error.hpp"

namespace callbridge::csta_server {
class CstaServer;
class CstaListener;
}  // namespace callbridge::csta_server

namespace callbridge::app {

class App;

struct CstaWiring {
  std::unique_ptr<csta_server::CstaServer> server;
  std::unique_ptr<csta_server::CstaListener> listener;  // declared last: stopped and destroyed first
  CstaWiring();
  ~CstaWiring();
};

// Null when [csta] has no listen. Errors: a secret file that cannot be read, the address in use,
// a TLS file that does not load.
base::Result<std::unique_ptr<CstaWiring>> wire_csta(App& app, const CstaConfig& config, const CstaAuthDeps& auth);

}  // namespace callbridge::app
