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
  // Substring (case-insensitive for ASCII) of remote, remote_name, party, note, or the name or
  // company of the entry's contact (the one shown or chosen in the screen pop).
  std::optional<std::string> text{};
  std::optional<bool> done{};          // only entries whose `done` mark is this
  std::optional<std::int64_t> id{};    // only this entry (PATCH, callback)
  std::size_t limit = 100;
  // Results are newest first: by started_at, then id, both descending (an entry is written when
  // the call ends, so ids follow the ends, not the starts). Paging: the entries that come after
  // entry `before_id` in that order; when that entry is gone (purged), those with a smaller id.
  std::optional<std::int64_t> before_id{};
};

struct StoredEntry {
  std::int64_t id = 0;
  model::JournalEntry entry;
  // Only in the committed callback (set_on_committed): the ids of the missed entries this entry
  // marked done in the same transaction (model::resolves_missed). Empty in query results.
  std::vector<std::int64_t> resolved{};
};

// A change to a stored entry (PATCH /api/v1/journal/{id}): the fields that are set are written.
struct EntryUpdate {
  std::optional<std::string> note{};
  std::optional<bool> done{};
  // Some(nullopt) clears the contact; Some(ref) records the contact the user chose.
  std::optional<std::optional<model::ContactRef>> contact{};
  bool empty() const { return !note && !done && !contact; }
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
  // Applies `u` to entry `id` of `tenant` (Errc::not_found when absent). The default handles a
  // note alone (stores without the other columns say unsupported).
  virtual base::Status update(const std::string& tenant, std::int64_t id, const EntryUpdate& u) {
    if (u.done || u.contact) return base::fail(base::Error::unavailable("this journal store cannot mark entries"));
    if (u.note) return set_note(tenant, id, *u.note);
    return {};
  }
  // How many entries match `q` (limit and before_id ignored). The default counts a query's rows
  // (at most 10000); the stores count in SQL.
  virtual base::Result<std::size_t> count(const JournalQuery& q) {
    auto qq = q;
    qq.limit = 10'000;
    qq.before_id.reset();
    auto r = query(qq);
    if (!r) return base::fail(r.error());
    return r->size();
  }
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
