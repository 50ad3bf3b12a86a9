// core::Viewer: who asks, as the visibility policy (core/visibility.hpp) sees it — one person of
// exactly one tenant with a role, extensions and a team. api/ makes one from an authenticated
// Principal (Principal::viewer()). Values; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/tenant_id.hpp"

namespace callbridge::core {

// admin: everything in the tenant; supervisor: the whole tenant's calls, lines and journal;
// user: own lines and calls, team presence, own journal.
// operator_: above tenant admins; manages tenants (/api/v1/tenants) and sees nothing inside one.
// Its users live in the reserved tenant base::kOperatorTenant, never in a company's.
enum class Role : std::uint8_t { user, supervisor, admin, operator_ };
std::string_view to_string(Role r);
std::optional<Role> parse_role(std::string_view s);

struct Viewer {
  base::TenantId tenant;                  // no default: a viewer exists only inside its tenant
  std::string user{};
  Role role = Role::user;
  std::vector<std::string> extensions{};  // devices the viewer owns ("100")
  std::string team{};                     // "" = no team

  bool sees_whole_tenant() const { return role == Role::supervisor || role == Role::admin; }
  bool is_admin() const { return role == Role::admin; }
  bool owns(std::string_view device) const;
};

}  // namespace callbridge::core
