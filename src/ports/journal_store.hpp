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
#include "base/tenant_id.hpp"
#include "base/time.hpp"
#include "model/journal_entry.hpp"

namespace callbridge::ports {

struct JournalQuery {
  base::TenantId tenant;  // no default: JournalQuery{.tenant = t}
  std::optional<std::string> party{};
  std::optional<model::Direction> direction{};
  std::optional<model::Disposition> disposition{};
  bool missed_only = false;  // disposition missed (incoming, nobody answered)
  std::optional<base::Timestamp> since{};
  std::optional<base::Timestamp> until{};
  std::optional<std::string> text{};  // substring of remote, remote_name, party or note
  std::size_t limit = 100;
  std::optional<std::int64_t> before_id{};  // pagination: entries with id < before_id (newest first)
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

  // Optional: open-call state of the PBX drivers (drivers/ami AmiCallTracker::enable_state), so a
  // restarted callbridged continues calls with their real times. Rows are (scope, key) -> text.
  // put_open_state() queues like append() and commits in order with the entries; an appended
  // entry with state_scope/state_key deletes that row IN THE SAME TRANSACTION as its insert, so
  // after kill -9 an entry is either written and its row gone, or neither (written exactly once
  // when the next run ends the call). Empty `text` deletes the row.
  virtual bool keeps_open_state() const { return false; }
  virtual void put_open_state(std::string scope, std::string key, std::string text) {
    (void)scope;
    (void)key;
    (void)text;
  }
  // Everything put (and committed) for `scope`, as texts. Call before the driver starts.
  virtual base::Result<std::vector<std::string>> load_open_state(const std::string& scope) {
    (void)scope;
    return std::vector<std::string>{};
  }
  // Deletes the row without an entry (an entry the journal policy did not keep).
  void drop_open_state(std::string scope, std::string key) {
    put_open_state(std::move(scope), std::move(key), std::string());
  }

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
