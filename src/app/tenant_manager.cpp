#include "app/tenant_manager.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "app/app.hpp"
#include "app/tenant_setup.hpp"
#include "core/tenant_runtime.hpp"
#include "base/time.hpp"

namespace callbridge::app {

namespace json = boost::json;
using base::Error;
using base::fail;

namespace {

// The file's view of one tenant, as a spec (GET of a tenant from the configuration file).
TenantSpec file_spec(const Config& c, const std::string& id) {
  TenantSpec s;
  s.id = id;
  for (const auto& p : c.pbx)
    if (p.tenant == id) s.pbx.push_back(p);
  if (auto t = c.tenants.find(id); t != c.tenants.end()) s.settings = t->second;
  for (const auto& l : c.directory.ldap)
    if (l.tenant == id) s.ldap.push_back(l);
  for (const auto& h : c.directory.http)
    if (h.tenant == id) s.http.push_back(h);
  return s;
}

std::vector<std::string> names_of(const TenantSpec& s) {
  std::vector<std::string> n;
  for (const auto& p : s.pbx) n.push_back("pbx link \"" + p.name + "\"");
  for (const auto& l : s.ldap) n.push_back("directory source \"" + l.name + "\"");
  for (const auto& h : s.http) n.push_back("directory source \"" + h.name + "\"");
  return n;
}

}  // namespace

TenantManager::TenantManager(App& app, std::unique_ptr<ports::TenantStore> store, base::Offload workers)
    : app_(app), store_(std::move(store)), workers_(std::move(workers)) {}

TenantManager::~TenantManager() { *alive_ = false; }

bool TenantManager::file_tenant(const std::string& id) const {
  auto ids = file_tenants(app_.config());
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

std::optional<std::string> TenantManager::name_clash(const TenantSpec& spec) const {
  // Link names and source names each live in one namespace across the daemon (diagnostics,
  // /readyz, lookup results).
  std::set<std::string> taken;
  const Config& c = app_.config();
  for (const auto& p : c.pbx) taken.insert("pbx link \"" + p.name + "\"");
  for (const auto& l : c.directory.ldap) taken.insert("directory source \"" + l.name + "\"");
  for (const auto& h : c.directory.http) taken.insert("directory source \"" + h.name + "\"");
  for (const auto& [id, t] : tenants_)
    if (id != spec.id)
      for (auto& n : names_of(t.spec)) taken.insert(std::move(n));
  for (const auto& n : names_of(spec))
    if (taken.count(n)) return n + " is already used by another tenant or the configuration file (names are unique in the daemon)";
  return std::nullopt;
}

void TenantManager::blocking(std::function<void()> job, std::function<void()> then) {
  std::weak_ptr<bool> alive = alive_;
  auto back = [alive, then = std::move(then)]() mutable {
    if (auto a = alive.lock(); a && *a) then();
  };
  if (!workers_) {
    job();
    back();
    return;
  }
  auto to_io = workers_.to_io;
  auto task = [job = std::move(job), back = std::move(back), to_io]() mutable {
    job();
    to_io(std::move(back));
  };
  if (!workers_.pool->try_submit(task)) {
    // The REST queue is full: do it here rather than fail an operator's change half-way.
    task();
  }
}

void TenantManager::enqueue(Op op) {
  ops_.push_back(std::move(op));
  if (!busy_) run_next();
}

void TenantManager::run_next() {
  if (ops_.empty()) {
    busy_ = false;
    return;
  }
  busy_ = true;
  auto op = std::move(ops_.front());
  ops_.pop_front();
  std::weak_ptr<bool> alive = alive_;
  op([this, alive] {
    if (auto a = alive.lock(); a && *a) run_next();
  });
}

void TenantManager::load() {
  auto stored = store_->list();
  if (!stored) {
    spdlog::error("tenants: cannot read the stored tenants: {}", stored.error().message());
    return;
  }
  for (auto& st : *stored) {
    const std::string id = st.id.str();
    if (file_tenant(id)) {
      spdlog::warn("tenant {}: stored over the API and also named in the configuration file; the file's wins, "
                   "the stored spec is not started (delete it with the API or take the tenant out of the file)",
                   id);
      continue;
    }
    Tenant t{TenantSpec{}, st, false, ""};
    t.spec.id = id;
    auto spec = parse_tenant_spec(st.spec_json, id);
    if (!spec) {
      t.error = "stored spec is not valid: " + spec.error().message();
      spdlog::error("tenant {}: {}; not started", id, t.error);
      tenants_.emplace(id, std::move(t));
      continue;
    }
    t.spec = std::move(*spec);
    auto clash = name_clash(t.spec);
    tenants_.emplace(id, std::move(t));
    if (clash) {
      tenants_.at(id).error = *clash;
      spdlog::error("tenant {}: {}; not started", id, *clash);
      continue;
    }
    start(id);
  }
  if (!tenants_.empty()) spdlog::info("tenants: {} stored, {} started", tenants_.size(), running());
}

std::size_t TenantManager::running() const {
  return static_cast<std::size_t>(
      std::count_if(tenants_.begin(), tenants_.end(), [](const auto& kv) { return kv.second.running; }));
}

void TenantManager::start(const std::string& id) {
  auto& t = tenants_.at(id);
  // The unit App::add_tenant builds a runtime from, as the file's tenants get theirs.
  TenantSetup setup{.id = base::TenantId(id)};
  setup.tenant = t.spec.settings;
  setup.pbx = t.spec.pbx;
  setup.ldap = t.spec.ldap;
  setup.http = t.spec.http;
  auto st = app_.add_tenant(std::move(setup));
  t.running = static_cast<bool>(st);
  t.error = st ? "" : st.error().message();
  if (st)
    spdlog::info("tenant {}: started ({} PBX link(s), {} directory source(s), dialing plan {})", id, t.spec.pbx.size(),
                 t.spec.ldap.size() + t.spec.http.size(), t.spec.settings.dialing.country_code.empty() ? "none" : "set");
  else
    spdlog::error("tenant {}: cannot start: {}", id, t.error);
}

std::string TenantManager::tenant_json(const std::string& id, bool with_spec) const {
  json::object o;
  TenantSpec file;
  const TenantSpec* spec = nullptr;
  auto it = tenants_.find(id);
  if (it == tenants_.end()) {
    file = file_spec(app_.config(), id);
    spec = &file;
    o = {{"id", id}, {"display_name", ""}, {"source", "config"}, {"state", "running"}, {"error", ""}};
  } else {
    spec = &it->second.spec;
    o = {{"id", id},
         {"display_name", spec->display_name},
         {"source", "api"},
         {"state", it->second.running ? "running" : "failed"},
         {"error", it->second.error}};
  }
  json::array links;
  if (const auto* rt = app_.runtime(base::TenantId(id)))
    for (const auto& d : rt->drivers()) {
      auto s = d->status();
      links.push_back(json::object{{"name", d->name()},
                                   {"state", s.state},
                                   {"connected", s.connected},
                                   {"peer", s.peer},
                                   {"last_error", s.last_error}});
    }
  o["links"] = std::move(links);
  if (it != tenants_.end()) {
    o["created_at"] = base::format_rfc3339_ms(it->second.stored.created_at);
    o["updated_at"] = base::format_rfc3339_ms(it->second.stored.updated_at);
    o["updated_by"] = it->second.stored.updated_by;
  } else {
    o["created_at"] = nullptr;
    o["updated_at"] = nullptr;
    o["updated_by"] = "";
  }
  if (with_spec) o["spec"] = json::parse(tenant_spec_json(*spec, false));
  return json::serialize(o);
}

void TenantManager::list(Done done) {
  std::set<std::string> ids;
  for (const auto& id : file_tenants(app_.config())) ids.insert(id);
  for (const auto& [id, t] : tenants_) ids.insert(id);
  std::string out = "{\"tenants\":[";
  bool first = true;
  for (const auto& id : ids) {
    out += (first ? "" : ",") + tenant_json(id, false);
    first = false;
  }
  done(out + "]}");
}

void TenantManager::get(const std::string& id, Done done) {
  if (!tenants_.count(id) && !file_tenant(id)) return done(fail(Error::not_found("no tenant " + id)));
  done(tenant_json(id, true));
}

void TenantManager::put(const std::string& id, std::string body, bool create, const std::string& by, Done done) {
  enqueue([this, id, body = std::move(body), create, by, done = std::move(done)](std::function<void()> next) mutable {
    auto finish = [done, next](base::Result<std::string> r) {
      done(std::move(r));
      next();
    };
    if (app_.stopping()) return finish(fail(Error::unavailable("callbridged is shutting down")));
    if (body.size() > kMaxTenantSpecBytes)
      return finish(fail(Error::invalid_argument("tenant spec larger than " + std::to_string(kMaxTenantSpecBytes) +
                                                 " bytes")));
    if (!base::TenantId::valid(id) || id.size() > base::TenantId::kMaxLength || id == base::kOperatorTenant)
      return finish(fail(Error::invalid_argument("id: expected a tenant id (1..64 letters, digits, '-' and '_'; not "
                                                 "\"_operator\"), got \"" + id.substr(0, 80) + "\"")));
    if (file_tenant(id))
      return finish(fail(Error::conflict("tenant " + id +
                                         " is configured in the configuration file; change it there (the file wins)")));
    auto existing = tenants_.find(id);
    if (create && existing != tenants_.end()) return finish(fail(Error::conflict("tenant " + id + " exists")));
    if (!create && existing == tenants_.end()) return finish(fail(Error::not_found("no tenant " + id)));
    std::optional<TenantSpec> stored_spec;
    base::Timestamp created = base::SystemClock().now();
    if (existing != tenants_.end()) {
      stored_spec = existing->second.spec;
      created = existing->second.stored.created_at;
    }
    // 1. Parse and validate (worker): the file's readers, secrets left out kept.
    auto parsed = std::make_shared<base::Result<TenantSpec>>(fail(Error::internal("not parsed")));
    blocking(
        [parsed, body = std::move(body), stored_spec, id] {
          *parsed = parse_tenant_spec(stored_spec ? keep_stored_secrets(body, *stored_spec) : body, id);
        },
        [this, parsed, id, by, created, finish] {
          if (!*parsed) return finish(fail(parsed->error()));
          // 2. Names unique in the daemon (io thread: the other tenants' specs live here).
          if (auto clash = name_clash(**parsed)) return finish(fail(Error::conflict(*clash)));
          // 3. Store (worker), then 4. apply (io).
          auto spec = std::make_shared<TenantSpec>(std::move(**parsed));
          auto record = std::make_shared<ports::StoredTenant>(
              ports::StoredTenant{base::TenantId(id), tenant_spec_json(*spec, true), created, base::SystemClock().now(), by});
          auto stored = std::make_shared<base::Status>();
          blocking([this, record, stored] { *stored = store_->put(*record); },
                   [this, spec, record, stored, id, finish] {
                     if (!*stored) return finish(fail(stored->error()));
                     bool was_running = tenants_.count(id) && tenants_.at(id).running;
                     tenants_.insert_or_assign(id, Tenant{*spec, *record, false, ""});
                     auto go = [this, id, finish] {
                       start(id);
                       finish(tenant_json(id, true));
                     };
                     if (!was_running) return go();
                     // Only this tenant restarts: its runtime (drivers, plan, lookups, call
                     // control) goes, then the new spec's starts.
                     spdlog::info("tenant {}: changed; restarting its runtime", id);
                     app_.remove_tenant(base::TenantId(id), [go](base::Status) { go(); });
                   });
        });
  });
}

void TenantManager::remove(const std::string& id, std::function<void(base::Status)> done) {
  enqueue([this, id, done = std::move(done)](std::function<void()> next) {
    auto finish = [done, next](base::Status st) {
      done(std::move(st));
      next();
    };
    if (app_.stopping()) return finish(fail(Error::unavailable("callbridged is shutting down")));
    if (file_tenant(id))
      return finish(fail(Error::conflict("tenant " + id +
                                         " is configured in the configuration file; remove it there (the file wins)")));
    if (!tenants_.count(id)) return finish(fail(Error::not_found("no tenant " + id)));
    auto removed = std::make_shared<base::Status>();
    blocking([this, id, removed] { *removed = store_->remove(base::TenantId(id)); },
             [this, id, removed, finish] {
               if (!*removed && removed->error().code() != base::Errc::not_found) return finish(*removed);
               spdlog::info("tenant {}: removed; stopping its runtime (journal, contacts and users stay)", id);
               auto gone = [this, id, finish](base::Status) {  // not_found: it never started
                 tenants_.erase(id);
                 finish({});
               };
               if (!tenants_.at(id).running) return gone({});
               app_.remove_tenant(base::TenantId(id), gone);
             });
  });
}

}  // namespace callbridge::app
