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
  std::unique_ptr<directory::SqliteContactStore> contacts;
  std::unique_ptr<directory::IndexedContactStore> indexed;  // in front of `contacts` (memory_index)
  std::map<std::string, std::shared_ptr<core::DialingPlan>> plans;  // by tenant

  std::optional<std::string> to_e164(const std::string& tenant, std::string_view raw) const {
    auto it = plans.find(tenant);
    if (it == plans.end()) {
      // No dialing plan: only international input ("+49 211 ...") is understood.
      std::string d;
      for (char c : raw)
        if (std::isdigit(static_cast<unsigned char>(c))) d += c;
      if (!raw.empty() && raw.front() == '+' && d.size() >= 5 && d.size() <= 15) return "+" + d;
      return std::nullopt;
    }
    auto c = it->second->canonicalize(raw);
    using K = core::CanonicalNumber::Kind;
    if ((c.kind == K::external || c.kind == K::internal) && !c.e164.empty()) return c.e164;
    return std::nullopt;
  }
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

  for (const auto& [tenant, tc] : app.config().tenants) {
    const auto& d = tc.dialing;
    if (d.country_code.empty()) continue;
    core::DialingPlanOptions o;
    o.country_code = d.country_code;
    o.area_code = d.area_code;
    o.base_number = d.base_number;
    if (d.extension_length > 0) o.extension_lengths = {d.extension_length};
    o.outside_prefix = d.outside_prefix;
    o.national_prefix = d.trunk_prefix;
    o.international_prefix = d.international_prefix;
    auto plan = core::DialingPlan::create(std::move(o));
    if (!plan) return base::fail(base::Error::invalid_argument("tenant." + tenant + ".dialing: " + plan.error().message()));
    w->plans[tenant] = std::make_shared<core::DialingPlan>(std::move(*plan));
  }

  auto ids = identity::SqliteIdentityStore::open((dir / "identity.db").string());
  if (!ids) return base::fail(ids.error());
  w->identity = std::move(*ids);
  w->auth = std::make_unique<api::Authenticator>(*w->identity, w->clock);

  directory::SqliteContactStoreOptions co;
  co.path = (dir / "contacts.db").string();
  RestWiring* raw = w.get();
  co.to_e164 = [raw](const std::string& tenant, std::string_view n) { return raw->to_e164(tenant, n); };
  auto cs = directory::SqliteContactStore::open(co);
  if (!cs) return base::fail(cs.error());
  w->contacts = std::move(*cs);
  if (app.config().directory.memory_index) {  // loads in the background; the store answers meanwhile
    directory::IndexedContactStoreOptions io;
    for (const auto& [tenant, tc] : app.config().tenants) io.preload_tenants.push_back(tenant);
    if (io.preload_tenants.empty()) io.preload_tenants.push_back("default");
    w->indexed = std::make_unique<directory::IndexedContactStore>(*w->contacts, directory::sqlite_index_loader(co.path),
                                                                  std::move(io));
  }

  api::RestDeps d;
  d.identity = w->identity.get();
  d.auth = w->auth.get();
  d.clock = &w->clock;
  d.journal = &app.journal();
  d.contacts = w->indexed ? static_cast<ports::ContactStore*>(w->indexed.get()) : w->contacts.get();
  App* a = &app;
  d.for_each_model = [a](const std::string& tenant, const std::function<void(const model::CallModel&)>& f) {
    a->call_models().for_each(tenant, f);
  };
  d.to_e164 = [raw](const std::string& tenant, std::string_view n) { return raw->to_e164(tenant, n); };
  d.diagnostics_json = [a] { return a->diagnostics_json(); };
  d.ui_config_json = read_ui_config;  // default of GET /api/v1/ui-settings
  d.remote_info = app.remote_info_view();  // "remote_info" per connection in GET /api/v1/calls
  api::add_rest_routes(app.http(), std::move(d));
  return w;
}

}  // namespace callbridge::app
