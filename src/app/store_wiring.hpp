// Configuration -> the stores, for callbridged and the offline CLI commands alike, so both always
// use the same place: the journal is [journal] backend ("sqlite": DATA_DIR/journal.db, "postgres":
// journal.dsn), and the built-in contact store lives beside it (DATA_DIR/contacts.db, or the same
// PostgreSQL database). Called at start-up on the main thread; the stores are thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "app/config.hpp"
#include "base/error.hpp"
#include "journal/writer/batch_writer.hpp"
#include "directory/index/indexed_contact_store.hpp"
#include "directory/store/contact_rules.hpp"
#include "ports/contact_source.hpp"
#include "ports/journal_store.hpp"

namespace callbridge::app {

struct OpenedContactStore {
  std::unique_ptr<ports::ContactStore> store;
  directory::IndexLoader index_loader;  // how an IndexedContactStore in front of it loads a tenant
  std::string location;                 // ".../contacts.db" or "PostgreSQL postgresql://user@host/db"
};

// must_exist (lookups and listings of the CLI): an SQLite store that does not exist yet is an
// error naming the file instead of an empty new file.
base::Result<OpenedContactStore> open_contact_store(const Config& config, const std::string& data_dir,
                                                    directory::TenantToE164 to_e164, bool must_exist = false);

struct OpenedJournalStore {
  std::unique_ptr<ports::JournalStore> store;
  std::string location;                                // the file, or "postgresql://user@host/db"
  std::function<journal::JournalWriterStats()> stats;  // the writer's counters (diagnostics)
};

// read_only: the CLI's `callbridge journal` (SQLite: the file must exist and is not written).
base::Result<OpenedJournalStore> open_journal_store(const Config& config, const std::string& data_dir,
                                                    bool read_only = false);

}  // namespace callbridge::app
