#include "webhooks/postgres/pg_webhook_store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <sstream>

#include "storage/postgres/pg_conn.hpp"
#include "storage/postgres/pg_schema.hpp"

namespace callbridge::webhooks {

using base::Error;
using base::fail;
using base::Result;
using base::Status;
using storage::postgres::PgConn;
using storage::postgres::PgRows;
using Steady = std::chrono::steady_clock;

namespace {

// The webhooks part of the shared schema; append only. Same columns as webhooks.db (schema 2),
// prefixed table names (the database is shared), and each delivery's node.
constexpr const char* const kMigrations[] = {
    // 1: hooks, the delivery log, the pending deliveries of each node.
    R"sql(
CREATE TABLE webhook_hooks (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  url TEXT NOT NULL,
  events TEXT NOT NULL,
  body_template TEXT NOT NULL,
  description TEXT NOT NULL,
  secret TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  created_by TEXT NOT NULL
);
CREATE INDEX webhook_hooks_tenant ON webhook_hooks(tenant);
CREATE TABLE webhook_deliveries (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  hook_id TEXT NOT NULL REFERENCES webhook_hooks(id) ON DELETE CASCADE,
  tenant TEXT NOT NULL,
  node TEXT NOT NULL,
  event_type TEXT NOT NULL,
  event_id TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INT NOT NULL,
  http_status INT NOT NULL,
  last_error TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(hook_id, seq);
CREATE INDEX webhook_deliveries_updated ON webhook_deliveries(updated_at);
CREATE INDEX webhook_deliveries_retrying ON webhook_deliveries(node) WHERE state = 'retrying';
CREATE TABLE webhook_pending (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  node TEXT NOT NULL,
  id TEXT NOT NULL UNIQUE,
  hook_id TEXT NOT NULL REFERENCES webhook_hooks(id) ON DELETE CASCADE,
  tenant TEXT NOT NULL,
  chain TEXT NOT NULL,
  event_type TEXT NOT NULL,
  event_id TEXT NOT NULL,
  body TEXT NOT NULL,
  attempts INT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX webhook_pending_node ON webhook_pending(node, seq);
)sql",
};
static_assert(std::size(kMigrations) == PgWebhookStore::kSchemaVersion);

// pg_advisory_xact_lock key of the webhooks part ("cb" "wh" as digits).
constexpr std::int64_t kMigrationLockKey = 6362108708;

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

std::string micros(base::Timestamp t) { return std::to_string(base::to_micros(t)); }
std::string clip(std::string_view s) { return storage::postgres::sanitize_utf8(s.substr(0, 512)); }

Result<PgRows> run(PgConn& c, const std::string& sql, const PgConn::Params& args, Steady::time_point deadline) {
  return storage::postgres::exec_once_more(c, sql, args, deadline);
}
using storage::postgres::in_transaction;

constexpr const char* kHookColumns =
    "SELECT id, tenant, url, events, body_template, description, secret, created_at, created_by FROM webhook_hooks ";

}  // namespace

PgWebhookStore::PgWebhookStore(Options options)
    : options_(std::move(options)),
      location_(PgConn::describe(options_.conninfo)),
      conn_(std::make_unique<PgConn>(options_.conninfo, "webhook store")) {}

PgWebhookStore::~PgWebhookStore() = default;

Result<std::unique_ptr<PgWebhookStore>> PgWebhookStore::open(Options options) {
  std::unique_ptr<PgWebhookStore> s(new PgWebhookStore(std::move(options)));
  std::lock_guard lk(s->mu_);
  if (auto st = s->conn_->ensure_connected(); !st) return fail(st.error());
  const std::string where = "webhook store (PostgreSQL " + s->location_ + ")";
  const storage::postgres::SchemaPart part{.meta_table = "webhooks_meta",
                                           .owned_table = "webhook_hooks",
                                           .kind = "a callbridge webhook store",
                                           .lock_key = kMigrationLockKey,
                                           .migrations = kMigrations};
  auto v = storage::postgres::migrate(*s->conn_, part, where, Steady::now() + s->options_.timeout);
  if (!v) return fail(v.error());
  if (*v < kSchemaVersion) spdlog::info("{}: schema migrated from version {} to {}", where, *v, kSchemaVersion);
  return s;
}

#define CB_DEADLINE (Steady::now() + options_.timeout)

Status PgWebhookStore::add(const ports::Webhook& h) {
  {
    std::lock_guard lk(mu_);
    auto st = in_transaction(*conn_, CB_DEADLINE, [&]() -> Status {
      auto d = CB_DEADLINE;
      // The tenant's hooks counted and added by one node at a time.
      auto l = conn_->exec("SELECT pg_advisory_xact_lock(hashtextextended('callbridge webhooks of ' || $1, 0))",
                           {h.tenant.str()}, d);
      if (!l) return fail(l.error());
      auto n = conn_->exec("SELECT count(*) FROM webhook_hooks WHERE tenant = $1", {h.tenant.str()}, d);
      if (!n) return fail(n.error());
      if (static_cast<std::size_t>(n->i64(0, 0)) >= options_.max_hooks_per_tenant)
        return fail(Error::conflict("tenant " + h.tenant.str() + " has " +
                                    std::to_string(options_.max_hooks_per_tenant) +
                                    " webhooks already (the most there may be)"));
      auto r = conn_->exec(
          "INSERT INTO webhook_hooks (id, tenant, url, events, body_template, description, secret, created_at, "
          "created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
          {h.id, h.tenant.str(), h.url, join_events(h.events), h.body_template, h.description, h.secret,
           micros(h.created_at), h.created_by},
          d);
      if (!r) return fail(Error(r.error().code(), r.error().message() + " (adding webhook " + h.id + ")"));
      return {};
    });
    if (!st) return st;
  }
  if (on_change_) on_change_(h.tenant);
  return {};
}

Result<std::vector<ports::Webhook>> PgWebhookStore::query_hooks(const std::string& where,
                                                                const std::vector<std::string>& args) {
  std::lock_guard lk(mu_);
  PgConn::Params params(args.begin(), args.end());
  auto r = run(*conn_, kHookColumns + where + " ORDER BY created_at, id COLLATE \"C\"", params, CB_DEADLINE);
  if (!r) return fail(r.error());
  std::vector<ports::Webhook> out;
  for (int i = 0; i < r->size(); ++i) {
    auto tenant = base::TenantId::parse(r->text(i, 1), "tenant");
    if (!tenant) continue;  // not written by us; never handed out under a made-up tenant
    ports::Webhook h{.id = std::string(r->text(i, 0)), .tenant = *tenant};
    h.url = r->text(i, 2);
    h.events = split_events(r->text(i, 3));
    h.body_template = r->text(i, 4);
    h.description = r->text(i, 5);
    h.secret = r->text(i, 6);
    h.created_at = base::from_micros(r->i64(i, 7));
    h.created_by = r->text(i, 8);
    out.push_back(std::move(h));
  }
  return out;
}

Result<std::vector<ports::Webhook>> PgWebhookStore::list(const base::TenantId& tenant) {
  return query_hooks("WHERE tenant = $1", {tenant.str()});
}

Result<std::vector<ports::Webhook>> PgWebhookStore::list_all() { return query_hooks("", {}); }

Result<std::optional<ports::Webhook>> PgWebhookStore::get(const base::TenantId& tenant, std::string_view id) {
  auto r = query_hooks("WHERE tenant = $1 AND id = $2", {tenant.str(), std::string(id)});
  if (!r) return fail(r.error());
  if (r->empty()) return std::optional<ports::Webhook>{};
  return std::optional<ports::Webhook>(std::move(r->front()));
}

Result<bool> PgWebhookStore::remove(const base::TenantId& tenant, std::string_view id) {
  bool removed = false;
  {
    std::lock_guard lk(mu_);
    auto r = run(*conn_, "DELETE FROM webhook_hooks WHERE tenant = $1 AND id = $2", {tenant.str(), std::string(id)},
                 CB_DEADLINE);
    if (!r) return fail(r.error());
    removed = r->affected() > 0;
  }
  if (removed && on_change_) on_change_(tenant);
  return removed;
}

Status PgWebhookStore::record(const ports::WebhookDelivery& d) { return record_all(std::span(&d, 1)); }

Status PgWebhookStore::record_all(std::span<const ports::WebhookDelivery> ds) {
  if (ds.empty()) return {};
  std::lock_guard lk(mu_);
  return in_transaction(*conn_, CB_DEADLINE, [&]() -> Status {
    auto dl = CB_DEADLINE;
    std::vector<std::string> grown;  // hooks that got a new row: trimmed once per batch
    for (const auto& d : ds) {
      // A hook removed while its delivery was in flight: nothing to log it under.
      auto r = conn_->exec(
          "INSERT INTO webhook_deliveries (id, hook_id, tenant, node, event_type, event_id, state, attempts, "
          "http_status, last_error, created_at, updated_at) SELECT $1, $2, $3, $4, $5, $6, $7, $8::int, $9::int, $10, "
          "$11::bigint, $12::bigint WHERE EXISTS (SELECT 1 FROM webhook_hooks WHERE id = $2) "
          "ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, attempts = EXCLUDED.attempts, "
          "http_status = EXCLUDED.http_status, last_error = EXCLUDED.last_error, updated_at = EXCLUDED.updated_at, "
          "node = EXCLUDED.node",
          {d.id, d.hook_id, d.tenant.str(), options_.node, d.event_type, d.event_id, d.state,
           std::to_string(d.attempts), std::to_string(d.http_status), clip(d.last_error), micros(d.created_at),
           micros(d.updated_at)},
          dl);
      if (!r) return fail(Error(r.error().code(), r.error().message() + " (logging delivery " + d.id + ")"));
      if (r->affected() > 0 && d.attempts <= 1 && std::find(grown.begin(), grown.end(), d.hook_id) == grown.end())
        grown.push_back(d.hook_id);
    }
    for (const auto& hook : grown) {
      // Keep the newest max_log_per_hook of this hook.
      auto p = conn_->exec(
          "DELETE FROM webhook_deliveries WHERE hook_id = $1 AND seq <= (SELECT seq FROM webhook_deliveries "
          "WHERE hook_id = $1 ORDER BY seq DESC LIMIT 1 OFFSET $2::bigint)",
          {hook, std::to_string(options_.max_log_per_hook)}, dl);
      if (!p) return fail(Error(p.error().code(), p.error().message() + " (pruning the delivery log)"));
    }
    return {};
  });
}

Result<std::vector<ports::WebhookDelivery>> PgWebhookStore::deliveries(const base::TenantId& tenant,
                                                                       std::string_view hook_id, std::size_t limit) {
  std::lock_guard lk(mu_);
  auto r = run(*conn_,
               "SELECT id, hook_id, event_type, event_id, state, attempts, http_status, last_error, created_at, "
               "updated_at FROM webhook_deliveries WHERE tenant = $1 AND hook_id = $2 ORDER BY seq DESC "
               "LIMIT $3::bigint",
               {tenant.str(), std::string(hook_id), std::to_string(limit)}, CB_DEADLINE);
  if (!r) return fail(r.error());
  std::vector<ports::WebhookDelivery> out;
  for (int i = 0; i < r->size(); ++i) {
    ports::WebhookDelivery d{.id = std::string(r->text(i, 0)), .hook_id = std::string(r->text(i, 1)), .tenant = tenant};
    d.event_type = r->text(i, 2);
    d.event_id = r->text(i, 3);
    d.state = r->text(i, 4);
    d.attempts = static_cast<int>(r->i64(i, 5));
    d.http_status = static_cast<int>(r->i64(i, 6));
    d.last_error = r->text(i, 7);
    d.created_at = base::from_micros(r->i64(i, 8));
    d.updated_at = base::from_micros(r->i64(i, 9));
    out.push_back(std::move(d));
  }
  return out;
}

Result<std::size_t> PgWebhookStore::prune_before(base::Timestamp cutoff) {
  std::lock_guard lk(mu_);
  auto r = run(*conn_, "DELETE FROM webhook_deliveries WHERE updated_at < $1::bigint", {micros(cutoff)}, CB_DEADLINE);
  if (!r) return fail(r.error());
  return r->affected();
}

Status PgWebhookStore::save_pending(const std::vector<ports::PendingDelivery>& pending) {
  std::lock_guard lk(mu_);
  return in_transaction(*conn_, CB_DEADLINE, [&]() -> Status {
    auto dl = CB_DEADLINE;
    if (auto r = conn_->exec("DELETE FROM webhook_pending WHERE node = $1", {options_.node}, dl); !r)
      return fail(r.error());
    for (const auto& p : pending) {
      auto r = conn_->exec(
          "INSERT INTO webhook_pending (node, id, hook_id, tenant, chain, event_type, event_id, body, attempts, "
          "created_at) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9::int, $10::bigint "
          "WHERE EXISTS (SELECT 1 FROM webhook_hooks WHERE id = $3)",
          {options_.node, p.rec.id, p.rec.hook_id, p.rec.tenant.str(), p.chain, p.rec.event_type, p.rec.event_id,
           storage::postgres::sanitize_utf8(p.body), std::to_string(p.rec.attempts), micros(p.rec.created_at)},
          dl);
      if (!r) return fail(Error(r.error().code(), r.error().message() + " (saving pending delivery " + p.rec.id + ")"));
    }
    return {};
  });
}

Result<std::vector<ports::PendingDelivery>> PgWebhookStore::take_pending(base::Timestamp now,
                                                                        std::string_view lost_error) {
  std::lock_guard lk(mu_);
  return in_transaction(*conn_, CB_DEADLINE, [&]() -> Result<std::vector<ports::PendingDelivery>> {
    auto dl = CB_DEADLINE;
    auto r = conn_->exec(
        "SELECT id, hook_id, tenant, chain, event_type, event_id, body, attempts, created_at FROM webhook_pending "
        "WHERE node = $1 ORDER BY seq",
        {options_.node}, dl);
    if (!r) return fail(r.error());
    std::vector<ports::PendingDelivery> out;
    for (int i = 0; i < r->size(); ++i) {
      auto tenant = base::TenantId::parse(r->text(i, 2), "tenant");
      if (!tenant) continue;  // not written by us
      ports::PendingDelivery p{
          .rec = {.id = std::string(r->text(i, 0)), .hook_id = std::string(r->text(i, 1)), .tenant = *tenant}};
      p.chain = r->text(i, 3);
      p.rec.event_type = r->text(i, 4);
      p.rec.event_id = r->text(i, 5);
      p.body = r->text(i, 6);
      p.rec.attempts = static_cast<int>(r->i64(i, 7));
      p.rec.created_at = base::from_micros(r->i64(i, 8));
      p.rec.state = "pending";
      out.push_back(std::move(p));
    }
    // This node's deliveries still "retrying" that it did not save (it was killed) are lost.
    auto lost = conn_->exec(
        "UPDATE webhook_deliveries SET state = 'failed', last_error = $1, updated_at = $2::bigint "
        "WHERE state = 'retrying' AND node = $3 AND id NOT IN (SELECT id FROM webhook_pending WHERE node = $3)",
        {clip(lost_error), micros(now), options_.node}, dl);
    if (!lost) return fail(lost.error());
    if (auto d = conn_->exec("DELETE FROM webhook_pending WHERE node = $1", {options_.node}, dl); !d)
      return fail(d.error());
    return out;
  });
}

#undef CB_DEADLINE

}  // namespace callbridge::webhooks
