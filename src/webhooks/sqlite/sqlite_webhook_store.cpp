#include "webhooks/sqlite/sqlite_webhook_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <sstream>

#include "storage/sqlite/connection.hpp"
#include "storage/sqlite/statement.hpp"

namespace callbridge::webhooks {

using base::Error;
using base::fail;
using base::Result;
using base::Status;

namespace {

// PRAGMA application_id marks the file as ours ("CBWH"), so a foreign SQLite file is refused.
constexpr int kApplicationId = 0x43425748;

// Migration N (1-based) brings the schema from version N-1 to N. Append only.
constexpr std::string_view kMigrations[] = {
    R"sql(
CREATE TABLE hooks (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  url TEXT NOT NULL,
  events TEXT NOT NULL,         -- event types, space-separated
  body_template TEXT NOT NULL,  -- '' = the default body
  description TEXT NOT NULL,
  secret TEXT NOT NULL,
  created_at INTEGER NOT NULL,  -- microseconds since the Unix epoch, UTC
  created_by TEXT NOT NULL
);
CREATE INDEX hooks_tenant ON hooks(tenant);
CREATE TABLE deliveries (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- insertion order: newest first, pruning per hook
  id TEXT NOT NULL UNIQUE,
  hook_id TEXT NOT NULL REFERENCES hooks(id) ON DELETE CASCADE,
  tenant TEXT NOT NULL,
  event_type TEXT NOT NULL,
  event_id TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  http_status INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX deliveries_hook ON deliveries(hook_id, seq);
CREATE INDEX deliveries_updated ON deliveries(updated_at);
)sql",
    // 2: deliveries still to be made when callbridged stopped, resumed at the next start.
    R"sql(
CREATE TABLE pending (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- saved order: a chain's deliveries resume in it
  id TEXT NOT NULL UNIQUE,
  hook_id TEXT NOT NULL REFERENCES hooks(id) ON DELETE CASCADE,
  tenant TEXT NOT NULL,
  chain TEXT NOT NULL,
  event_type TEXT NOT NULL,
  event_id TEXT NOT NULL,
  body TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
)sql",
};
static_assert(std::size(kMigrations) == SqliteWebhookStore::kSchemaVersion);
const storage::sqlite::Schema kSchema{kApplicationId, kMigrations, "a callbridge webhook store"};

std::string join_events(const std::vector<std::string>& ev) {
  std::string s;
  for (const auto& e : ev) {
    if (!s.empty()) s += ' ';
    s += e;
  }
  return s;
}

std::vector<std::string> split_events(std::string_view s) {
  std::vector<std::string> out;
  std::istringstream in{std::string(s)};
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

constexpr const char* kHookColumns =
    "SELECT id, tenant, url, events, body_template, description, secret, created_at, created_by FROM hooks ";

}  // namespace

SqliteWebhookStore::SqliteWebhookStore(std::unique_ptr<storage::sqlite::Connection> db, Options o)
    : db_(std::move(db)), options_(o) {}
SqliteWebhookStore::~SqliteWebhookStore() = default;

Result<std::unique_ptr<SqliteWebhookStore>> SqliteWebhookStore::open(const std::string& path, Options options) {
  auto conn = storage::sqlite::Connection::open(path, "webhook store",
                                                {.wal = false, .file_kind = "a callbridge webhook store"});
  if (!conn) return fail(conn.error());
  // The migration first refuses a file that is not ours; only then is it switched to WAL.
  if (auto v = storage::sqlite::migrate(**conn, kSchema); !v) return fail(v.error());
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"})
    if (auto st = (*conn)->exec(sql, sql); !st) return fail(st.error());
  return std::unique_ptr<SqliteWebhookStore>(new SqliteWebhookStore(std::move(*conn), options));
}

Status SqliteWebhookStore::add(const ports::Webhook& h) {
  {
    std::lock_guard lk(mu_);
    auto n = db_->prepare("SELECT count(*) FROM hooks WHERE tenant = ?1");
    if (!n) return fail(n.error());
    n->bind(1, h.tenant);
    if (n->step() != SQLITE_ROW) return fail(db_->err("counting hooks"));
    if (static_cast<std::size_t>(n->i64(0)) >= options_.max_hooks_per_tenant)
      return fail(Error::conflict("tenant " + h.tenant.str() + " has " + std::to_string(options_.max_hooks_per_tenant) +
                                  " webhooks already (the most there may be)"));
    auto s = db_->prepare(
        "INSERT INTO hooks (id, tenant, url, events, body_template, description, secret, created_at, created_by) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    if (!s) return fail(s.error());
    s->bind(1, h.id);
    s->bind(2, h.tenant);
    s->bind(3, h.url);
    s->bind(4, join_events(h.events));
    s->bind(5, h.body_template);
    s->bind(6, h.description);
    s->bind(7, h.secret);
    s->bind(8, base::to_micros(h.created_at));
    s->bind(9, h.created_by);
    if (s->step() != SQLITE_DONE) return fail(db_->err("adding webhook " + h.id));
  }
  if (on_change_) on_change_(h.tenant);
  return {};
}

Result<std::vector<ports::Webhook>> SqliteWebhookStore::query_hooks(std::string_view where, const std::string* a,
                                                                    const std::string* b) {
  std::lock_guard lk(mu_);
  auto s = db_->prepare(std::string(kHookColumns) + std::string(where) + " ORDER BY created_at, id");
  if (!s) return fail(s.error());
  if (a) s->bind(1, *a);
  if (b) s->bind(2, *b);
  std::vector<ports::Webhook> out;
  int rc;
  while ((rc = s->step()) == SQLITE_ROW) {
    auto tenant = base::TenantId::parse(s->view(1), "tenant");
    if (!tenant) continue;  // not written by us; never handed out under a made-up tenant
    ports::Webhook h{.id = s->text(0), .tenant = *tenant};
    h.url = s->text(2);
    h.events = split_events(s->view(3));
    h.body_template = s->text(4);
    h.description = s->text(5);
    h.secret = s->text(6);
    h.created_at = base::from_micros(s->i64(7));
    h.created_by = s->text(8);
    out.push_back(std::move(h));
  }
  if (rc != SQLITE_DONE) return fail(db_->err("reading webhooks"));
  return out;
}

Result<std::vector<ports::Webhook>> SqliteWebhookStore::list(const base::TenantId& tenant) {
  const std::string t = tenant.str();
  return query_hooks("WHERE tenant = ?1", &t, nullptr);
}

Result<std::vector<ports::Webhook>> SqliteWebhookStore::list_all() { return query_hooks("", nullptr, nullptr); }

Result<std::optional<ports::Webhook>> SqliteWebhookStore::get(const base::TenantId& tenant, std::string_view id) {
  const std::string t = tenant.str(), i(id);
  auto r = query_hooks("WHERE tenant = ?1 AND id = ?2", &t, &i);
  if (!r) return fail(r.error());
  if (r->empty()) return std::optional<ports::Webhook>{};
  return std::optional<ports::Webhook>(std::move(r->front()));
}

Result<bool> SqliteWebhookStore::remove(const base::TenantId& tenant, std::string_view id) {
  bool removed = false;
  {
    std::lock_guard lk(mu_);
    auto s = db_->prepare("DELETE FROM hooks WHERE tenant = ?1 AND id = ?2");
    if (!s) return fail(s.error());
    s->bind(1, tenant);
    s->bind(2, id);
    if (s->step() != SQLITE_DONE) return fail(db_->err("removing webhook"));
    removed = db_->changes() > 0;
  }
  if (removed && on_change_) on_change_(tenant);
  return removed;
}

Status SqliteWebhookStore::record(const ports::WebhookDelivery& d) { return record_all(std::span(&d, 1)); }

Status SqliteWebhookStore::record_all(std::span<const ports::WebhookDelivery> ds) {
  if (ds.empty()) return {};
  std::lock_guard lk(mu_);
  storage::sqlite::Transaction tx(*db_);
  if (auto st = tx.begin(); !st) return st;
  // Hooks that got a new row: their log is trimmed once per batch, not once per row.
  std::vector<std::string_view> grown;
  // A hook removed while its delivery was in flight: nothing to log it under (the foreign key).
  auto s = db_->prepare(
      "INSERT INTO deliveries (id, hook_id, tenant, event_type, event_id, state, attempts, http_status, last_error, "
      "created_at, updated_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11 WHERE EXISTS "
      "(SELECT 1 FROM hooks WHERE id = ?2) "
      "ON CONFLICT(id) DO UPDATE SET state = excluded.state, attempts = excluded.attempts, "
      "http_status = excluded.http_status, last_error = excluded.last_error, updated_at = excluded.updated_at");
  if (!s) return fail(s.error());
  for (const auto& d : ds) {
    s->reset();
    s->bind(1, d.id);
    s->bind(2, d.hook_id);
    s->bind(3, d.tenant);
    s->bind(4, d.event_type);
    s->bind(5, d.event_id);
    s->bind(6, d.state);
    s->bind(7, d.attempts);
    s->bind(8, d.http_status);
    s->bind(9, d.last_error.substr(0, 512));
    s->bind(10, base::to_micros(d.created_at));
    s->bind(11, base::to_micros(d.updated_at));
    if (s->step() != SQLITE_DONE) return fail(db_->err("logging delivery " + d.id));
    if (db_->changes() > 0 && d.attempts <= 1 && std::find(grown.begin(), grown.end(), d.hook_id) == grown.end())
      grown.push_back(d.hook_id);
  }
  for (std::string_view hook : grown) {
    // Keep the newest max_log_per_hook of this hook.
    auto p = db_->prepare(
        "DELETE FROM deliveries WHERE hook_id = ?1 AND seq <= (SELECT seq FROM deliveries WHERE hook_id = ?1 "
        "ORDER BY seq DESC LIMIT 1 OFFSET ?2)");
    if (!p) return fail(p.error());
    p->bind(1, hook);
    p->bind(2, static_cast<std::int64_t>(options_.max_log_per_hook));
    if (p->step() != SQLITE_DONE) return fail(db_->err("pruning the delivery log"));
  }
  return tx.commit();
}

Result<std::vector<ports::WebhookDelivery>> SqliteWebhookStore::deliveries(const base::TenantId& tenant,
                                                                           std::string_view hook_id,
                                                                           std::size_t limit) {
  std::lock_guard lk(mu_);
  auto s = db_->prepare(
      "SELECT id, hook_id, event_type, event_id, state, attempts, http_status, last_error, created_at, updated_at "
      "FROM deliveries WHERE tenant = ?1 AND hook_id = ?2 ORDER BY seq DESC LIMIT ?3");
  if (!s) return fail(s.error());
  s->bind(1, tenant);
  s->bind(2, hook_id);
  s->bind(3, static_cast<std::int64_t>(limit));
  std::vector<ports::WebhookDelivery> out;
  int rc;
  while ((rc = s->step()) == SQLITE_ROW) {
    ports::WebhookDelivery d{.id = s->text(0), .hook_id = s->text(1), .tenant = tenant};
    d.event_type = s->text(2);
    d.event_id = s->text(3);
    d.state = s->text(4);
    d.attempts = static_cast<int>(s->i64(5));
    d.http_status = static_cast<int>(s->i64(6));
    d.last_error = s->text(7);
    d.created_at = base::from_micros(s->i64(8));
    d.updated_at = base::from_micros(s->i64(9));
    out.push_back(std::move(d));
  }
  if (rc != SQLITE_DONE) return fail(db_->err("reading the delivery log"));
  return out;
}

Result<std::size_t> SqliteWebhookStore::prune_before(base::Timestamp cutoff) {
  std::lock_guard lk(mu_);
  auto s = db_->prepare("DELETE FROM deliveries WHERE updated_at < ?1");
  if (!s) return fail(s.error());
  s->bind(1, base::to_micros(cutoff));
  if (s->step() != SQLITE_DONE) return fail(db_->err("pruning the delivery log"));
  return static_cast<std::size_t>(db_->changes());
}

Status SqliteWebhookStore::save_pending(const std::vector<ports::PendingDelivery>& pending) {
  std::lock_guard lk(mu_);
  storage::sqlite::Transaction tx(*db_);
  if (auto st = tx.begin(); !st) return st;
  if (auto st = db_->exec("DELETE FROM pending", "clearing pending deliveries"); !st) return st;
  auto s = db_->prepare(
      "INSERT INTO pending (id, hook_id, tenant, chain, event_type, event_id, body, attempts, created_at) "
      "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 WHERE EXISTS (SELECT 1 FROM hooks WHERE id = ?2)");
  if (!s) return fail(s.error());
  for (const auto& p : pending) {
    s->reset();
    s->bind(1, p.rec.id);
    s->bind(2, p.rec.hook_id);
    s->bind(3, p.rec.tenant);
    s->bind(4, p.chain);
    s->bind(5, p.rec.event_type);
    s->bind(6, p.rec.event_id);
    s->bind(7, p.body);
    s->bind(8, p.rec.attempts);
    s->bind(9, base::to_micros(p.rec.created_at));
    if (s->step() != SQLITE_DONE) return fail(db_->err("saving pending delivery " + p.rec.id));
  }
  return tx.commit();
}

Result<std::vector<ports::PendingDelivery>> SqliteWebhookStore::take_pending(base::Timestamp now,
                                                                            std::string_view lost_error) {
  std::lock_guard lk(mu_);
  storage::sqlite::Transaction tx(*db_);
  if (auto st = tx.begin(); !st) return fail(st.error());
  auto s = db_->prepare(
      "SELECT id, hook_id, tenant, chain, event_type, event_id, body, attempts, created_at FROM pending "
      "ORDER BY seq");
  if (!s) return fail(s.error());
  std::vector<ports::PendingDelivery> out;
  int rc;
  while ((rc = s->step()) == SQLITE_ROW) {
    auto tenant = base::TenantId::parse(s->view(2), "tenant");
    if (!tenant) continue;  // not written by us
    ports::PendingDelivery p{.rec = {.id = s->text(0), .hook_id = s->text(1), .tenant = *tenant}};
    p.chain = s->text(3);
    p.rec.event_type = s->text(4);
    p.rec.event_id = s->text(5);
    p.body = s->text(6);
    p.rec.attempts = static_cast<int>(s->i64(7));
    p.rec.created_at = base::from_micros(s->i64(8));
    p.rec.state = "pending";
    out.push_back(std::move(p));
  }
  if (rc != SQLITE_DONE) return fail(db_->err("reading pending deliveries"));
  auto lost = db_->prepare(
      "UPDATE deliveries SET state = 'failed', last_error = ?1, updated_at = ?2 "
      "WHERE state = 'retrying' AND id NOT IN (SELECT id FROM pending)");
  if (!lost) return fail(lost.error());
  lost->bind(1, lost_error.substr(0, 512));
  lost->bind(2, base::to_micros(now));
  if (lost->step() != SQLITE_DONE) return fail(db_->err("closing deliveries that were lost"));
  if (auto st = db_->exec("DELETE FROM pending", "taking pending deliveries"); !st) return fail(st.error());
  if (auto st = tx.commit(); !st) return fail(st.error());
  return out;
}

}  // namespace callbridge::webhooks
