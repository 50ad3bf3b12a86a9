// The webhooks capability without HTTP: a create request checked and turned into a hook (URL and
// template through the delivery engine's rules, event types, description), and hooks and
// deliveries as the API shows them (never the secret, except once at creation). Pure but for the
// engine's ids; any thread.
#pragma once

#include <boost/json.hpp>

#include <expected>
#include <string>

#include "ports/webhook_store.hpp"

namespace callbridge::capabilities::webhooks {

inline constexpr std::size_t kMaxDescription = 200;

// {"url", "events": [...], "body_template"?: string or JSON object/array, "description"?} -> a new
// hook of `tenant` with a fresh id and secret; error: what is wrong, naming the field.
std::expected<ports::Webhook, std::string> new_hook(const boost::json::object& body, const base::TenantId& tenant,
                                                    const ports::WebhookEngine& engine);

boost::json::object hook_json(const ports::Webhook& h);  // without the secret
boost::json::object delivery_json(const ports::WebhookDelivery& d);

}  // namespace callbridge::capabilities::webhooks
