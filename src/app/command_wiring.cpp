#include "app/command_wiring.hpp"

#include <string>

#include "api/rest_commands.hpp"

namespace callbridge::app {

void wire_command_routes(api::HttpServer& server, api::PrincipalResolver& auth,
                         std::function<core::CallControlService*(const base::TenantId&)> service_for,
                         ports::JournalStore* journal, core::EventHub* hub, base::Offload offload) {
  api::CommandRouteDeps deps;
  deps.auth = &auth;
  deps.service_for = std::move(service_for);
  deps.max_body_bytes = 64 * 1024;
  deps.journal = journal;
  deps.offload = std::move(offload);
  if (hub) {
    deps.publish_to_user = [hub](const base::TenantId& tenant, const std::string& user, std::string_view tail) {
      hub->publish_to_user(tenant, user, "command", tail);
    };
  }
  api::add_command_routes(server, std::move(deps));
}

}  // namespace callbridge::app
