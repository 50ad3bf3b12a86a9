#include "audit/sqlite/sqlite_audit_log.hpp"

#include <sqlite3.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <utility>

#include "storage/sqlite/connection.hpp"
#include "storage/sqlite/statement.hpp"

namespace callbridge::audit {

using base::Error;
using base::fail;
using base::Result;
using base::Status;
using Stmt = storage::sqlite::Statement;

namespace {

// PRAGMA application_id marks the file as ours ("CBAU"), so a foreign SQLite file is refused.
constexpr int kApplicationId = 0x43424155;

// Migration N (1-based) brings the schema from version N-1 to N. Append only.
constexpr std::string_view kMigrations[] = {
    // 1: the records, and the triggers that keep them append-only. A DELETE is allowed only for
    // records older than a day (retention is at least a day), so even SQL typed by hand cannot
    // quietly remove what just happened.
    R"sql(
CREATE TABLE audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,          -- microseconds since the Unix epoch, UTC
  tenant TEXT NOT NULL,
  actor TEXT NOT NULL,
  source TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  outcome TEXT NOT NULL,
  details TEXT NOT NULL         -- a JSON object
);
CREATE INDEX audit_tenant_id ON audit(tenant, id);
CREATE INDEX audit_at ON audit(at);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_recent_delete BEFORE DELETE ON audit
WHEN OLD.at > (CAST(strftime('%s', 'now') AS INTEGER) - 86400) * 1000000
BEGIN SELECT RAISE(ABORT, 'audit records younger than a day cannot be deleted'); END;
)sql",
};
static_assert(std::size(kMigrations) == SqliteAuditLog::kSchemaVersion);

}  // namespace

namespace detail {
// A connection and, on the writer's, its prepared insert (declared after it: it goes first).
struct AuditDb {
  std::unique_ptr<storage::sqlite::Connection> conn;
  Stmt insert;  // writer only

  Error err(std::string_view what) const { return conn->err(what); }
  Status exec(std::string_view sql, std::string_view what) { return conn->exec(sql, what); }
  Result<Stmt> prepare(std::string_view sql) { return conn->prepare(sql); }
};
}  // namespace detail

using detail::AuditDb;

namespace {

const storage::sqlite::Schema kSchema{kApplicationId, kMigrations, "a callbridge audit log"};

Result<std::unique_ptr<AuditDb>> open_db(const std::string& path, bool read_only) {
  auto conn = storage::sqlite::Connection::open(
      path, "audit log", {.read_only = read_only, .wal = false, .file_kind = "a callbridge audit log"});
  if (!conn) return fail(conn.error());
  auto db = std::make_unique<AuditDb>();
  db->conn = std::move(*conn);
  return db;
}

}  // namespace

SqliteAuditLog::SqliteAuditLog(std::string path, Options options)
    : path_(std::move(path)), options_(options), clock_(options_.clock ? *options_.clock : system_clock_) {}

Result<std::unique_ptr<SqliteAuditLog>> SqliteAuditLog::open(const std::string& path, Options options) {
  std::error_code ec;
  if (options.read_only && !std::filesystem::exists(path, ec)) return fail(Error::not_found("no audit log at " + path));
  std::unique_ptr<SqliteAuditLog> log(new SqliteAuditLog(path, options));
  auto db = open_db(path, options.read_only);
  if (!db) return fail(db.error());
  if (options.read_only) {
    if (auto st = storage::sqlite::check_schema(*(*db)->conn, kSchema); !st) return fail(st.error());
    log->reader_ = std::move(*db);
    return log;
  }
  // The migration first refuses a file that is not ours; only then is it switched to WAL.
  if (auto v = storage::sqlite::migrate(*(*db)->conn, kSchema); !v) return fail(v.error());
  if (auto st = (*db)->exec("PRAGMA journal_mode=WAL", "enabling WAL"); !st) return fail(st.error());
  if (auto st = (*db)->exec("PRAGMA synchronous=NORMAL", "setting synchronous"); !st) return fail(st.error());
  log->reader_ = std::move(*db);
  auto w = open_db(path, false);
  if (!w) return fail(w.error());
  if (auto st = (*w)->exec("PRAGMA synchronous=NORMAL", "setting synchronous"); !st) return fail(st.error());
  auto ins = (*w)->prepare(
      "INSERT INTO audit (at, tenant, actor, source, action, target, outcome, details) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  if (!ins) return fail(ins.error());
  (*w)->insert = std::move(*ins);
  log->writer_ = std::move(*w);
  AuditBatchWriter::Options wo;
  wo.location = "audit log " + path;
  wo.max_queued = options.max_queued;
  wo.max_batch = options.max_batch;
  wo.retry_interval = options.retry_interval;
  wo.prune_interval = options.prune_interval;
  auto* l = log.get();
  log->batches_ = std::make_unique<AuditBatchWriter>(
      std::move(wo), [l](const auto& batch) { return l->write_batch(batch); },
      [l] {
        if (auto n = l->prune_expired(); !n) spdlog::error("{}", n.error().message());
      });
  if (auto n = log->prune_expired(); !n) spdlog::warn("{}", n.error().message());
  return log;
}

SqliteAuditLog::~SqliteAuditLog() { batches_.reset(); }  // writes what is queued before the connections go

void SqliteAuditLog::append(ports::AuditRecord record) {
  CB_CHECK(!options_.read_only, "append() on a read-only audit log");
  batches_->append(std::move(record));
}

Status SqliteAuditLog::flush() {
  if (!batches_) return {};
  return batches_->flush();
}

AuditLogStats SqliteAuditLog::stats() const { return batches_ ? batches_->stats() : AuditLogStats{}; }

Status SqliteAuditLog::write_batch(const std::deque<ports::AuditRecord>& batch) {
  auto& d = *writer_;
  if (auto st = d.exec("BEGIN IMMEDIATE", "begin"); !st) return st;
  Stmt& s = d.insert;
  for (const auto& r : batch) {
    s.reset();
    s.bind(1, base::to_micros(r.at));
    s.bind(2, r.tenant);
    s.bind(3, r.actor);
    s.bind(4, r.source);
    s.bind(5, r.action);
    s.bind(6, r.target);
    s.bind(7, r.outcome);
    s.bind(8, r.details_json);
    if (s.step() != SQLITE_DONE) {
      auto e = d.err("insert");
      s.reset();
      (void)d.exec("ROLLBACK", "rollback");
      return fail(std::move(e));
    }
  }
  s.reset();
  if (auto st = d.exec("COMMIT", "commit"); !st) {
    (void)d.exec("ROLLBACK", "rollback");
    return st;
  }
  return {};
}

Result<std::vector<ports::StoredAuditRecord>> SqliteAuditLog::query(const ports::AuditQuery& q) {
  (void)flush();  // read your writes; a failed write is logged by the writer and counted in its stats
  std::string sql = "SELECT id, at, tenant, actor, source, action, target, outcome, details FROM audit WHERE 1=1";
  int n = 0;
  if (q.tenant) sql += " AND tenant = ?" + std::to_string(++n);
  if (q.since) sql += " AND at >= ?" + std::to_string(++n);
  if (q.until) sql += " AND at < ?" + std::to_string(++n);
  if (q.actor) sql += " AND actor = ?" + std::to_string(++n);
  if (q.kind) {
    // "token" is every token.* action; "token.create" just that one. substr, not LIKE: a kind
    // with '%' or '_' matches itself only.
    const int a = ++n, b = ++n;
    sql += " AND (action = ?" + std::to_string(a) + " OR substr(action, 1, length(?" + std::to_string(b) +
           ") + 1) = ?" + std::to_string(b) + " || '.')";
  }
  if (q.before_id) sql += " AND id < ?" + std::to_string(++n);
  sql += " ORDER BY id DESC LIMIT " + std::to_string(std::min(std::max<std::size_t>(q.limit, 1), kMaxQueryLimit));

  std::lock_guard lk(reader_mu_);
  auto st = reader_->prepare(sql);
  if (!st) return fail(st.error());
  int i = 0;
  if (q.tenant) st->bind(++i, *q.tenant);
  if (q.since) st->bind(++i, base::to_micros(*q.since));
  if (q.until) st->bind(++i, base::to_micros(*q.until));
  if (q.actor) st->bind(++i, *q.actor);
  if (q.kind) {
    st->bind(++i, *q.kind);
    st->bind(++i, *q.kind);
  }
  if (q.before_id) st->bind(++i, *q.before_id);
  std::vector<ports::StoredAuditRecord> out;
  int rc;
  while ((rc = st->step()) == SQLITE_ROW) {
    auto tenant = base::TenantId::parse(st->view(2));
    if (!tenant) continue;  // not written by us
    ports::AuditRecord r{.tenant = *tenant};
    r.at = base::from_micros(st->i64(1));
    r.actor = st->text(3);
    r.source = st->text(4);
    r.action = st->text(5);
    r.target = st->text(6);
    r.outcome = st->text(7);
    r.details_json = st->text(8);
    out.push_back({st->i64(0), std::move(r)});
  }
  if (rc != SQLITE_DONE) return fail(reader_->err("query"));
  return out;
}

Result<std::size_t> SqliteAuditLog::prune_before(base::Timestamp cutoff) {
  if (options_.read_only) return fail(Error::invalid_argument("audit log " + path_ + ": opened read-only"));
  std::lock_guard lk(reader_mu_);
  auto st = reader_->prepare("DELETE FROM audit WHERE at < ?1");
  if (!st) return fail(st.error());
  st->bind(1, base::to_micros(cutoff));
  if (st->step() != SQLITE_DONE) return fail(reader_->err("pruning"));
  auto n = static_cast<std::size_t>(reader_->conn->changes());
  if (batches_) batches_->add_pruned(n);
  return n;
}

Result<std::size_t> SqliteAuditLog::prune_expired() {
  if (options_.retention_days <= 0) return std::size_t{0};
  auto n = prune_before(clock_.now() - std::chrono::hours(24) * options_.retention_days);
  if (n && *n > 0) spdlog::info("audit log {}: retention ({} days) deleted {} records", path_, options_.retention_days, *n);
  return n;
}

}  // namespace callbridge::audit
