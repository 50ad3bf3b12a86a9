// Who may use the API: users, API tokens, browser sessions and per-tenant settings of every
// tenant, and the secrets that guard them. The IdentityStore interface is implemented by
// identity/sqlite (SqliteIdentityStore) and used by api/ (Authenticator, REST identity and settings
// routes) on the io thread; implementations are thread-safe. Every lookup that is not by a
// globally unique id takes the tenant.
#pragma once

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "base/tenant_id.hpp"
#include "base/time.hpp"

namespace callbridge::ports {

struct User {
  base::TenantId tenant;                  // no default: User{.tenant = t}
  std::string name{};                     // login name, unique per tenant ("anna")
  std::string role = "user";              // "admin" | "supervisor" | "user"; "operator" (tenant "_operator" only)
  std::string display_name{};
  std::vector<std::string> extensions{};  // devices the user owns ("100")
  std::string team{};
  friend bool operator==(const User&, const User&) = default;
};

struct TokenRecord {
  std::string id{};    // public part of the token ("cbt_<id>_<secret>"), globally unique
  base::TenantId tenant;
  std::string user{};
  std::string hash{};  // the backend's hash of the secret part (never the secret)
  base::Timestamp created_at{};
  std::optional<base::Timestamp> expires_at{};
  bool revoked = false;
};

// One per-tenant setting (a JSON document, e.g. "ui" for GET/PUT /api/v1/ui-settings).
struct TenantSetting {
  std::string value;
  base::Timestamp updated_at{};
  std::string updated_by;  // user name
};

// A user's own status on the presence board (docs/api.md "Presence"): `status` one of available,
// away, busy, dnd, offline (checked by the API, stored as given); an optional note ("in a
// meeting") and the time it ends by itself (`until`; unset: until changed).
struct UserStatus {
  std::string status = "available";
  std::string note{};
  std::optional<base::Timestamp> until{};
  base::Timestamp updated_at{};
  bool operator==(const UserStatus&) const = default;
};

struct SessionRecord {
  base::TenantId tenant;
  std::string user{};
  base::Timestamp expires_at{};
  std::string token_id{};  // the API token the session was created from ("" = none)
};

// AnyDevice (docs/call-control.md "AnyDevice"): a named external phone of a user ("mobile",
// "home"), stored with its number in E.164 as the tenant's dialing plan normalized it.
struct ExternalDevice {
  std::string name;    // device name (core::valid_external_device_name), unique per user
  std::string number;  // E.164 ("+491701234567")
  base::Timestamp created_at{};
  // The user's own phone (true) or a line the company pays (false): the journal's "private" of
  // the calls it carries, so company and private costs can be told apart (docs/journal.md).
  bool private_device = true;
  friend bool operator==(const ExternalDevice&, const ExternalDevice&) = default;
};

// A user's external devices and their active device: "" = never chosen (the tenant's default),
// else one of the user's extensions or the name of one of `external`.
struct UserDevices {
  std::vector<ExternalDevice> external{};  // by name
  std::string active{};
  std::optional<base::Timestamp> active_since{};  // when `active` was chosen
  std::string active_set_by{};                    // who chose it (the user or an admin)
};

// One user's active device as loaded at start-up (IdentityStore::list_active_devices).
struct ActiveDeviceRow {
  base::TenantId tenant;
  std::string user;
  std::string device;  // the active device's name
  std::string number;  // E.164 when it is an external device, "" for an extension
  bool private_device = true;  // ExternalDevice::private_device (an extension: unused)
};

// A token as issued: the plaintext `token` ("cbt_<id>_<secret>") exists only in this answer.
struct IssuedToken {
  std::string id;
  std::string token;
};

// "cbt_<id>_<secret>" split into its hex parts; nullopt when the shape is wrong (length-limited).
struct TokenParts {
  std::string id;
  std::string secret;
};
inline std::optional<TokenParts> parse_token(std::string_view token) {
  if (token.size() > 200 || !token.starts_with("cbt_")) return std::nullopt;
  token.remove_prefix(4);
  auto us = token.find('_');
  if (us == std::string_view::npos || us == 0 || us + 1 >= token.size()) return std::nullopt;
  TokenParts p{std::string(token.substr(0, us)), std::string(token.substr(us + 1))};
  for (char c : p.id + p.secret)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
  return p;
}

class IdentityStore {
 public:
  virtual ~IdentityStore() = default;

  // Inserts or replaces the user (tenant, name). Errc::invalid_argument on a bad role or name.
  virtual base::Status put_user(const User& u) = 0;
  virtual base::Result<User> get_user(const base::TenantId& tenant, const std::string& name) = 0;
  virtual base::Result<std::vector<User>> list_users(const base::TenantId& tenant) = 0;
  // Deletes the user, their tokens and sessions. Errc::not_found if absent.
  virtual base::Status remove_user(const base::TenantId& tenant, const std::string& name) = 0;

  virtual base::Status insert_token(const TokenRecord& t) = 0;
  virtual base::Result<TokenRecord> get_token(const std::string& id) = 0;
  virtual base::Result<std::vector<TokenRecord>> list_tokens(const base::TenantId& tenant) = 0;
  // Errc::not_found unless the token exists in `tenant`. Also deletes the browser sessions created
  // from it.
  virtual base::Status revoke_token(const base::TenantId& tenant, const std::string& id) = 0;
  // A counter bumped by every change that can invalidate a verified credential (a token revoked,
  // a user changed or removed), by whichever process made it (the daemon or `callbridge token`).
  // The Authenticator polls it (at most once a second) and drops its cache when it moves. Cheap.
  virtual base::Result<std::uint64_t> credential_generation() = 0;

  // Sessions are stored by a hash of the cookie value (fast_hash_hex), never the value itself.
  virtual base::Status insert_session(const std::string& id_hash, const SessionRecord& s) = 0;
  virtual base::Result<SessionRecord> get_session(const std::string& id_hash) = 0;
  virtual base::Status delete_session(const std::string& id_hash) = 0;
  virtual base::Result<std::size_t> purge_sessions(base::Timestamp now) = 0;

  // Per-tenant settings by key; nullopt when never set. put: Errc::invalid_argument on a bad
  // tenant/key or a value over the backend's size limit.
  virtual base::Result<std::optional<TenantSetting>> get_setting(const base::TenantId& tenant,
                                                                 const std::string& key) = 0;
  virtual base::Status put_setting(const base::TenantId& tenant, const std::string& key,
                                   const TenantSetting& value) = 0;
  virtual base::Status delete_setting(const base::TenantId& tenant, const std::string& key) = 0;

  // Per-user settings by key (a JSON document: "settings", "favorites"; GET/PUT /api/v1/me/...),
  // nullopt when never set; removed with the user. put: Errc::not_found when the user does not
  // exist, Errc::invalid_argument on a bad key or a value over the backend's size limit.
  virtual base::Result<std::optional<TenantSetting>> get_user_setting(const base::TenantId& tenant,
                                                                      const std::string& user,
                                                                      const std::string& key) = 0;
  virtual base::Status put_user_setting(const base::TenantId& tenant, const std::string& user, const std::string& key,
                                        const TenantSetting& value) = 0;

  // A user's status (UserStatus), nullopt when never set or cleared; removed with the user. put:
  // Errc::not_found when the user does not exist. Expired statuses are returned as stored (the
  // reader compares `until` with its clock). list: every stored status of the tenant, by user.
  virtual base::Result<std::optional<UserStatus>> get_user_status(const base::TenantId& tenant,
                                                                  const std::string& user) = 0;
  virtual base::Status put_user_status(const base::TenantId& tenant, const std::string& user,
                                       const UserStatus& status) = 0;
  virtual base::Status clear_user_status(const base::TenantId& tenant, const std::string& user) = 0;
  virtual base::Result<std::vector<std::pair<std::string, UserStatus>>> list_user_statuses(
      const base::TenantId& tenant) = 0;

  // AnyDevice: a user's external devices and active device (GET/PUT /api/v1/me/devices). get:
  // Errc::not_found when the user does not exist. put_external_device adds a device or stores its new
  // number and private flag:
  // Errc::not_found (no user), Errc::conflict when it would be the (max+1)-th device.
  // remove_external_device: Errc::not_found when there is none of that name; it stops being the
  // active device (back to ""). set_active_device does not check `device` (the caller did; "" resets
  // to the default). All removed with the user.
  virtual base::Result<UserDevices> get_user_devices(const base::TenantId& tenant, const std::string& user) = 0;
  virtual base::Status put_external_device(const base::TenantId& tenant, const std::string& user,
                                           const ExternalDevice& device, std::size_t max_devices) = 0;
  virtual base::Status remove_external_device(const base::TenantId& tenant, const std::string& user,
                                              const std::string& name) = 0;
  virtual base::Status set_active_device(const base::TenantId& tenant, const std::string& user, const std::string& device,
                                         base::Timestamp at, const std::string& by) = 0;
  // Every user's chosen active device, of every tenant (the daemon's start-up load).
  virtual base::Result<std::vector<ActiveDeviceRow>> list_active_devices() = 0;

  // The secrets, in the backend's scheme (what it keeps at rest must match what it checks):
  // A new token for an existing `user` of `tenant`, stored as a digest of its random secret; the
  // plaintext is returned once.
  virtual base::Result<IssuedToken> issue_token(const base::TenantId& tenant, const std::string& user,
                                                base::Timestamp now,
                                                std::optional<base::Timestamp> expires_at) = 0;
  // Whether `secret` matches a stored TokenRecord::hash. Fast for tokens issued now; slow (a
  // password hash, ~0.1 s) for hashes of an older scheme, which secret_check_is_slow() tells.
  virtual bool verify_secret(const std::string& hash, std::string_view secret) const = 0;
  virtual bool secret_check_is_slow(const std::string& hash) const = 0;
  // Checks `secret` against `old_hash` (slow) and, if it matches, stores the token's hash in the
  // fast scheme, unless the row changed since `old_hash` was read. Errc::invalid_argument if
  // `secret` does not match; another error if it matched but could not be stored.
  virtual base::Status upgrade_token_hash(const std::string& id, const std::string& old_hash,
                                          std::string_view secret) = 0;
  // `bytes` random bytes from a cryptographic generator, as hex (session cookies, tickets).
  virtual std::string random_hex(std::size_t bytes) const = 0;
  // A fast cryptographic digest of `data` as hex (session ids at rest, cache keys); never for a
  // secret a user chose.
  virtual std::string fast_hash_hex(std::string_view data) const = 0;
};

}  // namespace callbridge::ports
