#include "webhooks/delivery/webhook_events.hpp"

#include <boost/json/parse.hpp>

#include "webhooks/delivery/signing.hpp"

namespace callbridge::webhooks {

namespace json = boost::json;

namespace {

json::object body(const base::TenantId& tenant, std::string_view type, const json::value* seq, json::object data,
                  base::Timestamp now) {
  json::object o;
  o["id"] = random_token("ev_", 8);
  o["type"] = type;
  o["tenant"] = tenant.str();
  o["created_at"] = base::format_rfc3339_ms(now);
  o["seq"] = seq ? *seq : json::value(nullptr);
  o["data"] = std::move(data);
  return o;
}

std::string_view str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string_view(v->as_string()) : std::string_view();
}

}  // namespace

std::vector<WebhookEvent> webhook_events(const base::TenantId& tenant, Stream stream, std::string_view text,
                                         bool call_gone, base::Timestamp now) {
  std::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return {};
  json::object& m = v.as_object();
  const json::value* seq = m.if_contains("seq");
  std::vector<WebhookEvent> out;
  switch (stream) {
    case Stream::call: {
      // CSTA event names (docs/api.md "Event stream"): delivered = a device rings, established =
      // answered; the call has ended when its last connection went (cleared, failed, transferred).
      const std::string_view ev = str(m, "event");
      std::string_view type;
      // A call also ends with its last connection failed or transferred away.
      if (call_gone) type = "call.ended";
      else if (ev == "delivered") type = "call.ringing";
      else if (ev == "established") type = "call.answered";
      else return {};
      const auto* call = m.if_contains("call");
      if (!call || !call->is_object()) return {};
      std::string key(str(call->as_object(), "id"));
      json::object data;
      for (const char* k : {"call", "device", "state", "at", "cause"})
        if (const auto* f = m.if_contains(k)) data[k] = *f;
      out.push_back({std::string(type), "call:" + key, body(tenant, type, seq, std::move(data), now)});
      break;
    }
    case Stream::line: {
      const std::string_view device = str(m, "device");
      if (device.empty()) return {};
      json::object data{{"device", device}, {"state", str(m, "state")}};
      out.push_back({"presence.changed", "line:" + std::string(device),
                     body(tenant, "presence.changed", seq, std::move(data), now)});
      break;
    }
    case Stream::journal: {
      const auto* entry = m.if_contains("entry");
      if (!entry || !entry->is_object()) return {};
      // After the call's own events: the same key keeps call.ended before the entry of that call.
      const std::string key = "call:" + std::string(str(entry->as_object(), "call_id"));
      const bool missed = str(entry->as_object(), "disposition") == "missed";
      json::object data{{"entry", *entry}};
      if (const auto* r = m.if_contains("resolves")) data["resolves"] = *r;
      if (missed) out.push_back({"call.missed", key, body(tenant, "call.missed", seq, data, now)});
      out.push_back({"journal.entry", key, body(tenant, "journal.entry", seq, std::move(data), now)});
      break;
    }
    case Stream::queue: {
      // {"event":"changed","queue":{"id":"pbx:name",...}} or {"event":"removed","id","pbx","name"}.
      const std::string_view ev = str(m, "event");
      json::object data{{"event", ev}};
      std::string id;
      if (ev == "changed") {
        const auto* q = m.if_contains("queue");
        if (!q || !q->is_object()) return {};
        id = std::string(str(q->as_object(), "id"));
        data["queue"] = *q;
      } else if (ev == "removed") {
        id = std::string(str(m, "id"));
        for (const char* k : {"id", "pbx", "name"})
          if (const auto* f = m.if_contains(k)) data[k] = *f;
      } else {
        return {};
      }
      if (id.empty()) return {};
      out.push_back({"queue.changed", "queue:" + id, body(tenant, "queue.changed", seq, std::move(data), now)});
      break;
    }
    case Stream::any_device: {
      // {"type":"user_devices","seq":N,"user":..,"change":..,"devices":{...}} (docs/devices.md).
      const std::string_view user = str(m, "user");
      const auto* devices = m.if_contains("devices");
      if (user.empty() || !devices || !devices->is_object()) return {};
      json::object data{{"user", user}, {"change", str(m, "change")}, {"devices", *devices}};
      out.push_back({"anydevice.changed", "user:" + std::string(user),
                     body(tenant, "anydevice.changed", seq, std::move(data), now)});
      break;
    }
  }
  return out;
}

WebhookEvent ping_event(const base::TenantId& tenant, base::Timestamp now) {
  return {"ping", "ping", body(tenant, "ping", nullptr, json::object{{"message", "callbridge webhook test"}}, now)};
}

}  // namespace callbridge::webhooks
