#include "app/command_wiring.hpp"

#include <memory>
#include <string>

#include "capabilities/calls/calls_service.hpp"

namespace callbridge::app {

void wire_call_control(api::RestDeps& deps, std::function<core::TenantRuntime*(const base::TenantId&)> runtime_for) {
  deps.call_control = [runtime_for](const base::TenantId& t) -> core::CallControlService* {
    auto* r = runtime_for(t);
    return r ? r->call_control() : nullptr;
  };
  deps.command_log = [runtime_for](const base::TenantId& t) -> std::shared_ptr<core::CommandLog> {
    auto* r = runtime_for(t);
    return r ? r->shared_commands() : nullptr;
  };
  deps.chosen_contacts = [runtime_for](const base::TenantId& t) -> core::ChosenContacts* {
    auto* r = runtime_for(t);
    return r ? &r->chosen_contacts() : nullptr;
  };
  deps.call_trace = [runtime_for](const base::TenantId& t) -> const core::CallTraceLog* {
    auto* r = runtime_for(t);
    return r ? &r->traces() : nullptr;
  };
}

std::function<void(const core::CommandRecord&)> command_publisher(core::EventHub& hub) {
  return [&hub](const core::CommandRecord& r) {
    hub.publish_to_user(r.tenant, r.user, "command",
                        ",\"command\":" + capabilities::calls::command_json(r) + "}");
  };
}

}  // namespace callbridge::app
