#include "identity/common/identity_rules.hpp"

#include <sodium.h>

#include <cctype>

#include "base/device_name.hpp"

namespace callbridge::identity {

using base::Error;
using base::fail;

namespace {

bool valid_role(std::string_view r) { return r == "admin" || r == "supervisor" || r == "user" || r == "operator"; }

bool sodium_ready() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

constexpr std::string_view kDigestScheme = "$blake2b256$";
constexpr std::string_view kArgon2Scheme = "$argon2";
bool has_prefix(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

}  // namespace

bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '@' || c == '-'))
      return false;
  return true;
}

base::Status check_user(const ports::User& u) {
  if (!valid_name(u.tenant)) return fail(Error::invalid_argument("tenant: expected 1-64 of [A-Za-z0-9._@-]"));
  if (!valid_name(u.name)) return fail(Error::invalid_argument("user: expected 1-64 of [A-Za-z0-9._@-]"));
  if (!valid_role(u.role)) return fail(Error::invalid_argument("role: expected admin, supervisor, user or operator"));
  // Operators manage tenants from their own reserved tenant; no company tenant has one.
  if (u.role == "operator" && u.tenant != base::kOperatorTenant)
    return fail(Error::invalid_argument("role: operator users belong to the reserved tenant \"_operator\""));
  if (u.role != "operator" && u.tenant == base::kOperatorTenant)
    return fail(Error::invalid_argument("tenant: \"_operator\" holds operator users only"));
  if (u.extensions.size() > 64) return fail(Error::invalid_argument("extensions: at most 64"));
  for (const auto& e : u.extensions)
    if (!base::is_device_name(e))
      return fail(Error::invalid_argument("extensions: '" + e.substr(0, 40) + "' is not an extension: expected " +
                                          std::string(base::kDeviceNameRule)));
  if (u.display_name.size() > 200 || u.team.size() > 64)
    return fail(Error::invalid_argument("display_name/team: too long"));
  return {};
}

base::Status check_setting(std::string_view key, std::size_t size, std::size_t max) {
  if (!valid_name(key)) return fail(Error::invalid_argument("setting key: expected 1-64 of [A-Za-z0-9._@-]"));
  if (size > max)
    return fail(Error::invalid_argument("setting " + std::string(key) + ": " + std::to_string(size) +
                                        " bytes, at most " + std::to_string(max)));
  return {};
}

base::Status check_external_device(const ports::ExternalDevice& d) {
  if (!valid_name(d.name)) return fail(Error::invalid_argument("device name: expected 1-64 of [A-Za-z0-9._@-]"));
  if (d.number.empty() || d.number.size() > 32)
    return fail(Error::invalid_argument("device number: expected 1-32 characters"));
  return {};
}

std::string join_extensions(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& e : v) {
    if (!out.empty()) out += ',';
    out += e;
  }
  return out;
}

std::vector<std::string> split_extensions(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < s.size()) {
    auto c = s.find(',', start);
    if (c == std::string_view::npos) c = s.size();
    if (c > start) out.emplace_back(s.substr(start, c - start));
    start = c + 1;
  }
  return out;
}

std::string key_hex(std::span<const std::uint8_t> bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
  out.pop_back();
  return out;
}

std::optional<ports::Key32> key32_from_hex(std::string_view h) {
  ports::Key32 out{};
  std::size_t len = 0;
  if (h.size() != out.size() * 2 ||
      sodium_hex2bin(out.data(), out.size(), h.data(), h.size(), nullptr, &len, nullptr) != 0 || len != out.size())
    return std::nullopt;
  return out;
}

ports::EdgeKeyPair new_edge_key() {
  sodium_ready();
  ports::EdgeKeyPair kp;
  crypto_kx_keypair(kp.pk.data(), kp.sk.data());
  return kp;
}

void wipe_key(ports::Key32& key) { sodium_memzero(key.data(), key.size()); }

std::string random_hex(std::size_t bytes) {
  sodium_ready();
  std::vector<unsigned char> buf(bytes);
  randombytes_buf(buf.data(), buf.size());
  std::string out(bytes * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), buf.data(), buf.size());
  out.pop_back();
  return out;
}

std::string fast_hash_hex(std::string_view data) {
  sodium_ready();
  unsigned char h[32];
  crypto_generichash(h, sizeof h, reinterpret_cast<const unsigned char*>(data.data()), data.size(), nullptr, 0);
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, h, sizeof h);
  return std::string(hex, 64);
}

std::string token_digest(std::string_view secret) {
  sodium_ready();
  // Domain-separated: a token digest is never equal to a session id's fast_hash_hex of the same text.
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, 32);
  static constexpr unsigned char kDomain[] = "callbridge api token v1";
  crypto_generichash_update(&st, kDomain, sizeof kDomain);
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
  unsigned char h[32];
  crypto_generichash_final(&st, h, sizeof h);
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, h, sizeof h);
  std::string out(kDigestScheme);
  out.append(hex, 64);
  return out;
}

bool verify_secret(const std::string& hash, std::string_view secret) {
  if (!sodium_ready()) return false;
  if (has_prefix(hash, kDigestScheme)) {
    const std::string d = token_digest(secret);
    return d.size() == hash.size() && sodium_memcmp(d.data(), hash.data(), d.size()) == 0;
  }
  if (has_prefix(hash, kArgon2Scheme)) {
    return crypto_pwhash_str_verify(hash.c_str(), secret.data(), secret.size()) == 0;
  }
  return false;
}

bool secret_check_is_slow(const std::string& hash) { return has_prefix(hash, kArgon2Scheme); }

base::Result<ports::IssuedToken> issue_token(ports::IdentityStore& store, const base::TenantId& tenant,
                                             const std::string& user, base::Timestamp now,
                                             std::optional<base::Timestamp> expires_at) {
  if (!sodium_ready()) return fail(Error::internal("libsodium failed to initialize"));
  if (auto u = store.get_user(tenant, user); !u) return fail(u.error());
  ports::TokenRecord t{.id = random_hex(8), .tenant = tenant};
  std::string secret = random_hex(24);
  t.hash = token_digest(secret);
  t.user = user;
  t.created_at = now;
  t.expires_at = expires_at;
  if (auto st = store.insert_token(t); !st) return fail(st.error());
  return ports::IssuedToken{t.id, "cbt_" + t.id + "_" + secret};
}

}  // namespace callbridge::identity
