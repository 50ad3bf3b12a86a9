// SqliteJournalStore: the embedded journal backend (ports::JournalStore) in one SQLite file.
// Thread-safe. append() only queues (a background writer thread commits batches in one
// transaction each); flush() waits for the writer; queries, notes and purges use a second
// connection under a mutex and may be called from any thread (they block on disk).
//
// Durability: WAL mode. With synchronous=NORMAL (default) a committed batch survives a crash or
// kill -9 of the process (the WAL is in the OS page cache); only an OS crash or power loss can lose
// the last batches. synchronous=FULL also survives power loss at the cost of one fsync per batch.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

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

  struct Stats {
    std::uint64_t appended = 0;      // accepted by append()
    std::uint64_t committed = 0;     // durable in the database
    std::uint64_t dropped = 0;       // refused because the queue was full
    std::uint64_t write_errors = 0;  // failed batch commits (retried)
    std::size_t queued = 0;
    bool last_write_failed = false;  // the most recent commit attempt failed (readiness)
  };

  // Current schema version written by this build (schema_version table).
  static constexpr int kSchemaVersion = 2;
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

  // One queued write: an entry, or (state set) an open-call state row to put or delete.
  struct StateRow {
    std::string scope, key, text;  // text empty: delete
  };
  struct Write {
    model::JournalEntry entry;
    std::optional<StateRow> state;
  };

  void writer_loop();
  void enqueue(Write w, bool is_entry);
  base::Status write_batch(std::deque<Write>& batch, std::vector<std::int64_t>& ids);

  const std::string path_;
  const Options options_;
  std::unique_ptr<detail::SqliteDb> reader_;  // queries, notes, purge; guarded by reader_mu_
  std::mutex reader_mu_;
  std::unique_ptr<detail::SqliteDb> writer_;  // used only by the writer thread

  mutable std::mutex mu_;
  std::condition_variable wake_writer_;
  std::condition_variable committed_cv_;
  std::deque<Write> queue_;
  std::uint64_t appended_ = 0;   // entries
  std::uint64_t committed_ = 0;  // entries
  std::uint64_t writes_queued_ = 0;     // entries and state rows (what flush() waits for)
  std::uint64_t writes_committed_ = 0;
  std::uint64_t dropped_ = 0;
  std::uint64_t write_errors_ = 0;
  std::uint64_t failed_attempts_ = 0;  // bumps on each failed commit (flush() reports it)
  std::string last_error_;
  bool last_write_failed_ = false;
  bool stopping_ = false;
  CommittedFn on_committed_;  // guarded by mu_
  std::thread writer_thread_;
};

}  // namespace callbridge::journal
