#include "app/command_wiring.hpp"

#include <string>

#include "api/rest_commands.hpp"

namespace callbridge::app {

void wire_command_routes(api::HttpServer& server, api::PrincipalResolver& auth,
                         std::function<core::TenantRuntime*(const base::TenantId&)> runtime_for,
                         ports::JournalStore* journal, base::Offload offload) {
  api::CommandRouteDeps deps;
  deps.auth = &auth;
  deps.service_for = [runtime_for](const base::TenantId& t) -> core::CallControlService* {
    auto* r = runtime_for(t);
    return r ? r->call_control() : nullptr;
  };
  deps.log_for = [runtime_for](const base::TenantId& t) -> std::shared_ptr<core::CommandLog> {
    auto* r = runtime_for(t);
    return r ? r->shared_commands() : nullptr;
  };
  deps.max_body_bytes = 64 * 1024;
  deps.journal = journal;
  deps.offload = std::move(offload);
  api::add_command_routes(server, std::move(deps));
}

std::function<void(const core::CommandRecord&)> command_publisher(core::EventHub& hub) {
  return [&hub](const core::CommandRecord& r) {
    hub.publish_to_user(r.tenant, r.user, "command", ",\"command\":" + api::command_json(r) + "}");
  };
}

}  // namespace callbridge::app
