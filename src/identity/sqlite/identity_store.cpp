#include "identity/sqlite/identity_store.hpp"

#include <cstring>

#include "base/tenant_id.hpp"
#include "storage/sqlite/connection.hpp"
#include "storage/sqlite/statement.hpp"

namespace callbridge::identity {

using base::Error;
using base::fail;

namespace {

using storage::sqlite::Statement;

}  // namespace

SqliteIdentityStore::SqliteIdentityStore(std::string path, std::unique_ptr<storage::sqlite::Connection> conn)
    : path_(std::move(path)), conn_(std::move(conn)), db_(conn_->get()) {}

base::Result<std::unique_ptr<SqliteIdentityStore>> SqliteIdentityStore::open(const std::string& path) {
  auto conn = storage::sqlite::Connection::open(path, "identity db", {.file_kind = "a callbridge identity db"});
  if (!conn) return fail(conn.error());
  std::unique_ptr<SqliteIdentityStore> s(new SqliteIdentityStore(path, std::move(*conn)));
  if (auto st = s->migrate(); !st) return fail(st.error());
  return s;
}

SqliteIdentityStore::~SqliteIdentityStore() = default;

base::Error SqliteIdentityStore::sql_error(const char* what) const { return conn_->err(what); }

base::Status SqliteIdentityStore::exec(const char* sql) { return conn_->exec(sql, "exec"); }

base::Status SqliteIdentityStore::migrate() {
  std::lock_guard lock(mu_);
  if (auto st = exec("PRAGMA foreign_keys=ON;"); !st) return st;
  int version = 0;
  {
    Statement q(db_, "PRAGMA user_version");
    if (!q.ok()) return fail(sql_error("schema version"));
    if (q.step() == SQLITE_ROW) version = static_cast<int>(q.i64(0));
  }
  if (version > kSchemaVersion)
    return fail(Error::conflict("identity db " + path_ + ": schema version " + std::to_string(version) +
                                " is newer than this build (" + std::to_string(kSchemaVersion) + ")"));
  if (version == kSchemaVersion) return {};
  // Every step from the file's version to ours in one transaction (user_version is part of it):
  // a step that fails leaves the file as the older build left it, data and version.
  if (auto st = exec("BEGIN IMMEDIATE;"); !st) return st;
  auto step = [&](int from, const char* sql) -> base::Status {
    if (version != from) return {};
    if (auto st = conn_->exec(sql, "migrating to schema " + std::to_string(from + 1)); !st) return st;
    version = from + 1;
    return {};
  };
  auto migrated = [&]() -> base::Status {
    if (auto st = step(0, R"sql(
CREATE TABLE IF NOT EXISTS users (
  tenant TEXT NOT NULL, name TEXT NOT NULL, role TEXT NOT NULL, display_name TEXT NOT NULL DEFAULT '',
  extensions TEXT NOT NULL DEFAULT '', team TEXT NOT NULL DEFAULT '', PRIMARY KEY (tenant, name));
CREATE TABLE IF NOT EXISTS tokens (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, user TEXT NOT NULL, hash TEXT NOT NULL,
  created_at INTEGER NOT NULL, expires_at INTEGER, revoked INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS tokens_by_user ON tokens(tenant, user);
CREATE TABLE IF NOT EXISTS sessions (
  id_hash TEXT PRIMARY KEY, tenant TEXT NOT NULL, user TEXT NOT NULL, expires_at INTEGER NOT NULL);
PRAGMA user_version = 1;
)sql");
        !st)
      return st;
    // 1 -> 2: per-tenant settings (PUT /api/v1/ui-settings).
    if (auto st = step(1, R"sql(
CREATE TABLE IF NOT EXISTS tenant_settings (
  tenant TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated_at INTEGER NOT NULL,
  updated_by TEXT NOT NULL DEFAULT '', PRIMARY KEY (tenant, key));
PRAGMA user_version = 2;
)sql");
        !st)
      return st;
    // 2 -> 3: sessions remember their token (revoking it ends them); a generation counter that a
    // running daemon polls to notice revocations made by another process (issue 12). Sessions from
    // before keep token_id '' (they end when they expire or their user goes).
    if (auto st = step(2, R"sql(
ALTER TABLE sessions ADD COLUMN token_id TEXT NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS sessions_by_token ON sessions(token_id);
CREATE TABLE IF NOT EXISTS credential_generation (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
INSERT OR IGNORE INTO credential_generation(id, value) VALUES (1, 0);
PRAGMA user_version = 3;
)sql");
        !st)
      return st;
    // 3 -> 4: per-user settings (GET/PUT /api/v1/me/settings and /me/favorites, issue 13), removed
    // with their user.
    if (auto st = step(3, R"sql(
CREATE TABLE IF NOT EXISTS user_settings (
  tenant TEXT NOT NULL, user TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated_at INTEGER NOT NULL,
  PRIMARY KEY (tenant, user, key));
PRAGMA user_version = 4;
)sql");
        !st)
      return st;
    // 4 -> 5: the users' own status on the presence board (PUT /api/v1/me/status, issue 17),
    // removed with their user. `until` NULL: no end.
    if (auto st = step(4, R"sql(
CREATE TABLE IF NOT EXISTS user_status (
  tenant TEXT NOT NULL, user TEXT NOT NULL, status TEXT NOT NULL, note TEXT NOT NULL DEFAULT '',
  until INTEGER, updated_at INTEGER NOT NULL, PRIMARY KEY (tenant, user));
PRAGMA user_version = 5;
)sql");
        !st)
      return st;
    // 5 -> 6: AnyDevice (issue 14): each user's named external devices and their active device
    // (an extension or one of those names), removed with their user. Users from before have none
    // and no choice: the tenant's default applies to them.
    if (auto st = step(5, R"sql(
CREATE TABLE IF NOT EXISTS user_devices (
  tenant TEXT NOT NULL, user TEXT NOT NULL, name TEXT NOT NULL, number TEXT NOT NULL, created_at INTEGER NOT NULL,
  PRIMARY KEY (tenant, user, name));
CREATE TABLE IF NOT EXISTS user_active_device (
  tenant TEXT NOT NULL, user TEXT NOT NULL, device TEXT NOT NULL, updated_at INTEGER NOT NULL,
  updated_by TEXT NOT NULL DEFAULT '', PRIMARY KEY (tenant, user));
PRAGMA user_version = 6;
)sql");
        !st)
      return st;
    // 6 -> 7: AnyDevice, private vs company devices: the journal tells the costs apart. Devices
    // from before were all counted as the user's own phones, and stay so.
    return step(6, R"sql(
ALTER TABLE user_devices ADD COLUMN private INTEGER NOT NULL DEFAULT 1;
PRAGMA user_version = 7;
)sql");
  }();
  if (!migrated) {
    (void)exec("ROLLBACK;");
    return migrated;
  }
  return exec("COMMIT;");
}

base::Result<std::optional<TenantSetting>> SqliteIdentityStore::get_user_setting(const base::TenantId& tenant,
                                                                                  const std::string& user,
                                                                                  const std::string& key) {
  std::lock_guard lock(mu_);
  Statement q(db_, "SELECT value, updated_at FROM user_settings WHERE tenant=? AND user=? AND key=?");
  if (!q.ok()) return fail(sql_error("get user setting"));
  q.bind(1, tenant);
  q.bind(2, user);
  q.bind(3, key);
  int rc = q.step();
  if (rc == SQLITE_DONE) return std::optional<TenantSetting>();
  if (rc != SQLITE_ROW) return fail(sql_error("get user setting"));
  TenantSetting t;
  t.value = q.text(0);
  t.updated_at = base::from_micros(q.i64(1));
  t.updated_by = user;
  return std::optional<TenantSetting>(std::move(t));
}

base::Result<std::optional<ports::UserStatus>> SqliteIdentityStore::get_user_status(const base::TenantId& tenant,
                                                                                    const std::string& user) {
  std::lock_guard lock(mu_);
  Statement q(db_, "SELECT status, note, until, updated_at FROM user_status WHERE tenant=? AND user=?");
  if (!q.ok()) return fail(sql_error("get user status"));
  q.bind(1, tenant);
  q.bind(2, user);
  int rc = q.step();
  if (rc == SQLITE_DONE) return std::optional<ports::UserStatus>();
  if (rc != SQLITE_ROW) return fail(sql_error("get user status"));
  ports::UserStatus s;
  s.status = q.text(0);
  s.note = q.text(1);
  if (sqlite3_column_type(q.get(), 2) != SQLITE_NULL) s.until = base::from_micros(q.i64(2));
  s.updated_at = base::from_micros(q.i64(3));
  return std::optional<ports::UserStatus>(std::move(s));
}

base::Status SqliteIdentityStore::put_user_status(const base::TenantId& tenant, const std::string& user,
                                                  const ports::UserStatus& s) {
  std::lock_guard lock(mu_);
  // Only for an existing user (a removed user's status must not come back).
  Statement q(db_, "INSERT INTO user_status(tenant,user,status,note,until,updated_at) "
                   "SELECT ?1,?2,?3,?4,?5,?6 WHERE EXISTS (SELECT 1 FROM users WHERE tenant=?1 AND name=?2) "
                   "ON CONFLICT(tenant,user) DO UPDATE SET status=excluded.status, note=excluded.note, "
                   "until=excluded.until, updated_at=excluded.updated_at");
  if (!q.ok()) return fail(sql_error("put user status"));
  q.bind(1, tenant);
  q.bind(2, user);
  q.bind(3, s.status);
  q.bind(4, s.note);
  if (s.until) q.bind(5, base::to_micros(*s.until));
  else q.bind_null(5);
  q.bind(6, base::to_micros(s.updated_at));
  if (q.step() != SQLITE_DONE) return fail(sql_error("put user status"));
  if (sqlite3_changes(db_) == 0) return fail(Error::not_found("user " + user + " not found"));
  return {};
}

base::Status SqliteIdentityStore::clear_user_status(const base::TenantId& tenant, const std::string& user) {
  std::lock_guard lock(mu_);
  Statement q(db_, "DELETE FROM user_status WHERE tenant=? AND user=?");
  if (!q.ok()) return fail(sql_error("clear user status"));
  q.bind(1, tenant);
  q.bind(2, user);
  if (q.step() != SQLITE_DONE) return fail(sql_error("clear user status"));
  return {};
}

base::Result<std::vector<std::pair<std::string, ports::UserStatus>>> SqliteIdentityStore::list_user_statuses(
    const base::TenantId& tenant) {
  std::lock_guard lock(mu_);
  Statement q(db_, "SELECT user, status, note, until, updated_at FROM user_status WHERE tenant=? ORDER BY user");
  if (!q.ok()) return fail(sql_error("list user statuses"));
  q.bind(1, tenant);
  std::vector<std::pair<std::string, ports::UserStatus>> out;
  for (;;) {
    int rc = q.step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return fail(sql_error("list user statuses"));
    ports::UserStatus s;
    s.status = q.text(1);
    s.note = q.text(2);
    if (sqlite3_column_type(q.get(), 3) != SQLITE_NULL) s.until = base::from_micros(q.i64(3));
    s.updated_at = base::from_micros(q.i64(4));
    out.emplace_back(q.text(0), std::move(s));
  }
  return out;
}

base::Status SqliteIdentityStore::put_user_setting(const base::TenantId& tenant, const std::string& user,
                                                   const std::string& key, const TenantSetting& value) {
  if (auto st = check_setting(key, value.value.size(), kMaxUserSettingBytes); !st) return st;
  std::lock_guard lock(mu_);
  // Only for an existing user (a removed user's settings must not come back).
  Statement q(db_, "INSERT INTO user_settings(tenant,user,key,value,updated_at) "
                   "SELECT ?1,?2,?3,?4,?5 WHERE EXISTS (SELECT 1 FROM users WHERE tenant=?1 AND name=?2) "
                   "ON CONFLICT(tenant,user,key) DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at");
  if (!q.ok()) return fail(sql_error("put user setting"));
  q.bind(1, tenant);
  q.bind(2, user);
  q.bind(3, key);
  q.bind(4, value.value);
  q.bind(5, base::to_micros(value.updated_at));
  if (q.step() != SQLITE_DONE) return fail(sql_error("put user setting"));
  if (sqlite3_changes(db_) == 0) return fail(Error::not_found("user " + user + " not found"));
  return {};
}

bool SqliteIdentityStore::user_exists(const base::TenantId& tenant, const std::string& user) {
  Statement q(db_, "SELECT 1 FROM users WHERE tenant=? AND name=?");
  if (!q.ok()) return false;
  q.bind(1, tenant);
  q.bind(2, user);
  return q.step() == SQLITE_ROW;
}

base::Result<UserDevices> SqliteIdentityStore::get_user_devices(const base::TenantId& tenant, const std::string& user) {
  std::lock_guard lock(mu_);
  if (!user_exists(tenant, user)) return fail(Error::not_found("user " + user + " not found"));
  UserDevices out;
  {
    Statement q(db_, "SELECT name, number, created_at, private FROM user_devices WHERE tenant=? AND user=? ORDER BY name");
    if (!q.ok()) return fail(sql_error("get user devices"));
    q.bind(1, tenant);
    q.bind(2, user);
    int rc;
    while ((rc = q.step()) == SQLITE_ROW)
      out.external.push_back({q.text(0), q.text(1), base::from_micros(q.i64(2)), q.i64(3) != 0});
    if (rc != SQLITE_DONE) return fail(sql_error("get user devices"));
  }
  Statement q(db_, "SELECT device, updated_at, updated_by FROM user_active_device WHERE tenant=? AND user=?");
  if (!q.ok()) return fail(sql_error("get active device"));
  q.bind(1, tenant);
  q.bind(2, user);
  int rc = q.step();
  if (rc == SQLITE_ROW) {
    out.active = q.text(0);
    out.active_since = base::from_micros(q.i64(1));
    out.active_set_by = q.text(2);
  } else if (rc != SQLITE_DONE) {
    return fail(sql_error("get active device"));
  }
  return out;
}

base::Status SqliteIdentityStore::put_external_device(const base::TenantId& tenant, const std::string& user,
                                                      const ExternalDevice& device, std::size_t max_devices) {
  if (auto st = check_external_device(device); !st) return st;
  std::lock_guard lock(mu_);
  if (auto st = exec("BEGIN IMMEDIATE;"); !st) return st;
  auto rollback = [&](base::Error e) {
    (void)exec("ROLLBACK;");
    return fail(std::move(e));
  };
  if (!user_exists(tenant, user)) return rollback(Error::not_found("user " + user + " not found"));
  {
    // A new name counts against the bound; renumbering an existing one does not.
    Statement q(db_, "SELECT COUNT(*), SUM(name=?3) FROM user_devices WHERE tenant=?1 AND user=?2");
    if (!q.ok()) return rollback(sql_error("put device"));
    q.bind(1, tenant);
    q.bind(2, user);
    q.bind(3, device.name);
    if (q.step() != SQLITE_ROW) return rollback(sql_error("put device"));
    const auto count = static_cast<std::size_t>(q.i64(0));
    const bool exists = !q.is_null(1) && q.i64(1) > 0;
    if (!exists && count >= max_devices)
      return rollback(Error::conflict("at most " + std::to_string(max_devices) + " external devices per user"));
  }
  Statement q(db_, "INSERT INTO user_devices(tenant,user,name,number,created_at,private) VALUES(?,?,?,?,?,?) "
                   "ON CONFLICT(tenant,user,name) DO UPDATE SET number=excluded.number, private=excluded.private");
  if (!q.ok()) return rollback(sql_error("put device"));
  q.bind(1, tenant);
  q.bind(2, user);
  q.bind(3, device.name);
  q.bind(4, device.number);
  q.bind(5, base::to_micros(device.created_at));
  q.bind(6, device.private_device ? 1 : 0);
  if (q.step() != SQLITE_DONE) return rollback(sql_error("put device"));
  return exec("COMMIT;");
}

base::Status SqliteIdentityStore::remove_external_device(const base::TenantId& tenant, const std::string& user,
                                                         const std::string& name) {
  std::lock_guard lock(mu_);
  if (auto st = exec("BEGIN IMMEDIATE;"); !st) return st;
  auto rollback = [&](base::Error e) {
    (void)exec("ROLLBACK;");
    return fail(std::move(e));
  };
  {
    Statement q(db_, "DELETE FROM user_devices WHERE tenant=? AND user=? AND name=?");
    if (!q.ok()) return rollback(sql_error("remove device"));
    q.bind(1, tenant);
    q.bind(2, user);
    q.bind(3, name);
    if (q.step() != SQLITE_DONE) return rollback(sql_error("remove device"));
    if (sqlite3_changes(db_) == 0) return rollback(Error::not_found("no device \"" + name + "\""));
  }
  {
    // A removed device is not active any more: the user is back on the default.
    Statement q(db_, "DELETE FROM user_active_device WHERE tenant=? AND user=? AND device=?");
    if (!q.ok()) return rollback(sql_error("remove device"));
    q.bind(1, tenant);
    q.bind(2, user);
    q.bind(3, name);
    if (q.step() != SQLITE_DONE) return rollback(sql_error("remove device"));
  }
  return exec("COMMIT;");
}

base::Status SqliteIdentityStore::set_active_device(const base::TenantId& tenant, const std::string& user,
                                                    const std::string& device, base::Timestamp at,
                                                    const std::string& by) {
  std::lock_guard lock(mu_);
  if (device.empty()) {
    Statement q(db_, "DELETE FROM user_active_device WHERE tenant=? AND user=?");
    if (!q.ok()) return fail(sql_error("set active device"));
    q.bind(1, tenant);
    q.bind(2, user);
    if (q.step() != SQLITE_DONE) return fail(sql_error("set active device"));
    return {};
  }
  // Only for an existing user (a removed user's choice must not come back).
  Statement q(db_, "INSERT INTO user_active_device(tenant,user,device,updated_at,updated_by) "
                   "SELECT ?1,?2,?3,?4,?5 WHERE EXISTS (SELECT 1 FROM users WHERE tenant=?1 AND name=?2) "
                   "ON CONFLICT(tenant,user) DO UPDATE SET device=excluded.device, updated_at=excluded.updated_at, "
                   "updated_by=excluded.updated_by");
  if (!q.ok()) return fail(sql_error("set active device"));
  q.bind(1, tenant);
  q.bind(2, user);
  q.bind(3, device);
  q.bind(4, base::to_micros(at));
  q.bind(5, by);
  if (q.step() != SQLITE_DONE) return fail(sql_error("set active device"));
  if (sqlite3_changes(db_) == 0) return fail(Error::not_found("user " + user + " not found"));
  return {};
}

base::Result<std::vector<ActiveDeviceRow>> SqliteIdentityStore::list_active_devices() {
  std::lock_guard lock(mu_);
  Statement q(db_, "SELECT a.tenant, a.user, a.device, COALESCE(d.number, ''), COALESCE(d.private, 1) FROM user_active_device a "
                   "LEFT JOIN user_devices d ON d.tenant=a.tenant AND d.user=a.user AND d.name=a.device "
                   "ORDER BY a.tenant, a.user");
  if (!q.ok()) return fail(sql_error("list active devices"));
  std::vector<ActiveDeviceRow> out;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) {
    auto tenant = base::TenantId::parse(q.text(0), "user_active_device.tenant");
    if (!tenant) return fail(tenant.error());
    out.push_back({*tenant, q.text(1), q.text(2), q.text(3), q.i64(4) != 0});
  }
  if (rc != SQLITE_DONE) return fail(sql_error("list active devices"));
  return out;
}

base::Status SqliteIdentityStore::bump_generation() {
  return exec("UPDATE credential_generation SET value = value + 1 WHERE id = 1;");
}

base::Result<std::uint64_t> SqliteIdentityStore::credential_generation() {
  std::lock_guard lock(mu_);
  Statement q(db_, "SELECT value FROM credential_generation WHERE id = 1");
  if (!q.ok() || q.step() != SQLITE_ROW) return fail(sql_error("credential generation"));
  return static_cast<std::uint64_t>(q.i64(0));
}

base::Result<std::optional<TenantSetting>> SqliteIdentityStore::get_setting(const base::TenantId& tenant,
                                                                             const std::string& key) {
  std::lock_guard lock(mu_);
  Statement q(db_, "SELECT value, updated_at, updated_by FROM tenant_settings WHERE tenant=? AND key=?");
  if (!q.ok()) return fail(sql_error("get setting"));
  q.bind(1, tenant);
  q.bind(2, key);
  int rc = q.step();
  if (rc == SQLITE_DONE) return std::optional<TenantSetting>();
  if (rc != SQLITE_ROW) return fail(sql_error("get setting"));
  TenantSetting t;
  t.value = q.text(0);
  t.updated_at = base::from_micros(q.i64(1));
  t.updated_by = q.text(2);
  return std::optional<TenantSetting>(std::move(t));
}

base::Status SqliteIdentityStore::put_setting(const base::TenantId& tenant, const std::string& key,
                                              const TenantSetting& value) {
  if (!valid_name(tenant)) return fail(Error::invalid_argument("tenant: expected 1-64 of [A-Za-z0-9._@-]"));
  if (auto st = check_setting(key, value.value.size(), kMaxSettingBytes); !st) return st;
  std::lock_guard lock(mu_);
  Statement q(db_, "INSERT INTO tenant_settings(tenant,key,value,updated_at,updated_by) VALUES(?,?,?,?,?) "
                   "ON CONFLICT(tenant,key) DO UPDATE SET value=excluded.value, "
                   "updated_at=excluded.updated_at, updated_by=excluded.updated_by");
  if (!q.ok()) return fail(sql_error("put setting"));
  q.bind(1, tenant);
  q.bind(2, key);
  q.bind(3, value.value);
  q.bind(4, base::to_micros(value.updated_at));
  q.bind(5, value.updated_by);
  if (q.step() != SQLITE_DONE) return fail(sql_error("put setting"));
  return {};
}

base::Status SqliteIdentityStore::delete_setting(const base::TenantId& tenant, const std::string& key) {
  std::lock_guard lock(mu_);
  Statement q(db_, "DELETE FROM tenant_settings WHERE tenant=? AND key=?");
  if (!q.ok()) return fail(sql_error("delete setting"));
  q.bind(1, tenant);
  q.bind(2, key);
  if (q.step() != SQLITE_DONE) return fail(sql_error("delete setting"));
  return {};
}

base::Status SqliteIdentityStore::put_user(const User& u) {
  if (auto st = check_user(u); !st) return st;
  std::lock_guard lock(mu_);
  Statement q(db_, "INSERT INTO users(tenant,name,role,display_name,extensions,team) VALUES(?,?,?,?,?,?) "
                   "ON CONFLICT(tenant,name) DO UPDATE SET role=excluded.role, display_name=excluded.display_name, "
                   "extensions=excluded.extensions, team=excluded.team");
  if (!q.ok()) return fail(sql_error("put user"));
  q.bind(1, u.tenant);
  q.bind(2, u.name);
  q.bind(3, u.role);
  q.bind(4, u.display_name);
  q.bind(5, join_extensions(u.extensions));
  q.bind(6, u.team);
  if (q.step() != SQLITE_DONE) return fail(sql_error("put user"));
  // A cached principal may carry the old role or extensions.
  return bump_generation();
}

namespace {
// A row whose tenant is not an id was not written by us: refused, never read as some tenant.
base::Result<User> read_user(const Statement& s) {
  auto tenant = base::TenantId::parse(s.text(0), "users.tenant");
  if (!tenant) return fail(tenant.error());
  User u{.tenant = *tenant};
  u.name = s.text(1);
  u.role = s.text(2);
  u.display_name = s.text(3);
  u.extensions = split_extensions(s.text(4));
  u.team = s.text(5);
  return u;
}
constexpr const char* kUserCols = "SELECT tenant,name,role,display_name,extensions,team FROM users ";
}  // namespace

base::Result<User> SqliteIdentityStore::get_user(const base::TenantId& tenant, const std::string& name) {
  std::lock_guard lock(mu_);
  std::string sql = std::string(kUserCols) + "WHERE tenant=? AND name=?";
  Statement q(db_, sql);
  if (!q.ok()) return fail(sql_error("get user"));
  q.bind(1, tenant);
  q.bind(2, name);
  int rc = q.step();
  if (rc == SQLITE_ROW) return read_user(q);
  if (rc == SQLITE_DONE) return fail(Error::not_found("user " + name + " not found"));
  return fail(sql_error("get user"));
}

base::Result<std::vector<User>> SqliteIdentityStore::list_users(const base::TenantId& tenant) {
  std::lock_guard lock(mu_);
  std::string sql = std::string(kUserCols) + "WHERE tenant=? ORDER BY name";
  Statement q(db_, sql);
  if (!q.ok()) return fail(sql_error("list users"));
  q.bind(1, tenant);
  std::vector<User> out;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) {
    auto u = read_user(q);
    if (!u) return fail(u.error());
    out.push_back(std::move(*u));
  }
  if (rc != SQLITE_DONE) return fail(sql_error("list users"));
  return out;
}

base::Status SqliteIdentityStore::remove_user(const base::TenantId& tenant, const std::string& name) {
  std::lock_guard lock(mu_);
  if (auto st = exec("BEGIN IMMEDIATE;"); !st) return st;
  const char* sqls[] = {"DELETE FROM tokens WHERE tenant=? AND user=?", "DELETE FROM sessions WHERE tenant=? AND user=?",
                        "DELETE FROM user_settings WHERE tenant=? AND user=?",
                        "DELETE FROM user_status WHERE tenant=? AND user=?",
                        "DELETE FROM user_devices WHERE tenant=? AND user=?",
                        "DELETE FROM user_active_device WHERE tenant=? AND user=?",
                        "DELETE FROM users WHERE tenant=? AND name=?"};
  int changed = 0;
  for (const char* sql : sqls) {
    Statement q(db_, sql);
    bool ok = q.ok();
    if (ok) {
      q.bind(1, tenant);
      q.bind(2, name);
      ok = q.step() == SQLITE_DONE;
    }
    if (!ok) {
      auto e = sql_error("remove user");
      (void)exec("ROLLBACK;");
      return fail(e);
    }
    changed = sqlite3_changes(db_);
  }
  if (changed == 0) {
    (void)exec("ROLLBACK;");
    return fail(Error::not_found("user " + name + " not found"));
  }
  if (auto st = bump_generation(); !st) {
    (void)exec("ROLLBACK;");
    return st;
  }
  return exec("COMMIT;");
}

base::Status SqliteIdentityStore::insert_token(const TokenRecord& t) {
  std::lock_guard lock(mu_);
  Statement q(db_, "INSERT INTO tokens(id,tenant,user,hash,created_at,expires_at,revoked) VALUES(?,?,?,?,?,?,?)");
  if (!q.ok()) return fail(sql_error("insert token"));
  q.bind(1, t.id);
  q.bind(2, t.tenant);
  q.bind(3, t.user);
  q.bind(4, t.hash);
  q.bind(5, base::to_micros(t.created_at));
  if (t.expires_at) q.bind(6, base::to_micros(*t.expires_at));
  else q.bind_null(6);
  q.bind(7, t.revoked ? 1 : 0);
  if (q.step() != SQLITE_DONE) return fail(sql_error("insert token"));
  return {};
}

namespace {
base::Result<TokenRecord> read_token(const Statement& s) {
  auto tenant = base::TenantId::parse(s.text(1), "tokens.tenant");
  if (!tenant) return fail(tenant.error());
  TokenRecord t{.id = s.text(0), .tenant = *tenant};
  t.user = s.text(2);
  t.hash = s.text(3);
  t.created_at = base::from_micros(s.i64(4));
  if (!s.is_null(5)) t.expires_at = base::from_micros(s.i64(5));
  t.revoked = static_cast<int>(s.i64(6)) != 0;
  return t;
}
constexpr const char* kTokenCols = "SELECT id,tenant,user,hash,created_at,expires_at,revoked FROM tokens ";
}  // namespace

base::Result<TokenRecord> SqliteIdentityStore::get_token(const std::string& id) {
  std::lock_guard lock(mu_);
  std::string sql = std::string(kTokenCols) + "WHERE id=?";
  Statement q(db_, sql);
  if (!q.ok()) return fail(sql_error("get token"));
  q.bind(1, id);
  int rc = q.step();
  if (rc == SQLITE_ROW) return read_token(q);
  if (rc == SQLITE_DONE) return fail(Error::not_found("token not found"));
  return fail(sql_error("get token"));
}

base::Result<std::vector<TokenRecord>> SqliteIdentityStore::list_tokens(const base::TenantId& tenant) {
  std::lock_guard lock(mu_);
  std::string sql = std::string(kTokenCols) + "WHERE tenant=? ORDER BY created_at";
  Statement q(db_, sql);
  if (!q.ok()) return fail(sql_error("list tokens"));
  q.bind(1, tenant);
  std::vector<TokenRecord> out;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) {
    auto t = read_token(q);
    if (!t) return fail(t.error());
    out.push_back(std::move(*t));
  }
  if (rc != SQLITE_DONE) return fail(sql_error("list tokens"));
  return out;
}

base::Status SqliteIdentityStore::revoke_token(const base::TenantId& tenant, const std::string& id) {
  std::lock_guard lock(mu_);
  if (auto st = exec("BEGIN IMMEDIATE;"); !st) return st;
  auto rollback = [&](base::Error e) {
    (void)exec("ROLLBACK;");
    return fail(std::move(e));
  };
  {
    Statement q(db_, "UPDATE tokens SET revoked=1 WHERE tenant=? AND id=?");
    if (!q.ok()) return rollback(sql_error("revoke token"));
    q.bind(1, tenant);
    q.bind(2, id);
    if (q.step() != SQLITE_DONE) return rollback(sql_error("revoke token"));
    if (sqlite3_changes(db_) == 0) return rollback(Error::not_found("token " + id + " not found"));
  }
  {
    // Browser sessions made from the token end with it (issue 12: they used to live on for 12 h).
    Statement q(db_, "DELETE FROM sessions WHERE tenant=? AND token_id=?");
    if (!q.ok()) return rollback(sql_error("revoke token: sessions"));
    q.bind(1, tenant);
    q.bind(2, id);
    if (q.step() != SQLITE_DONE) return rollback(sql_error("revoke token: sessions"));
  }
  if (auto st = bump_generation(); !st) return rollback(st.error());
  return exec("COMMIT;");
}

base::Status SqliteIdentityStore::insert_session(const std::string& id_hash, const SessionRecord& s) {
  std::lock_guard lock(mu_);
  Statement q(db_, "INSERT INTO sessions(id_hash,tenant,user,expires_at,token_id) VALUES(?,?,?,?,?)");
  if (!q.ok()) return fail(sql_error("insert session"));
  q.bind(1, id_hash);
  q.bind(2, s.tenant);
  q.bind(3, s.user);
  q.bind(4, base::to_micros(s.expires_at));
  q.bind(5, s.token_id);
  if (q.step() != SQLITE_DONE) return fail(sql_error("insert session"));
  return {};
}

base::Result<SessionRecord> SqliteIdentityStore::get_session(const std::string& id_hash) {
  std::lock_guard lock(mu_);
  Statement q(db_, "SELECT tenant,user,expires_at,token_id FROM sessions WHERE id_hash=?");
  if (!q.ok()) return fail(sql_error("get session"));
  q.bind(1, id_hash);
  int rc = q.step();
  if (rc == SQLITE_DONE) return fail(Error::not_found("session not found"));
  if (rc != SQLITE_ROW) return fail(sql_error("get session"));
  auto tenant = base::TenantId::parse(q.text(0), "sessions.tenant");
  if (!tenant) return fail(tenant.error());
  return SessionRecord{*tenant, q.text(1), base::from_micros(q.i64(2)), q.text(3)};
}

base::Status SqliteIdentityStore::delete_session(const std::string& id_hash) {
  std::lock_guard lock(mu_);
  Statement q(db_, "DELETE FROM sessions WHERE id_hash=?");
  if (!q.ok()) return fail(sql_error("delete session"));
  q.bind(1, id_hash);
  if (q.step() != SQLITE_DONE) return fail(sql_error("delete session"));
  return {};
}

base::Result<std::size_t> SqliteIdentityStore::purge_sessions(base::Timestamp now) {
  std::lock_guard lock(mu_);
  Statement q(db_, "DELETE FROM sessions WHERE expires_at<=?");
  if (!q.ok()) return fail(sql_error("purge sessions"));
  q.bind(1, base::to_micros(now));
  if (q.step() != SQLITE_DONE) return fail(sql_error("purge sessions"));
  return static_cast<std::size_t>(sqlite3_changes(db_));
}

base::Result<IssuedToken> SqliteIdentityStore::issue_token(const base::TenantId& tenant, const std::string& user,
                                                           base::Timestamp now,
                                                           std::optional<base::Timestamp> expires_at) {
  return identity::issue_token(*this, tenant, user, now, expires_at);
}

bool SqliteIdentityStore::verify_secret(const std::string& hash, std::string_view secret) const {
  return identity::verify_secret(hash, secret);
}

bool SqliteIdentityStore::secret_check_is_slow(const std::string& hash) const {
  return identity::secret_check_is_slow(hash);
}

base::Status SqliteIdentityStore::upgrade_token_hash(const std::string& id, const std::string& old_hash,
                                                     std::string_view secret) {
  if (!identity::verify_secret(old_hash, secret)) return fail(Error::invalid_argument("upgrade token hash: wrong secret"));
  const std::string digest = token_digest(secret);
  std::lock_guard lock(mu_);
  // Only the row still holding the hash that was checked: a revocation or another upgrade wins.
  Statement q(db_, "UPDATE tokens SET hash=? WHERE id=? AND hash=?");
  if (!q.ok()) return fail(sql_error("upgrade token hash"));
  q.bind(1, digest);
  q.bind(2, id);
  q.bind(3, old_hash);
  if (q.step() != SQLITE_DONE) return fail(sql_error("upgrade token hash"));
  return {};
}

std::string SqliteIdentityStore::random_hex(std::size_t bytes) const { return identity::random_hex(bytes); }

std::string SqliteIdentityStore::fast_hash_hex(std::string_view data) const { return identity::fast_hash_hex(data); }

}  // namespace callbridge::identity
