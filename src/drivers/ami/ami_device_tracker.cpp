#include "drivers/ami/ami_device_tracker.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

namespace callbridge::drivers::ami {

namespace {

constexpr std::size_t kMaxContactsPerDevice = 64;  // Asterisk's max_contacts is usually 1..10
// Endpoints kept per link: far above any real PBX (a large site has a few thousand phones), so a
// PBX (or whatever answers on its AMI port) that reports endless new names cannot grow the
// registry, and the PJSIPShowEndpoint it asks for each new registration, without bound.

bool is_resync(const AmiMessage& m, std::string_view action) {
  auto id = m.action_id();
  return id.starts_with("resync-") && id.substr(7) == action;
}

// "sip:100@127.0.0.1:5100;transport=udp" -> "127.0.0.1:5100"; "sip:[::1]:5060" -> "[::1]:5060".
std::string uri_address(std::string_view uri) {
  if (auto c = uri.find(':'); c != std::string_view::npos && c < 6) uri.remove_prefix(c + 1);  // sip:, sips:
  if (auto at = uri.rfind('@'); at != std::string_view::npos) uri.remove_prefix(at + 1);
  auto end = uri.find_first_of(";>?");
  return std::string(uri.substr(0, end));
}

// "sip:100@127.0.0.1:5100" -> "100".
std::string uri_user(std::string_view uri) {
  if (auto c = uri.find(':'); c != std::string_view::npos && c < 6) uri.remove_prefix(c + 1);
  auto at = uri.find('@');
  if (at == std::string_view::npos) return {};
  return std::string(uri.substr(0, at));
}

std::optional<base::Timestamp> epoch_seconds(std::string_view s) {
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || v <= 0) return std::nullopt;
  return base::Timestamp(std::chrono::seconds(v));
}

model::DeviceContact* find_contact(model::RegisteredDevice& d, std::string_view uri) {
  for (auto& c : d.contacts)
    if (c.uri == uri) return &c;
  return nullptr;
}

void fill_sip_user(model::RegisteredDevice& d, const std::string& auth_user) {
  if (!auth_user.empty()) {
    d.sip_user = auth_user;
    return;
  }
  if (!d.sip_user.empty()) return;
  for (const auto& c : d.contacts)
    if (c.dynamic) {
      d.sip_user = uri_user(c.uri);
      return;
    }
}

// ObjectName of a ContactList item: "100;@fa19cc..." -> "100" (when Endpoint is missing).
std::string_view contact_endpoint(const AmiMessage& m) {
  auto ep = m.get("Endpoint");
  if (!ep.empty()) return ep;
  auto name = m.get("ObjectName");
  return name.substr(0, name.find(";@"));
}

}  // namespace

bool is_party_endpoint(const TrackerOptions& o, std::string_view endpoint) {
  bool digits = endpoint.size() >= o.party_min_len && endpoint.size() <= o.party_max_len &&
                std::all_of(endpoint.begin(), endpoint.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
  return digits || std::find(o.party_endpoints.begin(), o.party_endpoints.end(), endpoint) != o.party_endpoints.end();
}

AmiDeviceTracker::AmiDeviceTracker(std::string pbx, const model::CallModel& model,
                                   std::function<bool(std::string_view)> is_party, Ask ask)
    : registry_(std::move(pbx)), model_(model), is_party_(std::move(is_party)), ask_(std::move(ask)) {}

template <typename F>
void AmiDeviceTracker::edit(std::string_view endpoint, F&& f) {
  if (endpoint.empty() || endpoint.size() > 256) return;
  const model::RegisteredDevice* old = registry_.find(endpoint);
  model::RegisteredDevice d;
  if (old) {
    d = *old;
  } else {
    if (registry_.size() >= kMaxDevices) {
      if (dropped_devices_++ % 1000 == 0)
        spdlog::warn("AMI {}: the device registry holds {} endpoints, the most it keeps; ignoring endpoint {} "
                     "(dropped so far: {})",
                     registry_.pbx(), registry_.size(), endpoint, dropped_devices_);
      return;
    }
    d.id = registry_.id_of(endpoint);
    d.pbx = registry_.pbx();
    d.endpoint = std::string(endpoint);
    if (is_party_ && is_party_(endpoint)) d.extension = d.endpoint;
    d.status = model::device_status(model_.device_state(endpoint));
  }
  f(d);
  if (d.contacts.size() > kMaxContactsPerDevice) d.contacts.resize(kMaxContactsPerDevice);
  model::DeviceRegistry::refresh_agent(d);
  if (old && *old == d) return;
  registry_.upsert(endpoint) = std::move(d);
}

void AmiDeviceTracker::on_session_start(base::Timestamp) {
  resync_endpoints_.clear();
  resync_contacts_.clear();
  endpoints_listed_ = false;
}

void AmiDeviceTracker::on_message(const AmiMessage& m, base::Timestamp at) {
  const auto ev = m.event();
  if (ev.empty()) return;
  if (ev == "EndpointList") {
    auto endpoint = m.get("ObjectName");
    if (is_resync(m, "PJSIPShowEndpoints") && resync_endpoints_.size() < kMaxDevices) resync_endpoints_.emplace(endpoint);
    // "Contacts: 100/sip:100@127.0.0.1:5100,": aor/uri pairs; the contacts as configured or
    // registered now (ContactList, next in the resync, says which are registrations).
    std::vector<std::string> uris;
    std::string_view list = m.get("Contacts");
    while (!list.empty()) {
      auto comma = list.find(',');
      auto item = list.substr(0, comma);
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
      auto slash = item.find('/');
      if (slash != std::string_view::npos && slash + 1 < item.size()) uris.emplace_back(item.substr(slash + 1));
    }
    edit(endpoint, [&](model::RegisteredDevice& d) {
      std::vector<model::DeviceContact> next;
      for (auto& uri : uris) {
        if (auto* known = find_contact(d, uri)) {
          next.push_back(*known);
        } else {
          model::DeviceContact c;
          c.uri = uri;
          c.address = uri_address(uri);
          next.push_back(std::move(c));
        }
      }
      d.contacts = std::move(next);
    });
  } else if (ev == "EndpointListComplete") {
    if (!is_resync(m, "PJSIPShowEndpoints")) return;
    endpoints_listed_ = true;
    std::vector<std::string> gone;
    for (const auto& [ep, d] : registry_.devices())
      if (!resync_endpoints_.contains(ep)) gone.push_back(ep);
    for (const auto& ep : gone) registry_.erase(ep);  // no longer configured in the PBX
  } else if (ev == "ContactList") {
    auto endpoint = contact_endpoint(m);
    std::string uri(m.get("Uri"));
    if (uri.empty()) return;
    if (is_resync(m, "PJSIPShowContacts") && resync_contacts_.size() < kMaxDevices * 4)
      resync_contacts_.insert(std::string(endpoint) + "\n" + uri);
    edit(endpoint, [&](model::RegisteredDevice& d) {
      model::DeviceContact* c = find_contact(d, uri);
      if (!c) {
        d.contacts.emplace_back();
        c = &d.contacts.back();
        c->uri = uri;
      }
      auto via = m.get("ViaAddr"), port = m.get("ViaPort");
      c->address = via.empty() ? uri_address(uri) : std::string(via) + (port.empty() ? "" : ":" + std::string(port));
      c->user_agent = std::string(m.get("UserAgent"));
      c->status = std::string(m.get("Status"));
      c->expires = epoch_seconds(m.get("ExpirationTime"));
      c->dynamic = true;
      fill_sip_user(d, {});
    });
  } else if (ev == "ContactListComplete") {
    if (!is_resync(m, "PJSIPShowContacts") || !endpoints_listed_) return;
    // Registrations the list no longer has expired while the link was down; what the endpoint
    // list named and the contact list did not is a configured (static) contact.
    std::vector<std::string> endpoints;
    for (const auto& [ep, d] : registry_.devices()) endpoints.push_back(ep);
    for (const auto& ep : endpoints) {
      edit(ep, [&](model::RegisteredDevice& d) {
        for (auto& c : d.contacts)
          if (!resync_contacts_.contains(ep + "\n" + c.uri)) c.dynamic = false, c.user_agent.clear(), c.expires.reset();
      });
    }
  } else if (ev == "ContactStatus") {
    auto endpoint = m.get("EndpointName");
    if (endpoint.empty()) endpoint = m.get("AOR");
    std::string uri(m.get("URI"));
    std::string status(m.get("ContactStatus"));
    if (uri.empty() || endpoint.empty()) return;
    bool ask = false;
    edit(endpoint, [&](model::RegisteredDevice& d) {
      d.last_seen = at;
      if (status == "Removed") {
        std::erase_if(d.contacts, [&](const model::DeviceContact& c) { return c.uri == uri; });
        return;
      }
      model::DeviceContact* c = find_contact(d, uri);
      if (!c) {
        d.contacts.emplace_back();
        c = &d.contacts.back();
        c->uri = uri;
        c->address = uri_address(uri);
        c->dynamic = true;  // configured contacts are known from the endpoint list
        ask = true;
      }
      c->status = status;
      if (status == "Created" || status == "Updated" || (c->dynamic && c->user_agent.empty())) ask = true;
      fill_sip_user(d, {});
    });
    if (ask && ask_ && registry_.find(endpoint)) {
      ++detail_requests_;
      ask_(std::string(endpoint));
    }
  } else if (ev == "DeviceStateChange") {
    auto dev = m.get("Device");
    auto slash = dev.find('/');
    if (slash == std::string_view::npos || dev.substr(0, slash) != "PJSIP") return;
    auto endpoint = dev.substr(slash + 1);
    if (!registry_.find(endpoint)) return;  // only the PJSIP reports (re)create devices
    if (!m.action_id().empty()) return;      // a DeviceStateList item: a list, not news of the phone
    edit(endpoint, [&](model::RegisteredDevice& d) { d.last_seen = at; });
  }
}

void AmiDeviceTracker::on_endpoint_detail(const std::string& endpoint, const AmiResponse& r, base::Timestamp at) {
  if (!r.success()) {
    // "Unable to retrieve endpoint X": removed from the configuration meanwhile.
    if (r.message().starts_with("Unable to retrieve endpoint")) registry_.erase(endpoint);
    return;
  }
  std::vector<model::DeviceContact> contacts;
  std::string auth_user;
  for (const auto& item : r.items) {
    const AmiMessage& m = item.view();
    auto ev = m.event();
    if (ev == "ContactStatusDetail") {
      model::DeviceContact c;
      c.uri = std::string(m.get("URI"));
      if (c.uri.empty()) continue;
      auto via = m.get("ViaAddress");
      c.address = via.empty() ? uri_address(c.uri) : std::string(via);
      c.user_agent = std::string(m.get("UserAgent"));
      c.status = std::string(m.get("Status"));
      c.expires = epoch_seconds(m.get("RegExpire"));
      // Registrations have an expiry and an id "<aor>;@<hash>"; configured ones "<aor>@@<hash>".
      c.dynamic = c.expires.has_value() || m.get("ID").find(";@") != std::string_view::npos;
      if (!c.dynamic) c.user_agent.clear();
      contacts.push_back(std::move(c));
    } else if (ev == "AuthDetail") {
      // Only the user name: the same item carries the password, which is never kept.
      if (auth_user.empty()) auth_user = std::string(m.get("Username"));
    }
  }
  edit(endpoint, [&](model::RegisteredDevice& d) {
    d.contacts = std::move(contacts);
    d.last_seen = std::max(d.last_seen.value_or(at), at);
    fill_sip_user(d, auth_user);
  });
}

void AmiDeviceTracker::on_call_event(const model::CallEvent& e) {
  if (!registry_.find(e.device)) return;
  auto st = model::device_status(model_.device_state(e.device));
  edit(e.device, [&](model::RegisteredDevice& d) {
    d.last_call_id = e.call_id;
    d.last_seen = std::max(d.last_seen.value_or(e.at), e.at);
    d.status = st;
  });
}

void AmiDeviceTracker::sync_status() {
  if (model_.line_version() == synced_version_) return;
  for (const auto& dev : model_.devices_changed_since(synced_version_)) {
    if (!registry_.find(dev)) continue;
    auto st = model::device_status(model_.device_state(dev));
    edit(dev, [&](model::RegisteredDevice& d) { d.status = st; });
  }
  synced_version_ = model_.line_version();
}

bool AmiDeviceTracker::forget(std::string_view id) {
  const auto* d = registry_.find_id(id);
  if (!d) return false;
  return registry_.erase(std::string(d->endpoint));
}

}  // namespace callbridge::drivers::ami
