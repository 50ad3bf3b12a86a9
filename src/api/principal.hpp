// Principal: who is calling the API (tenant, user, role, devices, team) once a request has been
// authenticated, and the PrincipalResolver interface that turns a request (bearer token, session
// cookie, or a one-time WebSocket ticket) into one. Implemented by api/auth (Authenticator); used
// by every REST handler and the WebSocket route. Values; resolve_async() is called on the io thread
// and answers there.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "base/tenant_id.hpp"
#include "core/viewer.hpp"

namespace callbridge::api {

struct HttpRequest;

// Roles are the visibility policy's (core/viewer.hpp): to_string(Role) and parse_role() too.
using core::parse_role;
using core::Role;

struct Principal {
  // No default: a principal exists only with the tenant its credentials belong to.
  base::TenantId tenant;
  std::string user{};
  Role role = Role::user;
  std::vector<std::string> devices{};  // the user's extensions ("100")
  std::string team{};                  // "" = no team
  std::string display_name{};
  // The credential behind the principal, so that a long-lived connection opened with it (the event
  // stream) ends when it is revoked, and cookie requests get the Origin check (api/origin_check).
  // token_id: the API token used, or the one the session was made from ("" = none); session_id:
  // a session's stored key (the hash of its cookie). A ticket keeps those of the request it was
  // issued to.
  std::string token_id{};
  enum class Via { token, session, ticket };
  Via via = Via::token;
  std::string session_id{};

  // Who this is for the visibility policy: every decision about what the principal may see or
  // act on (calls, lines, journal, contacts, commands, the event stream) is core's, made on this.
  core::Viewer viewer() const {
    return core::Viewer{.tenant = tenant, .user = user, .role = role, .extensions = devices, .team = team};
  }
  bool is_admin() const { return role == Role::admin; }
  // Operators create and remove tenants; every route of a tenant's data refuses them (403).
  bool is_operator() const { return role == Role::operator_; }
};

// Why a request could not be authenticated: 401 (missing/bad/expired credentials), 429 (too
// many failures from this address; retry_after_s set) or 503 (too many checks waiting for a
// worker; retry_after_s set).
struct AuthFailure {
  int status = 401;
  std::string detail;
  int retry_after_s = 0;
  // 503 only: the identity store could not answer ("store-unavailable"), rather than too many
  // checks waiting ("overloaded").
  bool store_down = false;
};

using PrincipalResult = std::expected<Principal, AuthFailure>;

class PrincipalResolver {
 public:
  virtual ~PrincipalResolver() = default;
  // `Authorization: Bearer`, the `cb_session` cookie, or (when allow_ticket) a `ticket=` query
  // parameter redeemed once. May block (store, argon2): not on the io thread in production.
  virtual PrincipalResult resolve(const HttpRequest& req, bool allow_ticket) = 0;
  // The same without blocking the calling (io) thread: `done` runs on the io thread, possibly
  // before this returns. Default: resolve() inline (resolvers that never block).
  virtual void resolve_async(const HttpRequest& req, bool allow_ticket, std::function<void(PrincipalResult)> done) {
    done(resolve(req, allow_ticket));
  }

  // For connections that outlive a request (the event stream). Both may block (the store): on a
  // worker. A number that moves whenever a credential may have stopped holding (a token revoked,
  // a user changed or removed, a session ended), whichever process did it; nullopt when it cannot
  // be read now. Default (resolvers without revocation): never moves.
  virtual std::optional<std::uint64_t> credential_generation() { return 0; }
  // Whether the credential `p` was resolved from still holds: its token neither revoked nor
  // expired, its session not ended or expired, its user still there (else `revoked`); and whether
  // the user is still what `p` says: same role, extensions and team (else `changed`: what a
  // stream opened with it may see is different now). nullopt: cannot tell now (the store failed);
  // ask again later.
  enum class Standing { holds, revoked, changed };
  virtual std::optional<Standing> standing(const Principal& p) {
    (void)p;
    return Standing::holds;
  }
};

}  // namespace callbridge::api
