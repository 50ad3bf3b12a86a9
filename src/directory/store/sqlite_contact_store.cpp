#include "directory/store/sqlite_contact_store.hpp"

#include <chrono>
#include <string>

#include "directory/store/contact_rules.hpp"
#include "storage/sqlite/connection.hpp"
#include "storage/sqlite/statement.hpp"

namespace callbridge::directory {
namespace {

using base::Error;
using base::fail;
using ports::Contact;
using ports::ContactMatch;

using Stmt = storage::sqlite::Statement;

std::int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Lets a running statement give up at the query deadline (SQLite calls this every N VM steps).
int deadline_handler(void* arg) {
  auto* deadline = static_cast<std::chrono::steady_clock::time_point*>(arg);
  return std::chrono::steady_clock::now() > *deadline ? 1 : 0;
}

constexpr const char* kContactColumns =
    "id, kind, display_name, given_name, family_name, company, email, note, origin";

Contact read_contact(const Stmt& s, const base::TenantId& tenant) {
  Contact c{.id = s.i64(0), .tenant = tenant};
  c.kind = ports::parse_contact_kind(s.text(1)).value_or(ports::ContactKind::person);
  c.display_name = s.text(2);
  c.given_name = s.text(3);
  c.family_name = s.text(4);
  c.company = s.text(5);
  c.email = s.text(6);
  c.note = s.text(7);
  c.origin = s.text(8);
  return c;
}

}  // namespace

SqliteContactStore::SqliteContactStore(SqliteContactStoreOptions opts,
                                       std::unique_ptr<storage::sqlite::Connection> conn)
    : opts_(std::move(opts)), conn_(std::move(conn)), db_(conn_->get()) {}

SqliteContactStore::~SqliteContactStore() {
  for (auto& [sql, st] : stmts_) sqlite3_finalize(st);
}

sqlite3_stmt* SqliteContactStore::cached_locked(const std::string& sql) {
  if (auto it = stmts_.find(sql); it != stmts_.end()) return it->second;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &st,
                         nullptr) != SQLITE_OK)
    return nullptr;
  stmts_.emplace(sql, st);
  return st;
}

base::Error SqliteContactStore::sql_error(const char* what) const { return conn_->err(what); }

base::Status SqliteContactStore::exec(const char* sql) { return conn_->exec(sql, "exec"); }

base::Result<std::unique_ptr<SqliteContactStore>> SqliteContactStore::open(
    SqliteContactStoreOptions opts) {
  // Serialized: the lookup path's progress handler and the writers share the connection.
  auto conn = storage::sqlite::Connection::open(opts.path, "contact store",
                                                {.serialized = true, .file_kind = "a callbridge contact store"});
  if (!conn) return fail(conn.error());
  std::unique_ptr<SqliteContactStore> s(new SqliteContactStore(std::move(opts), std::move(*conn)));
  if (auto st = s->migrate(); !st) return fail(st.error());
  return s;
}

base::Status SqliteContactStore::migrate() {
  if (auto st = exec("PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-32768;"
                     "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)");
      !st)
    return st;
  int version = 0;
  {
    Stmt s(db_, "SELECT value FROM meta WHERE key='schema_version'");
    if (!s.ok()) return fail(sql_error("read schema version"));
    if (s.step() == SQLITE_ROW) version = std::stoi(s.text(0));
  }
  if (version > kSchemaVersion) {
    return fail(Error::conflict("contact store " + opts_.path + " has schema version " +
                                std::to_string(version) + ", this build knows up to " +
                                std::to_string(kSchemaVersion)));
  }
  if (version == kSchemaVersion) return {};
  return exec(
      "BEGIN IMMEDIATE;"
      "CREATE TABLE contacts(id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, kind TEXT NOT NULL,"
      " display_name TEXT NOT NULL, given_name TEXT NOT NULL DEFAULT '',"
      " family_name TEXT NOT NULL DEFAULT '', company TEXT NOT NULL DEFAULT '',"
      " email TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '',"
      " origin TEXT NOT NULL DEFAULT '', updated_at INTEGER NOT NULL);"
      "CREATE INDEX contacts_by_name ON contacts(tenant, display_name);"
      "CREATE TABLE numbers(id INTEGER PRIMARY KEY,"
      " contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,"
      " tenant TEXT NOT NULL, label TEXT NOT NULL DEFAULT '', raw TEXT NOT NULL DEFAULT '',"
      " e164 TEXT NOT NULL);"
      "CREATE INDEX numbers_by_e164 ON numbers(tenant, e164);"
      "CREATE INDEX numbers_by_contact ON numbers(contact_id);"
      "CREATE TABLE tenant_changes(tenant TEXT PRIMARY KEY, seq INTEGER NOT NULL);"
      "INSERT INTO meta(key, value) VALUES('schema_version', '1');"
      "COMMIT;");
}

base::Result<Contact> SqliteContactStore::prepare(const Contact& in) const {
  return normalize_contact(in, opts_.to_e164);
}

base::Status SqliteContactStore::bump_locked(const base::TenantId& tenant) {
  Stmt s(db_,
         "INSERT INTO tenant_changes(tenant, seq) VALUES(?, 1)"
         " ON CONFLICT(tenant) DO UPDATE SET seq = seq + 1");
  s.bind(1, tenant);
  if (s.step() != SQLITE_DONE) return fail(sql_error("bump change counter"));
  return {};
}

base::Status SqliteContactStore::insert_numbers_locked(const Contact& c, std::int64_t id) {
  auto s = Stmt::borrow(cached_locked("INSERT INTO numbers(contact_id, tenant, label, raw, e164) VALUES(?,?,?,?,?)"));
  if (!s.ok()) return fail(sql_error("prepare number insert"));
  for (const auto& n : c.numbers) {
    s.bind(1, id);
    s.bind(2, c.tenant);
    s.bind(3, n.label);
    s.bind(4, n.raw);
    s.bind(5, n.e164);
    if (s.step() != SQLITE_DONE) return fail(sql_error("insert number"));
    s.reset();
  }
  return {};
}

base::Result<std::int64_t> SqliteContactStore::insert_locked(const Contact& c) {
  auto s = Stmt::borrow(cached_locked(
      "INSERT INTO contacts(tenant, kind, display_name, given_name, family_name, company,"
      " email, note, origin, updated_at) VALUES(?,?,?,?,?,?,?,?,?,?)"));
  if (!s.ok()) return fail(sql_error("prepare contact insert"));
  s.bind(1, c.tenant);
  s.bind(2, ports::to_string(c.kind));
  s.bind(3, c.display_name);
  s.bind(4, c.given_name);
  s.bind(5, c.family_name);
  s.bind(6, c.company);
  s.bind(7, c.email);
  s.bind(8, c.note);
  s.bind(9, c.origin);
  s.bind(10, now_unix());
  if (s.step() != SQLITE_DONE) return fail(sql_error("insert contact"));
  std::int64_t id = sqlite3_last_insert_rowid(db_);
  if (auto st = insert_numbers_locked(c, id); !st) return fail(st.error());
  return id;
}

base::Result<std::int64_t> SqliteContactStore::create(const Contact& in) {
  auto c = prepare(in);
  if (!c) return fail(c.error());
  std::lock_guard lock(mu_);
  if (auto st = exec("BEGIN IMMEDIATE"); !st) return fail(st.error());
  auto id = insert_locked(*c);
  if (id) {
    if (auto st = bump_locked(c->tenant); !st) id = fail(st.error());
  }
  if (!id) {
    (void)exec("ROLLBACK");
    return id;
  }
  if (auto st = exec("COMMIT"); !st) return fail(st.error());
  return id;
}

base::Status SqliteContactStore::update(const Contact& in) {
  auto c = prepare(in);
  if (!c) return fail(c.error());
  std::lock_guard lock(mu_);
  if (auto st = exec("BEGIN IMMEDIATE"); !st) return st;
  auto body = [&]() -> base::Status {
    Stmt s(db_,
           "UPDATE contacts SET kind=?, display_name=?, given_name=?, family_name=?, company=?,"
           " email=?, note=?, origin=?, updated_at=? WHERE id=? AND tenant=?");
    s.bind(1, ports::to_string(c->kind));
    s.bind(2, c->display_name);
    s.bind(3, c->given_name);
    s.bind(4, c->family_name);
    s.bind(5, c->company);
    s.bind(6, c->email);
    s.bind(7, c->note);
    s.bind(8, c->origin);
    s.bind(9, now_unix());
    s.bind(10, c->id);
    s.bind(11, c->tenant);
    if (s.step() != SQLITE_DONE) return fail(sql_error("update contact"));
    if (sqlite3_changes(db_) == 0)
      return fail(Error::not_found("no contact " + std::to_string(c->id)));
    Stmt d(db_, "DELETE FROM numbers WHERE contact_id=?");
    d.bind(1, c->id);
    if (d.step() != SQLITE_DONE) return fail(sql_error("replace numbers"));
    if (auto st = insert_numbers_locked(*c, c->id); !st) return st;
    return bump_locked(c->tenant);
  };
  if (auto st = body(); !st) {
    (void)exec("ROLLBACK");
    return st;
  }
  return exec("COMMIT");
}

base::Status SqliteContactStore::remove(const base::TenantId& tenant, std::int64_t id) {
  std::lock_guard lock(mu_);
  if (auto st = exec("BEGIN IMMEDIATE"); !st) return st;
  Stmt s(db_, "DELETE FROM contacts WHERE id=? AND tenant=?");
  s.bind(1, id);
  s.bind(2, tenant);
  base::Status st;
  if (s.step() != SQLITE_DONE) {
    st = fail(sql_error("delete contact"));
  } else if (sqlite3_changes(db_) == 0) {
    st = fail(Error::not_found("no contact " + std::to_string(id)));
  } else {
    st = bump_locked(tenant);
  }
  if (!st) {
    (void)exec("ROLLBACK");
    return st;
  }
  return exec("COMMIT");
}

base::Result<Contact> SqliteContactStore::get(const base::TenantId& tenant, std::int64_t id) {
  std::lock_guard lock(mu_);
  Stmt s(db_, std::string("SELECT ") + kContactColumns + " FROM contacts WHERE id=? AND tenant=?");
  s.bind(1, id);
  s.bind(2, tenant);
  int rc = s.step();
  if (rc == SQLITE_DONE) return fail(Error::not_found("no contact " + std::to_string(id)));
  if (rc != SQLITE_ROW) return fail(sql_error("get contact"));
  Contact c = read_contact(s, tenant);
  Stmt n(db_, "SELECT label, raw, e164 FROM numbers WHERE contact_id=? ORDER BY id");
  n.bind(1, id);
  while (n.step() == SQLITE_ROW) c.numbers.push_back({n.text(0), n.text(1), n.text(2)});
  return c;
}

base::Result<std::vector<Contact>> SqliteContactStore::list(const base::TenantId& tenant,
                                                            std::string_view text,
                                                            std::size_t limit) {
  std::lock_guard lock(mu_);
  std::string like = "%";
  for (char ch : text) {
    if (ch == '%' || ch == '_' || ch == '\\') like.push_back('\\');
    like.push_back(ch);
  }
  like += "%";
  Stmt q(db_, std::string("SELECT ") + kContactColumns +
                  " FROM contacts c WHERE tenant=?1 AND (display_name LIKE ?2 ESCAPE '\\'"
                  " OR company LIKE ?2 ESCAPE '\\' OR EXISTS(SELECT 1 FROM numbers n WHERE"
                  " n.contact_id=c.id AND (n.e164 LIKE ?2 ESCAPE '\\' OR n.raw LIKE ?2 ESCAPE '\\')))"
                  " ORDER BY display_name, id LIMIT ?3");
  if (!q.ok()) return fail(sql_error("list contacts"));
  q.bind(1, tenant);
  q.bind(2, like);
  q.bind(3, static_cast<std::int64_t>(limit));
  std::vector<Contact> out;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) out.push_back(read_contact(q, tenant));
  if (rc != SQLITE_DONE) return fail(sql_error("list contacts"));
  Stmt n(db_, "SELECT label, raw, e164 FROM numbers WHERE contact_id=? ORDER BY id");
  for (auto& c : out) {
    n.bind(1, c.id);
    while (n.step() == SQLITE_ROW) c.numbers.push_back({n.text(0), n.text(1), n.text(2)});
    n.reset();
  }
  return out;
}

base::Result<ports::ImportCommit> SqliteContactStore::import_all(
    const base::TenantId& tenant, const std::vector<Contact>& contacts,
    const ports::ImportOptions& opts) {
  std::vector<Contact> ready;
  ready.reserve(contacts.size());
  for (std::size_t i = 0; i < contacts.size(); ++i) {
    Contact c = contacts[i];
    c.tenant = tenant;
    auto p = prepare(c);
    if (!p)
      return fail(Error::invalid_argument("contact #" + std::to_string(i + 1) + " (" +
                                          contacts[i].display_name + "): " + p.error().message()));
    ready.push_back(std::move(*p));
  }
  std::lock_guard lock(mu_);
  if (auto st = exec("BEGIN IMMEDIATE"); !st) return fail(st.error());
  ports::ImportCommit out;
  auto body = [&]() -> base::Status {
    if (opts.replace_tenant) {
      Stmt d(db_, "DELETE FROM contacts WHERE tenant=?");
      d.bind(1, tenant);
      if (d.step() != SQLITE_DONE) return fail(sql_error("replace contacts"));
      out.replaced = static_cast<std::size_t>(sqlite3_changes(db_));
    }
    for (const auto& c : ready) {
      auto id = insert_locked(c);
      if (!id) return fail(id.error());
      ++out.contacts;
      out.numbers += c.numbers.size();
    }
    return bump_locked(tenant);
  };
  if (auto st = body(); !st) {
    (void)exec("ROLLBACK");
    return fail(st.error());
  }
  if (auto st = exec("COMMIT"); !st) {
    (void)exec("ROLLBACK");
    return fail(st.error());
  }
  return out;
}

base::Result<std::size_t> SqliteContactStore::count(const base::TenantId& tenant) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT count(*) FROM contacts WHERE tenant=?");
  s.bind(1, tenant);
  if (s.step() != SQLITE_ROW) return fail(sql_error("count contacts"));
  return static_cast<std::size_t>(s.i64(0));
}

std::optional<std::uint64_t> SqliteContactStore::change_token(const base::TenantId& tenant) {
  std::lock_guard lock(mu_);
  auto s = Stmt::borrow(cached_locked("SELECT seq FROM tenant_changes WHERE tenant=?"));
  if (!s.ok()) return std::nullopt;
  s.bind(1, tenant);
  int rc = s.step();
  if (rc == SQLITE_ROW) return static_cast<std::uint64_t>(s.i64(0));
  if (rc == SQLITE_DONE) return 0;
  return std::nullopt;  // unreadable: the cache then trusts its TTL
}

base::Result<std::vector<ContactMatch>> SqliteContactStore::lookup(const ports::LookupQuery& q) {
  const auto& cands = q.candidates.empty() ? std::vector<std::string>{q.e164} : q.candidates;
  if (cands.size() > 64) return fail(Error::invalid_argument("too many lookup candidates"));
  std::string sql =
      "SELECT c.id, c.kind, c.display_name, c.company, n.e164, n.label FROM numbers n"
      " JOIN contacts c ON c.id = n.contact_id WHERE n.tenant=? AND n.e164 IN (";
  for (std::size_t i = 0; i < cands.size(); ++i) sql += i ? ",?" : "?";
  sql += ") ORDER BY c.display_name, c.id, n.id";
  std::lock_guard lock(mu_);
  auto deadline = q.deadline;
  bool has_deadline = deadline != std::chrono::steady_clock::time_point{};
  if (has_deadline) sqlite3_progress_handler(db_, 1000, deadline_handler, &deadline);
  auto s = Stmt::borrow(cached_locked(sql));
  std::vector<ContactMatch> out;
  int rc = SQLITE_ERROR;
  if (s.ok()) {
    s.bind(1, q.tenant);
    for (std::size_t i = 0; i < cands.size(); ++i) s.bind(static_cast<int>(i + 2), cands[i]);
    while ((rc = s.step()) == SQLITE_ROW) {
      ContactMatch m;
      m.source = opts_.name;
      m.priority = opts_.priority;
      m.contact_id = std::to_string(s.i64(0));
      m.kind = ports::parse_contact_kind(s.text(1)).value_or(ports::ContactKind::person);
      m.display_name = s.text(2);
      m.company = s.text(3);
      m.matched_number = s.text(4);
      m.label = s.text(5);
      out.push_back(std::move(m));
    }
  }
  if (has_deadline) sqlite3_progress_handler(db_, 0, nullptr, nullptr);
  if (rc == SQLITE_INTERRUPT) return fail(Error::timeout("contact store lookup timed out"));
  if (rc != SQLITE_DONE) return fail(sql_error("contact lookup"));
  return out;
}

}  // namespace callbridge::directory
