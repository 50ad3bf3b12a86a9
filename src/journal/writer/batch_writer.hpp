// JournalBatchWriter: the write path both journal backends share (journal/sqlite, journal/postgres).
// append() and put_state() only queue (bounded: beyond max_queued writes are dropped and counted);
// one writer thread takes up to max_batch writes at a time, in order, and hands them to the
// backend's WriteFn, which commits them in one transaction and reports the ids the entries got; a
// failed batch goes back in front of the queue (order kept) and is retried after retry_interval.
// Group commit: under load, batches are spaced by min_commit_interval (see Options).
// Committed entries, with their ids, go to the on_committed callback
// (ports::JournalStore::set_on_committed) on the writer thread.
// append/flush/stats/set_on_committed: any thread. WriteFn: the writer thread only.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/error.hpp"
#include "ports/journal_store.hpp"

namespace callbridge::journal {

// Counters of a journal store's writer (diagnostics, readiness).
struct JournalWriterStats {
  std::uint64_t appended = 0;      // accepted by append()
  std::uint64_t committed = 0;     // durable in the database
  std::uint64_t dropped = 0;       // refused because the queue was full
  std::uint64_t write_errors = 0;  // failed batch commits (retried)
  std::size_t queued = 0;
  bool last_write_failed = false;  // the most recent commit attempt failed (readiness)
  std::uint64_t skipped = 0;       // committed as already there (the store's idempotent key), not written twice
};

// One queued write: a journal entry, or (state set) an open-call state row of a PBX driver
// (ports::JournalStore::put_open_state) to put, or to delete when its text is empty.
struct JournalWrite {
  struct StateRow {
    std::string scope, key, text;
  };
  std::optional<model::JournalEntry> entry;  // set unless this is a state row
  std::optional<StateRow> state;
  // Set by the WriteFn (assigned at every attempt): the missed entries this entry marked done in
  // its transaction (model::resolves_missed); handed on in StoredEntry::resolved.
  std::vector<std::int64_t> resolved{};
};

class JournalBatchWriter {
 public:
  struct Options {
    std::string location;  // "journal <path or URI>" for log lines and flush() errors
    std::size_t max_queued = 200'000;
    std::size_t max_batch = 5'000;
    std::chrono::milliseconds retry_interval{1'000};
    // Group commit: a batch is not started sooner than this after the previous commit ended,
    // unless max_batch writes are queued, a flush() waits, or the writer stops. At rest (the
    // previous commit longer ago) a write is committed at once; under load the writes of this
    // interval share one transaction instead of one each (every commit writes all the pages it
    // dirtied to the WAL). 0: commit whatever is queued as soon as the previous commit ended.
    std::chrono::microseconds min_commit_interval{2'000};
  };
  // Commits `batch` in one transaction (all or nothing) and fills `ids` with the id of each entry
  // (not of state rows), in order, and each entry's `resolved`. Id 0: the store already had the
  // entry (an idempotent key, journal/postgres) and did not write it again; it is not handed on.
  using WriteFn = std::function<base::Status(std::deque<JournalWrite>& batch, std::vector<std::int64_t>& ids)>;

  // Starts the writer thread.
  JournalBatchWriter(Options options, WriteFn write);
  // Writes what is queued (while writes succeed), then stops the thread. The backend's connection
  // must outlive this object.
  ~JournalBatchWriter();
  JournalBatchWriter(const JournalBatchWriter&) = delete;
  JournalBatchWriter& operator=(const JournalBatchWriter&) = delete;

  void append(model::JournalEntry entry);
  void put_state(std::string scope, std::string key, std::string text);
  // Waits until every write queued before the call is committed, or a commit attempt fails.
  base::Status flush();
  bool set_on_committed(ports::JournalStore::CommittedFn fn);
  JournalWriterStats stats() const;

 private:
  void run();
  void enqueue(JournalWrite w, bool is_entry);

  const Options options_;
  const WriteFn write_;
  mutable std::mutex mu_;
  std::condition_variable wake_writer_;
  std::condition_variable committed_cv_;
  std::deque<JournalWrite> queue_;
  std::uint64_t appended_ = 0;          // entries
  std::uint64_t committed_ = 0;         // entries
  std::uint64_t writes_queued_ = 0;     // entries and state rows (what flush() waits for)
  std::uint64_t writes_committed_ = 0;
  std::uint64_t dropped_ = 0;
  std::uint64_t skipped_ = 0;           // entries the store had already (id 0)
  std::uint64_t write_errors_ = 0;
  std::uint64_t failed_attempts_ = 0;  // bumps on each failed commit (flush() reports it)
  std::string last_error_;
  bool last_write_failed_ = false;
  bool stopping_ = false;
  int flushes_waiting_ = 0;                          // flush() calls waiting (no group-commit wait)
  std::chrono::steady_clock::time_point last_commit_{};  // end of the last successful commit
  ports::JournalStore::CommittedFn on_committed_;  // guarded by mu_
  std::thread thread_;                             // last: starts after everything above exists
};

}  // namespace callbridge::journal
