// The built-in contact directory on SQLite (WAL): people and companies, several labelled numbers
// each, indexed by (tenant, E.164). Implements ports::ContactStore; one connection behind a mutex,
// so it is thread-safe; lookups honour the query deadline via SQLite's progress handler.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "ports/contact_scan.hpp"
#include "ports/contact_source.hpp"

namespace callbridge::storage::sqlite {
class Connection;
}

namespace callbridge::directory {

struct SqliteContactStoreOptions {
  std::string path;              // database file; ":memory:" for tests
  std::string name = "store";    // source name in lookup results
  int priority = 10;             // the built-in store usually wins over LDAP and CRMs
  // Normalizes numbers whose e164 is empty on create/update/import, per tenant. When unset,
  // such numbers must already be "+<digits>" (punctuation and spaces are dropped).
  std::function<std::optional<std::string>(const base::TenantId& tenant, std::string_view raw)> to_e164;
};

class SqliteContactStore final : public ports::ContactStore, public ports::ContactScanner {
 public:
  static constexpr int kSchemaVersion = 1;

  // Opens (creating if needed) and migrates the database. Errc::io on open failure,
  // Errc::conflict when the file's schema is newer than this build.
  static base::Result<std::unique_ptr<SqliteContactStore>> open(SqliteContactStoreOptions opts);
  ~SqliteContactStore() override;

  const std::string& name() const override { return opts_.name; }
  int priority() const override { return opts_.priority; }
  base::Result<std::vector<ports::ContactMatch>> lookup(const ports::LookupQuery& q) override;
  std::optional<std::uint64_t> change_token(const base::TenantId& tenant) override;

  base::Result<std::int64_t> create(const ports::Contact& c) override;
  base::Status update(const ports::Contact& c) override;
  base::Status remove(const base::TenantId& tenant, std::int64_t id) override;
  base::Result<ports::Contact> get(const base::TenantId& tenant, std::int64_t id) override;
  base::Result<std::vector<ports::Contact>> list(const base::TenantId& tenant, std::string_view text,
                                                 std::size_t limit) override;
  base::Result<ports::ImportCommit> import_all(const base::TenantId& tenant,
                                               const std::vector<ports::Contact>& contacts,
                                               const ports::ImportOptions& opts) override;

  // ports::ContactScanner: one read transaction on its own read-only connection
  // (scan_contacts_file), a consistent snapshot even while this process or the CLI writes;
  // ":memory:" stores go through list() (ports::scan_by_list).
  base::Result<std::uint64_t> scan(const base::TenantId& tenant, ports::ContactScanSink& sink,
                                   const std::function<void(std::size_t)>& progress) override;

  // Number of contacts of a tenant (tests, CLI summary).
  base::Result<std::size_t> count(const base::TenantId& tenant);

 private:
  SqliteContactStore(SqliteContactStoreOptions opts, std::unique_ptr<storage::sqlite::Connection> conn);
  base::Status migrate();
  base::Status exec(const char* sql);
  // Fills in e164 of every number and checks sizes; the contact as it will be stored.
  base::Result<ports::Contact> prepare(const ports::Contact& c) const;
  base::Result<std::int64_t> insert_locked(const ports::Contact& c);
  base::Status insert_numbers_locked(const ports::Contact& c, std::int64_t id);
  base::Status bump_locked(const base::TenantId& tenant);
  base::Error sql_error(const char* what) const;
  // Prepared once, reused for every row (imports insert hundreds of thousands). Needs mu_.
  sqlite3_stmt* cached_locked(const std::string& sql);

  SqliteContactStoreOptions opts_;
  std::unique_ptr<storage::sqlite::Connection> conn_;
  sqlite3* db_;  // conn_'s handle
  std::mutex mu_;
  std::unordered_map<std::string, sqlite3_stmt*> stmts_;
};

// Reads one tenant of a SqliteContactStore file (schema 1) through its own read-only connection,
// in one read transaction, contacts in id order; returns the tenant's change token of that
// snapshot. Errc::conflict for another schema version, Errc::io when the file cannot be opened.
// Any thread.
base::Result<std::uint64_t> scan_contacts_file(const std::string& path, const std::string& tenant,
                                               ports::ContactScanSink& sink,
                                               const std::function<void(std::size_t)>& progress);

}  // namespace callbridge::directory
