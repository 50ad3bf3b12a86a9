// SqliteAuditLog: the audit log (ports::AuditLog) in one SQLite file, DATA_DIR/audit.db (WAL, mode
// 0600 through the umask callbridged and the CLI set). Thread-safe. append() only queues: a writer
// thread (audit/common's AuditBatchWriter) commits what is queued in one transaction per batch and, every prune_interval, deletes
// what is older than the retention (the only deletion there is). Queries use a second connection
// under a mutex and may be called from any thread (they block on disk).
// Append-only in the file too: triggers refuse any UPDATE, and any DELETE of a record younger than
// a day, whoever runs the SQL.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "audit/common/audit_writer.hpp"
#include "ports/audit_log.hpp"

namespace callbridge::audit {

namespace detail {
struct AuditDb;  // RAII connection, defined in the .cpp
}

class SqliteAuditLog final : public ports::AuditLog {
 public:
  struct Options {
    bool read_only = false;  // the CLI's `callbridge audit`: the file must exist
    int retention_days = 365;  // 0 = keep forever; else pruned at open and every prune_interval
    std::chrono::seconds prune_interval{3600};
    std::size_t max_queued = 100'000;  // append() drops (and counts) beyond this
    std::size_t max_batch = 2'000;
    std::chrono::milliseconds retry_interval{1'000};
    const base::Clock* clock = nullptr;  // retention's "now"; null: the system clock
  };

  static constexpr int kSchemaVersion = 1;
  // Longest kept text per field (longer is cut): audit/common's, shared by both backends.
  static constexpr std::size_t kMaxFieldBytes = audit::kMaxFieldBytes;
  static constexpr std::size_t kMaxDetailsBytes = audit::kMaxDetailsBytes;

  // Opens (or creates, unless read_only) the log at `path`. Errors name the file and what is wrong.
  static base::Result<std::unique_ptr<SqliteAuditLog>> open(const std::string& path, Options options);
  static base::Result<std::unique_ptr<SqliteAuditLog>> open(const std::string& path) {
    return open(path, Options{});
  }

  ~SqliteAuditLog() override;  // writes what is queued, stops the writer
  SqliteAuditLog(const SqliteAuditLog&) = delete;
  SqliteAuditLog& operator=(const SqliteAuditLog&) = delete;

  void append(ports::AuditRecord record) override;
  base::Status flush() override;
  base::Result<std::vector<ports::StoredAuditRecord>> query(const ports::AuditQuery& q) override;
  base::Result<std::size_t> prune_before(base::Timestamp cutoff) override;
  // What the timer does: prune_before(now - retention_days); 0 when retention is off.
  base::Result<std::size_t> prune_expired();

  AuditLogStats stats() const;
  const std::string& path() const { return path_; }

 private:
  SqliteAuditLog(std::string path, Options options);
  base::Status write_batch(const std::deque<ports::AuditRecord>& batch);  // on the writer's thread

  const std::string path_;
  const Options options_;
  base::SystemClock system_clock_;
  const base::Clock& clock_;
  std::unique_ptr<detail::AuditDb> reader_;  // queries and prunes; guarded by reader_mu_
  std::mutex reader_mu_;
  std::unique_ptr<detail::AuditDb> writer_;  // the writer thread only

  std::unique_ptr<AuditBatchWriter> batches_;  // none when read-only; last: stops first
};

}  // namespace callbridge::audit
