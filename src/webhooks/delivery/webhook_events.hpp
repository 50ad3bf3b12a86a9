// What the event stream's messages mean to webhooks (docs/webhooks.md "Events"): a published call,
// line, journal, queue or AnyDevice message (core::EventHub's JSON, handed over by the hub's tap) -> zero
// or more webhook events, each with its default body and the key that orders its deliveries (the call
// id; "line:<device>" for presence; "queue:<pbx>:<name>" for a queue; "user:<name>" for a user's
// devices). Pure; called on the delivery thread.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/tenant_id.hpp"
#include "base/time.hpp"

namespace callbridge::webhooks {

// The stream a message came from (core::HubMessage::Kind without the core dependency).
// any_device: a user's AnyDevice devices or active device changed (the hub's per-user
// {"type":"user_devices"} message, which names the user).
enum class Stream : std::uint8_t { call, line, journal, queue, any_device };

struct WebhookEvent {
  std::string type;       // one of ports::kWebhookEventTypes, or "ping"
  std::string order_key;  // deliveries with the same key go out one after the other, per hook
  // The default body: {"id", "type", "tenant", "created_at", "seq", "data"}.
  boost::json::object body;
};

// `json`: the message as the hub published it. `call_gone`: a call event after which the call
// ended. Messages that are not JSON or carry nothing webhooks send give no events.
std::vector<WebhookEvent> webhook_events(const base::TenantId& tenant, Stream stream, std::string_view json,
                                         bool call_gone, base::Timestamp now);

// The test event of POST /api/v1/webhooks/{id}/ping.
WebhookEvent ping_event(const base::TenantId& tenant, base::Timestamp now);

}  // namespace callbridge::webhooks
