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
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
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

  static constexpr int kSchemaVersion = 6;
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
  // Open-call state of the PBX drivers (table journal_open_state, schema version 6), committed in
  // order with the entries as in SqliteJournalStore: in cluster mode the node that takes a link
  // over continues the calls its previous owner left. An entry that completes a leg carries the
  // leg's key (state_scope/state_key, column leg_key, unique): written at most once, whoever
  // writes it how often (ports::StoredEntry of such a duplicate is not handed on).
  bool keeps_open_state() const override { return true; }
  void put_open_state(std::string scope, std::string key, std::string text) override;
  base::Result<std::vector<std::string>> load_open_state(const std::string& scope) override;

  Stats stats() const;
  // "postgresql://user@host:port/dbname" (never the password), for logs and diagnostics.
  const std::string& location() const { return location_; }

 private:
  explicit PgJournalStore(Options options);

  base::Status write_batch(std::deque<JournalWrite>& batch, std::vector<std::int64_t>& ids);
  static std::string where(const ports::JournalQuery& q, std::optional<std::int64_t> before_start,
                           std::vector<std::optional<std::string>>& args);
  base::Status copy_entries(const std::vector<JournalWrite*>& entries, std::vector<std::int64_t>& ids,
                            std::chrono::steady_clock::time_point deadline);
  base::Status insert_entries(const std::vector<JournalWrite*>& entries, std::vector<std::int64_t>& ids,
                              std::chrono::steady_clock::time_point deadline);
  // The open-call state rows a batch leaves: per (scope, key) the last word (a put with text, or
  // a delete; by_entry: the delete of the entry that completed the leg).
  struct StateOp {
    std::optional<std::string> text;
    bool by_entry = false;
  };
  using StateOps = std::map<std::pair<std::string, std::string>, StateOp>;
  base::Status write_state(const StateOps& state, std::chrono::steady_clock::time_point deadline);

  const Options options_;
  std::string location_;
  std::string instance_;                     // random: this store's claim on the scopes it loaded
  std::set<std::string> warned_foreign_;     // writer thread only: scopes another store claimed
  std::unique_ptr<storage::postgres::PgConn> reader_;  // queries, notes, purge; guarded by reader_mu_
  std::mutex reader_mu_;
  std::unique_ptr<storage::postgres::PgConn> writer_;  // used only by the writer thread
  std::string copy_buf_;                    // writer thread only
  std::string insert_sql_;                  // writer thread only
  std::vector<std::optional<std::string>> insert_params_;  // writer thread only (PgConn::Params)

  std::unique_ptr<JournalBatchWriter> batches_;  // declared last: stops before the connections go
};

}  // namespace callbridge::journal
