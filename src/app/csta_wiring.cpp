#include "app/csta_wiring.hpp"

#include <fstream>

#include <spdlog/spdlog.h>

#include "app/app.hpp"
#include "csta_server/csta_listener.hpp"
#include "csta_server/csta_server.hpp"

namespace callbridge::app {

CstaWiring::CstaWiring() = default;
CstaWiring::~CstaWiring() {
  if (listener) listener->stop();
  listener.reset();
  server.reset();
}

base::Result<std::unique_ptr<CstaWiring>> wire_csta(App& app, const CstaConfig& c, const CstaAuthDeps& auth) {
  if (c.listen.empty()) return std::unique_ptr<CstaWiring>();
  auto hp = parse_host_port(c.listen);
  if (!hp) return base::fail(base::Error::invalid_argument("csta.listen: " + hp.error().message()));

  csta_server::CstaServerOptions o;
  o.max_frame_bytes = c.max_frame_bytes;
  o.requests_per_second = c.requests_per_second;
  o.accept_ecma354 = std::find(c.start_styles.begin(), c.start_styles.end(), "ecma354") != c.start_styles.end();
  o.accept_osv = std::find(c.start_styles.begin(), c.start_styles.end(), "osv") != c.start_styles.end();
  for (const auto& cl : c.clients) {
    std::string digest = cl.secret_sha256;
    if (!cl.secret_file.empty()) {
      std::ifstream f(cl.secret_file);
      std::string secret;
      if (!f || !std::getline(f, secret) || secret.empty())
        return base::fail(base::Error::io("csta.client " + cl.name + ": secret_file " + cl.secret_file +
                                          " cannot be read or is empty"));
      if (!secret.empty() && secret.back() == '\r') secret.pop_back();
      digest = csta_server::sha256_hex(secret);
    }
    o.clients.push_back({cl.name, digest, base::TenantId(cl.tenant)});
  }

  csta_server::CstaServerDeps d;
  d.hub = &app.event_hub();
  d.runtime = [&app](const base::TenantId& t) { return app.runtime(t); };
  d.check_token = auth.check_token;
  d.users = auth.users;
  d.audit = auth.audit;
  d.forward_policy = [&app](const base::TenantId& t) {
    auto s = app.any_device_settings(t);
    return s ? s->policy : core::AnyDevicePolicy{};
  };
  d.clock = auth.clock;

  auto w = std::make_unique<CstaWiring>();
  w->server = std::make_unique<csta_server::CstaServer>(std::move(o), std::move(d));
  csta_server::CstaListenerOptions lo;
  lo.host = hp->host;
  lo.port = hp->port;
  lo.tls_cert_file = c.tls_cert_file;
  lo.tls_key_file = c.tls_key_file;
  lo.max_clients = c.max_clients;
  lo.session_start_timeout = std::chrono::seconds(c.session_start_timeout_s);
  w->listener = std::make_unique<csta_server::CstaListener>(app.io(), *w->server, lo);
  if (auto st = w->listener->start(); !st) return base::fail(st.error());
  spdlog::info("CSTA server listening on {}:{}{} (ECMA-354 {}, OpenScape style {})", hp->host, w->listener->port(),
               w->listener->tls() ? " (TLS)" : "", w->server->options().accept_ecma354 ? "on" : "off",
               w->server->options().accept_osv ? "on" : "off");
  return w;
}

}  // namespace callbridge::app
