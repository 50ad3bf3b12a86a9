// `callbridge token create|list|revoke`: API tokens in the configured identity store (the data dir's
// identity.db, or PostgreSQL with [identity] backend = "postgres" or [cluster]), without a running
// daemon (bootstrap: the first admin token). `create` makes the user if needed (role, extensions)
// and prints the token on its last line — the only time it is shown; only its argon2id hash is kept.
// Every change is recorded in the configured audit log (actor "cli"; docs/security.md "Audit log"):
// no audit log, no change.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "app/config.hpp"
#include "app/store_wiring.hpp"
#include "base/device_name.hpp"
#include "base/json_text.hpp"
#include "base/tenant_id.hpp"
#include "base/time.hpp"
#include "cli/commands.hpp"
#include "identity/common/identity_rules.hpp"

namespace callbridge::cli {
namespace {

// --extension/--from: a device name the PBX dials (base/device_name), checked at parse time.
CLI::Validator device_name_check() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        return base::is_device_name(s) ? std::string()
                                       : "'" + s.substr(0, 40) + "' is not an extension: expected " +
                                             std::string(base::kDeviceNameRule);
      },
      "EXT");
}

struct TokenFlags {
  std::string data_dir;
  std::string config;
  std::string tenant{app::kSingleCompanyTenant};  // checked by tenant_id_check()
  std::string user;
  std::optional<std::string> role;
  std::vector<std::string> extensions;
  std::optional<std::string> display_name;
  std::optional<std::string> team;
  long expires_days = 0;
  std::string id;
  bool tenant_given = false;
};

int fail_msg(const std::string& m, int rc = 1) {
  std::fprintf(stderr, "callbridge token: %s\n", m.c_str());
  return rc;
}

// The configuration (--config; without --data-dir also $CALLBRIDGE_CONFIG; else the defaults:
// SQLite in the data dir) and the data dir (--data-dir wins over the file's).
std::optional<std::string> data_dir(const TokenFlags& f, app::Config& config, std::string& err) {
  std::string cfg = f.config;
  if (cfg.empty() && f.data_dir.empty())
    if (const char* e = std::getenv("CALLBRIDGE_CONFIG")) cfg = e;
  if (!cfg.empty()) {
    auto c = app::load_config_file(cfg);
    if (!c) {
      err = "config error: " + c.error().message();
      return std::nullopt;
    }
    config = std::move(*c);
  }
  std::string dir = f.data_dir;
  if (dir.empty() && !cfg.empty()) dir = app::effective_data_dir(config);
  if (dir.empty()) dir = app::default_data_dir();
  return dir;
}

// The stores a command changes: the identity store and the audit log.
struct Stores {
  std::unique_ptr<ports::IdentityStore> identity;
  std::unique_ptr<ports::AuditLog> audit;  // null for commands that change nothing

  // A record of what the CLI did (actor "cli", no address: someone with the data dir's files).
  void record(const base::TenantId& tenant, std::string action, std::string target, std::string details_json = "{}") {
    if (!audit) return;
    ports::AuditRecord r{.tenant = tenant};
    r.at = base::SystemClock().now();
    r.actor = "cli";
    r.action = std::move(action);
    r.target = std::move(target);
    r.outcome = "ok";
    r.details_json = std::move(details_json);
    audit->append(std::move(r));
  }
};

// {"k": "v", ...} of plain strings.
std::string json_object(std::initializer_list<std::pair<const char*, std::string>> kv) {
  std::string out = "{";
  for (const auto& [k, v] : kv) {
    if (out.size() > 1) out += ',';
    base::append_json_string(out, k);
    out += ':';
    base::append_json_string(out, v);
  }
  return out + "}";
}

std::unique_ptr<ports::IdentityStore> open_store(const TokenFlags& f, int& rc, std::string* dir_out = nullptr,
                                                 app::Config* config_out = nullptr) {
  std::string err;
  app::Config config;
  auto dir = data_dir(f, config, err);
  if (!dir) {
    rc = fail_msg(err, 2);
    return nullptr;
  }
  std::error_code ec;
  std::filesystem::create_directories(*dir, ec);
  if (ec) {
    rc = fail_msg("data dir " + *dir + ": cannot create: " + ec.message());
    return nullptr;
  }
  auto s = app::open_identity_store(config, *dir);
  if (!s) {
    rc = fail_msg(s.error().message());
    return nullptr;
  }
  if (dir_out) *dir_out = *dir;
  if (config_out) *config_out = std::move(config);
  return std::move(s->store);
}

// The identity store and the audit log; retention stays the daemon's (the CLI never prunes).
std::optional<Stores> open_stores(const TokenFlags& f, int& rc) {
  std::string dir;
  app::Config config;
  Stores s;
  s.identity = open_store(f, rc, &dir, &config);
  if (!s.identity) return std::nullopt;
  auto a = app::open_audit_log(config, dir, app::AuditUse::cli_write);
  if (!a) {
    rc = fail_msg(a.error().message() + " (changes are recorded there; nothing was changed)");
    return std::nullopt;
  }
  s.audit = std::move(a->log);
  return s;
}

int run_create(TokenFlags f) {
  // Operators (docs/api.md "Tenants") live in the reserved tenant, whatever --tenant says.
  if (f.role && *f.role == "operator") {
    if (f.tenant_given && f.tenant != base::kOperatorTenant)
      return fail_msg("--role operator: operators belong to no company tenant; leave out --tenant", 2);
    f.tenant = std::string(base::kOperatorTenant);
  }
  int rc = 0;
  auto stores = open_stores(f, rc);
  if (!stores) return rc;
  auto& store = stores->identity;
  const base::TenantId tenant(f.tenant);
  auto existing = store->get_user(tenant, f.user);
  ports::User u{.tenant = tenant};
  if (existing) {
    u = *existing;
  } else {
    u.name = f.user;
    u.role = "user";
  }
  bool changed = !existing;
  if (f.role && *f.role != u.role) u.role = *f.role, changed = true;
  if (!f.extensions.empty() && f.extensions != u.extensions) u.extensions = f.extensions, changed = true;
  if (f.display_name && *f.display_name != u.display_name) u.display_name = *f.display_name, changed = true;
  if (f.team && *f.team != u.team) u.team = *f.team, changed = true;
  if (changed) {
    if (auto st = store->put_user(u); !st) return fail_msg(st.error().message(), 2);
    stores->record(tenant, existing ? "user.change" : "user.create", "user:" + u.name,
                   json_object({{"role", u.role}, {"team", u.team}, {"display_name", u.display_name}}));
    std::fprintf(stderr, "%s user %s/%s (role %s)\n", existing ? "updated" : "created", u.tenant.c_str(),
                 u.name.c_str(), u.role.c_str());
  }
  base::SystemClock clock;
  std::optional<base::Timestamp> expires;
  if (f.expires_days > 0) expires = clock.now() + std::chrono::hours(24 * f.expires_days);
  auto t = identity::issue_token(*store, tenant, f.user, clock.now(), expires);
  if (!t) return fail_msg(t.error().message());
  stores->record(tenant, "token.create", "token:" + t->id,
                 json_object({{"user", f.user}, {"expires_at", expires ? base::format_rfc3339_ms(*expires) : ""}}));
  if (auto st = stores->audit->flush(); !st) std::fprintf(stderr, "callbridge token: %s\n", st.error().message().c_str());
  std::fprintf(stderr, "token %s for %s/%s%s; it is shown once, store it now:\n", t->id.c_str(), f.tenant.c_str(),
               f.user.c_str(), expires ? (", expires " + base::format_rfc3339_ms(*expires)).c_str() : "");
  std::printf("%s\n", t->token.c_str());
  return 0;
}

int run_list(const TokenFlags& f) {
  int rc = 0;
  auto store = open_store(f, rc);
  if (!store) return rc;
  auto ts = store->list_tokens(base::TenantId(f.tenant));
  if (!ts) return fail_msg(ts.error().message());
  std::printf("%-18s %-20s %-25s %-25s %s\n", "ID", "USER", "CREATED", "EXPIRES", "STATE");
  for (const auto& t : *ts)
    std::printf("%-18s %-20s %-25s %-25s %s\n", t.id.c_str(), t.user.c_str(),
                base::format_rfc3339_ms(t.created_at).c_str(),
                t.expires_at ? base::format_rfc3339_ms(*t.expires_at).c_str() : "never",
                t.revoked ? "revoked" : "active");
  return 0;
}

int run_revoke(const TokenFlags& f) {
  int rc = 0;
  auto stores = open_stores(f, rc);
  if (!stores) return rc;
  if (auto st = stores->identity->revoke_token(base::TenantId(f.tenant), f.id); !st) return fail_msg(st.error().message());
  stores->record(base::TenantId(f.tenant), "token.revoke", "token:" + f.id);
  if (auto st = stores->audit->flush(); !st) std::fprintf(stderr, "callbridge token: %s\n", st.error().message().c_str());
  std::fprintf(stderr, "revoked %s and ended its browser sessions (a running callbridged notices within a second and closes "
               "its event streams)\n", f.id.c_str());
  return 0;
}

}  // namespace

Command register_token(CLI::App& app) {
  auto f = std::make_shared<TokenFlags>();
  auto* c = app.add_subcommand("token", "API tokens on the data dir (no daemon needed)");
  c->require_subcommand(1);
  auto common = [f](CLI::App* s) {
    s->add_option("--data-dir", f->data_dir, "callbridged data dir holding identity.db (default: from --config, "
                                             "else the daemon's default)")
        ->option_text("DIR");
    s->add_option("--config", f->config, "callbridged config file (default: $CALLBRIDGE_CONFIG)")->option_text("FILE");
    s->add_option("--tenant", f->tenant, "tenant id (\"_operator\" for operators)")
        ->capture_default_str()
        ->option_text("T")
        ->check(tenant_id_check())
        ->each([f](const std::string&) { f->tenant_given = true; });
  };
  auto* create = c->add_subcommand("create", "create a token (and the user if needed); prints it on the last line");
  common(create);
  create->add_option("--user", f->user, "user name")->required()->option_text("U");
  create->add_option("--role", f->role,
                     "admin, supervisor or user (new users: user); operator = manages tenants over the API "
                     "(`callbridge tenant`), sees no tenant's data, lives in the reserved tenant \"_operator\"")
      ->check(CLI::IsMember({"admin", "supervisor", "user", "operator"}))
      ->option_text("R");
  create->add_option("--extension", f->extensions, "the user's extension (repeatable)")
      ->check(device_name_check())
      ->option_text("EXT");
  create->add_option("--display-name", f->display_name, "shown name")->option_text("NAME");
  create->add_option("--team", f->team, "the user's team (team presence; \"\" = none)")->option_text("TEAM");
  create->add_option("--expires-days", f->expires_days, "token lifetime in days (0 = no expiry)")->option_text("N");
  auto* list = c->add_subcommand("list", "tokens of a tenant (ids only, never secrets)");
  common(list);
  auto* revoke = c->add_subcommand("revoke", "revoke a token by id");
  common(revoke);
  revoke->add_option("id", f->id, "token id")->required();

  Command cmd;
  cmd.app = c;
  cmd.run = [f, create, list]() {
    if (create->parsed()) return run_create(*f);
    if (list->parsed()) return run_list(*f);
    return run_revoke(*f);
  };
  return cmd;
}

}  // namespace callbridge::cli
