// PgAuditLog: the audit log (ports::AuditLog) in a PostgreSQL database shared by the nodes of a
// cluster (docs/cluster.md), the "audit" part of the shared schema (table audit, audit_meta).
// Same semantics and limits as SqliteAuditLog: append() only queues; audit/common's writer thread
// inserts batches (one transaction each, retried) and runs retention on its timer; queries and
// prunes use a second connection under a mutex. Append-only in the database too: triggers refuse
// UPDATE, TRUNCATE and any DELETE of a record younger than a day, whoever runs the SQL.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "audit/common/audit_writer.hpp"
#include "base/time.hpp"
#include "ports/audit_log.hpp"

namespace callbridge::storage::postgres {
class PgConn;
}

namespace callbridge::audit {

class PgAuditLog final : public ports::AuditLog {
 public:
  struct Options {
    std::string conninfo;    // libpq conninfo or postgresql:// URI
    int retention_days = 365;  // 0 = keep forever; else pruned at open and every prune_interval
    std::chrono::seconds prune_interval{3600};
    std::size_t max_queued = 100'000;  // append() drops (and counts) beyond this
    std::size_t max_batch = 2'000;
    std::chrono::milliseconds retry_interval{1'000};
    std::chrono::milliseconds timeout{30'000};  // per statement or batch (cancelled after)
    const base::Clock* clock = nullptr;  // retention's "now"; null: the system clock
  };

  static constexpr int kSchemaVersion = 1;

  // Connects (two connections), migrates under an advisory lock, prunes, starts the writer.
  static base::Result<std::unique_ptr<PgAuditLog>> open(Options options);
  ~PgAuditLog() override;  // writes what is queued (while the server answers), stops the writer
  PgAuditLog(const PgAuditLog&) = delete;
  PgAuditLog& operator=(const PgAuditLog&) = delete;

  void append(ports::AuditRecord record) override;
  base::Status flush() override;
  base::Result<std::vector<ports::StoredAuditRecord>> query(const ports::AuditQuery& q) override;
  base::Result<std::size_t> prune_before(base::Timestamp cutoff) override;
  base::Result<std::size_t> prune_expired();

  AuditLogStats stats() const;
  const std::string& location() const { return location_; }  // postgresql://user@host/db

 private:
  explicit PgAuditLog(Options options);
  base::Status write_batch(const std::deque<ports::AuditRecord>& batch);  // writer thread

  const Options options_;
  std::string location_;
  base::SystemClock system_clock_;
  const base::Clock& clock_;
  std::unique_ptr<storage::postgres::PgConn> reader_;  // queries and prunes; guarded by reader_mu_
  std::mutex reader_mu_;
  std::unique_ptr<storage::postgres::PgConn> writer_;  // the writer thread only
  std::unique_ptr<AuditBatchWriter> batches_;          // last: stops before the connections go
};

}  // namespace callbridge::audit
