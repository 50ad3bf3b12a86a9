#include "api/auth.hpp"

#include "api/http_server.hpp"

namespace callbridge::api {

Authenticator::Authenticator(identity::SqliteIdentityStore& store, const base::Clock& clock, AuthOptions options)
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

std::optional<AuthFailure> Authenticator::limited(const std::string& remote) {
  auto it = failures_.find(remote);
  if (it == failures_.end()) return std::nullopt;
  auto now = clock_.now();
  auto end = it->second.window_start + options_.failure_window;
  if (now >= end) {
    failures_.erase(it);
    return std::nullopt;
  }
  if (it->second.count < options_.max_failures) return std::nullopt;
  ++stats_.rate_limited;
  auto left = std::chrono::duration_cast<std::chrono::seconds>(end - now).count() + 1;
  return AuthFailure{429, "too many authentication failures from this address; retry later", static_cast<int>(left)};
}

std::expected<Principal, AuthFailure> Authenticator::fail_for(const std::string& remote, std::string detail) {
  ++stats_.failed;
  auto now = clock_.now();
  if (failures_.size() >= options_.max_tracked_addresses) {
    std::erase_if(failures_, [&](const auto& kv) { return now >= kv.second.window_start + options_.failure_window; });
    if (failures_.size() >= options_.max_tracked_addresses) failures_.clear();
  }
  auto& f = failures_[remote];
  if (f.count == 0 || now >= f.window_start + options_.failure_window) f = {0, now};
  ++f.count;
  return std::unexpected(AuthFailure{401, std::move(detail), 0});
}

base::Result<Principal> Authenticator::principal_of(const std::string& tenant, const std::string& user) {
  auto u = store_.get_user(tenant, user);
  if (!u) return base::fail(u.error());
  Principal p;
  p.tenant = u->tenant;
  p.user = u->name;
  p.role = parse_role(u->role).value_or(Role::user);
  p.devices = u->extensions;
  p.team = u->team;
  p.display_name = u->display_name;
  return p;
}

std::expected<Principal, AuthFailure> Authenticator::check_token(std::string_view token, const std::string& remote) {
  if (auto l = limited(remote)) return std::unexpected(*l);
  auto now = clock_.now();
  auto key = identity::fast_hash_hex(token);
  if (auto it = cache_.find(key); it != cache_.end()) {
    if (it->second.expires_at && now >= *it->second.expires_at) {
      cache_.erase(it);
      return fail_for(remote, "token expired");
    }
    if (now < it->second.verified_at + options_.cache_ttl) {
      ++stats_.cache_hits;
      ++stats_.ok;
      return it->second.principal;
    }
    cache_.erase(it);
  }
  auto parts = identity::parse_token(token);
  if (!parts) return fail_for(remote, "malformed token");
  auto rec = store_.get_token(parts->id);
  if (!rec) return fail_for(remote, "unknown or invalid token");
  ++stats_.argon2_verifications;
  if (!identity::verify_secret(rec->hash, parts->secret)) return fail_for(remote, "unknown or invalid token");
  if (rec->revoked) return fail_for(remote, "token revoked");
  if (rec->expires_at && now >= *rec->expires_at) return fail_for(remote, "token expired");
  auto p = principal_of(rec->tenant, rec->user);
  if (!p) return fail_for(remote, "the token's user no longer exists");
  p->token_id = rec->id;
  if (cache_.size() >= options_.cache_capacity) cache_.clear();
  cache_[key] = Cached{*p, rec->expires_at, now};
  ++stats_.ok;
  return *p;
}

std::expected<Principal, AuthFailure> Authenticator::resolve(const HttpRequest& req, bool allow_ticket) {
  const std::string& remote = req.remote;
  auto authz = req.header("authorization");
  if (!authz.empty()) {
    if (authz.size() < 7 || !(authz.substr(0, 7) == "Bearer " || authz.substr(0, 7) == "bearer ")) {
      if (auto l = limited(remote)) return std::unexpected(*l);
      return fail_for(remote, "Authorization: expected 'Bearer TOKEN'");
    }
    auto tok = authz.substr(7);
    while (!tok.empty() && tok.front() == ' ') tok.remove_prefix(1);
    return check_token(tok, remote);
  }
  if (auto cookie = session_cookie(req); !cookie.empty()) {
    if (auto l = limited(remote)) return std::unexpected(*l);
    auto s = store_.get_session(identity::fast_hash_hex(cookie));
    if (!s) return fail_for(remote, "unknown or expired session");
    if (clock_.now() >= s->expires_at) {
      (void)store_.delete_session(identity::fast_hash_hex(cookie));
      return fail_for(remote, "session expired");
    }
    auto p = principal_of(s->tenant, s->user);
    if (!p) return fail_for(remote, "the session's user no longer exists");
    ++stats_.ok;
    return *p;
  }
  if (allow_ticket) {
    for (const auto& [k, v] : parse_query(req.query)) {
      if (k != "ticket") continue;
      if (auto l = limited(remote)) return std::unexpected(*l);
      auto it = tickets_.find(v);
      if (it == tickets_.end()) return fail_for(remote, "unknown or used ticket");
      auto t = std::move(it->second);
      tickets_.erase(it);
      if (clock_.now() >= t.expires_at) return fail_for(remote, "ticket expired");
      ++stats_.ok;
      return t.principal;
    }
  }
  if (auto l = limited(remote)) return std::unexpected(*l);
  return std::unexpected(AuthFailure{401, "authentication required (Authorization: Bearer TOKEN)", 0});
}

base::Result<std::string> Authenticator::create_session(const Principal& p) {
  std::string value = identity::random_hex(32);
  auto now = clock_.now();
  (void)store_.purge_sessions(now);
  if (auto st = store_.insert_session(identity::fast_hash_hex(value),
                                      {p.tenant, p.user, now + options_.session_ttl});
      !st)
    return base::fail(st.error());
  return value;
}

void Authenticator::end_session(std::string_view cookie_value) {
  if (!cookie_value.empty()) (void)store_.delete_session(identity::fast_hash_hex(cookie_value));
}

std::string Authenticator::issue_ticket(const Principal& p) {
  auto now = clock_.now();
  if (tickets_.size() >= 10'000) std::erase_if(tickets_, [&](const auto& kv) { return now >= kv.second.expires_at; });
  if (tickets_.size() >= 10'000) tickets_.clear();
  std::string t = identity::random_hex(24);
  tickets_[t] = Ticket{p, now + options_.ticket_ttl};
  return t;
}

}  // namespace callbridge::api
