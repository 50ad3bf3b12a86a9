#include "capabilities/webhooks/webhooks_service.hpp"

#include <algorithm>

namespace callbridge::capabilities::webhooks {

namespace json = boost::json;

std::expected<ports::Webhook, std::string> new_hook(const json::object& body, const base::TenantId& tenant,
                                                    const ports::WebhookEngine& engine) {
  auto bad = [](std::string s) { return std::unexpected(std::move(s)); };
  for (const auto& kv : body)
    if (kv.key() != "url" && kv.key() != "events" && kv.key() != "body_template" && kv.key() != "description")
      return bad("unknown field \"" + std::string(kv.key().substr(0, 40)) +
                 "\" (expected url, events, body_template, description)");
  ports::Webhook h{.id = engine.new_hook_id(), .tenant = tenant};
  const auto* url = body.if_contains("url");
  if (!url || !url->is_string()) return bad("url: expected a string");
  h.url = std::string(url->as_string());
  if (auto p = engine.url_problem(h.url); !p.empty()) return bad(p);

  std::string known;
  for (auto t : ports::kWebhookEventTypes) known += (known.empty() ? "" : ", ") + std::string(t);
  const auto* events = body.if_contains("events");
  if (!events || !events->is_array() || events->as_array().empty())
    return bad("events: expected a non-empty array of event types (" + known + ")");
  for (const auto& e : events->as_array()) {
    if (!e.is_string()) return bad("events: expected strings");
    std::string_view t = e.as_string();
    if (std::find(std::begin(ports::kWebhookEventTypes), std::end(ports::kWebhookEventTypes), t) ==
        std::end(ports::kWebhookEventTypes))
      return bad("events: unknown event type \"" + std::string(t.substr(0, 40)) + "\" (known: " + known + ")");
    h.events.emplace_back(t);
  }
  std::sort(h.events.begin(), h.events.end());
  h.events.erase(std::unique(h.events.begin(), h.events.end()), h.events.end());

  if (const auto* t = body.if_contains("body_template"); t && !t->is_null()) {
    // A JSON object or array is taken as the template itself; a string must hold one.
    if (t->is_string()) h.body_template = std::string(t->as_string());
    else if (t->is_object() || t->is_array()) h.body_template = json::serialize(*t);
    else return bad("body_template: expected a JSON object, an array or a string holding one");
    if (auto p = engine.template_problem(h.body_template); !p.empty()) return bad(p);
  }
  if (const auto* d = body.if_contains("description"); d && !d->is_null()) {
    if (!d->is_string() || d->as_string().size() > kMaxDescription)
      return bad("description: a string of at most " + std::to_string(kMaxDescription) + " bytes");
    std::string_view s = d->as_string();
    if (std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; }))
      return bad("description: no control characters");
    h.description = std::string(s);
  }
  h.secret = engine.new_secret();
  return h;
}

json::object hook_json(const ports::Webhook& h) {
  json::array ev;
  for (const auto& e : h.events) ev.emplace_back(e);
  json::object o{{"id", h.id},
                 {"url", h.url},
                 {"events", std::move(ev)},
                 {"description", h.description},
                 {"created_at", base::format_rfc3339_ms(h.created_at)},
                 {"created_by", h.created_by}};
  if (h.body_template.empty()) {
    o["body_template"] = nullptr;
  } else {
    std::error_code ec;
    auto v = json::parse(h.body_template, ec);
    o["body_template"] = ec ? json::value(h.body_template) : v;
  }
  return o;
}

json::object delivery_json(const ports::WebhookDelivery& d) {
  return json::object{{"id", d.id},
                      {"event_type", d.event_type},
                      {"event_id", d.event_id},
                      {"state", d.state},
                      {"attempts", d.attempts},
                      {"http_status", d.http_status ? json::value(d.http_status) : json::value(nullptr)},
                      {"last_error", d.last_error.empty() ? json::value(nullptr) : json::value(d.last_error)},
                      {"created_at", base::format_rfc3339_ms(d.created_at)},
                      {"updated_at", base::format_rfc3339_ms(d.updated_at)}};
}

}  // namespace callbridge::capabilities::webhooks
