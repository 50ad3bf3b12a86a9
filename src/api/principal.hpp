// Principal: who is calling the API (tenant, user, role, devices, team) once a request has been
// authenticated, and the PrincipalResolver interface that turns a request (bearer token, session
// cookie, or a one-time WebSocket ticket) into one. Implemented by api/auth (Authenticator); used
// by every REST handler and the WebSocket route. Values; resolve_async() is called on the io thread
// and answers there.
#pragma once

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
  std::string token_id{};              // the API token used ("" for sessions/tickets)

  // Who this is for the visibility policy: every decision about what the principal may see or
  // act on (calls, lines, journal, contacts, commands, the event stream) is core's, made on this.
  core::Viewer viewer() const {
    return core::Viewer{.tenant = tenant, .user = user, .role = role, .extensions = devices, .team = team};
  }
};

// Why a request could not be authenticated: 401 (missing/bad/expired credentials), 429 (too
// many failures from this address; retry_after_s set) or 503 (too many checks waiting for a
// worker; retry_after_s set).
struct AuthFailure {
  int status = 401;
  std::string detail;
  int retry_after_s = 0;
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
};

}  // namespace callbridge::api
