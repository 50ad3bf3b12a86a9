// Authenticator: the PrincipalResolver of callbridged. Checks `Authorization: Bearer cbt_<id>_<secret>`
// (argon2id once per token, then a BLAKE2b-keyed in-memory cache), the `cb_session` cookie
// (sessions in identity.db), and one-time WebSocket tickets (in memory, 30 s). Counts
// authentication failures per client address and answers 429 once a limit is hit.
// Called by the REST routes and the WebSocket route on the io thread; not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>

#include "api/principal.hpp"
#include "base/time.hpp"
#include "identity/sqlite/identity_store.hpp"

namespace callbridge::api {

struct AuthOptions {
  std::chrono::seconds session_ttl{12 * 3600};
  std::chrono::seconds ticket_ttl{30};
  // Verified tokens are trusted from the cache this long (revocation through the API is immediate;
  // a token revoked by another process is noticed after this).
  std::chrono::seconds cache_ttl{300};
  std::size_t cache_capacity = 10'000;
  int max_failures = 10;                  // per address within failure_window ...
  std::chrono::seconds failure_window{60};  // ... then 429 until the window ends
  std::size_t max_tracked_addresses = 10'000;
};

struct AuthStats {
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
  std::uint64_t rate_limited = 0;
  std::uint64_t argon2_verifications = 0;
  std::uint64_t cache_hits = 0;
};

class Authenticator final : public PrincipalResolver {
 public:
  Authenticator(identity::SqliteIdentityStore& store, const base::Clock& clock, AuthOptions options = {});

  std::expected<Principal, AuthFailure> resolve(const HttpRequest& req, bool allow_ticket) override;

  // Checks a plaintext token (POST /session). Counts failures against `remote`.
  std::expected<Principal, AuthFailure> check_token(std::string_view token, const std::string& remote);

  // A new browser session for p; returns the cookie value (random, stored hashed).
  base::Result<std::string> create_session(const Principal& p);
  void end_session(std::string_view cookie_value);
  // The cookie value of `req` ("" if none).
  static std::string session_cookie(const HttpRequest& req);

  // A one-time ticket for /api/v1/events?ticket=, valid options.ticket_ttl.
  std::string issue_ticket(const Principal& p);

  // Drop cached verifications (after a token is revoked or a user changed).
  void invalidate_cache() { cache_.clear(); }

  const AuthStats& stats() const { return stats_; }
  const AuthOptions& options() const { return options_; }

 private:
  struct Cached {
    Principal principal;
    std::optional<base::Timestamp> expires_at;
    base::Timestamp verified_at;
  };
  struct Ticket {
    Principal principal;
    base::Timestamp expires_at;
  };
  struct Failures {
    int count = 0;
    base::Timestamp window_start;
  };

  std::expected<Principal, AuthFailure> fail_for(const std::string& remote, std::string detail);
  std::optional<AuthFailure> limited(const std::string& remote);
  base::Result<Principal> principal_of(const std::string& tenant, const std::string& user);

  identity::SqliteIdentityStore& store_;
  const base::Clock& clock_;
  AuthOptions options_;
  std::unordered_map<std::string, Cached> cache_;   // BLAKE2b(token) -> principal
  std::unordered_map<std::string, Ticket> tickets_;
  std::unordered_map<std::string, Failures> failures_;  // by address
  AuthStats stats_;
};

}  // namespace callbridge::api
