// SqliteIdentityStore: the ports::IdentityStore of callbridged: users, API tokens (argon2id hashes
// only), browser sessions and tenant settings of every tenant, in identity.db in the data dir
// (SQLite, WAL, schema version in PRAGMA user_version). Used by api/ through the port (io thread),
// by app/ wiring and demo mode, and by `callbridge token create` (CLI). One connection behind a
// mutex: thread-safe. Every lookup that is not by a globally unique id takes the tenant.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/tenant_id.hpp"
#include "base/time.hpp"
#include "identity/common/identity_rules.hpp"  // issue_token, verify_secret, ... (shared by both backends)
#include "ports/identity_store.hpp"

namespace callbridge::storage::sqlite {
class Connection;
}

namespace callbridge::identity {

// The identity types are the port's (ports/identity_store.hpp); the names here keep the
// backend's own callers (cli, app, tests) unchanged.
using ports::ActiveDeviceRow;
using ports::ExternalDevice;
using ports::IdentityStore;
using ports::IssuedToken;
using ports::parse_token;
using ports::SessionRecord;
using ports::TenantSetting;
using ports::TokenParts;
using ports::TokenRecord;
using ports::User;
using ports::UserDevices;

class SqliteIdentityStore final : public ports::IdentityStore {
 public:
  static constexpr int kSchemaVersion = 7;  // 2: tenant_settings; 3: sessions.token_id, credential_generation; 4: user_settings;
                                            // 5: user_status; 6: user_devices, user_active_device (AnyDevice); 7: user_devices.private
  static constexpr std::size_t kMaxSettingBytes = identity::kMaxSettingBytes;
  static constexpr std::size_t kMaxUserSettingBytes = identity::kMaxUserSettingBytes;

  // Opens (creating and migrating) the database; ":memory:" for tests. Errc::io on open failure,
  // Errc::conflict when the file's schema is newer than this build.
  static base::Result<std::unique_ptr<SqliteIdentityStore>> open(const std::string& path);
  ~SqliteIdentityStore() override;
  SqliteIdentityStore(const SqliteIdentityStore&) = delete;
  SqliteIdentityStore& operator=(const SqliteIdentityStore&) = delete;

  // Inserts or replaces the user (tenant, name). Errc::invalid_argument on a bad role or name.
  base::Status put_user(const User& u) override;
  base::Result<User> get_user(const base::TenantId& tenant, const std::string& name) override;
  base::Result<std::vector<User>> list_users(const base::TenantId& tenant) override;
  // Deletes the user, their tokens and sessions. Errc::not_found if absent.
  base::Status remove_user(const base::TenantId& tenant, const std::string& name) override;

  base::Status insert_token(const TokenRecord& t) override;
  base::Result<TokenRecord> get_token(const std::string& id) override;
  base::Result<std::vector<TokenRecord>> list_tokens(const base::TenantId& tenant) override;
  // Errc::not_found unless the token exists in `tenant`. Deletes its sessions (one transaction).
  base::Status revoke_token(const base::TenantId& tenant, const std::string& id) override;
  base::Result<std::uint64_t> credential_generation() override;

  // Sessions are stored by a hash of the cookie value, never the value itself.
  base::Status insert_session(const std::string& id_hash, const SessionRecord& s) override;
  base::Result<SessionRecord> get_session(const std::string& id_hash) override;
  base::Status delete_session(const std::string& id_hash) override;
  base::Result<std::size_t> purge_sessions(base::Timestamp now) override;

  // Per-tenant settings by key; nullopt when never set. put: Errc::invalid_argument on a bad
  // tenant/key or a value over kMaxSettingBytes.
  base::Result<std::optional<TenantSetting>> get_setting(const base::TenantId& tenant, const std::string& key) override;
  base::Status put_setting(const base::TenantId& tenant, const std::string& key, const TenantSetting& value) override;
  base::Status delete_setting(const base::TenantId& tenant, const std::string& key) override;
  base::Result<std::optional<TenantSetting>> get_user_setting(const base::TenantId& tenant, const std::string& user,
                                                              const std::string& key) override;
  base::Status put_user_setting(const base::TenantId& tenant, const std::string& user, const std::string& key,
                                const TenantSetting& value) override;
  base::Result<std::optional<ports::UserStatus>> get_user_status(const base::TenantId& tenant,
                                                                 const std::string& user) override;
  base::Status put_user_status(const base::TenantId& tenant, const std::string& user,
                               const ports::UserStatus& status) override;
  base::Status clear_user_status(const base::TenantId& tenant, const std::string& user) override;
  base::Result<std::vector<std::pair<std::string, ports::UserStatus>>> list_user_statuses(
      const base::TenantId& tenant) override;

  base::Result<UserDevices> get_user_devices(const base::TenantId& tenant, const std::string& user) override;
  base::Status put_external_device(const base::TenantId& tenant, const std::string& user, const ExternalDevice& device,
                                   std::size_t max_devices) override;
  base::Status remove_external_device(const base::TenantId& tenant, const std::string& user,
                                      const std::string& name) override;
  base::Status set_active_device(const base::TenantId& tenant, const std::string& user, const std::string& device,
                                 base::Timestamp at, const std::string& by) override;
  base::Result<std::vector<ActiveDeviceRow>> list_active_devices() override;

  base::Result<IssuedToken> issue_token(const base::TenantId& tenant, const std::string& user, base::Timestamp now,
                                        std::optional<base::Timestamp> expires_at) override;
  bool verify_secret(const std::string& hash, std::string_view secret) const override;
  bool secret_check_is_slow(const std::string& hash) const override;
  base::Status upgrade_token_hash(const std::string& id, const std::string& old_hash,
                                  std::string_view secret) override;
  std::string random_hex(std::size_t bytes) const override;
  std::string fast_hash_hex(std::string_view data) const override;

  const std::string& path() const { return path_; }

 private:
  SqliteIdentityStore(std::string path, std::unique_ptr<storage::sqlite::Connection> conn);
  base::Status migrate();
  base::Status exec(const char* sql);
  base::Status bump_generation();  // mu_ held
  bool user_exists(const base::TenantId& tenant, const std::string& user);  // mu_ held; false on error too
  base::Error sql_error(const char* what) const;

  std::string path_;
  std::unique_ptr<storage::sqlite::Connection> conn_;
  sqlite3* db_;  // conn_'s handle
  std::mutex mu_;
};

}  // namespace callbridge::identity
