#include "storage/sqlite/connection.hpp"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

namespace callbridge::storage::sqlite {

using base::Error;
using base::fail;
using base::Result;
using base::Status;

std::string file_system_state(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  struct statvfs v {};
  if (::statvfs(dir.c_str(), &v) != 0) return {};
  if (v.f_flag & ST_RDONLY) return " (the file system of " + dir + " is read-only)";
  if (static_cast<unsigned long long>(v.f_bavail) * v.f_frsize < 64 * 1024)
    return " (no space left on the file system of " + dir + ")";
  // A file system the kernel turned read-only after a disk error ("emergency_ro") still says rw in
  // statvfs: a probe file tells.
  std::string probe = dir + "/.callbridge-write-probe";
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return " (" + dir + ": " + std::strerror(errno) + ")";
  ::close(fd);
  ::unlink(probe.c_str());
  return {};
}

Connection::Connection(std::string path, std::string_view label, std::string_view file_kind)
    : path_(std::move(path)), label_(label), file_kind_(file_kind) {}

Connection::~Connection() {
  // _v2: statements an owner still holds keep the connection alive until they are finalized.
  sqlite3_close_v2(h_);
}

Result<std::unique_ptr<Connection>> Connection::open(const std::string& path, std::string_view label,
                                                     OpenOptions options) {
  std::unique_ptr<Connection> db(new Connection(path, label, options.file_kind));
  int flags = (options.serialized ? SQLITE_OPEN_FULLMUTEX : SQLITE_OPEN_NOMUTEX) |
              (options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE));
  if (sqlite3_open_v2(path.c_str(), &db->h_, flags, nullptr) != SQLITE_OK) {
    if (!db->h_) return fail(Error::io(std::string(label) + " " + path + ": cannot open (out of memory)"));
    return fail(db->err("cannot open"));
  }
  sqlite3_extended_result_codes(db->h_, 1);
  sqlite3_busy_timeout(db->h_, 5000);
  if (options.check_readable) {
    if (auto n = db->scalar("SELECT count(*) FROM sqlite_master", "reading the schema"); !n) return fail(n.error());
  }
  if (options.wal && !options.read_only && path != ":memory:") {
    if (auto st = db->exec("PRAGMA journal_mode=WAL", "enabling WAL"); !st) return fail(st.error());
  }
  return db;
}

Error Connection::err(std::string_view what) const {
  const int primary = sqlite3_extended_errcode(h_) & 0xff;
  std::string msg = label_ + " " + path_ + ": " + std::string(what) + ": " + sqlite3_errmsg(h_);
  // "disk I/O error" alone does not say what to fix, and SQLite often keeps no errno for it: ask the
  // file system (found by the fault campaign, docs/reliability.md).
  if (path_ != ":memory:" &&
      (primary == SQLITE_IOERR || primary == SQLITE_FULL || primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY))
    msg += file_system_state(path_);
  if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT) msg += " (the file is corrupt or not " + file_kind_ + ")";
  return Error::io(std::move(msg));
}

Status Connection::exec(std::string_view sql, std::string_view what) {
  std::string s(sql);
  if (sqlite3_exec(h_, s.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) return fail(err(what));
  return {};
}

Result<Statement> Connection::prepare(std::string_view sql, unsigned prepare_flags) {
  Statement s(h_, sql, prepare_flags);
  if (!s.ok()) return fail(err("prepare"));
  return s;
}

Result<std::int64_t> Connection::scalar(std::string_view sql, std::string_view what) {
  Statement st(h_, sql);
  if (!st.ok()) return fail(err(what));
  int rc = st.step();
  if (rc == SQLITE_ROW) return st.i64(0);
  if (rc == SQLITE_DONE) return 0;
  return fail(err(what));
}

namespace {

std::string str(std::int64_t v) { return std::to_string(v); }

// The file's application id against ours; a file without tables is new (id 0) and fine.
Status check_ours(Connection& db, const Schema& schema) {
  auto app_id = db.scalar("PRAGMA application_id", "reading application_id");
  if (!app_id) return fail(app_id.error());
  auto tables = db.scalar("SELECT count(*) FROM sqlite_master", "reading the schema");
  if (!tables) return fail(tables.error());
  if (*tables > 0 && *app_id != schema.application_id)
    return fail(Error::invalid_argument(db.name() + ": is an SQLite database but not " + std::string(schema.file_kind)));
  return {};
}

}  // namespace

Result<std::int64_t> migrate(Connection& db, const Schema& schema) {
  const auto target = static_cast<std::int64_t>(schema.migrations.size());
  if (auto st = db.exec("BEGIN IMMEDIATE", "starting migration"); !st) return fail(st.error());
  auto rollback = [&](Error e) {
    (void)db.exec("ROLLBACK", "rollback");
    return fail(std::move(e));
  };
  if (auto st = check_ours(db, schema); !st) return rollback(st.error());
  if (auto st = db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", "creating schema_version");
      !st)
    return rollback(st.error());
  auto rows = db.scalar("SELECT count(*) FROM schema_version", "reading schema_version");
  if (!rows) return rollback(rows.error());
  if (*rows == 0) {
    if (auto st = db.exec("INSERT INTO schema_version VALUES (0)", "initialising schema_version"); !st)
      return rollback(st.error());
  }
  auto version = db.scalar("SELECT version FROM schema_version", "reading schema_version");
  if (!version) return rollback(version.error());
  if (*version > target)
    return rollback(Error::invalid_argument(db.name() + ": schema version " + str(*version) +
                                            " is newer than this build supports (" + str(target) + ")"));
  for (auto v = *version; v < target; ++v) {
    if (auto st = db.exec(schema.migrations[static_cast<std::size_t>(v)], "migrating to schema " + str(v + 1)); !st)
      return rollback(st.error());
  }
  if (*version < target) {
    if (auto st = db.exec("UPDATE schema_version SET version = " + str(target) +
                              "; PRAGMA application_id = " + str(schema.application_id),
                          "recording schema version");
        !st)
      return rollback(st.error());
  }
  if (auto st = db.exec("COMMIT", "committing migration"); !st) return rollback(st.error());
  return *version;
}

Status check_schema(Connection& db, const Schema& schema) {
  const auto target = static_cast<std::int64_t>(schema.migrations.size());
  auto app_id = db.scalar("PRAGMA application_id", "reading application_id");
  if (!app_id) return fail(app_id.error());
  if (*app_id != schema.application_id)
    return fail(Error::invalid_argument(db.name() + ": not " + std::string(schema.file_kind) + " (or empty)"));
  auto version = db.scalar("SELECT version FROM schema_version", "reading schema_version");
  if (!version) return fail(version.error());
  if (*version != target)
    return fail(Error::invalid_argument(db.name() + ": schema version " + str(*version) + ", this build reads " +
                                        str(target)));
  return {};
}

}  // namespace callbridge::storage::sqlite
