// The journal capability's service logic, without HTTP: reading a principal's view of the journal
// (the visibility policy's queries, merged newest first), annotating an entry it may see, and the
// CSV export (docs/journal.md). Called by journal_routes on a REST worker: every function blocks
// on the store. Stateless; any thread.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "core/viewer.hpp"
#include "ports/journal_store.hpp"

namespace callbridge::capabilities::journal {

// Why a read was refused or failed.
struct ReadFailure {
  bool forbidden = false;  // a user asked for a party that is not theirs (403)
  base::Error error;       // otherwise: the store's error
};

// What `viewer` may see of `q` (the tenant is always the viewer's), newest first, at most q.limit.
std::expected<std::vector<ports::StoredEntry>, ReadFailure> visible_entries(ports::JournalStore& store,
                                                                            const ports::JournalQuery& q,
                                                                            const core::Viewer& viewer);

// Applies `u` (note, done mark, chosen contact) to entry `id` when `viewer` may see it: the
// updated entry, nullopt when there is no such entry for the viewer (404: other tenants' and other
// users' entries look absent).
base::Result<std::optional<ports::StoredEntry>> update_entry(ports::JournalStore& store, const core::Viewer& viewer,
                                                             std::int64_t id, const ports::EntryUpdate& u);

// The viewer's open missed calls (disposition missed, not done) on their own extensions, whatever
// the role (a supervisor's counter is about their own phone), since `since` when set. Blocks.
base::Result<std::size_t> open_missed(ports::JournalStore& store, const core::Viewer& viewer,
                                      std::optional<base::Timestamp> since);

// RFC 4180 CSV with a header row, CRLF line ends, formula-safe cells (base/csv_text, the same
// writer as `callbridge journal --format csv`).
std::string to_csv(const std::vector<ports::StoredEntry>& entries);

}  // namespace callbridge::capabilities::journal
