#include "audit/postgres/pg_audit_log.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>

#include "storage/postgres/pg_conn.hpp"
#include "storage/postgres/pg_schema.hpp"

namespace callbridge::audit {

using base::Error;
using base::fail;
using base::Result;
using base::Status;
using storage::postgres::PgConn;
using Steady = std::chrono::steady_clock;

namespace {

// The audit part of the shared schema; append only. Same columns as audit.db; the triggers keep
// it append-only (a DELETE only of records older than a day: retention is at least a day).
constexpr const char* const kMigrations[] = {
    // 1: the records and the triggers.
    R"sql(
CREATE TABLE audit (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at BIGINT NOT NULL,
  tenant TEXT NOT NULL,
  actor TEXT NOT NULL,
  source TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  outcome TEXT NOT NULL,
  details TEXT NOT NULL
);
CREATE INDEX audit_tenant_id ON audit(tenant, id);
CREATE INDEX audit_at ON audit(at);
CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.at > (floor(extract(epoch FROM now()))::bigint - 86400) * 1000000 THEN
      RAISE EXCEPTION 'audit records younger than a day cannot be deleted';
    END IF;
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'the audit log is append-only';
END
$f$;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_recent_delete BEFORE DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
)sql",
};
static_assert(std::size(kMigrations) == PgAuditLog::kSchemaVersion);

// pg_advisory_xact_lock key of the audit part ("cb" "au" as digits).
constexpr std::int64_t kMigrationLockKey = 6362106521;

}  // namespace

PgAuditLog::PgAuditLog(Options options)
    : options_(std::move(options)),
      location_(PgConn::describe(options_.conninfo)),
      clock_(options_.clock ? *options_.clock : system_clock_) {}

Result<std::unique_ptr<PgAuditLog>> PgAuditLog::open(Options options) {
  std::unique_ptr<PgAuditLog> log(new PgAuditLog(std::move(options)));
  log->reader_ = std::make_unique<PgConn>(log->options_.conninfo, "audit log");
  log->writer_ = std::make_unique<PgConn>(log->options_.conninfo, "audit log");
  auto& d = *log->reader_;
  if (auto st = d.ensure_connected(); !st) return fail(st.error());
  const std::string where = "audit log (PostgreSQL " + log->location_ + ")";
  const storage::postgres::SchemaPart part{.meta_table = "audit_meta",
                                           .owned_table = "audit",
                                           .kind = "a callbridge audit log",
                                           .lock_key = kMigrationLockKey,
                                           .migrations = kMigrations};
  auto v = storage::postgres::migrate(d, part, where, Steady::now() + log->options_.timeout);
  if (!v) return fail(v.error());
  if (*v < kSchemaVersion) spdlog::info("{}: schema migrated from version {} to {}", where, *v, kSchemaVersion);
  if (auto st = log->writer_->ensure_connected(); !st) return fail(st.error());

  AuditBatchWriter::Options wo;
  wo.location = "audit log " + log->location_;
  wo.max_queued = log->options_.max_queued;
  wo.max_batch = log->options_.max_batch;
  wo.retry_interval = log->options_.retry_interval;
  wo.prune_interval = log->options_.prune_interval;
  auto* l = log.get();
  log->batches_ = std::make_unique<AuditBatchWriter>(
      std::move(wo), [l](const auto& batch) { return l->write_batch(batch); },
      [l] {
        if (auto n = l->prune_expired(); !n) spdlog::error("{}", n.error().message());
      });
  if (auto n = log->prune_expired(); !n) spdlog::warn("{}", n.error().message());
  return log;
}

PgAuditLog::~PgAuditLog() { batches_.reset(); }

void PgAuditLog::append(ports::AuditRecord record) { batches_->append(std::move(record)); }

Status PgAuditLog::flush() { return batches_->flush(); }

AuditLogStats PgAuditLog::stats() const { return batches_->stats(); }

Status PgAuditLog::write_batch(const std::deque<ports::AuditRecord>& batch) {
  auto& w = *writer_;
  const auto deadline = Steady::now() + options_.timeout;
  // One multi-row INSERT per chunk (9 parameters a row), all in one transaction.
  constexpr std::size_t kChunk = 500;
  if (auto r = w.exec("BEGIN", deadline); !r) return fail(r.error());
  auto rollback = [&](Error e) {
    if (w.connected()) (void)w.exec("ROLLBACK", Steady::now() + std::chrono::seconds(5));
    return fail(std::move(e));
  };
  PgConn::Params params;
  std::string sql;
  for (std::size_t from = 0; from < batch.size(); from += kChunk) {
    const std::size_t n = std::min(kChunk, batch.size() - from);
    sql = "INSERT INTO audit (at, tenant, actor, source, action, target, outcome, details) VALUES ";
    params.clear();
    for (std::size_t i = 0; i < n; ++i) {
      const auto& r = batch[from + i];
      const std::size_t p = params.size();
      sql += i ? ",(" : "(";
      for (int k = 1; k <= 8; ++k) sql += (k > 1 ? ",$" : "$") + std::to_string(p + k);
      sql += ')';
      params.push_back(std::to_string(base::to_micros(r.at)));
      for (const std::string* f : {&r.tenant.str(), &r.actor, &r.source, &r.action, &r.target, &r.outcome,
                                   &r.details_json})
        params.push_back(storage::postgres::sanitize_utf8(*f));
    }
    if (auto r = w.exec(sql, params, deadline); !r) return rollback(r.error());
  }
  if (auto r = w.exec("COMMIT", deadline); !r) return rollback(r.error());
  return {};
}

Result<std::vector<ports::StoredAuditRecord>> PgAuditLog::query(const ports::AuditQuery& q) {
  (void)flush();  // read your writes; a failed write is logged by the writer and counted in its stats
  std::string sql = "SELECT id, at, tenant, actor, source, action, target, outcome, details FROM audit WHERE true";
  PgConn::Params args;
  auto arg = [&](std::string v) {
    args.emplace_back(std::move(v));
    return "$" + std::to_string(args.size());
  };
  if (q.tenant) sql += " AND tenant = " + arg(q.tenant->str());
  if (q.since) sql += " AND at >= " + arg(std::to_string(base::to_micros(*q.since))) + "::bigint";
  if (q.until) sql += " AND at < " + arg(std::to_string(base::to_micros(*q.until))) + "::bigint";
  if (q.actor) sql += " AND actor = " + arg(*q.actor);
  if (q.kind) {
    // "token" is every token.* action; "token.create" just that one. No LIKE: a kind with '%' or
    // '_' matches itself only.
    const std::string k = arg(*q.kind);
    sql += " AND (action = " + k + " OR left(action, length(" + k + ") + 1) = " + k + " || '.')";
  }
  if (q.before_id) sql += " AND id < " + arg(std::to_string(*q.before_id)) + "::bigint";
  sql += " ORDER BY id DESC LIMIT " + std::to_string(std::min(std::max<std::size_t>(q.limit, 1), kMaxQueryLimit));

  std::lock_guard lk(reader_mu_);
  const auto deadline = Steady::now() + options_.timeout;
  auto r = reader_->exec(sql, args, deadline);
  if (!r && r.error().code() == base::Errc::unavailable && Steady::now() < deadline)
    r = reader_->exec(sql, args, deadline);  // once more on a new connection
  if (!r) return fail(r.error());
  std::vector<ports::StoredAuditRecord> out;
  for (int i = 0; i < r->size(); ++i) {
    auto tenant = base::TenantId::parse(r->text(i, 2));
    if (!tenant) continue;  // not written by us
    ports::AuditRecord rec{.tenant = *tenant};
    rec.at = base::from_micros(r->i64(i, 1));
    rec.actor = r->text(i, 3);
    rec.source = r->text(i, 4);
    rec.action = r->text(i, 5);
    rec.target = r->text(i, 6);
    rec.outcome = r->text(i, 7);
    rec.details_json = r->text(i, 8);
    out.push_back({r->i64(i, 0), std::move(rec)});
  }
  return out;
}

Result<std::size_t> PgAuditLog::prune_before(base::Timestamp cutoff) {
  std::lock_guard lk(reader_mu_);
  auto r = reader_->exec("DELETE FROM audit WHERE at < $1::bigint", {std::to_string(base::to_micros(cutoff))},
                         Steady::now() + options_.timeout);
  if (!r) return fail(Error(r.error().code(), r.error().message() + " (pruning)"));
  const auto n = r->affected();
  if (batches_) batches_->add_pruned(n);
  return n;
}

Result<std::size_t> PgAuditLog::prune_expired() {
  if (options_.retention_days <= 0) return std::size_t{0};
  auto n = prune_before(clock_.now() - std::chrono::hours(24) * options_.retention_days);
  if (n && *n > 0)
    spdlog::info("audit log {}: retention ({} days) deleted {} records", location_, options_.retention_days, *n);
  return n;
}

}  // namespace callbridge::audit
