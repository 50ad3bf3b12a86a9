#include "api/auth.hpp"

#include "base/tenant_id.hpp"

#include "api/http_server.hpp"

namespace callbridge::api {

namespace {
// The answer to a request whose check could not even be queued.
AuthFailure busy_failure() {
  return AuthFailure{503, "too many authentication checks waiting; retry later", 1};
}
}  // namespace

Authenticator::Authenticator(ports::IdentityStore& store, const base::Clock& clock, AuthOptions options)
    : store_(store), clock_(clock), options_(options) {}

std::string Authenticator::session_cookie(const HttpRequest& req) {
  std::string_view c = req.header("cookie");
  while (!c.empty()) {
    auto semi = c.find(';');
    auto part = c.substr(0, semi);
    c = semi == std::string_view::npos ? std::string_view() : c.substr(semi + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.starts_with("cb_session=")) return std::string(part.substr(11, 200));
  }
  return {};
}

std::optional<std::string> Authenticator::cookie_origin_refused(const HttpRequest& req) const {
  if (session_cookie(req).empty() || !origin_checked(req)) return std::nullopt;
  return origin_rejection(req, options_.origins);
}

void Authenticator::invalidate_cache() {
  std::lock_guard lock(mu_);
  cache_.clear();
  ++generation_;
}

AuthStats Authenticator::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

int Authenticator::count_failure(std::unordered_map<std::string, Failures>& table, const std::string& key) {
  const auto now = clock_.now();
  if (table.size() >= options_.max_tracked_addresses) {
    std::erase_if(table, [&](const auto& kv) { return now >= kv.second.window_start + options_.failure_window; });
    if (table.size() >= options_.max_tracked_addresses) table.clear();
  }
  auto& f = table[key];
  if (f.count == 0 || now >= f.window_start + options_.failure_window) f = {0, now};
  ++f.count;
  if (f.count <= options_.max_failures) return 0;
  const auto left = f.window_start + options_.failure_window - now;
  return static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(left).count()) + 1;
}

namespace {
// A store that could not answer (database down, I/O), as opposed to an answer that the token or
// user does not exist or is malformed.
bool store_trouble(const base::Error& e) {
  return e.code() != base::Errc::not_found && e.code() != base::Errc::invalid_argument;
}
}  // namespace

bool Authenticator::id_over_limit(const std::string& token_id) {
  int count = 0;
  if (auto it = id_failures_.find(token_id);
      it != id_failures_.end() && clock_.now() < it->second.window_start + options_.failure_window)
    count = it->second.count;
  if (auto it = id_running_.find(token_id); it != id_running_.end()) count += it->second;
  return count >= options_.max_failures;
}

void Authenticator::release_id_slot(const Pending& p) {
  if (!p.id_slot) return;
  std::lock_guard lock(mu_);
  id_checking_.erase(p.token_id);
}

PrincipalResult Authenticator::fail_for(const std::string& remote, std::string detail, const std::string& token_id) {
  ++stats_.failed;
  int retry = count_failure(failures_, remote);
  if (!token_id.empty()) retry = std::max(retry, count_failure(id_failures_, token_id));
  if (retry > 0) {
    ++stats_.rate_limited;
    return std::unexpected(AuthFailure{429, "too many authentication failures from this address or for this token; retry later", retry});
  }
  return std::unexpected(AuthFailure{401, std::move(detail), 0});
}

base::Result<Principal> Authenticator::principal_of(const base::TenantId& tenant, const std::string& user) {
  auto u = store_.get_user(tenant, user);
  if (!u) return base::fail(u.error());
  Principal p{.tenant = u->tenant};
  p.user = u->name;
  p.role = parse_role(u->role).value_or(Role::user);
  // The operator role exists only in the operator's reserved tenant, and that tenant holds only
  // operators (identity stores enforce it on write; this holds even for a hand-edited database).
  if ((p.role == Role::operator_) != (u->tenant == base::kOperatorTenant))
    return base::fail(base::Error::invalid_argument("user " + u->name + ": role " + u->role + " in tenant " +
                                                    u->tenant.str() + " is not allowed"));
  p.devices = u->extensions;
  p.team = u->team;
  p.display_name = u->display_name;
  return p;
}

std::optional<Principal> Authenticator::cached_locked(const std::string& key, base::Timestamp now) {
  auto it = cache_.find(key);
  if (it == cache_.end()) return std::nullopt;
  if ((!it->second.expires_at || now < *it->second.expires_at) && now < it->second.verified_at + options_.cache_ttl)
    return it->second.principal;
  cache_.erase(it);
  return std::nullopt;
}

std::variant<PrincipalResult, Authenticator::Pending> Authenticator::begin_token(std::string_view token,
                                                                                const std::string& remote) {
  bool refresh = false;
  auto r = begin_token_locked(token, remote, refresh);
  if (refresh) start_generation_refresh();  // outside mu_: the job takes it
  return r;
}

void Authenticator::start_generation_refresh() {
  auto job = [this] {
    refresh_generation(options_.revocation_check_interval / 2);
    std::lock_guard lock(mu_);
    generation_refresh_queued_ = false;
  };
  if (!sessions_offload_.pool->try_submit(std::move(job))) {
    std::lock_guard lock(mu_);
    generation_refresh_queued_ = false;  // the next cached request tries again
  }
}

std::variant<PrincipalResult, Authenticator::Pending> Authenticator::begin_token_locked(std::string_view token,
                                                                                       const std::string& remote,
                                                                                       bool& refresh) {
  std::lock_guard lock(mu_);
  auto now = clock_.now();
  auto key = store_.fast_hash_hex(token);
  // A verified token passes whatever the failure counters say (a correct credential is never
  // locked out by someone else's failures).
  if (auto it = cache_.find(key); it != cache_.end()) {
    if (it->second.expires_at && now >= *it->second.expires_at) {
      auto id = it->second.principal.token_id;
      cache_.erase(it);
      return fail_for(remote, "token expired", id);
    }
    if (now < it->second.verified_at + options_.cache_ttl) {
      // Trusted only while the last look for revocations is recent. Half-way through that
      // interval a session worker looks again, so a client that keeps using its token is always
      // answered here, on the io thread.
      if (now < generation_checked_at_ + options_.revocation_check_interval) {
        ++stats_.cache_hits;
        ++stats_.ok;
        if (sessions_offload_ && !generation_refresh_queued_ &&
            now >= generation_checked_at_ + options_.revocation_check_interval / 2) {
          generation_refresh_queued_ = true;
          refresh = true;
        }
        return PrincipalResult(it->second.principal);
      }
      // The look is too old (no request for a while): only that look is missing. It runs on the
      // session workers, not behind the argon2 queue, and failure limits do not apply: this token
      // was verified (a flood of guesses at its id must not answer its holder 429 or 503).
      ++stats_.rechecked;
      return Pending{Pending::Kind::recheck, std::string(token), std::move(key), it->second.principal.token_id};
    }
    cache_.erase(it);
  }
  // Cheap rejections stay off the worker pool.
  auto parts = ports::parse_token(token);
  if (!parts) return fail_for(remote, "malformed token");
  Pending p{Pending::Kind::token, std::string(token), std::move(key), parts->id};
  // The same token is being checked already: wait for that check (finish_async), whatever the limits.
  if (inflight_.contains(p.key)) return p;
  // A token id someone keeps guessing secrets for: one argon2 check at a time, so guesses cost
  // at most one worker; the holder's own check may have to retry once.
  if (id_over_limit(parts->id)) {
    if (!id_checking_.insert(parts->id).second) {
      ++stats_.rate_limited;
      return PrincipalResult(std::unexpected(
          AuthFailure{429, "too many authentication failures for this token; another check of it is running", 1}));
    }
    p.id_slot = true;
  }
  return p;
}

void Authenticator::refresh_generation(std::chrono::milliseconds fresh_enough) {
  const auto started = clock_.now();
  {
    std::lock_guard lock(mu_);
    if (started < generation_checked_at_ + fresh_enough) return;
  }
  auto g = store_.credential_generation();  // outside mu_: a store call may wait for a lock
  std::lock_guard lock(mu_);
  ++stats_.revocation_checks;
  if (!g) {
    // Cannot tell whether anything was revoked: trust nothing cached.
    cache_.clear();
    ++generation_;
    return;
  }
  if (store_generation_ && *store_generation_ != *g) {
    cache_.clear();
    ++generation_;
  }
  store_generation_ = *g;
  // What was read holds for revocations committed before the read began.
  generation_checked_at_ = std::max(generation_checked_at_, started);
}

Authenticator::Verified Authenticator::verify_token(const Pending& pending) {
  struct Release {
    Authenticator& a;
    const Pending& p;
    ~Release() { a.release_id_slot(p); }
  } release{*this, pending};
  refresh_generation(options_.revocation_check_interval);
  std::uint64_t generation;
  {
    std::lock_guard lock(mu_);
    generation = generation_;
    // Sent here only to look for revocations first: still cached, so no argon2.
    if (auto p = cached_locked(pending.key, clock_.now())) {
      ++stats_.cache_hits;
      return *p;
    }
  }
  auto parts = ports::parse_token(pending.credential);
  if (!parts) return std::unexpected(VerifyError{"malformed token"});
  auto rec = store_.get_token(parts->id);
  if (!rec && store_trouble(rec.error()))
    return std::unexpected(VerifyError{"the identity store cannot be reached: " + rec.error().message(), true});
  if (!rec) return std::unexpected(VerifyError{"unknown or invalid token"});
  const bool slow = store_.secret_check_is_slow(rec->hash);
  {
    std::lock_guard lock(mu_);
    ++stats_.secret_checks;
    if (slow) ++stats_.argon2_verifications;
  }
  bool genuine;
  if (slow) {
    // An argon2id hash (a token issued before digests): checked once more the slow way, and a
    // genuine token stored as a digest from then on. Only when the upgrade could not be written
    // (read-only data dir) is the secret checked here; the next full check is slow again then.
    auto up = store_.upgrade_token_hash(rec->id, rec->hash, parts->secret);
    genuine = up || (up.error().code() != base::Errc::invalid_argument &&
                     store_.verify_secret(rec->hash, parts->secret));
    if (up) {
      std::lock_guard lock(mu_);
      ++stats_.hashes_upgraded;
    }
  } else {
    genuine = store_.verify_secret(rec->hash, parts->secret);
  }
  if (!genuine) return std::unexpected(VerifyError{"unknown or invalid token"});
  if (rec->revoked) return std::unexpected(VerifyError{"token revoked"});
  const auto now = clock_.now();
  if (rec->expires_at && now >= *rec->expires_at) return std::unexpected(VerifyError{"token expired"});
  auto p = principal_of(rec->tenant, rec->user);
  if (!p && store_trouble(p.error()))
    return std::unexpected(VerifyError{"the identity store cannot be reached: " + p.error().message(), true});
  if (!p) return std::unexpected(VerifyError{"the token's user no longer exists"});
  p->token_id = rec->id;
  std::lock_guard lock(mu_);
  if (generation == generation_) {  // not revoked (invalidate_cache) while we were checking
    if (cache_.size() >= options_.cache_capacity) cache_.clear();
    cache_.insert_or_assign(pending.key, Cached{*p, rec->expires_at, now});
  }
  return *p;
}

PrincipalResult Authenticator::settle(Verified v, const std::string& remote, const std::string& token_id) {
  std::lock_guard lock(mu_);
  if (!v && v.error().store_down) {
    ++stats_.failed;
    return std::unexpected(AuthFailure{503, std::move(v.error().detail), 2, true});
  }
  if (!v) return fail_for(remote, std::move(v.error().detail), token_id);
  ++stats_.ok;
  return std::move(*v);
}

PrincipalResult Authenticator::check_cookie(const Pending& pending, const std::string& remote) {
  const std::string key = store_.fast_hash_hex(pending.credential);
  auto s = store_.get_session(key);
  if (!s) {
    std::lock_guard lock(mu_);
    return fail_for(remote, "unknown or expired session");
  }
  if (clock_.now() >= s->expires_at) {
    (void)store_.delete_session(key);
    std::lock_guard lock(mu_);
    return fail_for(remote, "session expired");
  }
  // A session lives no longer than its token (revoke_token deletes the sessions too; this also
  // covers one created while the revocation was under way).
  if (!s->token_id.empty()) {
    auto t = store_.get_token(s->token_id);
    if (!t || t->revoked || (t->expires_at && clock_.now() >= *t->expires_at)) {
      (void)store_.delete_session(key);
      std::lock_guard lock(mu_);
      return fail_for(remote, "the session's token was revoked or expired");
    }
  }
  auto p = principal_of(s->tenant, s->user);
  std::lock_guard lock(mu_);
  if (!p) return fail_for(remote, "the session's user no longer exists");
  // A valid cookie sent by a page of another origin: not a failed guess, so not counted.
  if (pending.origin_refused) return std::unexpected(AuthFailure{403, *pending.origin_refused, 0});
  ++stats_.ok;
  p->via = Principal::Via::session;
  p->token_id = s->token_id;
  p->session_id = key;
  return *p;
}

std::variant<PrincipalResult, Authenticator::Pending> Authenticator::begin(const HttpRequest& req, bool allow_ticket) {
  const std::string& remote = req.remote;
  auto authz = req.header("authorization");
  if (!authz.empty()) {
    if (authz.size() < 7 || !(authz.substr(0, 7) == "Bearer " || authz.substr(0, 7) == "bearer ")) {
      std::lock_guard lock(mu_);
      return fail_for(remote, "Authorization: expected 'Bearer TOKEN'");
    }
    auto tok = authz.substr(7);
    while (!tok.empty() && tok.front() == ' ') tok.remove_prefix(1);
    return begin_token(tok, remote);
  }
  // Session cookies and tickets are cheap to check (no argon2): always checked, failures counted.
  if (auto cookie = session_cookie(req); !cookie.empty()) {
    Pending p{Pending::Kind::cookie, std::move(cookie), {}};
    p.origin_refused = cookie_origin_refused(req);
    return p;
  }
  std::lock_guard lock(mu_);
  if (allow_ticket) {
    for (const auto& [k, v] : parse_query(req.query)) {
      if (k != "ticket") continue;
      auto it = tickets_.find(v);
      if (it == tickets_.end()) return fail_for(remote, "unknown or used ticket");
      auto t = std::move(it->second);
      tickets_.erase(it);
      if (clock_.now() >= t.expires_at) return fail_for(remote, "ticket expired");
      ++stats_.ok;
      t.principal.via = Principal::Via::ticket;  // token_id/session_id stay those of its issuer
      return PrincipalResult(std::move(t.principal));
    }
  }
  return PrincipalResult(std::unexpected(AuthFailure{401, "authentication required (Authorization: Bearer TOKEN)", 0}));
}

PrincipalResult Authenticator::check_token(std::string_view token, const std::string& remote) {
  auto b = begin_token(token, remote);
  if (auto* r = std::get_if<PrincipalResult>(&b)) return std::move(*r);
  const auto& pending = std::get<Pending>(b);
  return settle(verify_token(pending), remote, pending.token_id);
}

PrincipalResult Authenticator::resolve(const HttpRequest& req, bool allow_ticket) {
  auto b = begin(req, allow_ticket);
  if (auto* r = std::get_if<PrincipalResult>(&b)) return std::move(*r);
  auto& pending = std::get<Pending>(b);
  if (pending.kind == Pending::Kind::cookie) return check_cookie(pending, req.remote);
  return settle(verify_token(pending), req.remote, pending.token_id);
}

void Authenticator::resolve_async(const HttpRequest& req, bool allow_ticket, std::function<void(PrincipalResult)> done) {
  auto b = begin(req, allow_ticket);
  if (auto* r = std::get_if<PrincipalResult>(&b)) return done(std::move(*r));
  finish_async(std::get<Pending>(std::move(b)), req.remote, std::move(done));
}

void Authenticator::check_token_async(std::string_view token, const std::string& remote,
                                      std::function<void(PrincipalResult)> done) {
  auto b = begin_token(token, remote);
  if (auto* r = std::get_if<PrincipalResult>(&b)) return done(std::move(*r));
  finish_async(std::get<Pending>(std::move(b)), remote, std::move(done));
}

void Authenticator::finish_async(Pending pending, const std::string& remote, std::function<void(PrincipalResult)> done) {
  if (pending.kind == Pending::Kind::recheck) {
    if (!sessions_offload_) return done(settle(verify_token(pending), remote, pending.token_id));
    // The look for revocations on a session worker; the answer on the io thread. Revoked (or the
    // store unreadable, which empties the cache): a full check, through the argon2 queue and its
    // limits like any uncached token.
    auto job = [this, pending, remote, done]() mutable {
      refresh_generation(options_.revocation_check_interval);
      std::optional<Principal> p;
      {
        std::lock_guard lock(mu_);
        p = cached_locked(pending.key, clock_.now());
        if (p) ++stats_.cache_hits, ++stats_.ok;
      }
      sessions_offload_.to_io([this, p = std::move(p), pending = std::move(pending), remote = std::move(remote),
                               done = std::move(done)]() mutable {
        if (p) return done(std::move(*p));
        check_token_async(pending.credential, remote, std::move(done));
      });
    };
    if (!sessions_offload_.pool->try_submit(std::move(job))) {
      {
        std::lock_guard lock(mu_);
        ++stats_.busy;
      }
      done(std::unexpected(busy_failure()));
    }
    return;
  }
  if (pending.kind == Pending::Kind::cookie) {
    if (!sessions_offload_) return done(check_cookie(pending, remote));
    auto job = [this, pending, remote, done]() mutable {
      auto r = check_cookie(pending, remote);
      sessions_offload_.to_io([done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
    };
    {
      std::lock_guard lock(mu_);
      ++stats_.offloaded;
    }
    if (!sessions_offload_.pool->try_submit(std::move(job))) {
      {
        std::lock_guard lock(mu_);
        ++stats_.busy;
      }
      done(std::unexpected(busy_failure()));
    }
    return;
  }
  if (!offload_) return done(settle(verify_token(pending), remote, pending.token_id));
  // Tokens: one argon2 run per token at a time; later requests for it wait for that run.
  {
    std::lock_guard lock(mu_);
    auto [it, first] = inflight_.try_emplace(pending.key);
    it->second.push_back(Waiter{remote, std::move(done)});
    if (!first) {
      ++stats_.coalesced;
      if (pending.id_slot) id_checking_.erase(pending.token_id);  // the running check answers it
      return;
    }
    ++stats_.offloaded;
    ++id_running_[pending.token_id];
  }
  auto job = [this, pending] {
    auto verified = verify_token(pending);
    std::vector<Waiter> waiters;
    {
      std::lock_guard lock(mu_);
      if (auto it = id_running_.find(pending.token_id); it != id_running_.end() && --it->second <= 0)
        id_running_.erase(it);
      if (auto it = inflight_.find(pending.key); it != inflight_.end()) {
        waiters = std::move(it->second);
        inflight_.erase(it);
      }
    }
    // Counted per request (and per address), as if each had been checked on its own.
    std::vector<std::pair<std::function<void(PrincipalResult)>, PrincipalResult>> answers;
    for (auto& w : waiters) answers.emplace_back(std::move(w.done), settle(verified, w.remote, pending.token_id));
    offload_.to_io([answers = std::move(answers)]() mutable {
      for (auto& [d, r] : answers) d(std::move(r));
    });
  };
  if (!offload_.pool->try_submit(std::move(job))) {
    std::vector<Waiter> waiters;
    {
      std::lock_guard lock(mu_);
      if (auto it = inflight_.find(pending.key); it != inflight_.end()) {
        waiters = std::move(it->second);
        inflight_.erase(it);
      }
      stats_.busy += waiters.size();
      if (pending.id_slot) id_checking_.erase(pending.token_id);
      if (auto it = id_running_.find(pending.token_id); it != id_running_.end() && --it->second <= 0)
        id_running_.erase(it);
    }
    for (auto& w : waiters) w.done(std::unexpected(busy_failure()));
  }
}

base::Result<std::string> Authenticator::create_session(const Principal& p) {
  std::string value = store_.random_hex(32);
  auto now = clock_.now();
  (void)store_.purge_sessions(now);
  if (auto st = store_.insert_session(store_.fast_hash_hex(value),
                                      {p.tenant, p.user, now + options_.session_ttl, p.token_id});
      !st)
    return base::fail(st.error());
  return value;
}

void Authenticator::end_session(std::string_view cookie_value) {
  if (cookie_value.empty()) return;
  const auto key = store_.fast_hash_hex(cookie_value);
  // Only a session that existed moves the generation: DELETE /session with made-up cookies (no
  // authentication needed) must not make the event stream check every open credential again.
  const bool existed = static_cast<bool>(store_.get_session(key));
  (void)store_.delete_session(key);
  if (!existed) return;
  std::lock_guard lock(mu_);
  ++sessions_ended_;  // the session's event streams look again (credential_generation())
}

std::optional<std::uint64_t> Authenticator::credential_generation() {
  refresh_generation(std::chrono::milliseconds(0));  // drops the token cache too when it moved
  std::lock_guard lock(mu_);
  if (!store_generation_) return std::nullopt;
  return *store_generation_ + sessions_ended_;  // both only grow: the sum moves when either does
}

std::optional<PrincipalResolver::Standing> Authenticator::standing(const Principal& p) {
  const auto now = clock_.now();
  // not_found: gone (revoked sessions are deleted); another error: the store cannot tell now.
  auto gone = [](const base::Error& e) { return e.code() == base::Errc::not_found; };
  auto ended = [&](const base::Error& e) { return gone(e) ? std::optional<Standing>(Standing::revoked) : std::nullopt; };
  if (!p.session_id.empty()) {
    auto s = store_.get_session(p.session_id);
    if (!s) return ended(s.error());
    if (now >= s->expires_at) return Standing::revoked;
  }
  if (!p.token_id.empty()) {
    auto t = store_.get_token(p.token_id);
    if (!t) return ended(t.error());
    if (t->revoked || (t->expires_at && now >= *t->expires_at)) return Standing::revoked;
  }
  auto u = store_.get_user(p.tenant, p.user);
  if (!u) return ended(u.error());
  if (parse_role(u->role).value_or(Role::user) != p.role || u->extensions != p.devices || u->team != p.team)
    return Standing::changed;
  return Standing::holds;
}

std::string Authenticator::issue_ticket(const Principal& p) {
  auto now = clock_.now();
  std::string t = store_.random_hex(24);
  std::lock_guard lock(mu_);
  if (tickets_.size() >= 10'000) std::erase_if(tickets_, [&](const auto& kv) { return now >= kv.second.expires_at; });
  if (tickets_.size() >= 10'000) tickets_.clear();
  tickets_.insert_or_assign(t, Ticket{p, now + options_.ticket_ttl});
  return t;
}

std::string Authenticator::issue_sign_in_code(const base::TenantId& tenant, const std::string& user,
                                             const std::string& token_id, std::chrono::seconds ttl) {
  const auto now = clock_.now();
  std::string code = "cbl_" + store_.random_hex(24);
  const std::string key = store_.fast_hash_hex(code);
  std::lock_guard lock(mu_);
  if (sign_in_codes_.size() >= 10'000)
    std::erase_if(sign_in_codes_, [&](const auto& kv) { return now >= kv.second.expires_at; });
  if (sign_in_codes_.size() >= 10'000) sign_in_codes_.clear();
  sign_in_codes_.insert_or_assign(key, SignInCode{tenant, user, token_id, now + ttl});
  return code;
}

PrincipalResult Authenticator::redeem_sign_in_code(std::string_view code, const std::string& remote) {
  const auto now = clock_.now();
  std::optional<SignInCode> link;
  {
    std::lock_guard lock(mu_);
    if (code.size() > 200) return fail_for(remote, "unknown or used sign-in link");
    // A correct code passes whatever the failures of the address (as a correct token does);
    // wrong ones count, so a guesser meets 429 (the codes are 24 random bytes anyway).
    auto it = sign_in_codes_.find(store_.fast_hash_hex(code));
    if (it == sign_in_codes_.end()) return fail_for(remote, "unknown or used sign-in link");
    link = it->second;
    sign_in_codes_.erase(it);  // single use, also when it turns out expired
    if (now >= link->expires_at) return fail_for(remote, "sign-in link expired");
  }
  auto t = store_.get_token(link->token_id);
  if (!t || t->revoked || (t->expires_at && now >= *t->expires_at)) {
    std::lock_guard lock(mu_);
    return fail_for(remote, "the sign-in link was revoked");
  }
  auto p = principal_of(link->tenant, link->user);
  std::lock_guard lock(mu_);
  if (!p) return fail_for(remote, "the sign-in link's user no longer exists");
  ++stats_.ok;
  p->token_id = link->token_id;
  return std::move(*p);
}

}  // namespace callbridge::api
