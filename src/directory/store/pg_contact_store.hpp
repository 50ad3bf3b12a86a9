// The built-in contact directory on PostgreSQL (libpq), for installs where several callbridged
// nodes share one database. Same schema ideas, rules and behaviour as SqliteContactStore
// (tables contacts, contact_numbers, contact_changes, contacts_meta). Thread-safe: one
// connection behind a timed mutex; lookups end by their deadline (the query is cancelled).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "directory/store/contact_rules.hpp"
#include "ports/contact_source.hpp"
#include "storage/postgres/pg_conn.hpp"

namespace callbridge::directory {

struct PgContactStoreOptions {
  std::string conninfo;  // libpq connection string: "host=127.0.0.1 port=5432 dbname=callbridge user=..."
  std::string name = "store";
  int priority = 10;
  TenantToE164 to_e164;
  std::chrono::milliseconds write_timeout{30000};  // create/update/remove/import
};

class PgContactStore final : public ports::ContactStore {
 public:
  static constexpr int kSchemaVersion = 1;

  // Connects and migrates (under an advisory lock, so nodes starting together do not race).
  static base::Result<std::unique_ptr<PgContactStore>> open(PgContactStoreOptions opts);
  ~PgContactStore() override;

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
  base::Result<std::size_t> count(const base::TenantId& tenant);

  using Rows = storage::postgres::PgRows;  // query result

 private:
  explicit PgContactStore(PgContactStoreOptions opts);
  base::Status connect_locked();
  base::Status migrate_locked();
  // Runs one statement with text parameters; ends by `deadline` (cancelling the query).
  base::Result<Rows> exec_locked(const std::string& sql, const std::vector<std::string>& params,
                                 std::chrono::steady_clock::time_point deadline);
  base::Result<std::int64_t> insert_locked(const ports::Contact& c, std::chrono::steady_clock::time_point deadline);
  base::Status bump_locked(const base::TenantId& tenant, std::chrono::steady_clock::time_point deadline);
  // BEGIN ... body ... COMMIT, ROLLBACK on any error.
  template <typename Fn>
  auto in_transaction_locked(Fn&& body) -> decltype(body(std::chrono::steady_clock::time_point{}));
  std::chrono::steady_clock::time_point write_deadline() const;

  PgContactStoreOptions opts_;
  std::timed_mutex mu_;
  std::unique_ptr<storage::postgres::PgConn> conn_;  // guarded by mu_
};

}  // namespace callbridge::directory
