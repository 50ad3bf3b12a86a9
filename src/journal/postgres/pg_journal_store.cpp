#include "journal/postgres/pg_journal_store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>
#include <optional>
#include <random>
#include <string_view>
#include <utility>

#include "storage/postgres/pg_conn.hpp"
#include "storage/postgres/pg_schema.hpp"

namespace callbridge::journal {

using base::Error;
using base::fail;
using base::Result;
using base::Status;
using storage::postgres::PgConn;
namespace pg = storage::postgres;
using Steady = std::chrono::steady_clock;

namespace {

constexpr std::size_t kMaxQueryLimit = 10'000;
// pg_advisory_xact_lock key for migrations (any constant, one per part: docs/cluster.md).
constexpr std::int64_t kMigrationLockKey = 6362106314;

// Migration N (1-based) brings the schema from N-1 to N. Append only; never edit a shipped one.
// Same columns and meaning as the SQLite journal (times in microseconds since the epoch, UTC).
constexpr const char* const kMigrations[] = {
    // 1: the journal table.
    R"sql(
CREATE TABLE journal (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant TEXT NOT NULL,
  call_id TEXT NOT NULL,
  party TEXT NOT NULL,
  direction TEXT NOT NULL,
  remote TEXT,
  remote_withheld BOOLEAN NOT NULL DEFAULT false,
  remote_name TEXT,
  disposition TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  answered_at BIGINT,
  ended_at BIGINT NOT NULL,
  hold_s DOUBLE PRECISION NOT NULL DEFAULT 0,
  transferred_to TEXT,
  transferred_from TEXT,
  contact_id TEXT,
  contact_name TEXT,
  contact_company TEXT,
  contact_source TEXT,
  note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX journal_tenant_party ON journal(tenant, party, id);
CREATE INDEX journal_tenant_started ON journal(tenant, started_at);
CREATE INDEX journal_ended ON journal(ended_at);
)sql",
    // 2: estimated times (JournalEntry::estimated bits).
    R"sql(
ALTER TABLE journal ADD COLUMN estimated SMALLINT NOT NULL DEFAULT 0;
)sql",
    // 3: the `done` mark of missed calls dealt with; newest-first by start; open missed calls.
    R"sql(
ALTER TABLE journal ADD COLUMN done BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX journal_tenant_party_started ON journal(tenant, party, started_at);
CREATE INDEX journal_open_missed ON journal(tenant, party, remote) WHERE disposition = 'missed' AND NOT done;
)sql",
    // 4: AnyDevice: the user's external device that carried the call (number, name, private).
    R"sql(
ALTER TABLE journal ADD COLUMN device_number TEXT;
ALTER TABLE journal ADD COLUMN device_name TEXT;
ALTER TABLE journal ADD COLUMN private_device BOOLEAN NOT NULL DEFAULT false;
)sql",
    // 5: channel accounting: the trunk-channel seconds of the entry (older rows: 0).
    R"sql(
ALTER TABLE journal ADD COLUMN trunk_channel_s DOUBLE PRECISION NOT NULL DEFAULT 0;
)sql",
    // 6: cluster failover (docs/cluster.md). The open-call state of the PBX drivers (as SQLite's
    // open_state): the node that takes a link over continues the calls the previous owner left;
    // the store that loaded a scope last owns it (journal_open_state_owner): a stopped previous
    // owner whose writer commits late puts no rows there any more.
    // The idempotent key of an entry: "<scope>/<key>" of the call leg it completes; an entry whose
    // leg was written already (by the previous owner, or by a commit whose answer was lost) is not
    // written again. NULL (legs without a key) never conflicts.
    R"sql(
ALTER TABLE journal ADD COLUMN leg_key TEXT;
CREATE UNIQUE INDEX journal_leg_key ON journal(leg_key);
CREATE TABLE journal_open_state (
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  text TEXT NOT NULL,
  PRIMARY KEY (scope, key)
);
CREATE TABLE journal_open_state_owner (
  scope TEXT PRIMARY KEY,
  owner TEXT NOT NULL
);
)sql",
};
static_assert(std::size(kMigrations) == PgJournalStore::kSchemaVersion);

constexpr const char* kColumns =
    "id, tenant, call_id, party, direction, remote, remote_withheld, remote_name, disposition, "
    "started_at, answered_at, ended_at, hold_s, transferred_to, transferred_from, contact_id, "
    "contact_name, contact_company, contact_source, note, estimated, done, device_number, device_name, "
    "private_device, trunk_channel_s";

// A batch goes through a session-local staging table: COPY is the fast way in, and the INSERT from
// it returns the ids the journal gave the rows (COPY cannot), so committed entries are handed on
// with their ids as the SQLite store does. Rows are inserted in `id` order of the staging table (the
// row's place in the batch); identity values grow in insertion order, so the sorted ids are the
// batch's ids in order. Temporary tables need no CREATE right on the schema.
constexpr const char* kWritable =
    "tenant, call_id, party, direction, remote, remote_withheld, remote_name, disposition, "
    "started_at, answered_at, ended_at, hold_s, transferred_to, transferred_from, contact_id, contact_name, "
    "contact_company, contact_source, note, estimated, done, device_number, device_name, private_device, "
    "trunk_channel_s, leg_key";

// The idempotent key of an entry (migration 6): its leg's open-state scope and key, or none.
std::optional<std::string> leg_key(const model::JournalEntry& e) {
  if (e.state_key.empty()) return std::nullopt;
  return pg::sanitize_utf8(e.state_scope + "/" + e.state_key);
}

// The 26 values of a row, in kWritable order, each as text (nullopt = SQL NULL): one list for
// the COPY rows and the INSERT parameters. A value passed to `emit` lives for that call only.
template <typename Emit>
void for_each_value(const model::JournalEntry& e, Emit&& emit) {
  using V = std::optional<std::string_view>;
  auto opt = [&](const std::optional<std::string>& v) { emit(v ? V(*v) : V()); };
  emit(V(e.tenant));
  emit(V(e.call_id));
  emit(V(e.party));
  emit(V(model::to_string(e.direction)));
  opt(e.remote);
  emit(V(e.remote_withheld ? "t" : "f"));
  opt(e.remote_name);
  emit(V(model::to_string(e.disposition)));
  emit(V(std::to_string(base::to_micros(e.started_at))));
  if (e.answered_at) emit(V(std::to_string(base::to_micros(*e.answered_at))));
  else emit(V());
  emit(V(std::to_string(base::to_micros(e.ended_at))));
  char num[32];
  std::snprintf(num, sizeof num, "%.17g", e.hold_s);
  emit(V(num));
  opt(e.transferred_to);
  opt(e.transferred_from);
  if (e.contact) {
    emit(V(e.contact->id));
    emit(V(e.contact->name));
    emit(V(e.contact->company));
    emit(V(e.contact->source));
  } else {
    for (int i = 0; i < 4; ++i) emit(V());
  }
  emit(V(e.note));
  emit(V(std::to_string(static_cast<int>(e.estimated))));
  emit(V(e.done ? "t" : "f"));
  opt(e.device_number);
  opt(e.device_name);
  emit(V(e.private_device ? "t" : "f"));
  std::snprintf(num, sizeof num, "%.17g", e.trunk_channel_s);
  emit(V(num));
  const auto key = leg_key(e);
  emit(key ? V(*key) : V());
}

void copy_row(std::string& out, const model::JournalEntry& e) {
  bool first = true;
  for_each_value(e, [&](std::optional<std::string_view> v) {
    if (!first) out += '\t';
    first = false;
    if (v) pg::append_copy_field(out, *v);
    else pg::append_copy_null(out);
  });
  out += '\n';
}

void append_params(PgConn::Params& out, const model::JournalEntry& e) {
  for_each_value(e, [&](std::optional<std::string_view> v) {
    if (v) out.emplace_back(pg::sanitize_utf8(*v));
    else out.emplace_back(std::nullopt);
  });
}
constexpr int kWritableColumns = 26;
// Batches up to this size go as one multi-row INSERT ... RETURNING (one round trip, atomic on
// its own); bigger ones go through COPY in a transaction that locks out other writers and reads
// the last id given (write_batch). Until 2026-12-06 every batch went through COPY into a temporary staging
// table and INSERT ... SELECT ... RETURNING: its ON COMMIT DELETE ROWS truncated a file at every
// commit (~1 ms), one-entry batches ran 6x slower and bulk writes 35% slower than before.
constexpr std::size_t kInsertMaxRows = 32;

// Reader statements are idempotent (SELECT, UPDATE note, DELETE by time): after a lost
// connection (database restart, idle connection killed) they are sent once more on a new one.
Result<pg::PgRows> exec_retry(PgConn& c, const std::string& sql, const PgConn::Params& args,
                                  Steady::time_point deadline) {
  auto r = c.exec(sql, args, deadline);
  if (!r && r.error().code() == base::Errc::unavailable && Steady::now() < deadline) r = c.exec(sql, args, deadline);
  return r;
}

// Marks the earlier open missed entries of each entry that resolves them (model::resolves_missed)
// done, inside the caller's transaction, and records their ids in the entry's `resolved`.
// Marks the missed calls the batch's answered entries resolve (model::resolves_missed) done, after
// the batch's rows are in (an entry may resolve a missed one of its own batch). In batch order the
// first matching entry gets a row, as if each ran `UPDATE ... WHERE NOT done` in turn; but one
// statement per kResolveChunk entries, not one round trip (with a parse and plan) per entry, which
// had cut bulk writes to 1-3k entries/s (docs/performance.md).
Status resolve_missed(PgConn& w, const std::vector<JournalWrite*>& written, Steady::time_point deadline) {
  constexpr std::size_t kResolveChunk = 1000;  // 5 parameters each, far below libpq's 65535
  std::vector<JournalWrite*> asking;
  for (auto* item : written) {
    item->resolved.clear();
    if (model::resolves_missed(*item->entry)) asking.push_back(item);
  }
  if (asking.size() == 1) {
    // One entry (a PBX's pace: entries one by one): the plain statement plans faster than the CTE.
    const auto& e = *asking[0]->entry;
    auto r = w.exec(
        "UPDATE journal SET done = true WHERE tenant = $1 AND party = $2 AND remote = $3 AND "
        "disposition = 'missed' AND NOT done AND started_at <= $4 RETURNING id",
        {pg::sanitize_utf8(e.tenant), pg::sanitize_utf8(e.party), pg::sanitize_utf8(*e.remote),
         std::to_string(base::to_micros(e.started_at))},
        deadline);
    if (!r) return fail(r.error());
    for (int i = 0; i < r->size(); ++i) asking[0]->resolved.push_back(r->i64(i, 0));
    std::sort(asking[0]->resolved.begin(), asking[0]->resolved.end());
    return {};
  }
  std::string sql;
  PgConn::Params params;
  for (std::size_t from = 0; from < asking.size(); from += kResolveChunk) {
    const std::size_t n = std::min(kResolveChunk, asking.size() - from);
    sql = "WITH req(k, tenant, party, remote, started) AS (VALUES ";
    params.clear();
    for (std::size_t i = 0; i < n; ++i) {
      const auto& e = *asking[from + i]->entry;
      const std::size_t p = params.size();
      auto arg = [&](std::size_t j) { return "$" + std::to_string(p + j); };
      sql += i ? ",(" : "(";
      sql += i ? arg(1) + "," + arg(2) + "," + arg(3) + "," + arg(4) + "," + arg(5)
               : arg(1) + "::int," + arg(2) + "::text," + arg(3) + "::text," + arg(4) + "::text," + arg(5) + "::bigint";
      sql += ')';
      params.push_back(std::to_string(i));
      params.push_back(pg::sanitize_utf8(e.tenant));
      params.push_back(pg::sanitize_utf8(e.party));
      params.push_back(pg::sanitize_utf8(*e.remote));
      params.push_back(std::to_string(base::to_micros(e.started_at)));
    }
    sql +=
        "), pick AS (SELECT DISTINCT ON (j.id) j.id, r.k FROM req r JOIN journal j ON j.tenant = r.tenant AND "
        "j.party = r.party AND j.remote = r.remote AND j.disposition = 'missed' AND NOT j.done AND "
        "j.started_at <= r.started ORDER BY j.id, r.k) "
        "UPDATE journal SET done = true FROM pick WHERE journal.id = pick.id RETURNING journal.id, pick.k";
    auto r = w.exec(sql, params, deadline);
    if (!r) return fail(r.error());
    for (int row = 0; row < r->size(); ++row) {
      const auto k = r->i64(row, 1);
      if (k < 0 || static_cast<std::size_t>(k) >= n)
        return fail(Error::internal("journal: marking missed calls done answered an unknown entry"));
      asking[from + static_cast<std::size_t>(k)]->resolved.push_back(r->i64(row, 0));
    }
  }
  for (auto* item : asking) std::sort(item->resolved.begin(), item->resolved.end());
  return {};
}

bool any_resolves(const std::deque<JournalWrite>& batch) {
  return std::any_of(batch.begin(), batch.end(),
                     [](const JournalWrite& w) { return w.entry && model::resolves_missed(*w.entry); });
}

std::optional<std::string> opt_text(const pg::PgRows& r, int row, int col) {
  if (r.is_null(row, col)) return std::nullopt;
  return std::string(r.text(row, col));
}

}  // namespace

PgJournalStore::PgJournalStore(Options options) : options_(std::move(options)) {
  location_ = PgConn::describe(options_.conninfo);
  std::random_device rd;
  char id[17];
  std::snprintf(id, sizeof id, "%08x%08x", rd(), rd());
  instance_ = id;
}

Result<std::unique_ptr<PgJournalStore>> PgJournalStore::open(Options options) {
  std::unique_ptr<PgJournalStore> s(new PgJournalStore(std::move(options)));
  s->reader_ = std::make_unique<PgConn>(s->options_.conninfo, "journal");
  s->writer_ = std::make_unique<PgConn>(s->options_.conninfo, "journal");
  auto& d = *s->reader_;
  if (auto st = d.ensure_connected(); !st) return fail(st.error());
  const auto deadline = Steady::now() + s->options_.query_timeout;
  const std::string where = "journal (PostgreSQL " + s->location_ + ")";

  // Migration in one transaction under an advisory lock: nodes starting together take turns
  // (storage/postgres/pg_schema.hpp, the one migration story of every PostgreSQL part).
  const storage::postgres::SchemaPart part{.meta_table = "journal_meta",
                                           .owned_table = "journal",
                                           .kind = "a callbridge journal",
                                           .lock_key = kMigrationLockKey,
                                           .migrations = kMigrations};
  auto version = storage::postgres::migrate(d, part, where, deadline);
  if (!version) return fail(version.error());
  if (*version < kSchemaVersion)
    spdlog::info("{}: schema migrated from version {} to {}", where, *version, kSchemaVersion);

  if (auto st = s->writer_->ensure_connected(); !st) return fail(st.error());
  JournalBatchWriter::Options wo;
  wo.location = "journal " + s->location_;
  wo.max_queued = s->options_.max_queued;
  wo.max_batch = s->options_.max_batch;
  wo.retry_interval = s->options_.retry_interval;
  s->batches_ = std::make_unique<JournalBatchWriter>(
      std::move(wo), [p = s.get()](auto& batch, auto& ids) { return p->write_batch(batch, ids); });
  return s;
}

PgJournalStore::~PgJournalStore() { batches_.reset(); }  // drains before the connections go

void PgJournalStore::append(model::JournalEntry entry) { batches_->append(std::move(entry)); }

Status PgJournalStore::flush() { return batches_->flush(); }

bool PgJournalStore::set_on_committed(CommittedFn fn) { return batches_->set_on_committed(std::move(fn)); }

Status PgJournalStore::write_batch(std::deque<JournalWrite>& batch, std::vector<std::int64_t>& ids) {
  const auto deadline = Steady::now() + options_.query_timeout;
  auto& w = *writer_;
  std::vector<JournalWrite*> entries;
  for (auto& item : batch) {
    item.resolved.clear();
    if (item.entry) entries.push_back(&item);
  }
  // The open-call state rows the batch leaves behind: in batch order the last word on a row wins
  // (a put, a delete, or the entry that completes the leg, which deletes it in this transaction).
  StateOps state;
  for (const auto& item : batch) {
    if (item.state)
      state[{item.state->scope, item.state->key}] = {
          item.state->text.empty() ? std::nullopt : std::optional<std::string>(item.state->text), false};
    else if (!item.entry->state_key.empty())
      state[{item.entry->state_scope, item.entry->state_key}] = {std::nullopt, true};
  }
  const bool bulk = entries.size() > kInsertMaxRows;
  const bool marks = any_resolves(batch);
  // A small batch of entries alone is one INSERT statement (atomic on its own); anything more goes
  // in one transaction: the marks and the state rows commit with the entries that make them.
  const bool txn = bulk || marks || !state.empty();
  auto rollback = [&](Error e) {
    ids.clear();
    if (txn && w.connected()) (void)w.exec("ROLLBACK", Steady::now() + std::chrono::seconds(5));
    return fail(std::move(e));
  };
  // Bulk: COPY without ids (the identity assigns them in row order), then the last id given. The
  // lock makes them contiguous: it conflicts with every other writer's INSERT or COPY (ROW
  // EXCLUSIVE) and with itself, not with readers, so no other session draws from the sequence
  // meanwhile (its CACHE is 1, the default the migration leaves). Asking the sequence for the ids
  // first (5000 nextval rows per batch) cost a quarter of the bulk rate.
  if (txn)
    if (auto r = w.exec(bulk ? "BEGIN; LOCK TABLE journal IN SHARE ROW EXCLUSIVE MODE" : "BEGIN", deadline); !r)
      return rollback(r.error());
  if (!entries.empty()) {
    auto st = bulk ? copy_entries(entries, ids, deadline) : insert_entries(entries, ids, deadline);
    if (!st) return rollback(st.error());
  } else {
    ids.clear();
  }
  if (marks) {
    std::vector<JournalWrite*> written;
    for (std::size_t i = 0; i < entries.size(); ++i)
      if (ids[i] != 0) written.push_back(entries[i]);
    if (auto st = resolve_missed(w, written, deadline); !st) return rollback(st.error());
  }
  if (!state.empty())
    if (auto st = write_state(state, deadline); !st) return rollback(st.error());
  if (txn)
    if (auto r = w.exec("COMMIT", deadline); !r) return rollback(r.error());
  for (std::size_t i = 0; i < entries.size(); ++i)
    if (ids[i] == 0)
      spdlog::info("journal {}: the entry of leg {} ({} {}) was written before (by the previous owner of the "
                   "link, or by a commit whose answer was lost); not written twice",
                   location_, *leg_key(*entries[i]->entry), entries[i]->entry->party, entries[i]->entry->call_id);
  return {};
}

// Entries whose leg key is in the journal already, or earlier in the same batch, get id 0 (not
// written: the idempotent key of migration 6); the others go in with one COPY.
Status PgJournalStore::copy_entries(const std::vector<JournalWrite*>& entries, std::vector<std::int64_t>& ids,
                                    Steady::time_point deadline) {
  auto& w = *writer_;
  constexpr std::size_t kChunk = 1000;
  std::vector<std::optional<std::string>> keys;
  keys.reserve(entries.size());
  for (const auto* item : entries) keys.push_back(leg_key(*item->entry));
  std::set<std::string> taken;
  PgConn::Params args;
  for (std::size_t from = 0; from < keys.size();) {
    args.clear();
    std::string sql = "SELECT leg_key FROM journal WHERE leg_key IN (";
    for (; from < keys.size() && args.size() < kChunk; ++from) {
      if (!keys[from]) continue;
      sql += args.empty() ? "$" : ",$";
      args.emplace_back(*keys[from]);
      sql += std::to_string(args.size());
    }
    if (args.empty()) break;
    auto r = w.exec(sql + ")", args, deadline);
    if (!r) return fail(r.error());
    for (int i = 0; i < r->size(); ++i) taken.emplace(r->text(i, 0));
  }
  std::vector<char> skip(entries.size(), 0);
  copy_buf_.clear();
  std::int64_t n = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (keys[i] && !taken.insert(*keys[i]).second) {
      skip[i] = 1;
      continue;
    }
    copy_row(copy_buf_, *entries[i]->entry);
    ++n;
  }
  ids.assign(entries.size(), 0);
  if (n == 0) return {};
  auto st = w.copy_in(std::string("COPY journal (") + kWritable + ") FROM STDIN", copy_buf_, deadline);
  if (copy_buf_.capacity() > (8u << 20)) std::string().swap(copy_buf_);  // do not keep a burst's buffer
  if (!st) return st;
  auto last = w.exec("SELECT currval(pg_get_serial_sequence('journal', 'id'))", deadline);
  if (!last) return fail(last.error());
  if (last->size() != 1) return fail(Error::internal("journal " + location_ + ": no last id"));
  std::int64_t id = last->i64(0, 0) - n + 1;
  for (std::size_t i = 0; i < entries.size(); ++i)
    if (!skip[i]) ids[i] = id++;
  return {};
}

// One multi-row INSERT; a row whose leg key is taken is skipped by the server (ON CONFLICT DO
// NOTHING) and its entry gets id 0.
Status PgJournalStore::insert_entries(const std::vector<JournalWrite*>& entries, std::vector<std::int64_t>& ids,
                                      Steady::time_point deadline) {
  insert_sql_.assign("INSERT INTO journal (").append(kWritable).append(") VALUES ");
  insert_params_.clear();
  int n = 0;
  for (const auto* item : entries) {
    append_params(insert_params_, *item->entry);
    insert_sql_ += n == 0 ? "(" : ",(";
    for (int c = 0; c < kWritableColumns; ++c) {
      if (c) insert_sql_ += ',';
      insert_sql_ += '$';
      insert_sql_ += std::to_string(++n);
    }
    insert_sql_ += ')';
  }
  CB_CHECK(insert_params_.size() == static_cast<std::size_t>(n), "journal INSERT parameters");
  insert_sql_ += " ON CONFLICT (leg_key) DO NOTHING RETURNING id, leg_key";
  auto inserted = writer_->exec(insert_sql_, insert_params_, deadline);
  if (!inserted) return fail(inserted.error());
  // Rows without a key are never skipped; their ids grow in row order.
  std::map<std::string, std::int64_t, std::less<>> by_key;
  std::vector<std::int64_t> unkeyed;
  for (int i = 0; i < inserted->size(); ++i) {
    if (inserted->is_null(i, 1)) unkeyed.push_back(inserted->i64(i, 0));
    else by_key.emplace(std::string(inserted->text(i, 1)), inserted->i64(i, 0));
  }
  std::sort(unkeyed.begin(), unkeyed.end());
  ids.assign(entries.size(), 0);
  std::size_t next = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto key = leg_key(*entries[i]->entry);
    if (!key) {
      if (next >= unkeyed.size()) break;
      ids[i] = unkeyed[next++];
    } else if (auto it = by_key.find(*key); it != by_key.end()) {
      ids[i] = it->second;
      by_key.erase(it);  // a second entry of the same leg in this batch was skipped
    }
  }
  if (next != unkeyed.size() || std::count(ids.begin(), ids.end(), 0) + inserted->size() !=
                                    static_cast<std::ptrdiff_t>(entries.size()))
    return fail(Error::internal("journal " + location_ + ": inserted " + std::to_string(inserted->size()) +
                                " rows of a batch of " + std::to_string(entries.size()) + " that do not match it"));
  return {};
}

// The open-call state rows (journal_open_state) as the batch leaves them: deletes, then upserts,
// at most kChunk rows per statement. A scope another store loaded since (the node that took the
// link over: journal_open_state_owner) gets only the deletes of the entries written: this store's
// driver was fenced, the calls are the other node's to keep. The owner row is read FOR SHARE, so
// a takeover's load (which updates it) waits for this transaction and then sees its rows.
Status PgJournalStore::write_state(const StateOps& state, Steady::time_point deadline) {
  auto& w = *writer_;
  std::set<std::string> foreign;
  {
    std::string last;
    for (const auto& [k, op] : state) {
      if (k.first == last) continue;
      last = k.first;
      auto r = w.exec("SELECT owner FROM journal_open_state_owner WHERE scope = $1 FOR SHARE",
                      {pg::sanitize_utf8(k.first)}, deadline);
      if (!r) return fail(r.error());
      if (r->size() == 1 && r->text(0, 0) != instance_) {
        foreign.insert(k.first);
        if (warned_foreign_.insert(k.first).second)
          spdlog::warn("journal {}: the open calls of {} are another node's now (it took the link over); this "
                       "node writes no more state rows there",
                       location_, k.first);
      }
    }
  }
  constexpr std::size_t kChunk = 1000;  // 3 parameters each
  for (const bool put : {false, true}) {
    PgConn::Params args;
    std::string sql;
    auto send = [&]() -> Status {
      if (args.empty()) return {};
      sql = put ? "INSERT INTO journal_open_state (scope, key, text) VALUES " + sql +
                      " ON CONFLICT (scope, key) DO UPDATE SET text = EXCLUDED.text"
                : "DELETE FROM journal_open_state WHERE (scope, key) IN (" + sql + ")";
      auto r = w.exec(sql, args, deadline);
      args.clear();
      sql.clear();
      if (!r) return fail(r.error());
      return {};
    };
    std::size_t rows = 0;
    for (const auto& [k, op] : state) {
      if (op.text.has_value() != put) continue;
      if (!op.by_entry && foreign.count(k.first)) continue;
      auto arg = [&](std::string_view v) {
        args.emplace_back(pg::sanitize_utf8(v));
        return "$" + std::to_string(args.size());
      };
      sql += sql.empty() ? "(" : ",(";
      sql += arg(k.first) + "," + arg(k.second);
      if (put) sql += "," + arg(*op.text);
      sql += ')';
      if (++rows % kChunk == 0)
        if (auto st = send(); !st) return st;
    }
    if (auto st = send(); !st) return st;
  }
  return {};
}

void PgJournalStore::put_open_state(std::string scope, std::string key, std::string text) {
  batches_->put_state(std::move(scope), std::move(key), std::move(text));
}

// Claims the scope for this store (journal_open_state_owner) and reads its rows, in one
// transaction: the claim waits for a write of the previous owner that is under way, so the rows
// read include it, and the previous owner writes none after.
Result<std::vector<std::string>> PgJournalStore::load_open_state(const std::string& scope) {
  const auto deadline = Steady::now() + options_.query_timeout;
  std::lock_guard lk(reader_mu_);
  auto& c = *reader_;
  const auto sc = pg::sanitize_utf8(scope);
  auto rollback = [&](Error e) {
    if (c.connected()) (void)c.exec("ROLLBACK", Steady::now() + std::chrono::seconds(5));
    return fail(std::move(e));
  };
  if (auto b = exec_retry(c, "BEGIN", {}, deadline); !b) return fail(b.error());
  if (auto u = c.exec("INSERT INTO journal_open_state_owner (scope, owner) VALUES ($1, $2) ON CONFLICT (scope) DO "
                      "UPDATE SET owner = EXCLUDED.owner",
                      {sc, instance_}, deadline);
      !u)
    return rollback(u.error());
  auto r = c.exec("SELECT text FROM journal_open_state WHERE scope = $1 ORDER BY key", {sc}, deadline);
  if (!r) return rollback(r.error());
  if (auto e = c.exec("COMMIT", deadline); !e) return rollback(e.error());
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(r->size()));
  for (int i = 0; i < r->size(); ++i) out.emplace_back(r->text(i, 0));
  return out;
}

// " WHERE ..." of `q` with its parameters ($N); `before_start`: the started_at of entry
// q.before_id when it still exists.
std::string PgJournalStore::where(const ports::JournalQuery& q, std::optional<std::int64_t> before_start,
                                  std::vector<std::optional<std::string>>& args) {
  auto param = [&](std::string v) {
    args.emplace_back(std::move(v));
    return "$" + std::to_string(args.size());
  };
  std::string sql = " WHERE tenant = " + param(pg::sanitize_utf8(q.tenant));
  if (q.id) sql += " AND id = " + param(std::to_string(*q.id));
  if (q.party) sql += " AND party = " + param(pg::sanitize_utf8(*q.party));
  if (q.direction) sql += " AND direction = " + param(std::string(model::to_string(*q.direction)));
  if (q.disposition) sql += " AND disposition = " + param(std::string(model::to_string(*q.disposition)));
  if (q.missed_only) sql += " AND disposition = 'missed'";
  if (q.done) sql += *q.done ? " AND done" : " AND NOT done";
  if (q.since) sql += " AND started_at >= " + param(std::to_string(base::to_micros(*q.since)));
  if (q.until) sql += " AND started_at < " + param(std::to_string(base::to_micros(*q.until)));
  if (q.text && !q.text->empty()) {
    // Substring, case-insensitive like SQLite's LIKE for ASCII; % _ \ in the text are literal.
    std::string pattern = "%";
    for (char c : pg::sanitize_utf8(*q.text)) {
      if (c == '%' || c == '_' || c == '\\') pattern += '\\';
      pattern += c;
    }
    pattern += '%';
    const auto p = param(std::move(pattern));
    sql += " AND (";
    const char* cols[] = {"remote", "remote_name", "party", "note", "contact_name", "contact_company"};
    for (std::size_t i = 0; i < std::size(cols); ++i)
      sql += std::string(i ? " OR " : "") + cols[i] + " ILIKE " + p + " ESCAPE '\\'";
    sql += ")";
  }
  if (q.before_id) {
    const auto b = param(std::to_string(*q.before_id));
    if (before_start) {
      const auto t = param(std::to_string(*before_start));
      sql += " AND (started_at < " + t + " OR (started_at = " + t + " AND id < " + b + "))";
    } else {
      sql += " AND id < " + b;  // the page's last entry is gone (purged): by id
    }
  }
  return sql;
}

Result<std::vector<ports::StoredEntry>> PgJournalStore::query(const ports::JournalQuery& q) {
  const auto deadline = Steady::now() + options_.query_timeout;
  std::lock_guard lk(reader_mu_);
  std::optional<std::int64_t> before_start;
  if (q.before_id) {
    auto b = exec_retry(*reader_, "SELECT started_at FROM journal WHERE tenant = $1 AND id = $2",
                        {pg::sanitize_utf8(q.tenant), std::to_string(*q.before_id)}, deadline);
    if (!b) return fail(b.error());
    if (b->size() == 1) before_start = b->i64(0, 0);
  }
  PgConn::Params args;
  std::string sql = std::string("SELECT ") + kColumns + " FROM journal" + where(q, before_start, args);
  sql += " ORDER BY started_at DESC, id DESC LIMIT " + std::to_string(std::min(q.limit, kMaxQueryLimit));

  auto rows = exec_retry(*reader_, sql, args, deadline);
  if (!rows) return fail(rows.error());
  std::vector<ports::StoredEntry> out;
  out.reserve(static_cast<std::size_t>(rows->size()));
  const auto& r = *rows;
  for (int i = 0; i < r.size(); ++i) {
    auto tenant = base::TenantId::parse(r.text(i, 1), "journal row tenant");
    if (!tenant) return fail(tenant.error());  // not written by us: refuse rather than guess
    ports::StoredEntry s{.id = r.i64(i, 0), .entry = model::JournalEntry{.tenant = *tenant}};
    auto& e = s.entry;
    e.call_id = r.text(i, 2);
    e.party = r.text(i, 3);
    e.direction = model::parse_direction(r.text(i, 4)).value_or(model::Direction::inbound);
    e.remote = opt_text(r, i, 5);
    e.remote_withheld = r.text(i, 6) == "t";
    e.remote_name = opt_text(r, i, 7);
    e.disposition = model::parse_disposition(r.text(i, 8)).value_or(model::Disposition::failed);
    e.started_at = base::from_micros(r.i64(i, 9));
    if (!r.is_null(i, 10)) e.answered_at = base::from_micros(r.i64(i, 10));
    e.ended_at = base::from_micros(r.i64(i, 11));
    e.hold_s = r.f64(i, 12);
    e.transferred_to = opt_text(r, i, 13);
    e.transferred_from = opt_text(r, i, 14);
    if (!r.is_null(i, 15))
      e.contact = model::ContactRef{std::string(r.text(i, 15)), opt_text(r, i, 16).value_or(""),
                                    opt_text(r, i, 17).value_or(""), opt_text(r, i, 18).value_or("")};
    e.note = r.text(i, 19);
    e.estimated = static_cast<std::uint8_t>(r.i64(i, 20) & 0xff);
    e.done = r.text(i, 21) == "t";
    e.device_number = opt_text(r, i, 22);
    e.device_name = opt_text(r, i, 23);
    e.private_device = r.text(i, 24) == "t";
    e.trunk_channel_s = r.f64(i, 25);
    out.push_back(std::move(s));
  }
  return out;
}

Status PgJournalStore::set_note(const std::string& tenant, std::int64_t id, const std::string& note) {
  if (note.size() > kMaxNoteBytes)
    return fail(Error::invalid_argument("note is " + std::to_string(note.size()) + " bytes; the limit is " +
                                        std::to_string(kMaxNoteBytes)));
  std::lock_guard lk(reader_mu_);
  auto r = exec_retry(*reader_, "UPDATE journal SET note = $1 WHERE tenant = $2 AND id = $3",
                         {pg::sanitize_utf8(note), pg::sanitize_utf8(tenant), std::to_string(id)},
                         Steady::now() + options_.query_timeout);
  if (!r) return fail(r.error());
  if (r->affected() == 0) return fail(Error::not_found("journal entry " + std::to_string(id) + " not found"));
  return {};
}

Result<std::size_t> PgJournalStore::count(const ports::JournalQuery& q) {
  auto qq = q;
  qq.before_id.reset();
  PgConn::Params args;
  const std::string sql = "SELECT count(*) FROM journal" + where(qq, std::nullopt, args);
  std::lock_guard lk(reader_mu_);
  auto r = exec_retry(*reader_, sql, args, Steady::now() + options_.query_timeout);
  if (!r) return fail(r.error());
  if (r->size() != 1) return fail(Error::internal("journal " + location_ + ": count without a row"));
  return static_cast<std::size_t>(r->i64(0, 0));
}

Status PgJournalStore::update(const std::string& tenant, std::int64_t id, const ports::EntryUpdate& u) {
  if (u.note && u.note->size() > kMaxNoteBytes)
    return fail(Error::invalid_argument("note is " + std::to_string(u.note->size()) + " bytes; the limit is " +
                                        std::to_string(kMaxNoteBytes)));
  if (u.empty()) return {};
  PgConn::Params args;
  std::string sql = "UPDATE journal SET ";
  auto set = [&](const char* col, std::optional<std::string> v) {
    if (!args.empty()) sql += ", ";
    args.emplace_back(std::move(v));
    sql += std::string(col) + " = $" + std::to_string(args.size());
  };
  if (u.note) set("note", pg::sanitize_utf8(*u.note));
  if (u.done) set("done", *u.done ? "t" : "f");
  if (u.contact) {
    const auto& c = *u.contact;
    set("contact_id", c ? std::optional<std::string>(pg::sanitize_utf8(c->id)) : std::nullopt);
    set("contact_name", c ? std::optional<std::string>(pg::sanitize_utf8(c->name)) : std::nullopt);
    set("contact_company", c ? std::optional<std::string>(pg::sanitize_utf8(c->company)) : std::nullopt);
    set("contact_source", c ? std::optional<std::string>(pg::sanitize_utf8(c->source)) : std::nullopt);
  }
  args.emplace_back(pg::sanitize_utf8(tenant));
  sql += " WHERE tenant = $" + std::to_string(args.size());
  args.emplace_back(std::to_string(id));
  sql += " AND id = $" + std::to_string(args.size());
  std::lock_guard lk(reader_mu_);
  auto r = exec_retry(*reader_, sql, args, Steady::now() + options_.query_timeout);
  if (!r) return fail(r.error());
  if (r->affected() == 0) return fail(Error::not_found("journal entry " + std::to_string(id) + " not found"));
  return {};
}

Result<std::size_t> PgJournalStore::purge_before(base::Timestamp cutoff) {
  std::lock_guard lk(reader_mu_);
  auto r = exec_retry(*reader_, "DELETE FROM journal WHERE ended_at < $1", {std::to_string(base::to_micros(cutoff))},
                         Steady::now() + options_.query_timeout);
  if (!r) return fail(r.error());
  return r->affected();
}

PgJournalStore::Stats PgJournalStore::stats() const { return batches_->stats(); }

}  // namespace callbridge::journal
