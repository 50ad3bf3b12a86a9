// Authenticator: the PrincipalResolver of callbridged. Checks `Authorization: Bearer cbt_<id>_<secret>`
// (checked against identity.db once per token: a BLAKE2b digest, or argon2id for tokens issued
// before digests; then a BLAKE2b-keyed in-memory cache that a revocation by any process
// empties within a second), the `cb_session` cookie (sessions in identity.db, each tied to the
// token it was made from), and one-time WebSocket tickets (in memory, 30 s). Counts
// authentication failures per client address and per token id; beyond a limit failures answer
// 429, while a correct credential still passes.
// Thread-safe. resolve_async() (REST and WebSocket routes, io thread) answers cached tokens,
// tickets and rate-limited addresses at once and sends the rest (identity.db; argon2 ~0.1 s for an
// old hash) to a base::WorkerPool; concurrent checks of one uncached token share one run. The look
// for revocations that keeps cached answers trustworthy runs on the session workers, ahead of time,
// never behind token checks: a client with a verified token is not slowed by a bad-token flood.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "api/origin_check.hpp"
#include "api/principal.hpp"
#include "base/time.hpp"
#include "base/worker_pool.hpp"
#include "ports/identity_store.hpp"

namespace callbridge::api {

struct AuthOptions {
  std::chrono::seconds session_ttl{12 * 3600};
  std::chrono::seconds ticket_ttl{30};
  // Verified tokens are trusted from the cache at most this long. Revocations are noticed sooner:
  // through the API at once, by another process (`callbridge token revoke`) within
  // revocation_check_interval: a cached answer older than that last look at the store's
  // credential_generation() goes to a worker, which looks again (cheap) before trusting it.
  std::chrono::seconds cache_ttl{300};
  std::chrono::milliseconds revocation_check_interval{1000};
  std::size_t cache_capacity = 10'000;
  // Failed checks are counted per client address and per token id within failure_window. Beyond
  // max_failures, failures are answered 429 (Retry-After) instead of 401, and a token id over the
  // limit gets at most one argon2 check at a time (others 429). A correct credential always
  // passes: limits slow down guessing, they never lock out the holder (issue 12; docs/security.md).
  int max_failures = 10;
  std::chrono::seconds failure_window{60};
  std::size_t max_tracked_addresses = 10'000;  // per table (addresses, token ids)
  // Requests authenticated by the session cookie that change state (not GET/HEAD) or open a
  // WebSocket must come from the server's own origin or one of these ([server] allowed_origins):
  // 403 otherwise (api/origin_check). Bearer tokens and tickets are not checked: a browser never
  // attaches them to a request on its own, so another site cannot make it use them (CSRF needs an
  // ambient credential).
  OriginPolicy origins;
};

struct AuthStats {
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
  std::uint64_t rate_limited = 0;
  std::uint64_t secret_checks = 0;         // full checks of a token's secret against the store
  std::uint64_t argon2_verifications = 0;  // of which argon2id: tokens issued before digests
  std::uint64_t hashes_upgraded = 0;       // such tokens stored as digests after their check
  std::uint64_t cache_hits = 0;
  std::uint64_t offloaded = 0;  // checks sent to the worker pool
  std::uint64_t coalesced = 0;  // checks that waited for the same token's running check
  std::uint64_t busy = 0;       // 503: the pool's queue was full
  // Looks at the store's credential_generation() (revocations by any process), and cached tokens
  // that had to wait for one because the last look was older than revocation_check_interval.
  std::uint64_t revocation_checks = 0;
  std::uint64_t rechecked = 0;
};



class Authenticator final : public PrincipalResolver {
 public:
  Authenticator(ports::IdentityStore& store, const base::Clock& clock, AuthOptions options = {});

  PrincipalResult resolve(const HttpRequest& req, bool allow_ticket) override;
  void resolve_async(const HttpRequest& req, bool allow_ticket, std::function<void(PrincipalResult)> done) override;
  // Where resolve_async() sends blocking checks and how their answers get back to the io thread:
  // uncached tokens (argon2) to `tokens`, session cookies (identity.db only) to `sessions`, so a
  // flood of bad tokens does not hold up browser sessions. Before the first request; unset
  // (tests, tools): checks run inline.
  void set_offload(base::Offload tokens, base::Offload sessions) {
    offload_ = std::move(tokens);
    sessions_offload_ = std::move(sessions);
  }

  // Checks a plaintext token (POST /session). Counts failures against `remote`. Blocks (argon2).
  std::expected<Principal, AuthFailure> check_token(std::string_view token, const std::string& remote);
  // The same through the token workers; `done` on the io thread (inline when answered from the
  // cache or without offload).
  void check_token_async(std::string_view token, const std::string& remote, std::function<void(PrincipalResult)> done);

  // A new browser session for p; returns the cookie value (random, stored hashed).
  base::Result<std::string> create_session(const Principal& p);
  void end_session(std::string_view cookie_value);
  // The cookie value of `req` ("" if none).
  static std::string session_cookie(const HttpRequest& req);
  // Why a request that carries the session cookie may not use it from its Origin
  // (AuthOptions::origins; nullopt: it may, or the request needs no check). DELETE /session.
  std::optional<std::string> cookie_origin_refused(const HttpRequest& req) const;

  // A one-time ticket for /api/v1/events?ticket=, valid options.ticket_ttl.
  std::string issue_ticket(const Principal& p);
  // A sign-in link's code ("cbl_<hex>", POST /api/v1/users/{user}/sign-in-link): redeemed once by
  // POST /api/v1/session within `ttl` for a session of `user` tied to the token `token_id` (made
  // for the link; revoking it ends the session). Kept in memory, stored as a hash: a restart
  // forgets unused links.
  std::string issue_sign_in_code(const base::TenantId& tenant, const std::string& user, const std::string& token_id,
                                 std::chrono::seconds ttl);
  static bool is_sign_in_code(std::string_view s) { return s.starts_with("cbl_"); }
  // Redeems `code` (once): the principal of its user with the link's token. Failures are counted
  // against `remote` like wrong tokens (401/429). Blocks on the store: a worker thread.
  PrincipalResult redeem_sign_in_code(std::string_view code, const std::string& remote);

  // Drop cached verifications (after a token is revoked or a user changed).
  void invalidate_cache();

  // Event streams (PrincipalResolver): the store's credential_generation() plus the sessions ended
  // through end_session() (a logout bumps nothing in the store); reading it also refreshes the
  // cache's look for revocations. standing() reads the token, session and user. Blocking.
  std::optional<std::uint64_t> credential_generation() override;
  std::optional<Standing> standing(const Principal& p) override;

  AuthStats stats() const;
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
  struct SignInCode {
    base::TenantId tenant;
    std::string user;
    std::string token_id;
    base::Timestamp expires_at;
  };
  struct Failures {
    int count = 0;
    base::Timestamp window_start;
  };

  // A check that needs identity.db (and for tokens argon2): what begin() cannot answer.
  // recheck: a cached token whose last look for revocations is too old; needs only that look
  // (session workers, never the argon2 queue, never the failure limits).
  struct Pending {
    enum class Kind { token, cookie, recheck } kind;
    std::string credential;  // the token or the cookie value
    std::string key;         // tokens: BLAKE2b(token), the cache key
    std::string token_id{};  // tokens: the public id (failures are counted per id too)
    bool id_slot = false;    // holds the one check allowed for an id over its failure limit
    // cookies: why the request's Origin may not use the cookie (origin_rejection()); answered
    // 403 once the session is known to be valid (an invalid one stays 401).
    std::optional<std::string> origin_refused{};
  };
  // Token checks: the outcome shared by every request that waited for it.
  // A failed check: its detail; `store_down`: the identity store could not answer (no guess
  // failed: 503, not counted against the address or the token).
  struct VerifyError {
    std::string detail;
    bool store_down = false;
  };
  using Verified = std::expected<Principal, VerifyError>;
  struct Waiter {
    std::string remote;
    std::function<void(PrincipalResult)> done;
  };

  // Answers what needs no store (cache, ticket, rate limit, malformed header), else the Pending.
  std::variant<PrincipalResult, Pending> begin(const HttpRequest& req, bool allow_ticket);
  std::variant<PrincipalResult, Pending> begin_token(std::string_view token, const std::string& remote);
  // begin_token() under mu_; sets `refresh` when a look for revocations should start now.
  std::variant<PrincipalResult, Pending> begin_token_locked(std::string_view token, const std::string& remote,
                                                            bool& refresh);
  // Queues refresh_generation() on the session workers (at most one queued at a time), so cached
  // answers stay trusted while a client keeps using its token.
  void start_generation_refresh();
  // The cached principal for `key` if still valid (expiry, cache_ttl). mu_ held.
  std::optional<Principal> cached_locked(const std::string& key, base::Timestamp now);
  // Blocking part (worker thread): store lookups, argon2; caches a verified token.
  Verified verify_token(const Pending& p);
  PrincipalResult check_cookie(const Pending& p, const std::string& remote);
  // Reads the store's credential_generation() unless read within `fresh_enough`; drops the cache
  // when it moved (a revocation by any process). Worker thread (or inline).
  void refresh_generation(std::chrono::milliseconds fresh_enough);
  // Counts the outcome for `remote`.
  PrincipalResult settle(Verified v, const std::string& remote, const std::string& token_id);
  // The Pending part of resolve_async()/check_token_async(): on the workers, `done` on the io thread.
  void finish_async(Pending pending, const std::string& remote, std::function<void(PrincipalResult)> done);

  // Counts a failure for `remote` (and `token_id` if any): 401, or 429 once either is over the
  // limit. mu_ held.
  PrincipalResult fail_for(const std::string& remote, std::string detail, const std::string& token_id = {});
  // Counts one failure under `key`; the seconds left in its window when now over the limit, else 0.
  int count_failure(std::unordered_map<std::string, Failures>& table, const std::string& key);  // mu_ held
  // Failures in the window plus argon2 checks of the id still running reach max_failures: a burst
  // of guesses cannot queue more argon2 work for one id than the limit allows. mu_ held.
  bool id_over_limit(const std::string& token_id);
  void release_id_slot(const Pending& p);
  base::Result<Principal> principal_of(const base::TenantId& tenant, const std::string& user);

  ports::IdentityStore& store_;
  const base::Clock& clock_;
  AuthOptions options_;
  base::Offload offload_;           // token checks
  base::Offload sessions_offload_;  // cookie checks
  mutable std::mutex mu_;  // everything below
  std::unordered_map<std::string, Cached> cache_;   // BLAKE2b(token) -> principal
  std::unordered_map<std::string, Ticket> tickets_;
  std::unordered_map<std::string, SignInCode> sign_in_codes_;  // fast_hash_hex(code) -> link
  std::unordered_map<std::string, Failures> failures_;     // by address
  std::unordered_map<std::string, Failures> id_failures_;  // by token id
  std::unordered_set<std::string> id_checking_;  // token ids over the limit with a check running
  std::unordered_map<std::string, int> id_running_;  // token id -> argon2 jobs queued or running
  std::unordered_map<std::string, std::vector<Waiter>> inflight_;  // token key -> waiting requests
  std::uint64_t generation_ = 0;  // bumped by invalidate_cache(): older verifications are not cached
  // The store's credential_generation() as last read, and when (base::Timestamp{}: never).
  std::optional<std::uint64_t> store_generation_;
  base::Timestamp generation_checked_at_{};
  bool generation_refresh_queued_ = false;
  std::uint64_t sessions_ended_ = 0;  // end_session() calls (credential_generation())
  AuthStats stats_;
};

}  // namespace callbridge::api
