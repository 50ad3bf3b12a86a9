// App::reload(): SIGHUP. What the running daemon takes over from the configuration file and what
// it only reports as needing a restart (docs/configuration.md "Reload"). Runs on the io thread.
#include <spdlog/spdlog.h>

#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "app/app.hpp"
#include "base/log.hpp"
#include "base/service_notify.hpp"

namespace callbridge::app {

namespace {

// Settings the running daemon holds in objects built once at start (listener, stores, policies,
// the demo's simulator, the contact index): a change is reported, not applied.
std::vector<std::string> restart_needed(const Config& running, const Config& next) {
  std::vector<std::string> out;
  const auto& a = running.server;
  const auto& b = next.server;
  if (a.listen != b.listen) out.push_back("[server] listen");
  if (a.data_dir != b.data_dir) out.push_back("[server] data_dir");
  if (a.max_connections != b.max_connections) out.push_back("[server] max_connections");
  if (a.max_connections_per_address != b.max_connections_per_address) out.push_back("[server] max_connections_per_address");
  if (a.first_request_timeout_s != b.first_request_timeout_s) out.push_back("[server] first_request_timeout_s");
  if (a.metrics_allow != b.metrics_allow) out.push_back("[server] metrics_allow");
  if (a.allowed_origins != b.allowed_origins) out.push_back("[server] allowed_origins");
  if (a.tls_cert_file != b.tls_cert_file || a.tls_key_file != b.tls_key_file) out.push_back("[server.tls]");
  if (running.csta != next.csta) out.push_back("[csta]");
  if (!(running.cluster == next.cluster)) out.push_back("[cluster]");
  if (!(running.journal == next.journal)) out.push_back("[journal]");
  if (!(running.identity == next.identity)) out.push_back("[identity]");
  if (!(running.audit == next.audit)) out.push_back("[audit]");
  if (!(running.trace == next.trace)) out.push_back("[trace]");
  if (!(running.webhooks == next.webhooks)) out.push_back("[webhooks]");
  if (!(running.demo == next.demo)) out.push_back("[demo]");
  if (running.directory.memory_index != next.directory.memory_index) out.push_back("[directory.store] memory_index");
  return out;
}

bool same_setup(const TenantSetup& a, const TenantSetup& b) {
  return a.tenant == b.tenant && a.pbx == b.pbx && a.ldap == b.ldap && a.http == b.http;
}

std::string monotonic_usec() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::to_string(static_cast<long long>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000);
}

}  // namespace

void App::reload(std::function<void()> done) {
  if (shutting_down_) {
    if (done) done();
    return;
  }
  auto ready = [this, done] {
    base::notify_service_manager("READY=1\nSTATUS=serving on " + http_->local_address());
    if (done) done();
  };
  if (!options_.reload_config) {
    spdlog::warn("reload (SIGHUP): callbridged was started without --config; there is no file to read again");
    return ready();
  }
  // systemd (Type=notify-reload, 253+) wants MONOTONIC_USEC with RELOADING=1; older ones ignore it.
  base::notify_service_manager("RELOADING=1\nMONOTONIC_USEC=" + monotonic_usec() + "\nSTATUS=reloading");
  spdlog::info("reload (SIGHUP): reading the configuration again");
  auto loaded = options_.reload_config();
  if (!loaded) {
    spdlog::error("reload: {}; nothing changed, the running configuration stays", loaded.error().message());
    return ready();
  }
  Config& next = *loaded;
  const auto restart = restart_needed(config_, next);
  for (const auto& what : restart)
    spdlog::warn("reload: {} changed but needs a restart to take effect (systemctl restart callbridge); "
                 "the running value stays", what);

  bool changed = false;
  if (next.server.log_level != config_.server.log_level) {
    if (auto st = base::set_log_level(next.server.log_level); !st) {
      spdlog::error("reload: {}", st.error().message());  // validated by the loader; defensive
    } else {
      spdlog::info("reload: log level {} (was {})", next.server.log_level, config_.server.log_level);
      config_.server.log_level = next.server.log_level;
      changed = true;
    }
  }

  // Tenants of the file: compare each one's whole setup. Run-time tenants (operator API) are not
  // the file's and stay as they are.
  std::map<base::TenantId, TenantSetup> before, after;
  for (auto& s : tenant_setups(config_)) before.emplace(s.id, std::move(s));
  for (auto& s : tenant_setups(next)) after.emplace(s.id, std::move(s));
  std::vector<base::TenantId> removed;
  std::vector<TenantSetup> restarted, added;
  for (const auto& [id, s] : before)
    if (!after.contains(id)) removed.push_back(id);
  for (auto& [id, s] : after) {
    auto it = before.find(id);
    if (it == before.end()) added.push_back(std::move(s));
    else if (!same_setup(it->second, s)) restarted.push_back(std::move(s));
  }
  // From here on the file's tenants are the new ones (TenantManager asks config() which ids are
  // the file's); what cannot change live keeps its running value.
  config_.pbx = next.pbx;
  config_.tenants = next.tenants;
  config_.directory.ldap = next.directory.ldap;
  config_.directory.http = next.directory.http;
  changed = changed || !removed.empty() || !restarted.empty() || !added.empty();
  if (!changed) {
    spdlog::info(restart.empty() ? "reload: nothing changed" : "reload: nothing else changed");
    return ready();
  }

  auto pending = std::make_shared<std::size_t>(removed.size() + restarted.size() + added.size() + 1);
  auto one_done = [pending, ready] {
    if (--*pending == 0) ready();
  };
  auto start = [this, one_done](TenantSetup s, const char* what) {
    const auto id = s.id;
    if (auto r = add_tenant(std::move(s)); !r)
      spdlog::error("reload: tenant {}: not running: {}", id, r.error().message());
    else
      spdlog::info("reload: tenant {} {}", id, what);
    one_done();
  };
  for (const auto& id : removed) {
    spdlog::info("reload: tenant {} is no longer in the file; stopping it", id);
    remove_tenant(id, [one_done](base::Status) { one_done(); });
  }
  for (auto& s : restarted) {
    spdlog::info("reload: tenant {} changed (dialing plan, phones, call control, PBX links or directories); "
                 "restarting it, its PBX links reconnect", s.id);
    auto id = s.id;
    remove_tenant(id, [start, s = std::move(s)](base::Status) mutable { start(std::move(s), "restarted"); });
  }
  for (auto& s : added) start(std::move(s), "added");
  one_done();  // the +1: ready() only after every tenant above, even when all finished inline
}

}  // namespace callbridge::app
