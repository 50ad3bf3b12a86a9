// PgIdentityStore: ports::IdentityStore in a PostgreSQL database shared by every callbridged node
// of a cluster (docs/cluster.md): users, API tokens (digests only), browser sessions, tenant and
// user settings, statuses, AnyDevice devices; same rules, limits and semantics as
// SqliteIdentityStore (both check with identity/common). PgTenantStore: ports::TenantStore in the
// same database. Tables and their versions: the "identity" part of the shared schema
// (storage/postgres/pg_schema.hpp, table identity_meta).
// Thread-safe: one connection behind a mutex; every statement ends by its deadline (cancelled on
// the server); a lost connection is made again on the next call, and a statement that cannot have
// changed anything is sent once more on the new one.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "identity/common/identity_rules.hpp"
#include "ports/identity_store.hpp"
#include "ports/tenant_store.hpp"

namespace callbridge::storage::postgres {
class PgConn;
class PgRows;
}  // namespace callbridge::storage::postgres

namespace callbridge::identity {

struct PgIdentityOptions {
  std::string conninfo;  // libpq conninfo or postgresql:// URI
  std::chrono::milliseconds timeout{10'000};  // per statement or transaction (cancelled after)
};

// The identity part of the shared schema: version and migration (tables of both stores below).
inline constexpr int kPgIdentitySchemaVersion = 2;

// Connects `conn` unless connected and brings the identity part to kPgIdentitySchemaVersion (the
// stores of this folder call it when they open). `location` as PgConn::describe gives it.
base::Status open_identity_schema(storage::postgres::PgConn& conn, const std::string& location,
                                  std::chrono::steady_clock::time_point deadline);

class PgIdentityStore final : public ports::IdentityStore {
 public:
  // Connects and migrates (advisory lock: nodes starting together take turns). Errors name the
  // server (never the password): unreachable, authentication, a foreign `users` table, a newer schema.
  static base::Result<std::unique_ptr<PgIdentityStore>> open(PgIdentityOptions options);
  ~PgIdentityStore() override;
  PgIdentityStore(const PgIdentityStore&) = delete;
  PgIdentityStore& operator=(const PgIdentityStore&) = delete;

  base::Status put_user(const ports::User& u) override;
  base::Result<ports::User> get_user(const base::TenantId& tenant, const std::string& name) override;
  base::Result<std::vector<ports::User>> list_users(const base::TenantId& tenant) override;
  base::Status remove_user(const base::TenantId& tenant, const std::string& name) override;

  base::Status insert_token(const ports::TokenRecord& t) override;
  base::Result<ports::TokenRecord> get_token(const std::string& id) override;
  base::Result<std::vector<ports::TokenRecord>> list_tokens(const base::TenantId& tenant) override;
  base::Status revoke_token(const base::TenantId& tenant, const std::string& id) override;
  base::Result<std::uint64_t> credential_generation() override;

  base::Status insert_session(const std::string& id_hash, const ports::SessionRecord& s) override;
  base::Result<ports::SessionRecord> get_session(const std::string& id_hash) override;
  base::Status delete_session(const std::string& id_hash) override;
  base::Result<std::size_t> purge_sessions(base::Timestamp now) override;

  base::Result<std::optional<ports::TenantSetting>> get_setting(const base::TenantId& tenant,
                                                                const std::string& key) override;
  base::Status put_setting(const base::TenantId& tenant, const std::string& key,
                           const ports::TenantSetting& value) override;
  base::Status delete_setting(const base::TenantId& tenant, const std::string& key) override;
  base::Result<std::optional<ports::TenantSetting>> get_user_setting(const base::TenantId& tenant,
                                                                     const std::string& user,
                                                                     const std::string& key) override;
  base::Status put_user_setting(const base::TenantId& tenant, const std::string& user, const std::string& key,
                                const ports::TenantSetting& value) override;
  base::Result<std::optional<ports::UserStatus>> get_user_status(const base::TenantId& tenant,
                                                                 const std::string& user) override;
  base::Status put_user_status(const base::TenantId& tenant, const std::string& user,
                               const ports::UserStatus& status) override;
  base::Status clear_user_status(const base::TenantId& tenant, const std::string& user) override;
  base::Result<std::vector<std::pair<std::string, ports::UserStatus>>> list_user_statuses(
      const base::TenantId& tenant) override;

  base::Result<ports::UserDevices> get_user_devices(const base::TenantId& tenant, const std::string& user) override;
  base::Status put_external_device(const base::TenantId& tenant, const std::string& user,
                                   const ports::ExternalDevice& device, std::size_t max_devices) override;
  base::Status remove_external_device(const base::TenantId& tenant, const std::string& user,
                                      const std::string& name) override;
  base::Status set_active_device(const base::TenantId& tenant, const std::string& user, const std::string& device,
                                 base::Timestamp at, const std::string& by) override;
  base::Result<std::vector<ports::ActiveDeviceRow>> list_active_devices() override;

  base::Result<ports::IssuedToken> issue_token(const base::TenantId& tenant, const std::string& user,
                                               base::Timestamp now,
                                               std::optional<base::Timestamp> expires_at) override;
  bool verify_secret(const std::string& hash, std::string_view secret) const override;
  bool secret_check_is_slow(const std::string& hash) const override;
  base::Status upgrade_token_hash(const std::string& id, const std::string& old_hash,
                                  std::string_view secret) override;
  std::string random_hex(std::size_t bytes) const override;
  std::string fast_hash_hex(std::string_view data) const override;

  // "postgresql://user@host:port/dbname" (never the password).
  const std::string& location() const { return location_; }

 private:
  explicit PgIdentityStore(PgIdentityOptions options);

  const PgIdentityOptions options_;
  std::string location_;
  std::mutex mu_;
  std::unique_ptr<storage::postgres::PgConn> conn_;  // guarded by mu_
};

// ports::TenantStore in the same database (table tenant_specs; its own connection, so tenant
// changes never wait behind token checks). Thread-safe.
class PgTenantStore final : public ports::TenantStore {
 public:
  static constexpr std::size_t kMaxSpecBytes = identity::kMaxSpecBytes;

  // Connects and migrates the identity part like PgIdentityStore::open.
  static base::Result<std::unique_ptr<PgTenantStore>> open(PgIdentityOptions options);
  ~PgTenantStore() override;

  base::Result<std::vector<ports::StoredTenant>> list() override;
  base::Result<std::optional<ports::StoredTenant>> get(const base::TenantId& id) override;
  base::Status put(const ports::StoredTenant& t) override;
  base::Status remove(const base::TenantId& id) override;

 private:
  explicit PgTenantStore(PgIdentityOptions options);

  const PgIdentityOptions options_;
  std::mutex mu_;
  std::unique_ptr<storage::postgres::PgConn> conn_;  // guarded by mu_
};

}  // namespace callbridge::identity
