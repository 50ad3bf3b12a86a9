// TenantSetup: everything the configuration says about one tenant (its [tenant.X] section, its
// [[pbx]] links, its [[directory.*]] sources), the unit App::add_tenant builds a
// core::TenantRuntime from. tenant_setups() cuts a whole Config into them (callbridged at start);
// an operator API can build one for a tenant created at run time. Pure functions; any thread.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "app/config.hpp"
#include "base/error.hpp"
#include "base/tenant_id.hpp"
#include "core/call_control.hpp"
#include "core/dialing_plan.hpp"

namespace callbridge::app {

struct TenantSetup {
  base::TenantId id;
  std::optional<TenantConfig> tenant = std::nullopt;  // [tenant.<id>]; none: no plan, no phones
  std::vector<PbxConfig> pbx = {};                    // each with tenant == id
  std::vector<LdapDirectoryConfig> ldap = {};         // each with tenant == id
  std::vector<HttpDirectoryConfig> http = {};
};

// One setup per configured_tenants(config), in that (sorted) order; [[pbx]] and directory
// entries in file order.
std::vector<TenantSetup> tenant_setups(const Config& config);

// The tenant's dialing plan through the one function daemon and CLI share (tenant_dialing_plan);
// null without a [tenant.X.dialing]. Error names the section.
base::Result<std::shared_ptr<const core::DialingPlan>> setup_dialing_plan(const TenantSetup& setup);

// [tenant.X.call_control] -> the call control options (click-to-dial caller id, AnyDevice: the
// tenant's default map; with `active`, the users' own active devices and the tenant's number policy,
// which must outlive the options).
core::CallControlOptions call_control_options(const TenantSetup& setup, const core::ActiveDevices* active = nullptr);

// [tenant.X.any_device] and [tenant.X.call_control] any_device -> what the device routes check and show.
std::shared_ptr<const core::AnyDeviceSettings> any_device_settings(const TenantSetup& setup);

}  // namespace callbridge::app
