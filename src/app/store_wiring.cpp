#include "app/store_wiring.hpp"

#include <unistd.h>

#include <filesystem>

#include "directory/store/sqlite_contact_store.hpp"
#include "journal/sqlite/sqlite_journal_store.hpp"
#ifdef CALLBRIDGE_HAVE_PG_JOURNAL
#include "directory/store/pg_contact_store.hpp"
#include "journal/postgres/pg_journal_store.hpp"
#endif

namespace callbridge::app {

using base::Error;
using base::fail;

#ifndef CALLBRIDGE_HAVE_PG_JOURNAL
namespace {

Error no_postgres(const char* what) {
  return Error::invalid_argument(std::string("journal.backend = \"postgres\": this build has no PostgreSQL support "
                                             "(libpq) for the ") + what);
}

}  // namespace
#endif

base::Result<OpenedContactStore> open_contact_store(const Config& config, const std::string& data_dir,
                                                    directory::TenantToE164 to_e164, bool must_exist) {
  OpenedContactStore out;
  if (config.journal.backend == "postgres") {
#ifdef CALLBRIDGE_HAVE_PG_JOURNAL
    directory::PgContactStoreOptions o;
    o.conninfo = config.journal.dsn;
    o.to_e164 = std::move(to_e164);
    auto s = directory::PgContactStore::open(std::move(o));
    if (!s) return fail(s.error());
    out.location = "PostgreSQL " + storage::postgres::PgConn::describe(config.journal.dsn);
    out.index_loader = directory::list_index_loader(**s);
    out.store = std::move(*s);
    return out;
#else
    return fail(no_postgres("contact store"));
#endif
  }
  directory::SqliteContactStoreOptions o;
  o.path = (std::filesystem::path(data_dir) / "contacts.db").string();
  o.to_e164 = std::move(to_e164);
  if (must_exist && access(o.path.c_str(), F_OK) != 0)
    return fail(Error::not_found("no contact store at " + o.path + " (import contacts first, or check --data-dir)"));
  out.location = o.path;
  auto s = directory::SqliteContactStore::open(std::move(o));
  if (!s) return fail(s.error());
  out.index_loader = directory::store_index_loader(**s);  // the store outlives the loader: both in `out`
  out.store = std::move(*s);
  return out;
}

base::Result<OpenedJournalStore> open_journal_store(const Config& config, const std::string& data_dir,
                                                    bool read_only) {
  OpenedJournalStore out;
  if (config.journal.backend == "postgres") {
#ifdef CALLBRIDGE_HAVE_PG_JOURNAL
    journal::PgJournalStore::Options po;
    po.conninfo = config.journal.dsn;
    auto s = journal::PgJournalStore::open(po);
    if (!s) return fail(s.error());
    auto* raw = s->get();
    out.stats = [raw] { return raw->stats(); };
    out.location = raw->location();
    out.store = std::move(*s);
    return out;
#else
    return fail(no_postgres("journal"));
#endif
  }
  journal::SqliteJournalStore::Options so;
  so.read_only = read_only;
  so.synchronous_full = config.journal.synchronous_full;
  auto s = journal::SqliteJournalStore::open(journal_path(data_dir), so);
  if (!s) return fail(s.error());
  auto* raw = s->get();
  out.stats = [raw] { return raw->stats(); };
  out.location = raw->path();
  out.store = std::move(*s);
  return out;
}

}  // namespace callbridge::app
