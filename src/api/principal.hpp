// Principal: who is calling the API (tenant, user, role, devices, team) once a request has been
// authenticated, and the PrincipalResolver interface that turns a request (bearer token, session
// cookie, or a one-time WebSocket ticket) into one. Implemented by api/auth (Authenticator); used
// by every REST handler and the WebSocket route. Values; resolve_async() is called on the io thread
// and answers there.
#pragma once

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "base/tenant_id.hpp"

namespace callbridge::api {

struct HttpRequest;

enum class Role { user, supervisor, admin };

inline std::string_view to_string(Role r) {
  switch (r) {
    case Role::admin: return "admin";
    case Role::supervisor: return "supervisor";
    case Role::user: return "user";
  }
  return "user";
}
inline std::optional<Role> parse_role(std::string_view s) {
  if (s == "admin") return Role::admin;
  if (s == "supervisor") return Role::supervisor;
  if (s == "user") return Role::user;
  return std::nullopt;
}

struct Principal {
  // No default: a principal exists only with the tenant its credentials belong to.
  base::TenantId tenant;
  std::string user{};
  Role role = Role::user;
  std::vector<std::string> devices{};  // the user's extensions ("100")
  std::string team{};                  // "" = no team
  std::string display_name{};
  std::string token_id{};              // the API token used ("" for sessions/tickets)

  bool is_admin() const { return role == Role::admin; }
  // Supervisors and admins see every call and line of their tenant.
  bool sees_whole_tenant() const { return role != Role::user; }
  bool owns_device(std::string_view d) const {
    return std::find(devices.begin(), devices.end(), d) != devices.end();
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
