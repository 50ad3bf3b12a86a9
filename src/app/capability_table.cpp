#include "app/capability_table.hpp"

#include <array>

#include "capabilities/audit/audit_events.hpp"
#include "capabilities/audit/audit_routes.hpp"
#include "capabilities/calls/calls_events.hpp"
#include "capabilities/calls/calls_routes.hpp"
#include "capabilities/contacts/contacts_events.hpp"
#include "capabilities/devices/devices_events.hpp"
#include "capabilities/devices/devices_routes.hpp"
#include "capabilities/forwarding/forwarding_events.hpp"
#include "capabilities/forwarding/forwarding_routes.hpp"
#include "capabilities/queues/queues_events.hpp"
#include "capabilities/queues/queues_routes.hpp"
#include "capabilities/contacts/contacts_routes.hpp"
#include "capabilities/journal/journal_events.hpp"
#include "capabilities/journal/journal_routes.hpp"
#include "capabilities/presence/presence_events.hpp"
#include "capabilities/presence/presence_routes.hpp"
#include "capabilities/webhooks/webhooks_events.hpp"
#include "capabilities/webhooks/webhooks_routes.hpp"

namespace callbridge::app {
namespace {

namespace cap = capabilities;

constexpr std::array kCapabilities{
    cap::Capability{"calls", cap::calls::register_calls, cap::calls::kConsumes, cap::calls::kEmits,
                    "src/capabilities/calls/openapi.json"},
    cap::Capability{"presence", cap::presence::register_presence, cap::presence::kConsumes, cap::presence::kEmits,
                    "src/capabilities/presence/openapi.json"},
    cap::Capability{"journal", cap::journal::register_journal, cap::journal::kConsumes, cap::journal::kEmits,
                    "src/capabilities/journal/openapi.json"},
    cap::Capability{"contacts", cap::contacts::register_contacts, cap::contacts::kConsumes, cap::contacts::kEmits,
                    "src/capabilities/contacts/openapi.json"},
    cap::Capability{"audit", cap::audit::register_audit, cap::audit::kConsumes, cap::audit::kEmits,
                    "src/capabilities/audit/openapi.json"},
    cap::Capability{"webhooks", cap::webhooks::register_webhooks, cap::webhooks::kConsumes, cap::webhooks::kEmits,
                    "src/capabilities/webhooks/openapi.json"},
    cap::Capability{"devices", cap::devices::register_devices, cap::devices::kConsumes, cap::devices::kEmits,
                    "src/capabilities/devices/openapi.json"},
    cap::Capability{"queues", cap::queues::register_queues, cap::queues::kConsumes, cap::queues::kEmits,
                    "src/capabilities/queues/openapi.json"},
    cap::Capability{"forwarding", cap::forwarding::register_forwarding, cap::forwarding::kConsumes,
                    cap::forwarding::kEmits, "src/capabilities/forwarding/openapi.json"},
};

}  // namespace

std::span<const capabilities::Capability> capability_table() { return kCapabilities; }

std::shared_ptr<api::rest::Ctx> add_api_routes(api::HttpServer& server, api::RestDeps deps) {
  capabilities::CapabilityContext c{server, api::add_rest_routes(server, std::move(deps))};
  for (const auto& row : kCapabilities) row.register_routes(c);
  return c.rest;
}

}  // namespace callbridge::app
