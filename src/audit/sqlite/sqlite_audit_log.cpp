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
constexpr std::size_t kMaxQueryLimit = 10'000;

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

// Cut at a UTF-8 character boundary.
std::string cut(std::string s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
  return s;
}

// Records as stored: bounded fields, no token secrets, details a JSON object.
ports::AuditRecord clean(ports::AuditRecord r) {
  auto field = [](std::string& s) { s = cut(ports::redact_secrets(s), SqliteAuditLog::kMaxFieldBytes); };
  field(r.actor);
  field(r.source);
  field(r.action);
  field(r.target);
  field(r.outcome);
  r.details_json = ports::redact_secrets(r.details_json);
  if (r.details_json.empty() || r.details_json.front() != '{' || r.details_json.back() != '}')
    r.details_json = "{}";  // writers build objects; anything else is a bug, not data to keep
  if (r.details_json.size() > SqliteAuditLog::kMaxDetailsBytes)
    r.details_json = R"({"truncated":true})";  // a cut JSON text would not parse
  return r;
}

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
  if (auto n = log->prune_expired(); !n) spdlog::warn("{}", n.error().message());
  log->thread_ = std::thread([l = log.get()] { l->run(); });
  return log;
}

SqliteAuditLog::~SqliteAuditLog() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SqliteAuditLog::append(ports::AuditRecord record) {
  CB_CHECK(!options_.read_only, "append() on a read-only audit log");
  {
    std::lock_guard lk(mu_);
    if (queue_.size() >= options_.max_queued) {
      if (stats_.dropped++ % 1000 == 0)
        spdlog::error("audit log {}: write queue full ({} records); dropping records", path_, queue_.size());
      return;
    }
    queue_.push_back(std::move(record));
    ++stats_.appended;
    ++queued_total_;
  }
  wake_.notify_one();
}

Status SqliteAuditLog::flush() {
  if (options_.read_only) return {};
  std::unique_lock lk(mu_);
  const auto target = queued_total_;
  const auto attempts = failed_attempts_;
  wake_.notify_one();
  written_.wait(lk, [&] { return stats_.committed >= target || failed_attempts_ != attempts; });
  if (stats_.committed >= target) return {};
  return fail(Error::io("audit log " + path_ + ": write failed: " + last_error_));
}

AuditLogStats SqliteAuditLog::stats() const {
  std::lock_guard lk(mu_);
  auto s = stats_;
  s.queued = queue_.size();
  return s;
}

void SqliteAuditLog::run() {
  std::unique_lock lk(mu_);
  auto next_prune = std::chrono::steady_clock::now() + options_.prune_interval;
  for (;;) {
    wake_.wait_until(lk, next_prune, [&] { return stopping_ || !queue_.empty(); });
    if (std::chrono::steady_clock::now() >= next_prune) {
      // Retention on a timer, on this thread: pruning never waits in front of a request.
      lk.unlock();
      auto n = prune_expired();
      if (!n) spdlog::error("{}", n.error().message());
      lk.lock();
      next_prune = std::chrono::steady_clock::now() + options_.prune_interval;
      continue;
    }
    if (queue_.empty()) {
      if (stopping_) break;
      continue;
    }
    std::deque<ports::AuditRecord> batch;
    if (queue_.size() <= options_.max_batch) {
      batch.swap(queue_);
    } else {
      for (std::size_t i = 0; i < options_.max_batch; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    lk.unlock();
    auto st = write_batch(batch);
    lk.lock();
    if (st) {
      stats_.committed += batch.size();
      written_.notify_all();
      continue;
    }
    ++stats_.write_errors;
    ++failed_attempts_;
    last_error_ = st.error().message();
    spdlog::error("{} ({} audit records pending; retrying)", last_error_, batch.size() + queue_.size());
    for (auto it = batch.rbegin(); it != batch.rend(); ++it) queue_.push_front(std::move(*it));
    written_.notify_all();
    if (stopping_) {
      // Not dropped silently: each record goes to the log, so it can be recovered from there.
      for (const auto& r : queue_)
        spdlog::error("audit log {}: unwritten record: {} {} {} {} {} {} {}", path_, base::format_rfc3339_ms(r.at),
                      r.tenant.str(), r.actor, r.action, r.target, r.outcome, r.details_json);
      break;
    }
    wake_.wait_for(lk, options_.retry_interval, [&] { return stopping_; });
  }
}

Status SqliteAuditLog::write_batch(std::deque<ports::AuditRecord>& batch) {
  auto& d = *writer_;
  if (auto st = d.exec("BEGIN IMMEDIATE", "begin"); !st) return st;
  Stmt& s = d.insert;
  for (const auto& raw : batch) {
    auto r = clean(raw);
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
  {
    std::lock_guard lk2(mu_);
    stats_.pruned += n;
  }
  return n;
}

Result<std::size_t> SqliteAuditLog::prune_expired() {
  if (options_.retention_days <= 0) return std::size_t{0};
  auto n = prune_before(clock_.now() - std::chrono::hours(24) * options_.retention_days);
  if (n && *n > 0) spdlog::info("audit log {}: retention ({} days) deleted {} records", path_, options_.retention_days, *n);
  return n;
}

}  // namespace callbridge::audit
