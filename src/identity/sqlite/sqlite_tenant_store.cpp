#include "identity/sqlite/sqlite_tenant_store.hpp"

#include "storage/sqlite/connection.hpp"
#include "storage/sqlite/statement.hpp"

namespace callbridge::identity {

using base::Error;
using base::fail;
using storage::sqlite::Statement;

namespace {

// format: the spec's JSON shape (1 = app/tenant_spec as of its introduction), so a later shape
// can be migrated rather than misread.
constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS tenant_specs ("
    " id TEXT PRIMARY KEY,"
    " spec TEXT NOT NULL,"
    " format INTEGER NOT NULL DEFAULT 1,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " updated_by TEXT NOT NULL DEFAULT '')";

ports::StoredTenant row(const Statement& s, const base::TenantId& id) {
  return ports::StoredTenant{id, s.text(1), base::from_micros(s.i64(2)), base::from_micros(s.i64(3)), s.text(4)};
}

}  // namespace

SqliteTenantStore::SqliteTenantStore(std::string path, std::unique_ptr<storage::sqlite::Connection> conn)
    : path_(std::move(path)), conn_(std::move(conn)), db_(conn_->get()) {}

base::Result<std::unique_ptr<SqliteTenantStore>> SqliteTenantStore::open(const std::string& path) {
  auto conn = storage::sqlite::Connection::open(path, "tenant store", {.file_kind = "a callbridge identity db"});
  if (!conn) return fail(conn.error());
  std::unique_ptr<SqliteTenantStore> s(new SqliteTenantStore(path, std::move(*conn)));
  if (auto st = s->conn_->exec(kSchema, "create table"); !st) return fail(st.error());
  return s;
}

SqliteTenantStore::~SqliteTenantStore() = default;

base::Error SqliteTenantStore::sql_error(const char* what) const { return conn_->err(what); }

base::Result<std::vector<ports::StoredTenant>> SqliteTenantStore::list() {
  std::lock_guard lock(mu_);
  Statement s(db_, "SELECT id, spec, created_at, updated_at, updated_by FROM tenant_specs ORDER BY id");
  if (!s.ok()) return fail(sql_error("list"));
  std::vector<ports::StoredTenant> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    // An id that is not one (a hand-edited file) is skipped rather than trusted.
    auto id = base::TenantId::parse(s.view(0));
    if (id) out.push_back(row(s, *id));
  }
  if (rc != SQLITE_DONE) return fail(sql_error("list"));
  return out;
}

base::Result<std::optional<ports::StoredTenant>> SqliteTenantStore::get(const base::TenantId& id) {
  std::lock_guard lock(mu_);
  Statement s(db_, "SELECT id, spec, created_at, updated_at, updated_by FROM tenant_specs WHERE id = ?");
  if (!s.ok()) return fail(sql_error("get"));
  s.bind(1, id.str());
  int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<ports::StoredTenant>();
  if (rc != SQLITE_ROW) return fail(sql_error("get"));
  return std::optional<ports::StoredTenant>(row(s, id));
}

base::Status SqliteTenantStore::put(const ports::StoredTenant& t) {
  if (t.spec_json.size() > kMaxSpecBytes)
    return fail(Error::invalid_argument("tenant spec larger than " + std::to_string(kMaxSpecBytes) + " bytes"));
  std::lock_guard lock(mu_);
  Statement s(db_,
              "INSERT INTO tenant_specs (id, spec, format, created_at, updated_at, updated_by) VALUES (?, ?, 1, ?, ?, ?)"
              " ON CONFLICT(id) DO UPDATE SET spec = excluded.spec, format = excluded.format,"
              " updated_at = excluded.updated_at, updated_by = excluded.updated_by");
  if (!s.ok()) return fail(sql_error("put"));
  s.bind(1, t.id.str());
  s.bind(2, t.spec_json);
  s.bind(3, base::to_micros(t.created_at));
  s.bind(4, base::to_micros(t.updated_at));
  s.bind(5, t.updated_by);
  if (s.step() != SQLITE_DONE) return fail(sql_error("put"));
  return {};
}

base::Status SqliteTenantStore::remove(const base::TenantId& id) {
  std::lock_guard lock(mu_);
  Statement s(db_, "DELETE FROM tenant_specs WHERE id = ?");
  if (!s.ok()) return fail(sql_error("remove"));
  s.bind(1, id.str());
  if (s.step() != SQLITE_DONE) return fail(sql_error("remove"));
  if (sqlite3_changes(db_) == 0) return fail(Error::not_found("no tenant " + id.str()));
  return {};
}

}  // namespace callbridge::identity
