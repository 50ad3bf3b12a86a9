#include "app/store_wiring.hpp"

#include <unistd.h>

#include <filesystem>

#include "audit/sqlite/sqlite_audit_log.hpp"
#include "directory/store/sqlite_contact_store.hpp"
#include "identity/sqlite/identity_store.hpp"
#include "identity/sqlite/paired_device_store.hpp"
#include "identity/sqlite/sqlite_tenant_store.hpp"
#include "journal/sqlite/sqlite_journal_store.hpp"
#include "webhooks/sqlite/sqlite_webhook_store.hpp"
#ifdef CALLBRIDGE_HAVE_PG_JOURNAL
#include "audit/postgres/pg_audit_log.hpp"
#include "directory/store/pg_contact_store.hpp"
#include "identity/postgres/pg_identity_store.hpp"
#include "identity/postgres/pg_paired_device_store.hpp"
#include "journal/postgres/pg_journal_store.hpp"
#include "webhooks/postgres/pg_webhook_store.hpp"
#endif

namespace callbridge::app {

using base::Error;
using base::fail;

#ifndef CALLBRIDGE_HAVE_PG_JOURNAL
namespace {

Error no_postgres(const char* what, const char* key = "journal.backend") {
  return Error::invalid_argument(std::string(key) + " = \"postgres\": this build has no PostgreSQL support "
                                             "(libpq) for the " + what);
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

base::Result<OpenedIdentityStore> open_identity_store(const Config& config, const std::string& data_dir,
                                                      bool must_exist) {
  OpenedIdentityStore out;
  if (config.identity.backend == "postgres") {
#ifdef CALLBRIDGE_HAVE_PG_JOURNAL
    identity::PgIdentityOptions o{.conninfo = config.identity.dsn};
    auto s = identity::PgIdentityStore::open(o);
    if (!s) return fail(s.error());
    auto t = identity::PgTenantStore::open(o);
    if (!t) return fail(t.error());
    out.location = "PostgreSQL " + (*s)->location();
    out.store = std::move(*s);
    out.tenants = std::move(*t);
    return out;
#else
    return fail(no_postgres("identity store", "identity.backend"));
#endif
  }
  const std::string path = (std::filesystem::path(data_dir) / "identity.db").string();
  if (must_exist && access(path.c_str(), F_OK) != 0)
    return fail(Error::not_found("no identity store at " + path + " (check --data-dir or --config)"));
  auto s = identity::SqliteIdentityStore::open(path);
  if (!s) return fail(s.error());
  auto t = identity::SqliteTenantStore::open(path);
  if (!t) return fail(t.error());
  out.location = path;
  out.store = std::move(*s);
  out.tenants = std::move(*t);
  return out;
}

base::Result<OpenedPairedDevices> open_paired_devices(const Config& config, const std::string& data_dir) {
  OpenedPairedDevices out;
  if (config.identity.backend == "postgres") {
#ifdef CALLBRIDGE_HAVE_PG_JOURNAL
    auto s = identity::PgPairedDeviceStore::open({.conninfo = config.identity.dsn});
    if (!s) return fail(s.error());
    out.location = "PostgreSQL " + (*s)->location();
    out.store = std::move(*s);
    return out;
#else
    return fail(no_postgres("paired device store", "identity.backend"));
#endif
  }
  out.location = (std::filesystem::path(data_dir) / "identity.db").string();
  auto s = identity::SqlitePairedDeviceStore::open(out.location);
  if (!s) return fail(s.error());
  out.store = std::move(*s);
  return out;
}

base::Result<OpenedAuditLog> open_audit_log(const Config& config, const std::string& data_dir, AuditUse use) {
  OpenedAuditLog out;
  const int retention = use == AuditUse::daemon ? config.audit.retention_days : 0;
  if (config.audit.backend == "postgres") {
#ifdef CALLBRIDGE_HAVE_PG_JOURNAL
    audit::PgAuditLog::Options o;
    o.conninfo = config.audit.dsn;
    o.retention_days = retention;
    auto l = audit::PgAuditLog::open(o);
    if (!l) return fail(l.error());
    out.location = (*l)->location();
    out.log = std::move(*l);
    return out;
#else
    return fail(no_postgres("audit log", "audit.backend"));
#endif
  }
  audit::SqliteAuditLog::Options o;
  o.read_only = use == AuditUse::cli_read;
  o.retention_days = retention;
  auto l = audit::SqliteAuditLog::open(audit_path(data_dir), o);
  if (!l) return fail(l.error());
  out.location = (*l)->path();
  out.log = std::move(*l);
  return out;
}

base::Result<OpenedWebhookStore> open_webhook_store(const Config& config, const std::string& data_dir) {
  OpenedWebhookStore out;
  if (config.webhooks.backend == "postgres") {
#ifdef CALLBRIDGE_HAVE_PG_JOURNAL
    webhooks::PgWebhookStore::Options o;
    o.conninfo = config.webhooks.dsn;
    o.node = config.cluster.node;
    auto s = webhooks::PgWebhookStore::open(o);
    if (!s) return fail(s.error());
    out.location = (*s)->location();
    out.store = std::move(*s);
    return out;
#else
    return fail(no_postgres("webhook store", "webhooks.backend"));
#endif
  }
  const std::string path = (std::filesystem::path(data_dir) / "webhooks.db").string();
  auto s = webhooks::SqliteWebhookStore::open(path);
  if (!s) return fail(s.error());
  out.location = path;
  out.store = std::move(*s);
  return out;
}

std::string postgres_location(const std::string& dsn) {
#ifdef CALLBRIDGE_HAVE_PG_JOURNAL
  return storage::postgres::PgConn::describe(dsn);
#else
  return "(a PostgreSQL database; this build has no libpq)";
#endif
}

std::string node_local_store(const Config& config) {
  if (!config.cluster.enabled) return {};
  if (config.journal.backend != "postgres") return "the journal and contacts ([journal] backend)";
  if (config.identity.backend != "postgres") return "users, tokens and sessions ([identity] backend)";
  if (config.audit.backend != "postgres") return "the audit log ([audit] backend)";
  if (config.webhooks.backend != "postgres") return "webhooks ([webhooks] backend)";
  return {};
}

}  // namespace callbridge::app
