#include "identity/sqlite/paired_device_store.hpp"

#include <sodium.h>

#include <cstring>

#include "identity/common/identity_rules.hpp"
#include "storage/sqlite/connection.hpp"
#include "storage/sqlite/statement.hpp"

namespace callbridge::identity {

using base::Error;
using base::fail;
using storage::sqlite::Statement;

namespace {

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS relay_devices ("
    " id TEXT PRIMARY KEY,"
    " tenant TEXT NOT NULL,"
    " pair_id TEXT NOT NULL UNIQUE,"
    " secret TEXT,"  // hex; NULL once used or revoked
    " label TEXT NOT NULL DEFAULT '',"
    " created_by TEXT NOT NULL DEFAULT '',"
    " created_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " client_pk TEXT UNIQUE,"  // hex; set once paired
    " paired_at INTEGER,"
    " revoked_at INTEGER,"
    " last_seen INTEGER);"
    "CREATE INDEX IF NOT EXISTS relay_devices_by_tenant ON relay_devices(tenant);"
    "CREATE TABLE IF NOT EXISTS relay_edge_key ("
    " id INTEGER PRIMARY KEY CHECK (id = 1), pk TEXT NOT NULL, sk TEXT NOT NULL, created_at INTEGER NOT NULL);";

constexpr const char* kColumns =
    "id, tenant, label, created_by, created_at, expires_at, client_pk, paired_at, revoked_at, last_seen";

std::string to_hex(std::span<const std::uint8_t> a) { return key_hex(a); }

std::optional<base::Timestamp> opt_time(const Statement& s, int col) {
  if (s.is_null(col)) return std::nullopt;
  return base::from_micros(s.i64(col));
}

// A row in kColumns order; nullopt for a row that is not one (a hand-edited file).
std::optional<ports::PairedDevice> row(const Statement& s) {
  auto tenant = base::TenantId::parse(s.view(1));
  if (!tenant) return std::nullopt;
  ports::PairedDevice d{.id = s.text(0), .tenant = *tenant};
  d.label = s.text(2);
  d.created_by = s.text(3);
  d.created_at = base::from_micros(s.i64(4));
  d.expires_at = base::from_micros(s.i64(5));
  if (!s.is_null(6)) {
    d.client_pk = key32_from_hex(s.view(6));
    if (!d.client_pk) return std::nullopt;
  }
  d.paired_at = opt_time(s, 7);
  d.revoked_at = opt_time(s, 8);
  d.last_seen = opt_time(s, 9);
  return d;
}

}  // namespace

SqlitePairedDeviceStore::SqlitePairedDeviceStore(std::unique_ptr<storage::sqlite::Connection> conn)
    : conn_(std::move(conn)), db_(conn_->get()) {}

base::Result<std::unique_ptr<SqlitePairedDeviceStore>> SqlitePairedDeviceStore::open(const std::string& path) {
  if (sodium_init() < 0) return fail(Error::internal("libsodium cannot initialize"));
  auto conn = storage::sqlite::Connection::open(path, "paired device store", {.file_kind = "a callbridge identity db"});
  if (!conn) return fail(conn.error());
  std::unique_ptr<SqlitePairedDeviceStore> s(new SqlitePairedDeviceStore(std::move(*conn)));
  if (auto st = s->conn_->exec(kSchema, "create tables"); !st) return fail(st.error());
  return s;
}

SqlitePairedDeviceStore::~SqlitePairedDeviceStore() = default;

base::Error SqlitePairedDeviceStore::sql_error(const char* what) const { return conn_->err(what); }

base::Result<ports::EdgeKeyPair> SqlitePairedDeviceStore::edge_key() {
  std::lock_guard lock(mu_);
  {
    Statement q(db_, "SELECT pk, sk FROM relay_edge_key WHERE id = 1");
    if (!q.ok()) return fail(sql_error("edge key"));
    const int rc = q.step();
    if (rc == SQLITE_ROW) {
      auto pk = key32_from_hex(q.view(0));
      auto sk = key32_from_hex(q.view(1));
      if (!pk || !sk) return fail(Error::internal("identity db: the relay edge key is damaged"));
      return ports::EdgeKeyPair{*pk, *sk};
    }
    if (rc != SQLITE_DONE) return fail(sql_error("edge key"));
  }
  ports::EdgeKeyPair kp = new_edge_key();
  // INSERT OR IGNORE + read back: two processes creating it at once agree on one key.
  Statement ins(db_, "INSERT OR IGNORE INTO relay_edge_key(id, pk, sk, created_at) VALUES (1, ?, ?, ?)");
  if (!ins.ok()) return fail(sql_error("edge key"));
  ins.bind(1, to_hex(kp.pk));
  ins.bind(2, to_hex(kp.sk));
  ins.bind(3, base::to_micros(base::SystemClock().now()));
  if (ins.step() != SQLITE_DONE) return fail(sql_error("edge key"));
  sodium_memzero(kp.sk.data(), kp.sk.size());
  Statement q(db_, "SELECT pk, sk FROM relay_edge_key WHERE id = 1");
  if (!q.ok() || q.step() != SQLITE_ROW) return fail(sql_error("edge key"));
  auto pk = key32_from_hex(q.view(0));
  auto sk = key32_from_hex(q.view(1));
  if (!pk || !sk) return fail(Error::internal("identity db: the relay edge key is damaged"));
  return ports::EdgeKeyPair{*pk, *sk};
}

base::Status SqlitePairedDeviceStore::add_pending(const ports::PairedDevice& d, const ports::PairId& pair_id,
                                                  const ports::Key32& secret) {
  if (d.label.size() > kMaxLabelBytes)
    return fail(Error::invalid_argument("label: at most " + std::to_string(kMaxLabelBytes) + " bytes"));
  std::lock_guard lock(mu_);
  Statement s(db_,
              "INSERT INTO relay_devices(id, tenant, pair_id, secret, label, created_by, created_at, expires_at)"
              " VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  if (!s.ok()) return fail(sql_error("add pairing"));
  s.bind(1, d.id);
  s.bind(2, d.tenant);
  s.bind(3, to_hex(pair_id));
  s.bind(4, to_hex(secret));
  s.bind(5, d.label);
  s.bind(6, d.created_by);
  s.bind(7, base::to_micros(d.created_at));
  s.bind(8, base::to_micros(d.expires_at));
  const int rc = s.step();
  if ((rc & 0xff) == SQLITE_CONSTRAINT) return fail(Error::conflict("a pairing with this id exists"));
  if (rc != SQLITE_DONE) return fail(sql_error("add pairing"));
  return {};
}

base::Result<std::optional<ports::PendingPairing>> SqlitePairedDeviceStore::find_pending(const ports::PairId& pair_id,
                                                                                         base::Timestamp now) {
  std::lock_guard lock(mu_);
  Statement s(db_, std::string("SELECT ") + kColumns +
                       ", secret FROM relay_devices WHERE pair_id = ? AND secret IS NOT NULL AND client_pk IS NULL"
                       " AND revoked_at IS NULL AND expires_at > ?");
  if (!s.ok()) return fail(sql_error("find pairing"));
  s.bind(1, to_hex(pair_id));
  s.bind(2, base::to_micros(now));
  const int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<ports::PendingPairing>();
  if (rc != SQLITE_ROW) return fail(sql_error("find pairing"));
  auto d = row(s);
  auto secret = key32_from_hex(s.view(10));
  if (!d || !secret) return std::optional<ports::PendingPairing>();
  return std::optional<ports::PendingPairing>(ports::PendingPairing{std::move(*d), *secret});
}

base::Status SqlitePairedDeviceStore::complete(const std::string& id, const ports::Key32& client_pk,
                                               base::Timestamp now) {
  std::lock_guard lock(mu_);
  Statement s(db_,
              "UPDATE relay_devices SET client_pk = ?, paired_at = ?, last_seen = ?, secret = NULL"
              " WHERE id = ? AND secret IS NOT NULL AND client_pk IS NULL AND revoked_at IS NULL AND expires_at > ?");
  if (!s.ok()) return fail(sql_error("complete pairing"));
  s.bind(1, to_hex(client_pk));
  s.bind(2, base::to_micros(now));
  s.bind(3, base::to_micros(now));
  s.bind(4, id);
  s.bind(5, base::to_micros(now));
  const int rc = s.step();
  if ((rc & 0xff) == SQLITE_CONSTRAINT) return fail(Error::conflict("this client key is paired already"));
  if (rc != SQLITE_DONE) return fail(sql_error("complete pairing"));
  if (sqlite3_changes(db_) != 1) return fail(Error::conflict("the pairing is no longer pending"));
  return {};
}

base::Result<std::optional<ports::PairedDevice>> SqlitePairedDeviceStore::find_paired(const ports::Key32& client_pk) {
  std::lock_guard lock(mu_);
  Statement s(db_, std::string("SELECT ") + kColumns +
                       " FROM relay_devices WHERE client_pk = ? AND revoked_at IS NULL");
  if (!s.ok()) return fail(sql_error("find device"));
  s.bind(1, to_hex(client_pk));
  const int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<ports::PairedDevice>();
  if (rc != SQLITE_ROW) return fail(sql_error("find device"));
  return row(s);
}

base::Result<std::vector<ports::PairedDevice>> SqlitePairedDeviceStore::list(const base::TenantId& tenant) {
  std::lock_guard lock(mu_);
  Statement s(db_, std::string("SELECT ") + kColumns +
                       " FROM relay_devices WHERE tenant = ? ORDER BY created_at DESC, id");
  if (!s.ok()) return fail(sql_error("list devices"));
  s.bind(1, tenant);
  std::vector<ports::PairedDevice> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW)
    if (auto d = row(s)) out.push_back(std::move(*d));
  if (rc != SQLITE_DONE) return fail(sql_error("list devices"));
  return out;
}

base::Status SqlitePairedDeviceStore::revoke(const base::TenantId& tenant, const std::string& id,
                                             base::Timestamp now) {
  std::lock_guard lock(mu_);
  Statement s(db_,
              "UPDATE relay_devices SET revoked_at = COALESCE(revoked_at, ?), secret = NULL WHERE tenant = ? AND id = ?");
  if (!s.ok()) return fail(sql_error("revoke device"));
  s.bind(1, base::to_micros(now));
  s.bind(2, tenant);
  s.bind(3, id);
  if (s.step() != SQLITE_DONE) return fail(sql_error("revoke device"));
  if (sqlite3_changes(db_) != 1) return fail(Error::not_found("no paired device " + id + " in tenant " + tenant.str()));
  return {};
}

base::Status SqlitePairedDeviceStore::touch(const std::string& id, base::Timestamp now) {
  std::lock_guard lock(mu_);
  Statement s(db_, "UPDATE relay_devices SET last_seen = ? WHERE id = ?");
  if (!s.ok()) return fail(sql_error("touch device"));
  s.bind(1, base::to_micros(now));
  s.bind(2, id);
  if (s.step() != SQLITE_DONE) return fail(sql_error("touch device"));
  return {};
}

}  // namespace callbridge::identity
