#include "app/tenant_setup.hpp"

#include <string>

#include "app/dialing_config.hpp"

namespace callbridge::app {

std::vector<TenantSetup> tenant_setups(const Config& config) {
  std::vector<TenantSetup> out;
  for (const auto& id : configured_tenants(config)) {
    TenantSetup s{.id = id};
    if (auto t = config.tenants.find(id.str()); t != config.tenants.end()) s.tenant = t->second;
    for (const auto& p : config.pbx)
      if (p.tenant == id.str()) s.pbx.push_back(p);
    for (const auto& l : config.directory.ldap)
      if (l.tenant == id.str()) s.ldap.push_back(l);
    for (const auto& h : config.directory.http)
      if (h.tenant == id.str()) s.http.push_back(h);
    out.push_back(std::move(s));
  }
  return out;
}

base::Result<std::shared_ptr<const core::DialingPlan>> setup_dialing_plan(const TenantSetup& setup) {
  Config c;  // only this tenant's section: tenant_dialing_plan reads nothing else
  if (setup.tenant) c.tenants.emplace(setup.id.str(), *setup.tenant);
  return tenant_dialing_plan(c, setup.id.str());
}

std::shared_ptr<const core::AnyDeviceSettings> any_device_settings(const TenantSetup& setup) {
  auto s = std::make_shared<core::AnyDeviceSettings>();
  if (!setup.tenant) return s;
  const AnyDeviceConfig& a = setup.tenant->any_device;
  s->policy.allow = a.allow;
  s->policy.deny = a.deny;
  s->policy.max_devices = static_cast<std::size_t>(a.max_devices);
  s->tenant_default = setup.tenant->call_control.any_device;
  return s;
}

core::CallControlOptions call_control_options(const TenantSetup& setup, const core::ActiveDevices* active) {
  core::CallControlOptions o{.tenant = setup.id};
  if (active) {
    // The users' own choice (GET/PUT /api/v1/me/devices), checked against the tenant's policy at
    // each make call; the tenant's default map below applies to users who never chose.
    o.active_device = [active, id = setup.id](const std::string& user) { return active->get(id, user); };
    o.device_of_number = [active, id = setup.id](std::string_view e164) { return active->device_of_number(id, e164); };
    o.device_refused = [settings = any_device_settings(setup)](std::string_view e164) {
      return settings->policy.refuse(e164);
    };
  }
  if (!setup.tenant) return o;
  const CallControlConfig& cc = setup.tenant->call_control;
  o.click_to_dial_caller_id = cc.click_to_dial_caller_id;
  o.parking_lot = cc.parking_lot;
  o.max_trunk_channels = static_cast<std::uint32_t>(cc.max_trunk_channels);
  auto mobiles = cc.any_device;
  o.any_device_number = [mobiles](std::string_view d) -> std::optional<std::string> {
    auto m = mobiles.find(std::string(d));
    if (m == mobiles.end()) return std::nullopt;
    return m->second;
  };
  std::string office = cc.office_number;
  o.office_number = [office](std::string_view d) { return office.empty() ? std::string(d) : office; };
  return o;
}

}  // namespace callbridge::app
