// Configuration -> the stores, for callbridged and the offline CLI commands alike, so both always
// use the same place: the journal is [journal] backend ("sqlite": DATA_DIR/journal.db, "postgres":
// journal.dsn), and the built-in contact store lives beside it (DATA_DIR/contacts.db, or the same
// PostgreSQL database); identity (users, tokens, sessions, settings, tenant specs), the audit log
// and webhooks each follow their table's backend ([identity], [audit], [webhooks]), which cluster
// mode sets to PostgreSQL for all (app/config.hpp ClusterConfig). Called at start-up on the main
// thread; the stores are thread-safe.
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
#include "ports/audit_log.hpp"
#include "ports/identity_store.hpp"
#include "ports/paired_devices.hpp"
#include "ports/journal_store.hpp"
#include "ports/tenant_store.hpp"
#include "ports/webhook_store.hpp"

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

struct OpenedIdentityStore {
  std::unique_ptr<ports::IdentityStore> store;
  std::unique_ptr<ports::TenantStore> tenants;  // the operator's tenant specs, beside the users
  std::string location;                         // ".../identity.db" or "PostgreSQL postgresql://user@host/db"
};

// must_exist: an SQLite identity.db that does not exist yet is an error naming the file.
base::Result<OpenedIdentityStore> open_identity_store(const Config& config, const std::string& data_dir,
                                                      bool must_exist = false);

struct OpenedPairedDevices {
  std::unique_ptr<ports::PairedDeviceStore> store;
  std::string location;  // ".../identity.db" or "PostgreSQL postgresql://user@host/db"
};
// The cloud relay's paired devices and the edge's end-to-end key: beside the users ([identity]
// backend), so in cluster mode every node shares them.
base::Result<OpenedPairedDevices> open_paired_devices(const Config& config, const std::string& data_dir);

enum class AuditUse {
  daemon,     // writes, prunes by [audit] retention_days
  cli_write,  // writes what the CLI changed; never prunes (retention is the daemon's)
  cli_read,   // `callbridge audit`: reads; SQLite: the file must exist and is not written
};
struct OpenedAuditLog {
  std::unique_ptr<ports::AuditLog> log;
  std::string location;  // the file, or "postgresql://user@host/db"
};
base::Result<OpenedAuditLog> open_audit_log(const Config& config, const std::string& data_dir, AuditUse use);

struct OpenedWebhookStore {
  std::unique_ptr<ports::WebhookStore> store;
  std::string location;
};
base::Result<OpenedWebhookStore> open_webhook_store(const Config& config, const std::string& data_dir);

// Cluster mode: the reason a store would stay node-local ("" = none). Checked again at start-up
// (callbridged refuses to start), besides the configuration's own rule, so no wiring can slip.
std::string node_local_store(const Config& config);

// "postgresql://user@host:port/dbname" of a dsn (never the password), for logs.
std::string postgres_location(const std::string& dsn);

}  // namespace callbridge::app
