// What every identity backend (identity/sqlite, identity/postgres) shares, so that they cannot
// drift: the rules a user, a setting and a device must meet before they are stored, how
// extensions are kept in one column, and the secrets (libsodium): token digests, the argon2id
// check of older tokens, random ids, fast digests. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "base/tenant_id.hpp"
#include "base/time.hpp"
#include "ports/identity_store.hpp"
#include "ports/paired_devices.hpp"

namespace callbridge::identity {

inline constexpr std::size_t kMaxSettingBytes = 256 * 1024;     // a tenant setting's value
inline constexpr std::size_t kMaxUserSettingBytes = 64 * 1024;  // a user setting's value
inline constexpr std::size_t kMaxSpecBytes = 256 * 1024;        // a stored tenant spec

// true when `s` is a usable user/tenant name: 1..64 chars of [A-Za-z0-9._@-].
bool valid_name(std::string_view s);
// Errc::invalid_argument with the reason when `u` may not be stored (name, role, the operator
// tenant's rule, extensions, lengths).
base::Status check_user(const ports::User& u);
// Errc::invalid_argument unless `tenant` and `key` are names and `size` is at most `max`.
base::Status check_setting(std::string_view key, std::size_t size, std::size_t max);
// Errc::invalid_argument unless the device's name and number can be stored.
base::Status check_external_device(const ports::ExternalDevice& d);

// Extensions in one text column: "100,101".
std::string join_extensions(const std::vector<std::string>& v);
std::vector<std::string> split_extensions(std::string_view s);

// A new token for `user` of `tenant` through the store: "cbt_<id>_<secret>" (random, libsodium),
// stored as token_digest(secret). Errc::not_found when the user does not exist. Returns the
// plaintext token, the only time it exists.
base::Result<ports::IssuedToken> issue_token(ports::IdentityStore& store, const base::TenantId& tenant,
                                             const std::string& user, base::Timestamp now,
                                             std::optional<base::Timestamp> expires_at = {});

// A token secret at rest: "$blake2b256$" + hex BLAKE2b-256 of the secret (domain-separated).
// Token secrets are 24 random bytes (192 bits): no guessing or table attack on the digest is
// feasible, so a password hash's deliberate slowness buys nothing and hands an attacker with
// bad tokens a CPU lever (docs/security.md "Token secrets at rest").
std::string token_digest(std::string_view secret);
// Whether `secret` matches a stored token hash: a token_digest (constant-time compare, ~1 us), or
// an argon2id crypto_pwhash_str hash of a token issued before digests (~0.1 s).
bool verify_secret(const std::string& hash, std::string_view secret);
// Whether verify_secret(hash, ...) is the slow argon2id check.
bool secret_check_is_slow(const std::string& hash);
// Random URL-safe string of `bytes` random bytes (hex).
std::string random_hex(std::size_t bytes);
// BLAKE2b-256 of `data`, hex (fast; for cache keys and session ids, never for secrets at rest
// that a user chose).
std::string fast_hash_hex(std::string_view data);

// Paired devices (ports::PairedDeviceStore), both backends: keys, ids and secrets stored as
// lowercase hex; a label's limit; a fresh X25519 edge key pair (crypto_kx).
inline constexpr std::size_t kMaxPairedLabelBytes = 200;
std::string key_hex(std::span<const std::uint8_t> bytes);
// `h` as exactly 32 (or 16) bytes; nullopt for anything else (a hand-edited row).
std::optional<ports::Key32> key32_from_hex(std::string_view h);
ports::EdgeKeyPair new_edge_key();
void wipe_key(ports::Key32& key);  // sodium_memzero

}  // namespace callbridge::identity
