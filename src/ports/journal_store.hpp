// Where journal entries are kept. Implemented by journal/sqlite (and later journal/postgres).
// Implementations are thread-safe: append() is called from the model thread and must not block on
// disk (batch on a worker); queries may block and are called from worker threads or the CLI.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/time.hpp"
#include "model/journal_entry.hpp"

namespace callbridge::ports {

struct JournalQuery {
  std::string tenant = "default";
  std::optional<std::string> party;
  std::optional<model::Direction> direction;
  std::optional<model::Disposition> disposition;
  bool missed_only = false;  // disposition missed (incoming, nobody answered)
  std::optional<base::Timestamp> since;
  std::optional<base::Timestamp> until;
  std::optional<std::string> text;  // substring of remote, remote_name, party or note
  std::size_t limit = 100;
  std::optional<std::int64_t> before_id;  // pagination: entries with id < before_id (newest first)
};

struct StoredEntry {
  std::int64_t id = 0;
  model::JournalEntry entry;
};

class JournalStore {
 public:
  virtual ~JournalStore() = default;
  // Queues an entry for writing; never blocks on I/O. Entries are written in order.
  virtual void append(model::JournalEntry entry) = 0;
  // Blocks until everything appended so far is committed (durable).
  virtual base::Status flush() = 0;
  virtual base::Result<std::vector<StoredEntry>> query(const JournalQuery& q) = 0;
  virtual base::Status set_note(const std::string& tenant, std::int64_t id, const std::string& note) = 0;
  // Deletes entries that ended before `cutoff`; returns how many.
  virtual base::Result<std::size_t> purge_before(base::Timestamp cutoff) = 0;

  // Optional: `fn` gets entries once they are committed, with the ids the store gave them (the
  // ids of GET /api/v1/journal and PATCH), in append order, on the store's writer thread (hand
  // them elsewhere, do not block). Set before the first append(). Returns false when the store
  // cannot report commits (then callers publish entries without ids).
  using CommittedFn = std::function<void(std::vector<StoredEntry>)>;
  virtual bool set_on_committed(CommittedFn fn) {
    (void)fn;
    return false;
  }
};

}  // namespace callbridge::ports
