#include "app/command_wiring.hpp"

#include <map>
#include <optional>
#include <string>

#include "api/rest_commands.hpp"
#include "app/dialing_config.hpp"
#include "core/call_control.hpp"

namespace callbridge::app {

struct CommandWiring {
  Config config;
  std::function<std::vector<ports::PbxDriver*>()> links;
  std::map<std::string, std::shared_ptr<const core::DialingPlan>> plans;  // by tenant; only with [dialing]
  std::map<base::TenantId, std::unique_ptr<core::CallControlService>> services;

  core::CallControlService* service_for(const base::TenantId& tenant) {
    if (auto it = services.find(tenant); it != services.end()) return it->second.get();
    if (!links) return nullptr;
    for (ports::PbxDriver* l : links()) {
      if (!l || l->tenant() != tenant || !l->commands()) continue;
      const core::DialingPlan* plan = nullptr;
      if (auto p = plans.find(tenant.str()); p != plans.end()) plan = p->second.get();
      core::CallControlOptions o{.tenant = tenant};
      if (auto t = config.tenants.find(tenant.str()); t != config.tenants.end()) {
        const CallControlConfig& cc = t->second.call_control;
        o.click_to_dial_caller_id = cc.click_to_dial_caller_id;
        auto mobiles = cc.any_device;
        o.any_device_number = [mobiles](std::string_view d) -> std::optional<std::string> {
          auto m = mobiles.find(std::string(d));
          if (m == mobiles.end()) return std::nullopt;
          return m->second;
        };
        std::string office = cc.office_number;
        o.office_number = [office](std::string_view d) { return office.empty() ? std::string(d) : office; };
      }
      auto svc = std::make_unique<core::CallControlService>(std::move(o), l->call_model(), *l->commands(), plan);
      return services.insert_or_assign(tenant, std::move(svc)).first->second.get();
    }
    return nullptr;  // no link for the tenant: the routes answer 503 pbx-unavailable
  }
};

base::Result<std::shared_ptr<CommandWiring>> wire_command_routes(api::HttpServer& server,
                                                                 api::PrincipalResolver& auth,
                                                                 const Config& config,
                                                                 std::function<std::vector<ports::PbxDriver*>()> links,
                                                                 ports::JournalStore* journal,
                                                                 core::EventHub* hub,
                                                                 base::Offload offload) {
  auto w = std::make_shared<CommandWiring>();
  w->config = config;
  w->links = std::move(links);
  for (const auto& [tenant, tc] : config.tenants) {
    auto plan = tenant_dialing_plan(config, tenant);
    if (!plan) return base::fail(plan.error());
    if (*plan) w->plans[tenant] = std::move(*plan);
  }
  CommandWiring* raw = w.get();
  api::CommandRouteDeps deps;
  deps.auth = &auth;
  deps.service_for = [raw](const base::TenantId& t) { return raw->service_for(t); };
  deps.max_body_bytes = 64 * 1024;
  deps.journal = journal;
  deps.offload = std::move(offload);
  if (hub) {
    deps.publish_to_user = [hub](const base::TenantId& tenant, const std::string& user, std::string_view tail) {
      hub->publish_to_user(tenant, user, "command", tail);
    };
  }
  api::add_command_routes(server, std::move(deps));
  return w;
}

}  // namespace callbridge::app
