// One SQLite connection to a callbridge data file, as every SQLite backend opens it (journal/sqlite,
// audit/sqlite, identity/sqlite, directory/store): the same flags, busy timeout and extended result
// codes, errors that name the file and say what an administrator must fix, and the versioned schema
// (application id + schema_version table) of the journal and the audit log. Not thread-safe: each
// owner guards its connection with its own lock or keeps it on one thread.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "storage/sqlite/statement.hpp"

namespace callbridge::storage::sqlite {

struct OpenOptions {
  bool read_only = false;
  bool serialized = false;  // SQLITE_OPEN_FULLMUTEX instead of NOMUTEX (a connection shared unlocked)
  // SELECT from sqlite_master right away, which is what detects a garbage file ("file is not a
  // database") at open instead of at the first query.
  bool check_readable = true;
  // PRAGMA journal_mode=WAL (skipped for read-only connections and ":memory:").
  bool wal = true;
  // What a corrupt or foreign file is called in errors: " (the file is corrupt or not <this>)".
  std::string_view file_kind = "a callbridge file";
};

class Connection {
 public:
  // `label` opens every error message: "journal /var/lib/callbridge/journal.db: ...".
  static base::Result<std::unique_ptr<Connection>> open(const std::string& path, std::string_view label,
                                                        OpenOptions options = {});
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* get() const { return h_; }
  const std::string& path() const { return path_; }
  // "journal /var/lib/callbridge/journal.db": how errors name the file.
  std::string name() const { return label_ + " " + path_; }

  // The last error on this connection as an io error: "<label> <path>: <what>: <sqlite's words>",
  // plus the state of the file system when a write failed (read-only, full) and a hint for a
  // corrupt or foreign file.
  base::Error err(std::string_view what) const;
  base::Status exec(std::string_view sql, std::string_view what);
  base::Result<Statement> prepare(std::string_view sql, unsigned prepare_flags = 0);
  // A statement returning one integer (PRAGMA x, SELECT count(*)); 0 when it returns no row.
  base::Result<std::int64_t> scalar(std::string_view sql, std::string_view what);
  std::int64_t changes() const { return sqlite3_changes64(h_); }
  std::int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(h_); }

 private:
  Connection(std::string path, std::string_view label, std::string_view file_kind);
  sqlite3* h_ = nullptr;
  std::string path_;
  std::string label_;
  std::string file_kind_;
};

// One BEGIN IMMEDIATE transaction: rolled back by the destructor unless commit() succeeded, so an
// early return leaves the file as it was.
class Transaction {
 public:
  explicit Transaction(Connection& db) : db_(db) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() {
    if (open_) (void)db_.exec("ROLLBACK", "rolling back");
  }
  base::Status begin() {
    auto st = db_.exec("BEGIN IMMEDIATE", "starting a transaction");
    open_ = static_cast<bool>(st);
    return st;
  }
  base::Status commit() {
    auto st = db_.exec("COMMIT", "committing");
    if (st) open_ = false;
    return st;
  }

 private:
  Connection& db_;
  bool open_ = false;
};

// A file's schema: migration N (1-based) brings it from version N-1 to N; append only, never edit one
// that has shipped. The version lives in a one-row schema_version table, the application id
// (PRAGMA application_id) marks the file as ours so that a foreign SQLite file is refused.
struct Schema {
  std::int32_t application_id;
  std::span<const std::string_view> migrations;
  std::string_view file_kind;  // "a callbridge journal"
};

// The writer's side: refuses a foreign or newer file, then runs the missing migrations and records
// the version in one BEGIN IMMEDIATE transaction (nothing changes when one fails). Returns the version
// the file had before.
base::Result<std::int64_t> migrate(Connection& db, const Schema& schema);

// The reader's side: the file must be ours and at exactly this build's version.
base::Status check_schema(Connection& db, const Schema& schema);

// " (the file system of DIR is read-only)", " (no space left on the file system of DIR)", or empty:
// what an administrator must fix when a write to the file at `path` fails.
std::string file_system_state(const std::string& path);

}  // namespace callbridge::storage::sqlite
