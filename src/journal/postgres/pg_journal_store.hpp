// PgJournalStore: the journal (ports::JournalStore) in a PostgreSQL database, for installs where
// several callbridged nodes share one journal. Same schema, semantics and limits as
// SqliteJournalStore. Thread-safe: append() only queues (the shared JournalBatchWriter's thread
// COPYs batches, one transaction each, on its own connection, and reports their ids); flush() waits for it; queries, notes and purges
// use a second connection under a mutex and may be called from any thread (they block).
//
// Durability: a batch is committed when flush() returns; how durable a commit is follows the
// server's `synchronous_commit` (default `on`: survives a crash of callbridged, of PostgreSQL and
// of the host). A lost connection is re-established on the next attempt (writer: every second).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "journal/writer/batch_writer.hpp"
#include "ports/journal_store.hpp"

namespace callbridge::storage::postgres {
class PgConn;  // one libpq connection with deadline-bounded exec (storage/postgres/pg_conn.hpp)
}

namespace callbridge::journal {


class PgJournalStore final : public ports::JournalStore {
 public:
  struct Options {
    std::string conninfo;              // libpq: "host=127.0.0.1 port=5432 dbname=callbridge user=cb"
                                       // or "postgresql://cb@db/callbridge"
    std::size_t max_queued = 200'000;  // append() drops (and counts) beyond this
    std::size_t max_batch = 5'000;     // rows per transaction
    std::chrono::milliseconds query_timeout{30'000};  // queries, notes, purge (cancelled after)
    std::chrono::milliseconds retry_interval{1'000};  // writer retry after a failed batch
  };

  using Stats = JournalWriterStats;  // same meaning as SqliteJournalStore::Stats

  static constexpr int kSchemaVersion = 5;
  static constexpr std::size_t kMaxNoteBytes = 4096;

  // Connects (two connections), migrates under an advisory lock (nodes starting together do not
  // race) and starts the writer. Errors say what is wrong: unreachable server, authentication,
  // a `journal` table that is not ours, a schema newer than this build.
  static base::Result<std::unique_ptr<PgJournalStore>> open(Options options);

  ~PgJournalStore() override;  // flushes what is queued (while the server answers), stops the writer
  PgJournalStore(const PgJournalStore&) = delete;
  PgJournalStore& operator=(const PgJournalStore&) = delete;

  void append(model::JournalEntry entry) override;
  base::Status flush() override;
  base::Result<std::vector<ports::StoredEntry>> query(const ports::JournalQuery& q) override;
  base::Status set_note(const std::string& tenant, std::int64_t id, const std::string& note) override;
  base::Status update(const std::string& tenant, std::int64_t id, const ports::EntryUpdate& u) override;
  base::Result<std::size_t> count(const ports::JournalQuery& q) override;
  base::Result<std::size_t> purge_before(base::Timestamp cutoff) override;
  // Called on the writer thread after each committed batch, with the ids the journal gave the rows.
  bool set_on_committed(CommittedFn fn) override;

  Stats stats() const;
  // "postgresql://user@host:port/dbname" (never the password), for logs and diagnostics.
  const std::string& location() const { return location_; }

 private:
  explicit PgJournalStore(Options options);

  base::Status write_batch(std::deque<JournalWrite>& batch, std::vector<std::int64_t>& ids);
  static std::string where(const ports::JournalQuery& q, std::optional<std::int64_t> before_start,
                           std::vector<std::optional<std::string>>& args);
  base::Status insert_batch(std::deque<JournalWrite>& batch, std::vector<std::int64_t>& ids,
                            std::chrono::steady_clock::time_point deadline);

  const Options options_;
  std::string location_;
  std::unique_ptr<storage::postgres::PgConn> reader_;  // queries, notes, purge; guarded by reader_mu_
  std::mutex reader_mu_;
  std::unique_ptr<storage::postgres::PgConn> writer_;  // used only by the writer thread
  std::string copy_buf_;                    // writer thread only
  std::string insert_sql_;                  // writer thread only
  std::vector<std::optional<std::string>> insert_params_;  // writer thread only (PgConn::Params)

  std::unique_ptr<JournalBatchWriter> batches_;  // declared last: stops before the connections go
};

}  // namespace callbridge::journal
