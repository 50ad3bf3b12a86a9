#include "app/rest_wiring.hpp"

#include <filesystem>
#include <fstream>
#include <map>

#include "api/auth.hpp"
#include "api/rest_api.hpp"
#include "api/static_files.hpp"
#include "app/app.hpp"
#include "core/dialing_plan.hpp"
#include "directory/index/indexed_contact_store.hpp"
#include "directory/store/sqlite_contact_store.hpp"
#include "identity/sqlite/identity_store.hpp"

namespace callbridge::app {

struct RestWiring {
  base::SystemClock clock;
  std::unique_ptr<identity::SqliteIdentityStore> identity;
  std::unique_ptr<api::Authenticator> auth;
  // contacts.db, its index and the dialing plans are the App's (App::contacts(), App::to_e164()):
  // the same instances serve live calls.
};

api::PrincipalResolver& App::principals() { return *rest_->auth; }

api::EventStreamOptions event_stream_options(const std::shared_ptr<RestWiring>& w) {
  api::EventStreamOptions o;
  identity::SqliteIdentityStore* ids = w->identity.get();
  o.team_devices = [ids](const std::string& tenant, const std::string& team) {
    std::vector<std::string> devices;
    auto users = ids->list_users(tenant);
    if (!users) return devices;  // presence of the team is not shown; the stream still works
    for (const auto& u : *users)
      if (!team.empty() && u.team == team) devices.insert(devices.end(), u.extensions.begin(), u.extensions.end());
    return devices;
  };
  return o;
}

namespace {
// The served /ui-config.json (the web client's static defaults), at most 64 KiB.
std::optional<std::string> read_ui_config() {
  std::ifstream f(std::filesystem::path(api::default_web_root()) / "ui-config.json", std::ios::binary);
  if (!f) return std::nullopt;
  std::string s(64 * 1024 + 1, '\0');
  f.read(s.data(), static_cast<std::streamsize>(s.size()));
  s.resize(static_cast<std::size_t>(f.gcount()));
  if (s.size() > 64 * 1024) return std::nullopt;
  return s;
}
}  // namespace

base::Result<std::shared_ptr<RestWiring>> wire_rest_api(App& app) {
  auto w = std::make_shared<RestWiring>();
  namespace fs = std::filesystem;
  const fs::path dir(app.data_dir());

  auto ids = identity::SqliteIdentityStore::open((dir / "identity.db").string());
  if (!ids) return base::fail(ids.error());
  w->identity = std::move(*ids);
  w->auth = std::make_unique<api::Authenticator>(*w->identity, w->clock);

  api::RestDeps d;
  d.identity = w->identity.get();
  d.auth = w->auth.get();
  d.clock = &w->clock;
  d.journal = &app.journal();
  d.contacts = &app.contacts();
  d.lookup = &app.lookup();  // GET /api/v1/contacts/lookup asks every source of the tenant
  App* a = &app;
  d.for_each_model = [a](const std::string& tenant, const std::function<void(const model::CallModel&)>& f) {
    a->call_models().for_each(tenant, f);
  };
  d.to_e164 = [a](const std::string& tenant, std::string_view n) { return a->to_e164(tenant, n); };
  d.diagnostics_json = [a] { return a->diagnostics_json(); };
  d.ui_config_json = read_ui_config;  // default of GET /api/v1/ui-settings
  d.remote_info = app.remote_info_view();  // "remote_info" per connection in GET /api/v1/calls
  api::add_rest_routes(app.http(), std::move(d));
  return w;
}

}  // namespace callbridge::app
