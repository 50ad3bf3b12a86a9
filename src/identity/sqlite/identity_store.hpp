// SqliteIdentityStore: users, API tokens (argon2id hashes only) and browser sessions of every
// tenant, in identity.db in the data dir (SQLite, WAL, schema version in PRAGMA user_version).
// Used by api/auth (on the io thread) and `callbridge token create` (CLI). One connection behind
// a mutex: thread-safe. Every lookup that is not by a globally unique id takes the tenant.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/time.hpp"

namespace callbridge::identity {

struct User {
  std::string tenant = "default";
  std::string name;                     // login name, unique per tenant ("anna")
  std::string role = "user";            // "admin" | "supervisor" | "user"
  std::string display_name;
  std::vector<std::string> extensions;  // devices the user owns ("100")
  std::string team;
  friend bool operator==(const User&, const User&) = default;
};

struct TokenRecord {
  std::string id;    // public part of the token ("cbt_<id>_<secret>"), globally unique
  std::string tenant;
  std::string user;
  std::string hash;  // crypto_pwhash_str (argon2id) of the secret part
  base::Timestamp created_at{};
  std::optional<base::Timestamp> expires_at;
  bool revoked = false;
};

// One per-tenant setting (a JSON document, e.g. "ui" for GET/PUT /api/v1/ui-settings).
struct TenantSetting {
  std::string value;
  base::Timestamp updated_at{};
  std::string updated_by;  // user name
};

struct SessionRecord {
  std::string tenant;
  std::string user;
  base::Timestamp expires_at{};
};

class SqliteIdentityStore {
 public:
  static constexpr int kSchemaVersion = 2;  // 2: tenant_settings
  static constexpr std::size_t kMaxSettingBytes = 256 * 1024;

  // Opens (creating and migrating) the database; ":memory:" for tests. Errc::io on open failure,
  // Errc::conflict when the file's schema is newer than this build.
  static base::Result<std::unique_ptr<SqliteIdentityStore>> open(const std::string& path);
  ~SqliteIdentityStore();
  SqliteIdentityStore(const SqliteIdentityStore&) = delete;
  SqliteIdentityStore& operator=(const SqliteIdentityStore&) = delete;

  // Inserts or replaces the user (tenant, name). Errc::invalid_argument on a bad role or name.
  base::Status put_user(const User& u);
  base::Result<User> get_user(const std::string& tenant, const std::string& name);
  base::Result<std::vector<User>> list_users(const std::string& tenant);
  // Deletes the user, their tokens and sessions. Errc::not_found if absent.
  base::Status remove_user(const std::string& tenant, const std::string& name);

  base::Status insert_token(const TokenRecord& t);
  base::Result<TokenRecord> get_token(const std::string& id);
  base::Result<std::vector<TokenRecord>> list_tokens(const std::string& tenant);
  // Errc::not_found unless the token exists in `tenant`.
  base::Status revoke_token(const std::string& tenant, const std::string& id);

  // Sessions are stored by a hash of the cookie value, never the value itself.
  base::Status insert_session(const std::string& id_hash, const SessionRecord& s);
  base::Result<SessionRecord> get_session(const std::string& id_hash);
  base::Status delete_session(const std::string& id_hash);
  base::Result<std::size_t> purge_sessions(base::Timestamp now);

  // Per-tenant settings by key; nullopt when never set. put: Errc::invalid_argument on a bad
  // tenant/key or a value over kMaxSettingBytes.
  base::Result<std::optional<TenantSetting>> get_setting(const std::string& tenant, const std::string& key);
  base::Status put_setting(const std::string& tenant, const std::string& key, const TenantSetting& value);
  base::Status delete_setting(const std::string& tenant, const std::string& key);

  const std::string& path() const { return path_; }

 private:
  SqliteIdentityStore(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}
  base::Status migrate();
  base::Status exec(const char* sql);
  base::Error sql_error(const char* what) const;

  std::string path_;
  sqlite3* db_;
  std::mutex mu_;
};

// A new token for `user` of `tenant`: "cbt_<id>_<secret>" (random, libsodium), stored as an
// argon2id hash of the secret (~0.1 s). Returns the plaintext token, the only time it exists.
struct IssuedToken {
  std::string id;
  std::string token;
};
base::Result<IssuedToken> issue_token(SqliteIdentityStore& store, const std::string& tenant,
                                      const std::string& user, base::Timestamp now,
                                      std::optional<base::Timestamp> expires_at = {});

// Splits "cbt_<id>_<secret>"; nullopt when the shape is wrong (length-limited).
struct TokenParts {
  std::string id;
  std::string secret;
};
std::optional<TokenParts> parse_token(std::string_view token);
// argon2id check of `secret` against a crypto_pwhash_str hash (~0.1 s).
bool verify_secret(const std::string& hash, std::string_view secret);
// Random URL-safe string of `bytes` random bytes (hex).
std::string random_hex(std::size_t bytes);
// BLAKE2b-256 of `data`, hex (fast; for cache keys and session ids, never for secrets at rest
// that a user chose).
std::string fast_hash_hex(std::string_view data);
// true when `s` is a usable user/tenant name: 1..64 chars of [A-Za-z0-9._@-].
bool valid_name(std::string_view s);

}  // namespace callbridge::identity
