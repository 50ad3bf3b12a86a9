#include "identity/postgres/pg_identity_store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>

#include "storage/postgres/pg_conn.hpp"
#include "storage/postgres/pg_schema.hpp"

namespace callbridge::identity {

using base::Error;
using base::fail;
using base::Result;
using base::Status;
using storage::postgres::PgConn;
using storage::postgres::PgRows;
using Steady = std::chrono::steady_clock;
using Params = PgConn::Params;

namespace {

// The identity part of the shared schema; append only, never edit a shipped migration. Same
// tables and meaning as identity.db (schema 7), times in microseconds since the epoch (UTC);
// `user` is a reserved word here, hence `username`. What belongs to a user goes with the user
// row (foreign keys), so a removal racing a write on another node cannot leave a stray row.
constexpr const char* const kMigrations[] = {
    // 1: everything identity.db holds at its schema 7, and the tenant specs.
    R"sql(
CREATE TABLE users (
  tenant TEXT NOT NULL, name TEXT NOT NULL, role TEXT NOT NULL, display_name TEXT NOT NULL DEFAULT '',
  extensions TEXT NOT NULL DEFAULT '', team TEXT NOT NULL DEFAULT '', PRIMARY KEY (tenant, name));
CREATE TABLE tokens (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, username TEXT NOT NULL, hash TEXT NOT NULL,
  created_at BIGINT NOT NULL, expires_at BIGINT, revoked BOOLEAN NOT NULL DEFAULT false);
CREATE INDEX tokens_by_user ON tokens(tenant, username);
CREATE TABLE sessions (
  id_hash TEXT PRIMARY KEY, tenant TEXT NOT NULL, username TEXT NOT NULL, expires_at BIGINT NOT NULL,
  token_id TEXT NOT NULL DEFAULT '');
CREATE INDEX sessions_by_token ON sessions(token_id);
CREATE INDEX sessions_by_user ON sessions(tenant, username);
CREATE INDEX sessions_by_expiry ON sessions(expires_at);
CREATE TABLE credential_generation (id INT PRIMARY KEY CHECK (id = 1), value BIGINT NOT NULL);
INSERT INTO credential_generation (id, value) VALUES (1, 0);
CREATE TABLE tenant_settings (
  tenant TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated_at BIGINT NOT NULL,
  updated_by TEXT NOT NULL DEFAULT '', PRIMARY KEY (tenant, key));
CREATE TABLE user_settings (
  tenant TEXT NOT NULL, username TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated_at BIGINT NOT NULL,
  PRIMARY KEY (tenant, username, key),
  FOREIGN KEY (tenant, username) REFERENCES users(tenant, name) ON DELETE CASCADE);
CREATE TABLE user_status (
  tenant TEXT NOT NULL, username TEXT NOT NULL, status TEXT NOT NULL, note TEXT NOT NULL DEFAULT '',
  until BIGINT, updated_at BIGINT NOT NULL, PRIMARY KEY (tenant, username),
  FOREIGN KEY (tenant, username) REFERENCES users(tenant, name) ON DELETE CASCADE);
CREATE TABLE user_devices (
  tenant TEXT NOT NULL, username TEXT NOT NULL, name TEXT NOT NULL, number TEXT NOT NULL, created_at BIGINT NOT NULL,
  private BOOLEAN NOT NULL DEFAULT true, PRIMARY KEY (tenant, username, name),
  FOREIGN KEY (tenant, username) REFERENCES users(tenant, name) ON DELETE CASCADE);
CREATE TABLE user_active_device (
  tenant TEXT NOT NULL, username TEXT NOT NULL, device TEXT NOT NULL, updated_at BIGINT NOT NULL,
  updated_by TEXT NOT NULL DEFAULT '', PRIMARY KEY (tenant, username),
  FOREIGN KEY (tenant, username) REFERENCES users(tenant, name) ON DELETE CASCADE);
CREATE TABLE tenant_specs (
  id TEXT PRIMARY KEY, spec TEXT NOT NULL, format INT NOT NULL DEFAULT 1, created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL, updated_by TEXT NOT NULL DEFAULT '');
)sql",
    // 2: the cloud relay's paired devices and the edge's end-to-end key (identity.db's relay_devices
    // and relay_edge_key; PgPairedDeviceStore), so every node of a cluster knows them.
    R"sql(
CREATE TABLE relay_devices (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, pair_id TEXT NOT NULL UNIQUE, secret TEXT,
  label TEXT NOT NULL DEFAULT '', created_by TEXT NOT NULL DEFAULT '', created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL, client_pk TEXT UNIQUE, paired_at BIGINT, revoked_at BIGINT, last_seen BIGINT);
CREATE INDEX relay_devices_by_tenant ON relay_devices(tenant);
CREATE TABLE relay_edge_key (
  id INT PRIMARY KEY CHECK (id = 1), pk TEXT NOT NULL, sk TEXT NOT NULL, created_at BIGINT NOT NULL);
)sql",
};
static_assert(std::size(kMigrations) == kPgIdentitySchemaVersion);

// pg_advisory_xact_lock key of the identity part ("cb" "id" as digits).
constexpr std::int64_t kMigrationLockKey = 6362105104;

std::string micros(base::Timestamp t) { return std::to_string(base::to_micros(t)); }
std::optional<std::string> opt_micros(const std::optional<base::Timestamp>& t) {
  return t ? std::optional<std::string>(micros(*t)) : std::nullopt;
}
base::Timestamp ts(const PgRows& r, int row, int col) { return base::from_micros(r.i64(row, col)); }
std::string str(const PgRows& r, int row, int col) { return std::string(r.text(row, col)); }

// Every statement here is idempotent or fails harmlessly the second time: sent once more on a new
// connection when the old one was found broken.
Result<PgRows> run(PgConn& c, const std::string& sql, const Params& args, Steady::time_point deadline) {
  return storage::postgres::exec_once_more(c, sql, args, deadline);
}
using storage::postgres::in_transaction;

}  // namespace

Status open_identity_schema(PgConn& c, const std::string& location, Steady::time_point deadline) {
  if (auto st = c.ensure_connected(); !st) return fail(st.error());
  const storage::postgres::SchemaPart part{.meta_table = "identity_meta",
                                           .owned_table = "users",
                                           .kind = "callbridge's users",
                                           .lock_key = kMigrationLockKey,
                                           .migrations = kMigrations,
                                           .newer_code = base::Errc::conflict};
  const std::string where = "identity (PostgreSQL " + location + ")";
  auto v = storage::postgres::migrate(c, part, where, deadline);
  if (!v) return fail(v.error());
  if (*v < kPgIdentitySchemaVersion)
    spdlog::info("{}: schema migrated from version {} to {}", where, *v, kPgIdentitySchemaVersion);
  return {};
}

namespace {

// A row whose tenant is not an id was not written by us: refused, never read as some tenant.
Result<ports::User> read_user(const PgRows& r, int i) {
  auto tenant = base::TenantId::parse(r.text(i, 0), "users.tenant");
  if (!tenant) return fail(tenant.error());
  ports::User u{.tenant = *tenant};
  u.name = str(r, i, 1);
  u.role = str(r, i, 2);
  u.display_name = str(r, i, 3);
  u.extensions = split_extensions(r.text(i, 4));
  u.team = str(r, i, 5);
  return u;
}
constexpr const char* kUserCols = "SELECT tenant, name, role, display_name, extensions, team FROM users ";

Result<ports::TokenRecord> read_token(const PgRows& r, int i) {
  auto tenant = base::TenantId::parse(r.text(i, 1), "tokens.tenant");
  if (!tenant) return fail(tenant.error());
  ports::TokenRecord t{.id = str(r, i, 0), .tenant = *tenant};
  t.user = str(r, i, 2);
  t.hash = str(r, i, 3);
  t.created_at = ts(r, i, 4);
  if (!r.is_null(i, 5)) t.expires_at = ts(r, i, 5);
  t.revoked = r.text(i, 6) == "t";
  return t;
}
constexpr const char* kTokenCols = "SELECT id, tenant, username, hash, created_at, expires_at, revoked FROM tokens ";

ports::UserStatus read_status(const PgRows& r, int i, int col) {
  ports::UserStatus s;
  s.status = str(r, i, col);
  s.note = str(r, i, col + 1);
  if (!r.is_null(i, col + 2)) s.until = ts(r, i, col + 2);
  s.updated_at = ts(r, i, col + 3);
  return s;
}

constexpr const char* kBumpGeneration = "UPDATE credential_generation SET value = value + 1 WHERE id = 1";

}  // namespace

PgIdentityStore::PgIdentityStore(PgIdentityOptions options)
    : options_(std::move(options)),
      location_(PgConn::describe(options_.conninfo)),
      conn_(std::make_unique<PgConn>(options_.conninfo, "identity")) {}

PgIdentityStore::~PgIdentityStore() = default;

Result<std::unique_ptr<PgIdentityStore>> PgIdentityStore::open(PgIdentityOptions options) {
  std::unique_ptr<PgIdentityStore> s(new PgIdentityStore(std::move(options)));
  std::lock_guard lock(s->mu_);
  if (auto st = open_identity_schema(*s->conn_, s->location_, Steady::now() + s->options_.timeout); !st)
    return fail(st.error());
  return s;
}

#define CB_DEADLINE (Steady::now() + options_.timeout)

Status PgIdentityStore::put_user(const ports::User& u) {
  if (auto st = check_user(u); !st) return st;
  std::lock_guard lock(mu_);
  return in_transaction(*conn_, CB_DEADLINE, [&]() -> Status {
    auto d = CB_DEADLINE;
    auto r = conn_->exec(
        "INSERT INTO users (tenant, name, role, display_name, extensions, team) VALUES ($1, $2, $3, $4, $5, $6) "
        "ON CONFLICT (tenant, name) DO UPDATE SET role = EXCLUDED.role, display_name = EXCLUDED.display_name, "
        "extensions = EXCLUDED.extensions, team = EXCLUDED.team",
        {u.tenant.str(), u.name, u.role, u.display_name, join_extensions(u.extensions), u.team}, d);
    if (!r) return fail(r.error());
    // A cached principal may carry the old role or extensions.
    if (auto g = conn_->exec(kBumpGeneration, d); !g) return fail(g.error());
    return {};
  });
}

Result<ports::User> PgIdentityStore::get_user(const base::TenantId& tenant, const std::string& name) {
  std::lock_guard lock(mu_);
  auto r = run(*conn_, std::string(kUserCols) + "WHERE tenant = $1 AND name = $2", {tenant.str(), name}, CB_DEADLINE);
  if (!r) return fail(r.error());
  if (r->size() == 0) return fail(Error::not_found("user " + name + " not found"));
  return read_user(*r, 0);
}

Result<std::vector<ports::User>> PgIdentityStore::list_users(const base::TenantId& tenant) {
  std::lock_guard lock(mu_);
  auto r = run(*conn_, std::string(kUserCols) + "WHERE tenant = $1 ORDER BY name COLLATE \"C\"", {tenant.str()},
               CB_DEADLINE);
  if (!r) return fail(r.error());
  std::vector<ports::User> out;
  for (int i = 0; i < r->size(); ++i) {
    auto u = read_user(*r, i);
    if (!u) return fail(u.error());
    out.push_back(std::move(*u));
  }
  return out;
}

Status PgIdentityStore::remove_user(const base::TenantId& tenant, const std::string& name) {
  std::lock_guard lock(mu_);
  return in_transaction(*conn_, CB_DEADLINE, [&]() -> Status {
    auto d = CB_DEADLINE;
    // Settings, status and devices go with the row (ON DELETE CASCADE); tokens and sessions here.
    for (const char* sql : {"DELETE FROM tokens WHERE tenant = $1 AND username = $2",
                            "DELETE FROM sessions WHERE tenant = $1 AND username = $2"})
      if (auto r = conn_->exec(sql, {tenant.str(), name}, d); !r) return fail(r.error());
    auto r = conn_->exec("DELETE FROM users WHERE tenant = $1 AND name = $2", {tenant.str(), name}, d);
    if (!r) return fail(r.error());
    if (r->affected() == 0) return fail(Error::not_found("user " + name + " not found"));
    if (auto g = conn_->exec(kBumpGeneration, d); !g) return fail(g.error());
    return {};
  });
}

Status PgIdentityStore::insert_token(const ports::TokenRecord& t) {
  std::lock_guard lock(mu_);
  auto r = conn_->exec(
      "INSERT INTO tokens (id, tenant, username, hash, created_at, expires_at, revoked) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7)",
      {t.id, t.tenant.str(), t.user, t.hash, micros(t.created_at), opt_micros(t.expires_at),
       std::string(t.revoked ? "t" : "f")},
      CB_DEADLINE);
  if (!r) return fail(r.error());
  return {};
}

Result<ports::TokenRecord> PgIdentityStore::get_token(const std::string& id) {
  std::lock_guard lock(mu_);
  auto r = run(*conn_, std::string(kTokenCols) + "WHERE id = $1", {id}, CB_DEADLINE);
  if (!r) return fail(r.error());
  if (r->size() == 0) return fail(Error::not_found("token not found"));
  return read_token(*r, 0);
}

Result<std::vector<ports::TokenRecord>> PgIdentityStore::list_tokens(const base::TenantId& tenant) {
  std::lock_guard lock(mu_);
  auto r = run(*conn_, std::string(kTokenCols) + "WHERE tenant = $1 ORDER BY created_at, id COLLATE \"C\"",
               {tenant.str()}, CB_DEADLINE);
  if (!r) return fail(r.error());
  std::vector<ports::TokenRecord> out;
  for (int i = 0; i < r->size(); ++i) {
    auto t = read_token(*r, i);
    if (!t) return fail(t.error());
    out.push_back(std::move(*t));
  }
  return out;
}

Status PgIdentityStore::revoke_token(const base::TenantId& tenant, const std::string& id) {
  std::lock_guard lock(mu_);
  return in_transaction(*conn_, CB_DEADLINE, [&]() -> Status {
    auto d = CB_DEADLINE;
    auto r = conn_->exec("UPDATE tokens SET revoked = true WHERE tenant = $1 AND id = $2", {tenant.str(), id}, d);
    if (!r) return fail(r.error());
    if (r->affected() == 0) return fail(Error::not_found("token " + id + " not found"));
    // Browser sessions made from the token end with it.
    if (auto s = conn_->exec("DELETE FROM sessions WHERE tenant = $1 AND token_id = $2", {tenant.str(), id}, d); !s)
      return fail(s.error());
    if (auto g = conn_->exec(kBumpGeneration, d); !g) return fail(g.error());
    return {};
  });
}

Result<std::uint64_t> PgIdentityStore::credential_generation() {
  std::lock_guard lock(mu_);
  auto r = run(*conn_, "SELECT value FROM credential_generation WHERE id = 1", {}, CB_DEADLINE);
  if (!r) return fail(r.error());
  if (r->size() == 0) return fail(Error::io("identity (PostgreSQL " + location_ + "): credential generation missing"));
  return static_cast<std::uint64_t>(r->i64(0, 0));
}

Status PgIdentityStore::insert_session(const std::string& id_hash, const ports::SessionRecord& s) {
  std::lock_guard lock(mu_);
  auto r = conn_->exec(
      "INSERT INTO sessions (id_hash, tenant, username, expires_at, token_id) VALUES ($1, $2, $3, $4, $5)",
      {id_hash, s.tenant.str(), s.user, micros(s.expires_at), s.token_id}, CB_DEADLINE);
  if (!r) return fail(r.error());
  return {};
}

Result<ports::SessionRecord> PgIdentityStore::get_session(const std::string& id_hash) {
  std::lock_guard lock(mu_);
  auto r = run(*conn_, "SELECT tenant, username, expires_at, token_id FROM sessions WHERE id_hash = $1", {id_hash},
               CB_DEADLINE);
  if (!r) return fail(r.error());
  if (r->size() == 0) return fail(Error::not_found("session not found"));
  auto tenant = base::TenantId::parse(r->text(0, 0), "sessions.tenant");
  if (!tenant) return fail(tenant.error());
  return ports::SessionRecord{*tenant, str(*r, 0, 1), ts(*r, 0, 2), str(*r, 0, 3)};
}

Status PgIdentityStore::delete_session(const std::string& id_hash) {
  std::lock_guard lock(mu_);
  if (auto r = run(*conn_, "DELETE FROM sessions WHERE id_hash = $1", {id_hash}, CB_DEADLINE); !r)
    return fail(r.error());
  return {};
}

Result<std::size_t> PgIdentityStore::purge_sessions(base::Timestamp now) {
  std::lock_guard lock(mu_);
  auto r = run(*conn_, "DELETE FROM sessions WHERE expires_at <= $1", {micros(now)}, CB_DEADLINE);
  if (!r) return fail(r.error());
  return r->affected();
}

Result<std::optional<ports::TenantSetting>> PgIdentityStore::get_setting(const base::TenantId& tenant,
                                                                         const std::string& key) {
  std::lock_guard lock(mu_);
  auto r = run(*conn_, "SELECT value, updated_at, updated_by FROM tenant_settings WHERE tenant = $1 AND key = $2",
               {tenant.str(), key}, CB_DEADLINE);
  if (!r) return fail(r.error());
  if (r->size() == 0) return std::optional<ports::TenantSetting>();
  return std::optional<ports::TenantSetting>(ports::TenantSetting{str(*r, 0, 0), ts(*r, 0, 1), str(*r, 0, 2)});
}

Status PgIdentityStore::put_setting(const base::TenantId& tenant, const std::string& key,
                                    const ports::TenantSetting& value) {
  if (!valid_name(tenant)) return fail(Error::invalid_argument("tenant: expected 1-64 of [A-Za-z0-9._@-]"));
  if (auto st = check_setting(key, value.value.size(), kMaxSettingBytes); !st) return st;
  std::lock_guard lock(mu_);
  auto r = run(*conn_,
               "INSERT INTO tenant_settings (tenant, key, value, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5) "
               "ON CONFLICT (tenant, key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at, "
               "updated_by = EXCLUDED.updated_by",
               {tenant.str(), key, value.value, micros(value.updated_at), value.updated_by}, CB_DEADLINE);
  if (!r) return fail(r.error());
  return {};
}

Status PgIdentityStore::delete_setting(const base::TenantId& tenant, const std::string& key) {
  std::lock_guard lock(mu_);
  if (auto r = run(*conn_, "DELETE FROM tenant_settings WHERE tenant = $1 AND key = $2", {tenant.str(), key},
                   CB_DEADLINE);
      !r)
    return fail(r.error());
  return {};
}

Result<std::optional<ports::TenantSetting>> PgIdentityStore::get_user_setting(const base::TenantId& tenant,
                                                                              const std::string& user,
                                                                              const std::string& key) {
  std::lock_guard lock(mu_);
  auto r = run(*conn_,
               "SELECT value, updated_at FROM user_settings WHERE tenant = $1 AND username = $2 AND key = $3",
               {tenant.str(), user, key}, CB_DEADLINE);
  if (!r) return fail(r.error());
  if (r->size() == 0) return std::optional<ports::TenantSetting>();
  return std::optional<ports::TenantSetting>(ports::TenantSetting{str(*r, 0, 0), ts(*r, 0, 1), user});
}

Status PgIdentityStore::put_user_setting(const base::TenantId& tenant, const std::string& user, const std::string& key,
                                         const ports::TenantSetting& value) {
  if (auto st = check_setting(key, value.value.size(), kMaxUserSettingBytes); !st) return st;
  std::lock_guard lock(mu_);
  // Only for an existing user (a removed user's settings must not come back).
  auto r = run(*conn_,
               "INSERT INTO user_settings (tenant, username, key, value, updated_at) "
               "SELECT $1, $2, $3, $4, $5::bigint WHERE EXISTS (SELECT 1 FROM users WHERE tenant = $1 AND name = $2) "
               "ON CONFLICT (tenant, username, key) DO UPDATE SET value = EXCLUDED.value, "
               "updated_at = EXCLUDED.updated_at",
               {tenant.str(), user, key, value.value, micros(value.updated_at)}, CB_DEADLINE);
  if (!r) return fail(r.error());
  if (r->affected() == 0) return fail(Error::not_found("user " + user + " not found"));
  return {};
}

Result<std::optional<ports::UserStatus>> PgIdentityStore::get_user_status(const base::TenantId& tenant,
                                                                          const std::string& user) {
  std::lock_guard lock(mu_);
  auto r = run(*conn_,
               "SELECT status, note, until, updated_at FROM user_status WHERE tenant = $1 AND username = $2",
               {tenant.str(), user}, CB_DEADLINE);
  if (!r) return fail(r.error());
  if (r->size() == 0) return std::optional<ports::UserStatus>();
  return std::optional<ports::UserStatus>(read_status(*r, 0, 0));
}

Status PgIdentityStore::put_user_status(const base::TenantId& tenant, const std::string& user,
                                        const ports::UserStatus& s) {
  std::lock_guard lock(mu_);
  auto r = run(*conn_,
               "INSERT INTO user_status (tenant, username, status, note, until, updated_at) "
               "SELECT $1, $2, $3, $4, $5::bigint, $6::bigint WHERE EXISTS (SELECT 1 FROM users WHERE tenant = $1 AND name = $2) "
               "ON CONFLICT (tenant, username) DO UPDATE SET status = EXCLUDED.status, note = EXCLUDED.note, "
               "until = EXCLUDED.until, updated_at = EXCLUDED.updated_at",
               {tenant.str(), user, s.status, s.note, opt_micros(s.until), micros(s.updated_at)}, CB_DEADLINE);
  if (!r) return fail(r.error());
  if (r->affected() == 0) return fail(Error::not_found("user " + user + " not found"));
  return {};
}

Status PgIdentityStore::clear_user_status(const base::TenantId& tenant, const std::string& user) {
  std::lock_guard lock(mu_);
  if (auto r = run(*conn_, "DELETE FROM user_status WHERE tenant = $1 AND username = $2", {tenant.str(), user},
                   CB_DEADLINE);
      !r)
    return fail(r.error());
  return {};
}

Result<std::vector<std::pair<std::string, ports::UserStatus>>> PgIdentityStore::list_user_statuses(
    const base::TenantId& tenant) {
  std::lock_guard lock(mu_);
  auto r = run(*conn_,
               "SELECT username, status, note, until, updated_at FROM user_status WHERE tenant = $1 "
               "ORDER BY username COLLATE \"C\"",
               {tenant.str()}, CB_DEADLINE);
  if (!r) return fail(r.error());
  std::vector<std::pair<std::string, ports::UserStatus>> out;
  for (int i = 0; i < r->size(); ++i) out.emplace_back(str(*r, i, 0), read_status(*r, i, 1));
  return out;
}

Result<ports::UserDevices> PgIdentityStore::get_user_devices(const base::TenantId& tenant, const std::string& user) {
  std::lock_guard lock(mu_);
  // One statement: the user's existence, devices and choice from one snapshot.
  auto r = run(*conn_,
               "SELECT 0, '', '', 0, true FROM users WHERE tenant = $1 AND name = $2 "
               "UNION ALL SELECT 1, name, number, created_at, private FROM user_devices "
               "WHERE tenant = $1 AND username = $2 "
               "UNION ALL SELECT 2, device, updated_by, updated_at, true FROM user_active_device "
               "WHERE tenant = $1 AND username = $2",
               {tenant.str(), user}, CB_DEADLINE);
  if (!r) return fail(r.error());
  bool exists = false;
  ports::UserDevices out;
  for (int i = 0; i < r->size(); ++i) {
    const auto kind = r->i64(i, 0);
    if (kind == 0) {
      exists = true;
    } else if (kind == 1) {
      out.external.push_back({str(*r, i, 1), str(*r, i, 2), ts(*r, i, 3), r->text(i, 4) == "t"});
    } else {
      out.active = str(*r, i, 1);
      out.active_set_by = str(*r, i, 2);
      out.active_since = ts(*r, i, 3);
    }
  }
  if (!exists) return fail(Error::not_found("user " + user + " not found"));
  // By name, bytewise (as identity.db sorts).
  std::sort(out.external.begin(), out.external.end(),
            [](const ports::ExternalDevice& a, const ports::ExternalDevice& b) { return a.name < b.name; });
  return out;
}

Status PgIdentityStore::put_external_device(const base::TenantId& tenant, const std::string& user,
                                            const ports::ExternalDevice& device, std::size_t max_devices) {
  if (auto st = check_external_device(device); !st) return st;
  std::lock_guard lock(mu_);
  return in_transaction(*conn_, CB_DEADLINE, [&]() -> Status {
    auto d = CB_DEADLINE;
    // The user's row locked: two nodes adding a device to the same user take turns at the bound.
    auto u = conn_->exec("SELECT 1 FROM users WHERE tenant = $1 AND name = $2 FOR UPDATE", {tenant.str(), user}, d);
    if (!u) return fail(u.error());
    if (u->size() == 0) return fail(Error::not_found("user " + user + " not found"));
    // A new name counts against the bound; renumbering an existing one does not.
    auto c = conn_->exec(
        "SELECT COUNT(*), COUNT(*) FILTER (WHERE name = $3) FROM user_devices WHERE tenant = $1 AND username = $2",
        {tenant.str(), user, device.name}, d);
    if (!c) return fail(c.error());
    const auto count = static_cast<std::size_t>(c->i64(0, 0));
    const bool exists = c->i64(0, 1) > 0;
    if (!exists && count >= max_devices)
      return fail(Error::conflict("at most " + std::to_string(max_devices) + " external devices per user"));
    auto r = conn_->exec(
        "INSERT INTO user_devices (tenant, username, name, number, created_at, private) "
        "VALUES ($1, $2, $3, $4, $5, $6) "
        "ON CONFLICT (tenant, username, name) DO UPDATE SET number = EXCLUDED.number, private = EXCLUDED.private",
        {tenant.str(), user, device.name, device.number, micros(device.created_at),
         std::string(device.private_device ? "t" : "f")},
        d);
    if (!r) return fail(r.error());
    return {};
  });
}

Status PgIdentityStore::remove_external_device(const base::TenantId& tenant, const std::string& user,
                                               const std::string& name) {
  std::lock_guard lock(mu_);
  return in_transaction(*conn_, CB_DEADLINE, [&]() -> Status {
    auto d = CB_DEADLINE;
    auto r = conn_->exec("DELETE FROM user_devices WHERE tenant = $1 AND username = $2 AND name = $3",
                         {tenant.str(), user, name}, d);
    if (!r) return fail(r.error());
    if (r->affected() == 0) return fail(Error::not_found("no device \"" + name + "\""));
    // A removed device is not active any more: the user is back on the default.
    if (auto a = conn_->exec("DELETE FROM user_active_device WHERE tenant = $1 AND username = $2 AND device = $3",
                             {tenant.str(), user, name}, d);
        !a)
      return fail(a.error());
    return {};
  });
}

Status PgIdentityStore::set_active_device(const base::TenantId& tenant, const std::string& user,
                                          const std::string& device, base::Timestamp at, const std::string& by) {
  std::lock_guard lock(mu_);
  if (device.empty()) {
    if (auto r = run(*conn_, "DELETE FROM user_active_device WHERE tenant = $1 AND username = $2",
                     {tenant.str(), user}, CB_DEADLINE);
        !r)
      return fail(r.error());
    return {};
  }
  // Only for an existing user (a removed user's choice must not come back).
  auto r = run(*conn_,
               "INSERT INTO user_active_device (tenant, username, device, updated_at, updated_by) "
               "SELECT $1, $2, $3, $4::bigint, $5 WHERE EXISTS (SELECT 1 FROM users WHERE tenant = $1 AND name = $2) "
               "ON CONFLICT (tenant, username) DO UPDATE SET device = EXCLUDED.device, "
               "updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by",
               {tenant.str(), user, device, micros(at), by}, CB_DEADLINE);
  if (!r) return fail(r.error());
  if (r->affected() == 0) return fail(Error::not_found("user " + user + " not found"));
  return {};
}

Result<std::vector<ports::ActiveDeviceRow>> PgIdentityStore::list_active_devices() {
  std::lock_guard lock(mu_);
  auto r = run(*conn_,
               "SELECT a.tenant, a.username, a.device, COALESCE(d.number, ''), COALESCE(d.private, true) "
               "FROM user_active_device a "
               "LEFT JOIN user_devices d ON d.tenant = a.tenant AND d.username = a.username AND d.name = a.device "
               "ORDER BY a.tenant COLLATE \"C\", a.username COLLATE \"C\"",
               {}, CB_DEADLINE);
  if (!r) return fail(r.error());
  std::vector<ports::ActiveDeviceRow> out;
  for (int i = 0; i < r->size(); ++i) {
    auto tenant = base::TenantId::parse(r->text(i, 0), "user_active_device.tenant");
    if (!tenant) return fail(tenant.error());
    out.push_back({*tenant, str(*r, i, 1), str(*r, i, 2), str(*r, i, 3), r->text(i, 4) == "t"});
  }
  return out;
}

Result<ports::IssuedToken> PgIdentityStore::issue_token(const base::TenantId& tenant, const std::string& user,
                                                        base::Timestamp now,
                                                        std::optional<base::Timestamp> expires_at) {
  return identity::issue_token(*this, tenant, user, now, expires_at);
}

bool PgIdentityStore::verify_secret(const std::string& hash, std::string_view secret) const {
  return identity::verify_secret(hash, secret);
}

bool PgIdentityStore::secret_check_is_slow(const std::string& hash) const {
  return identity::secret_check_is_slow(hash);
}

Status PgIdentityStore::upgrade_token_hash(const std::string& id, const std::string& old_hash,
                                           std::string_view secret) {
  if (!identity::verify_secret(old_hash, secret))
    return fail(Error::invalid_argument("upgrade token hash: wrong secret"));
  const std::string digest = token_digest(secret);
  std::lock_guard lock(mu_);
  // Only the row still holding the hash that was checked: a revocation or another upgrade wins.
  if (auto r = run(*conn_, "UPDATE tokens SET hash = $1 WHERE id = $2 AND hash = $3", {digest, id, old_hash},
                   CB_DEADLINE);
      !r)
    return fail(r.error());
  return {};
}

std::string PgIdentityStore::random_hex(std::size_t bytes) const { return identity::random_hex(bytes); }

std::string PgIdentityStore::fast_hash_hex(std::string_view data) const { return identity::fast_hash_hex(data); }

// ---- PgTenantStore

PgTenantStore::PgTenantStore(PgIdentityOptions options)
    : options_(std::move(options)), conn_(std::make_unique<PgConn>(options_.conninfo, "tenant store")) {}

PgTenantStore::~PgTenantStore() = default;

Result<std::unique_ptr<PgTenantStore>> PgTenantStore::open(PgIdentityOptions options) {
  std::unique_ptr<PgTenantStore> s(new PgTenantStore(std::move(options)));
  std::lock_guard lock(s->mu_);
  if (auto st = open_identity_schema(*s->conn_, PgConn::describe(s->options_.conninfo), Steady::now() + s->options_.timeout);
      !st)
    return fail(st.error());
  return s;
}

namespace {
constexpr const char* kSpecCols = "SELECT id, spec, created_at, updated_at, updated_by FROM tenant_specs ";
}

Result<std::vector<ports::StoredTenant>> PgTenantStore::list() {
  std::lock_guard lock(mu_);
  auto r = run(*conn_, std::string(kSpecCols) + "ORDER BY id COLLATE \"C\"", {}, CB_DEADLINE);
  if (!r) return fail(r.error());
  std::vector<ports::StoredTenant> out;
  for (int i = 0; i < r->size(); ++i) {
    // An id that is not one (a hand-made row) is skipped rather than trusted.
    auto id = base::TenantId::parse(r->text(i, 0));
    if (id) out.push_back({*id, str(*r, i, 1), ts(*r, i, 2), ts(*r, i, 3), str(*r, i, 4)});
  }
  return out;
}

Result<std::optional<ports::StoredTenant>> PgTenantStore::get(const base::TenantId& id) {
  std::lock_guard lock(mu_);
  auto r = run(*conn_, std::string(kSpecCols) + "WHERE id = $1", {id.str()}, CB_DEADLINE);
  if (!r) return fail(r.error());
  if (r->size() == 0) return std::optional<ports::StoredTenant>();
  return std::optional<ports::StoredTenant>(ports::StoredTenant{id, str(*r, 0, 1), ts(*r, 0, 2), ts(*r, 0, 3), str(*r, 0, 4)});
}

Status PgTenantStore::put(const ports::StoredTenant& t) {
  if (t.spec_json.size() > kMaxSpecBytes)
    return fail(Error::invalid_argument("tenant spec larger than " + std::to_string(kMaxSpecBytes) + " bytes"));
  std::lock_guard lock(mu_);
  auto r = run(*conn_,
               "INSERT INTO tenant_specs (id, spec, format, created_at, updated_at, updated_by) "
               "VALUES ($1, $2, 1, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET spec = EXCLUDED.spec, "
               "format = EXCLUDED.format, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by",
               {t.id.str(), t.spec_json, micros(t.created_at), micros(t.updated_at), t.updated_by}, CB_DEADLINE);
  if (!r) return fail(r.error());
  return {};
}

Status PgTenantStore::remove(const base::TenantId& id) {
  std::lock_guard lock(mu_);
  auto r = run(*conn_, "DELETE FROM tenant_specs WHERE id = $1", {id.str()}, CB_DEADLINE);
  if (!r) return fail(r.error());
  if (r->affected() == 0) return fail(Error::not_found("no tenant " + id.str()));
  return {};
}

#undef CB_DEADLINE

}  // namespace callbridge::identity
