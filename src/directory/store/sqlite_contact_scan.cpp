// SqliteContactStore::scan and scan_contacts_file: one tenant's contacts and numbers straight from
// contacts.db in one read transaction, for the in-memory index (directory/index) through
// ports::ContactScanner. Runs on the caller's thread (the index loader's) with its own
// read-only connection, so it never waits for the store's mutex.
#include "directory/store/sqlite_contact_store.hpp"

#include <limits>

#include "storage/sqlite/connection.hpp"
#include "storage/sqlite/statement.hpp"

namespace callbridge::directory {

namespace {

using base::Error;
using base::fail;
using storage::sqlite::Statement;

}  // namespace

base::Result<std::uint64_t> scan_contacts_file(const std::string& path, const std::string& tenant,
                                               ports::ContactScanSink& sink,
                                               const std::function<void(std::size_t)>& progress) {
  auto conn = storage::sqlite::Connection::open(
      path, "contact index", {.read_only = true, .check_readable = false, .file_kind = "a callbridge contact store"});
  if (!conn) return fail(conn.error());
  auto& db = **conn;
  auto err = [&](const char* what) { return db.err(what); };
  if (auto st = db.exec("BEGIN", "begin"); !st) return fail(st.error());
  {
    Statement v(db.get(), "SELECT value FROM meta WHERE key='schema_version'");
    if (!v.ok()) return fail(err("read schema version"));
    if (v.step() != SQLITE_ROW || v.view(0) != "1") {
      return fail(Error::conflict("contact index: " + path + " is not a version 1 contact store"));
    }
  }
  std::uint64_t token = 0;
  {
    Statement t(db.get(), "SELECT seq FROM tenant_changes WHERE tenant=?");
    if (!t.ok()) return fail(err("read change counter"));
    t.bind(1, tenant);
    int rc = t.step();
    if (rc == SQLITE_ROW) token = static_cast<std::uint64_t>(t.i64(0));
    else if (rc != SQLITE_DONE) return fail(err("read change counter"));
  }
  // Contacts in rowid order (the unary + keeps SQLite off the (tenant, name) index, which would
  // need a sort), their numbers through numbers_by_contact.
  Statement q(db.get(),
              "SELECT c.id, c.kind, c.display_name, c.company, n.e164, n.label FROM contacts c"
              " JOIN numbers n ON n.contact_id = c.id WHERE +c.tenant = ?1 ORDER BY c.id, n.id");
  if (!q.ok()) return fail(err("prepare scan"));
  q.bind(1, tenant);
  std::int64_t last_id = std::numeric_limits<std::int64_t>::min();
  std::size_t rows = 0;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) {
    std::int64_t id = q.i64(0);
    if (id != last_id) {
      auto kind = ports::parse_contact_kind(q.view(1)).value_or(ports::ContactKind::person);
      sink.contact(id, kind, q.view(2), q.view(3));
      last_id = id;
    }
    sink.number(q.view(4), q.view(5));
    if (++rows % 65536 == 0 && progress) progress(rows);
  }
  if (rc != SQLITE_DONE) return fail(err("scan"));
  (void)db.exec("COMMIT", "commit");  // a read transaction: nothing to lose
  return token;
}

base::Result<std::uint64_t> SqliteContactStore::scan(const base::TenantId& tenant, ports::ContactScanSink& sink,
                                                     const std::function<void(std::size_t)>& progress) {
  // A second connection to ":memory:" would be another, empty database.
  if (opts_.path.empty() || opts_.path == ":memory:") return ports::scan_by_list(*this, tenant, sink, progress);
  return scan_contacts_file(opts_.path, tenant, sink, progress);
}

}  // namespace callbridge::directory
