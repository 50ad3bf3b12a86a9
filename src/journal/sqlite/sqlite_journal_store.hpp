// SqliteJournalStore: the embedded journal backend (ports::JournalStore) in one SQLite file.
// Thread-safe. append() only queues (a background writer thread commits batches in one
// transaction each); flush() waits for the writer; queries, notes and purges use a second
// connection under a mutex and may be called from any thread (they block on disk).
//
// Durability: WAL mode. With synchronous=NORMAL (default) a committed batch survives a crash or
// kill -9 of the process (the WAL is in the OS page cache); only an OS crash or power loss can lose
// the last batches. synchronous=FULL also survives power loss at the cost of one fsync per batch.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "journal/writer/batch_writer.hpp"
#include "ports/journal_store.hpp"

namespace callbridge::journal {

namespace detail {
struct SqliteDb;  // RAII connection, defined in the .cpp
}

class SqliteJournalStore final : public ports::JournalStore {
 public:
  struct Options {
    bool read_only = false;          // CLI: query only; the file must exist
    bool synchronous_full = false;   // PRAGMA synchronous=FULL instead of NORMAL
    std::size_t max_queued = 200'000;  // append() drops (and counts) beyond this
    std::size_t max_batch = 5'000;     // rows per transaction
  };

  using Stats = JournalWriterStats;

  // Current schema version written by this build (schema_version table).
  static constexpr int kSchemaVersion = 5;
  static constexpr std::size_t kMaxNoteBytes = 4096;

  // Opens (or creates, unless read_only) the journal at `path` and migrates it. Errors name the
  // file and say what is wrong (not a database, not a callbridge journal, newer schema, ...).
  static base::Result<std::unique_ptr<SqliteJournalStore>> open(const std::string& path,
                                                                 Options options);
  static base::Result<std::unique_ptr<SqliteJournalStore>> open(const std::string& path) {
    return open(path, Options{});
  }

  ~SqliteJournalStore() override;  // flushes what is queued, stops the writer
  SqliteJournalStore(const SqliteJournalStore&) = delete;
  SqliteJournalStore& operator=(const SqliteJournalStore&) = delete;

  void append(model::JournalEntry entry) override;
  base::Status flush() override;
  base::Result<std::vector<ports::StoredEntry>> query(const ports::JournalQuery& q) override;
  base::Status set_note(const std::string& tenant, std::int64_t id, const std::string& note) override;
  base::Status update(const std::string& tenant, std::int64_t id, const ports::EntryUpdate& u) override;
  base::Result<std::size_t> count(const ports::JournalQuery& q) override;
  base::Result<std::size_t> purge_before(base::Timestamp cutoff) override;
  // Called on the writer thread after each committed batch (ids from the INSERTs).
  bool set_on_committed(CommittedFn fn) override;
  bool keeps_open_state() const override { return !options_.read_only; }
  void put_open_state(std::string scope, std::string key, std::string text) override;
  base::Result<std::vector<std::string>> load_open_state(const std::string& scope) override;

  Stats stats() const;
  const std::string& path() const { return path_; }

 private:
  SqliteJournalStore(std::string path, Options options);

  base::Status write_batch(std::deque<JournalWrite>& batch, std::vector<std::int64_t>& ids);
  static std::string where(const ports::JournalQuery& q, std::optional<std::int64_t> before_start,
                           std::vector<std::variant<std::string, std::int64_t>>& args);

  const std::string path_;
  const Options options_;
  std::unique_ptr<detail::SqliteDb> reader_;  // queries, notes, purge; guarded by reader_mu_
  std::mutex reader_mu_;
  std::unique_ptr<detail::SqliteDb> writer_;  // used only by the writer thread

  std::unique_ptr<JournalBatchWriter> batches_;  // null when read_only; declared last: stops first
};

}  // namespace callbridge::journal
