#include "journal/sqlite/sqlite_journal_store.hpp"

#include <sqlite3.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <algorithm>
#include <string_view>
#include <utility>
#include <variant>

#include "storage/sqlite/connection.hpp"
#include "storage/sqlite/statement.hpp"

namespace callbridge::journal {

using base::Error;
using base::fail;
using base::Result;
using base::Status;

namespace {

// PRAGMA application_id marks the file as ours ("CBJN"), so a foreign SQLite file is refused.
constexpr int kApplicationId = 0x43424A4E;
constexpr std::size_t kMaxQueryLimit = 10'000;

// Migration N (1-based) brings the schema from version N-1 to N. Append only; never edit one
// that has shipped.
constexpr std::string_view kMigrations[] = {
    // 1: the journal table.
    R"sql(
CREATE TABLE journal (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant TEXT NOT NULL,
  call_id TEXT NOT NULL,
  party TEXT NOT NULL,
  direction TEXT NOT NULL,
  remote TEXT,
  remote_withheld INTEGER NOT NULL DEFAULT 0,
  remote_name TEXT,
  disposition TEXT NOT NULL,
  started_at INTEGER NOT NULL,   -- microseconds since the Unix epoch, UTC
  answered_at INTEGER,
  ended_at INTEGER NOT NULL,
  hold_s REAL NOT NULL DEFAULT 0,
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
    // 2: estimated times (JournalEntry::estimated bits) and the open-call state of the PBX
    // drivers (ports::JournalStore::put_open_state), committed with the entries that end it.
    R"sql(
ALTER TABLE journal ADD COLUMN estimated INTEGER NOT NULL DEFAULT 0;
CREATE TABLE open_state (
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  text TEXT NOT NULL,
  PRIMARY KEY (scope, key)
) WITHOUT ROWID;
)sql",
    // 3: the `done` mark of missed calls dealt with (model::resolves_missed, PATCH), and indexes
    // for newest-first by start (GET /api/v1/journal) and for finding a party's open missed calls.
    R"sql(
ALTER TABLE journal ADD COLUMN done INTEGER NOT NULL DEFAULT 0;
CREATE INDEX journal_tenant_party_started ON journal(tenant, party, started_at);
CREATE INDEX journal_open_missed ON journal(tenant, party, remote) WHERE disposition = 'missed' AND done = 0;
)sql",
    // 4: AnyDevice (docs/journal.md "AnyDevice"): the user's external device that carried the
    // call - its number, its name, whether it is a private device. Older rows: the desk phone.
    R"sql(
ALTER TABLE journal ADD COLUMN device_number TEXT;
ALTER TABLE journal ADD COLUMN device_name TEXT;
ALTER TABLE journal ADD COLUMN private_device INTEGER NOT NULL DEFAULT 0;
)sql",
    // 5: channel accounting (docs/call-control.md): the trunk-channel seconds of the entry.
    // Older rows: 0 (not counted then).
    R"sql(
ALTER TABLE journal ADD COLUMN trunk_channel_s REAL NOT NULL DEFAULT 0;
)sql",
};
static_assert(std::size(kMigrations) == SqliteJournalStore::kSchemaVersion);

constexpr const char* kColumns =
    "id, tenant, call_id, party, direction, remote, remote_withheld, remote_name, disposition, "
    "started_at, answered_at, ended_at, hold_s, transferred_to, transferred_from, contact_id, "
    "contact_name, contact_company, contact_source, note, estimated, done, device_number, device_name, "
    "private_device, trunk_channel_s";

using Stmt = storage::sqlite::Statement;

}  // namespace

namespace detail {
// A connection and, on the writer's, its prepared statements (declared after it: they go first).
struct SqliteDb {
  std::unique_ptr<storage::sqlite::Connection> conn;
  Stmt insert;      // writer only
  Stmt state_put;   // writer only
  Stmt state_drop;  // writer only
  Stmt resolve;     // writer only

  Error err(std::string_view what) const { return conn->err(what); }
  Status exec(std::string_view sql, std::string_view what) { return conn->exec(sql, what); }
  Result<Stmt> prepare(std::string_view sql) { return conn->prepare(sql, SQLITE_PREPARE_PERSISTENT); }
};
}  // namespace detail

using detail::SqliteDb;

static Result<std::unique_ptr<SqliteDb>> open_db(const std::string& path, bool read_only) {
  auto conn = storage::sqlite::Connection::open(
      path, "journal", {.read_only = read_only, .wal = false, .file_kind = "a callbridge journal"});
  if (!conn) return fail(conn.error());
  auto db = std::make_unique<SqliteDb>();
  db->conn = std::move(*conn);
  return db;
}

static const storage::sqlite::Schema kSchema{kApplicationId, kMigrations, "a callbridge journal"};

SqliteJournalStore::SqliteJournalStore(std::string path, Options options)
    : path_(std::move(path)), options_(options) {}

Result<std::unique_ptr<SqliteJournalStore>> SqliteJournalStore::open(const std::string& path,
                                                                     Options options) {
  std::error_code ec;
  if (options.read_only && !std::filesystem::exists(path, ec))
    return fail(Error::not_found("no journal at " + path));

  std::unique_ptr<SqliteJournalStore> store(new SqliteJournalStore(path, options));
  auto db = open_db(path, options.read_only);
  if (!db) return fail(db.error());
  auto& conn = *(*db)->conn;

  if (options.read_only) {
    auto tables = conn.scalar("SELECT count(*) FROM sqlite_master", "reading the schema");
    if (!tables) return fail(tables.error());
    if (*tables == 0)
      return fail(Error::not_found("journal " + path + ": is empty (no journal was ever written)"));
    if (auto st = storage::sqlite::check_schema(conn, kSchema); !st) return fail(st.error());
  } else {
    // The migration first refuses a file that is not ours; only then is it switched to WAL.
    auto version = storage::sqlite::migrate(conn, kSchema);
    if (!version) return fail(version.error());
    if (auto st = conn.exec("PRAGMA journal_mode=WAL", "enabling WAL"); !st) return fail(st.error());
    if (*version < kSchemaVersion)
      spdlog::info("journal {}: schema migrated from version {} to {}", path, *version, kSchemaVersion);
  }

  const char* sync = options.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL";
  if (!options.read_only) {
    if (auto st = (*db)->exec(sync, "setting synchronous"); !st) return fail(st.error());
    store->reader_ = std::move(*db);
    auto w = open_db(path, false);
    if (!w) return fail(w.error());
    if (auto st = (*w)->exec(sync, "setting synchronous"); !st) return fail(st.error());
    auto ins = (*w)->prepare(
        "INSERT INTO journal (tenant, call_id, party, direction, remote, remote_withheld, "
        "remote_name, disposition, started_at, answered_at, ended_at, hold_s, transferred_to, "
        "transferred_from, contact_id, contact_name, contact_company, contact_source, note, "
        "estimated, done, device_number, device_name, private_device, trunk_channel_s) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
        "?19, ?20, ?21, ?22, ?23, ?24, ?25)");
    if (!ins) return fail(ins.error());
    (*w)->insert = std::move(*ins);
    // The party's earlier open missed calls from the same remote (model::resolves_missed).
    // INDEXED BY: without statistics the planner picks journal_tenant_party_started and walks
    // every entry of the party started before (all of its history: one table seek each, for
    // every answered call); the partial index holds only the open missed calls.
    auto res = (*w)->prepare(
        "UPDATE journal INDEXED BY journal_open_missed SET done = 1 WHERE tenant = ?1 AND party = ?2 AND remote = ?3 AND "
        "disposition = 'missed' AND done = 0 AND started_at <= ?4 RETURNING id");
    if (!res) return fail(res.error());
    (*w)->resolve = std::move(*res);
    auto put = (*w)->prepare("INSERT OR REPLACE INTO open_state (scope, key, text) VALUES (?1, ?2, ?3)");
    if (!put) return fail(put.error());
    (*w)->state_put = std::move(*put);
    auto drop = (*w)->prepare("DELETE FROM open_state WHERE scope = ?1 AND key = ?2");
    if (!drop) return fail(drop.error());
    (*w)->state_drop = std::move(*drop);
    store->writer_ = std::move(*w);
    JournalBatchWriter::Options wo;
    wo.location = "journal " + path;
    wo.max_queued = options.max_queued;
    wo.max_batch = options.max_batch;
    store->batches_ = std::make_unique<JournalBatchWriter>(
        std::move(wo), [s = store.get()](auto& batch, auto& ids) { return s->write_batch(batch, ids); });
  } else {
    store->reader_ = std::move(*db);
  }
  return store;
}

SqliteJournalStore::~SqliteJournalStore() { batches_.reset(); }  // drains before the connections go

void SqliteJournalStore::append(model::JournalEntry entry) {
  CB_CHECK(!options_.read_only, "append() on a read-only journal store");
  batches_->append(std::move(entry));
}

void SqliteJournalStore::put_open_state(std::string scope, std::string key, std::string text) {
  CB_CHECK(!options_.read_only, "put_open_state() on a read-only journal store");
  batches_->put_state(std::move(scope), std::move(key), std::move(text));
}

Result<std::vector<std::string>> SqliteJournalStore::load_open_state(const std::string& scope) {
  std::lock_guard lk(reader_mu_);
  auto st = reader_->prepare("SELECT text FROM open_state WHERE scope = ?1 ORDER BY key");
  if (!st) return fail(st.error());
  st->bind(1, scope);
  std::vector<std::string> out;
  int rc;
  while ((rc = st->step()) == SQLITE_ROW) out.push_back(st->text(0));
  if (rc != SQLITE_DONE) return fail(reader_->err("reading open_state"));
  return out;
}

Status SqliteJournalStore::flush() {
  if (options_.read_only) return {};
  return batches_->flush();
}

bool SqliteJournalStore::set_on_committed(CommittedFn fn) {
  return batches_ && batches_->set_on_committed(std::move(fn));
}

Status SqliteJournalStore::write_batch(std::deque<JournalWrite>& batch, std::vector<std::int64_t>& ids) {
  ids.clear();
  ids.reserve(batch.size());
  auto& d = *writer_;
  if (auto st = d.exec("BEGIN IMMEDIATE", "begin"); !st) return st;
  Stmt& s = d.insert;
  // Puts or deletes one open_state row (inside the batch's transaction).
  auto state_row = [&](std::string_view scope, std::string_view key, std::string_view text) -> Status {
    Stmt& q = text.empty() ? d.state_drop : d.state_put;
    q.reset();
    q.bind(1, scope);
    q.bind(2, key);
    if (!text.empty()) q.bind(3, text);
    if (q.step() != SQLITE_DONE) {
      auto e2 = d.err("open_state");
      q.reset();
      d.exec("ROLLBACK", "rollback");
      return fail(std::move(e2));
    }
    q.reset();
    return {};
  };
  for (auto& w : batch) {
    w.resolved.clear();
    if (w.state) {
      if (auto st = state_row(w.state->scope, w.state->key, w.state->text); !st) return st;
      continue;
    }
    const auto& e = *w.entry;
    if (!e.state_key.empty()) {
      // The call this entry completes leaves the open state in the same transaction.
      if (auto st = state_row(e.state_scope, e.state_key, {}); !st) return st;
    }
    s.reset();
    s.bind(1, e.tenant);
    s.bind(2, e.call_id);
    s.bind(3, e.party);
    s.bind(4, model::to_string(e.direction));
    s.bind(5, e.remote);
    s.bind(6, e.remote_withheld ? 1 : 0);
    s.bind(7, e.remote_name);
    s.bind(8, model::to_string(e.disposition));
    s.bind(9, base::to_micros(e.started_at));
    if (e.answered_at) s.bind(10, base::to_micros(*e.answered_at));
    else s.bind_null(10);
    s.bind(11, base::to_micros(e.ended_at));
    s.bind(12, e.hold_s);
    s.bind(13, e.transferred_to);
    s.bind(14, e.transferred_from);
    if (e.contact) {
      s.bind(15, e.contact->id);
      s.bind(16, e.contact->name);
      s.bind(17, e.contact->company);
      s.bind(18, e.contact->source);
    }
    s.bind(19, e.note);
    s.bind(20, static_cast<int>(e.estimated));
    s.bind(21, e.done ? 1 : 0);
    s.bind(22, e.device_number);
    s.bind(23, e.device_name);
    s.bind(24, e.private_device ? 1 : 0);
    s.bind(25, e.trunk_channel_s);
    if (s.step() != SQLITE_DONE) {
      auto e2 = d.err("insert");
      s.reset();
      d.exec("ROLLBACK", "rollback");
      return fail(std::move(e2));
    }
    ids.push_back(d.conn->last_insert_rowid());
    if (model::resolves_missed(e)) {
      Stmt& r = d.resolve;
      r.reset();
      r.bind(1, e.tenant);
      r.bind(2, e.party);
      r.bind(3, *e.remote);
      r.bind(4, base::to_micros(e.started_at));
      int rc;
      while ((rc = r.step()) == SQLITE_ROW) w.resolved.push_back(r.i64(0));
      r.reset();
      std::sort(w.resolved.begin(), w.resolved.end());
      if (rc != SQLITE_DONE) {
        auto e2 = d.err("marking missed calls done");
        s.reset();
        d.exec("ROLLBACK", "rollback");
        return fail(std::move(e2));
      }
    }
  }
  s.reset();
  if (auto st = d.exec("COMMIT", "commit"); !st) {
    d.exec("ROLLBACK", "rollback");
    return st;
  }
  return {};
}

// " AND ..." conditions of `q` with their bindings (numbered ?N); `before` is the started_at of
// entry q.before_id when it still exists (looked up by the caller).
std::string SqliteJournalStore::where(const ports::JournalQuery& q, std::optional<std::int64_t> before_start,
                                      std::vector<std::variant<std::string, std::int64_t>>& args) {
  auto param = [&](std::variant<std::string, std::int64_t> v) {
    args.push_back(std::move(v));
    return "?" + std::to_string(args.size());
  };
  std::string sql = " WHERE tenant = " + param(q.tenant.str());
  if (q.id) sql += " AND id = " + param(*q.id);
  if (q.party) sql += " AND party = " + param(*q.party);
  if (q.direction) sql += " AND direction = " + param(std::string(model::to_string(*q.direction)));
  if (q.disposition) sql += " AND disposition = " + param(std::string(model::to_string(*q.disposition)));
  if (q.missed_only) sql += " AND disposition = 'missed'";
  if (q.done) sql += *q.done ? " AND done = 1" : " AND done = 0";
  if (q.since) sql += " AND started_at >= " + param(base::to_micros(*q.since));
  if (q.until) sql += " AND started_at < " + param(base::to_micros(*q.until));
  if (q.text && !q.text->empty()) {
    std::string pattern = "%";
    for (char c : *q.text) {
      if (c == '%' || c == '_' || c == '\\') pattern += '\\';
      pattern += c;
    }
    pattern += '%';
    const std::string p = param(std::move(pattern));  // bound once, used six times
    sql += " AND (";
    const char* cols[] = {"remote", "remote_name", "party", "note", "contact_name", "contact_company"};
    for (std::size_t i = 0; i < std::size(cols); ++i)
      sql += std::string(i ? " OR " : "") + cols[i] + " LIKE " + p + " ESCAPE '\\'";
    sql += ")";
  }
  if (q.before_id) {
    const std::string b = param(*q.before_id);
    if (before_start) {
      const std::string t = param(*before_start);
      sql += " AND (started_at < " + t + " OR (started_at = " + t + " AND id < " + b + "))";
    } else {
      sql += " AND id < " + b;  // the page's last entry is gone (purged): by id
    }
  }
  return sql;
}

// Binds `args` to `s` in order.
static void bind_all(Stmt& s, const std::vector<std::variant<std::string, std::int64_t>>& args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const int idx = static_cast<int>(i + 1);
    if (auto* str = std::get_if<std::string>(&args[i])) s.bind(idx, *str);
    else s.bind(idx, std::get<std::int64_t>(args[i]));
  }
}

Result<std::vector<ports::StoredEntry>> SqliteJournalStore::query(const ports::JournalQuery& q) {
  std::lock_guard lk(reader_mu_);
  std::optional<std::int64_t> before_start;
  if (q.before_id) {
    auto b = reader_->prepare("SELECT started_at FROM journal WHERE tenant = ?1 AND id = ?2");
    if (!b) return fail(b.error());
    b->bind(1, q.tenant);
    b->bind(2, *q.before_id);
    int rc = b->step();
    if (rc == SQLITE_ROW) before_start = b->i64(0);
    else if (rc != SQLITE_DONE) return fail(reader_->err("query"));
  }
  std::vector<std::variant<std::string, std::int64_t>> args;
  std::string sql = std::string("SELECT ") + kColumns + " FROM journal" + where(q, before_start, args);
  sql += " ORDER BY started_at DESC, id DESC LIMIT " + std::to_string(std::min(q.limit, kMaxQueryLimit));

  auto st = reader_->prepare(sql);
  if (!st) return fail(st.error());
  Stmt& s = *st;
  bind_all(s, args);
  std::vector<ports::StoredEntry> out;
  for (;;) {
    int rc = s.step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return fail(reader_->err("query"));
    auto tenant = base::TenantId::parse(s.text(1), "journal row tenant");
    if (!tenant) return fail(tenant.error());  // not written by us: refuse rather than guess
    ports::StoredEntry r{.id = s.i64(0), .entry = model::JournalEntry{.tenant = *tenant}};
    auto& e = r.entry;
    e.call_id = s.text(2);
    e.party = s.text(3);
    e.direction = model::parse_direction(s.text(4)).value_or(model::Direction::inbound);
    e.remote = s.opt_text(5);
    e.remote_withheld = s.i64(6) != 0;
    e.remote_name = s.opt_text(7);
    e.disposition = model::parse_disposition(s.text(8)).value_or(model::Disposition::failed);
    e.started_at = base::from_micros(s.i64(9));
    if (!s.is_null(10))
      e.answered_at = base::from_micros(s.i64(10));
    e.ended_at = base::from_micros(s.i64(11));
    e.hold_s = s.f64(12);
    e.transferred_to = s.opt_text(13);
    e.transferred_from = s.opt_text(14);
    if (!s.is_null(15))
      e.contact = model::ContactRef{s.text(15), s.text(16), s.text(17),
                                    s.text(18)};
    e.note = s.text(19);
    e.estimated = static_cast<std::uint8_t>(s.i64(20) & 0xff);
    e.done = s.i64(21) != 0;
    e.device_number = s.opt_text(22);
    e.device_name = s.opt_text(23);
    e.private_device = s.i64(24) != 0;
    e.trunk_channel_s = s.f64(25);
    out.push_back(std::move(r));
  }
  return out;
}

Status SqliteJournalStore::set_note(const std::string& tenant, std::int64_t id,
                                    const std::string& note) {
  if (options_.read_only)
    return fail(Error::invalid_argument("journal " + path_ + ": opened read-only"));
  if (note.size() > kMaxNoteBytes)
    return fail(Error::invalid_argument("note is " + std::to_string(note.size()) +
                                        " bytes; the limit is " + std::to_string(kMaxNoteBytes)));
  std::lock_guard lk(reader_mu_);
  auto st = reader_->prepare("UPDATE journal SET note = ?1 WHERE tenant = ?2 AND id = ?3");
  if (!st) return fail(st.error());
  st->bind(1, note);
  st->bind(2, tenant);
  st->bind(3, id);
  if (st->step() != SQLITE_DONE) return fail(reader_->err("setting note"));
  if (reader_->conn->changes() == 0)
    return fail(Error::not_found("journal entry " + std::to_string(id) + " not found"));
  return {};
}

Result<std::size_t> SqliteJournalStore::count(const ports::JournalQuery& q) {
  auto qq = q;
  qq.before_id.reset();
  std::vector<std::variant<std::string, std::int64_t>> args;
  const std::string sql = "SELECT count(*) FROM journal" + where(qq, std::nullopt, args);
  std::lock_guard lk(reader_mu_);
  auto st = reader_->prepare(sql);
  if (!st) return fail(st.error());
  bind_all(*st, args);
  if (st->step() != SQLITE_ROW) return fail(reader_->err("count"));
  return static_cast<std::size_t>(st->i64(0));
}

Status SqliteJournalStore::update(const std::string& tenant, std::int64_t id, const ports::EntryUpdate& u) {
  if (options_.read_only)
    return fail(Error::invalid_argument("journal " + path_ + ": opened read-only"));
  if (u.note && u.note->size() > kMaxNoteBytes)
    return fail(Error::invalid_argument("note is " + std::to_string(u.note->size()) +
                                        " bytes; the limit is " + std::to_string(kMaxNoteBytes)));
  if (u.empty()) return {};
  // One statement: the fields given, numbered ?1.. in this order, then tenant and id.
  std::string sql = "UPDATE journal SET ";
  int n = 0;
  auto set = [&](const char* col) {
    if (n) sql += ", ";
    sql += std::string(col) + " = ?" + std::to_string(++n);
  };
  if (u.note) set("note");
  if (u.done) set("done");
  if (u.contact)
    for (const char* c : {"contact_id", "contact_name", "contact_company", "contact_source"}) set(c);
  sql += " WHERE tenant = ?" + std::to_string(n + 1) + " AND id = ?" + std::to_string(n + 2);
  std::lock_guard lk(reader_mu_);
  auto st = reader_->prepare(sql);
  if (!st) return fail(st.error());
  int i = 0;
  if (u.note) st->bind(++i, *u.note);
  if (u.done) st->bind(++i, std::int64_t{*u.done ? 1 : 0});
  if (u.contact) {
    if (*u.contact) {
      st->bind(++i, (*u.contact)->id);
      st->bind(++i, (*u.contact)->name);
      st->bind(++i, (*u.contact)->company);
      st->bind(++i, (*u.contact)->source);
    } else {
      i += 4;  // unbound parameters are NULL
    }
  }
  st->bind(++i, tenant);
  st->bind(++i, id);
  if (st->step() != SQLITE_DONE) return fail(reader_->err("updating an entry"));
  if (reader_->conn->changes() == 0)
    return fail(Error::not_found("journal entry " + std::to_string(id) + " not found"));
  return {};
}

Result<std::size_t> SqliteJournalStore::purge_before(base::Timestamp cutoff) {
  if (options_.read_only)
    return fail(Error::invalid_argument("journal " + path_ + ": opened read-only"));
  std::lock_guard lk(reader_mu_);
  auto st = reader_->prepare("DELETE FROM journal WHERE ended_at < ?1");
  if (!st) return fail(st.error());
  st->bind(1, base::to_micros(cutoff));
  if (st->step() != SQLITE_DONE) return fail(reader_->err("purging"));
  return static_cast<std::size_t>(reader_->conn->changes());
}

SqliteJournalStore::Stats SqliteJournalStore::stats() const { return batches_ ? batches_->stats() : Stats{}; }

}  // namespace callbridge::journal
