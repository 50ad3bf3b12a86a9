#include "core/event_hub.hpp"

#include <algorithm>
#include <cstdio>
#include <tuple>

#include "base/json_text.hpp"
#include "base/time.hpp"

namespace callbridge::core {

namespace {

constexpr auto& put_string = base::append_json_string;

bool sees_message(const EventFilter& f, const HubMessage& m) {
  if (!m.user.empty()) return m.user == f.user;  // addressed to one user, whatever the scope
  if (m.kind == HubMessage::Kind::device) return f.admin;  // the device registry: admins only
  if (m.kind == HubMessage::Kind::parking) return true;    // parking lots are the tenant's (docs/parking.md)
  // A whole link's calls; with the calls' devices known (HubMessage::resynced), message_for also
  // gives scopes own and team their part.
  if (m.kind == HubMessage::Kind::calls_resynced) return f.scope == EventScope::tenant;
  if (f.scope == EventScope::tenant) return true;
  for (const auto& d : m.devices)
    if (m.kind == HubMessage::Kind::line || m.kind == HubMessage::Kind::status || m.kind == HubMessage::Kind::features
            ? f.sees_line(d)
            : f.sees_device(d))
      return true;
  return false;
}

std::string head(std::string_view type, std::uint64_t seq) {
  std::string s = "{\"type\":\"";
  s += type;
  s += "\",\"seq\":";
  s += std::to_string(seq);
  return s;
}

bool sees_any(const EventFilter& f, const std::vector<std::string>& devices) {
  return f.scope == EventScope::tenant ||
         std::any_of(devices.begin(), devices.end(), [&](const std::string& d) { return f.sees_device(d); });
}

// {"type":"calls_resynced","seq":N,"pbx":..,"calls":[..],"ended":[..]} with every call (`f` null)
// or only those `f` may see (a connection on one of its devices, as its call messages); nullopt
// when `f` sees none of them.
std::optional<std::string> resynced_json(std::uint64_t seq, const HubMessage::Resynced& r, const EventFilter* f) {
  std::string o = head("calls_resynced", seq);
  o += ",\"pbx\":";
  put_string(o, r.pbx);
  bool any = false;
  for (const auto& [name, list] : {std::pair{",\"calls\":[", &r.listed}, std::pair{"],\"ended\":[", &r.ended}}) {
    o += name;
    bool first = true;
    for (const auto& c : *list) {
      if (f && !sees_any(*f, c.devices)) continue;
      if (!first) o += ',';
      first = false;
      any = true;
      put_string(o, c.id);
    }
  }
  o += "]}";
  if (f && f->scope != EventScope::tenant && !any) return std::nullopt;
  return o;
}

// One message of the event log (logged mode): the JSON without its head, and what the hub needs
// to deliver it and keep its mirror. Encoded as "cbh2" and length-prefixed fields ("<len>:<bytes>");
// "cbh1", the records of nodes before the link and term were added (the fields up to the devices),
// is still read.
struct LogRecord {
  HubMessage::Kind kind = HubMessage::Kind::call;
  std::string type, tail, user;
  std::vector<std::string> devices;
  bool call_gone = false;
  std::string call_id, call_created;
  std::size_t call_at = 0, call_len = 0;
  std::string call_replaced;  // a call merged into this one: gone
  // cbh2: the PBX link the message is about (calls, calls_resynced; empty: none named), the
  // ownership term of the node that logged it, and (calls_resynced) the link's calls in progress.
  std::string link;
  std::uint64_t term = 0;
  std::vector<std::string> call_ids;
};

constexpr std::string_view kRecordMagic = "cbh2";
constexpr std::string_view kRecordMagicV1 = "cbh1";
constexpr std::size_t kMaxDevices = 4096;
constexpr std::size_t kMaxCallIds = 100000;

void put_field(std::string& o, std::string_view v) {
  o += std::to_string(v.size());
  o += ':';
  o += v;
}

std::string encode_record(const LogRecord& r) {
  std::string o(kRecordMagic);
  o.reserve(r.tail.size() + 64);
  put_field(o, std::to_string(static_cast<int>(r.kind)));
  put_field(o, r.type);
  put_field(o, r.tail);
  put_field(o, r.user);
  put_field(o, r.call_gone ? "1" : "0");
  put_field(o, r.call_id);
  put_field(o, r.call_created);
  put_field(o, std::to_string(r.call_at));
  put_field(o, std::to_string(r.call_len));
  put_field(o, r.call_replaced);
  put_field(o, std::to_string(r.devices.size()));
  for (const auto& d : r.devices) put_field(o, d);
  put_field(o, r.link);
  put_field(o, std::to_string(r.term));
  put_field(o, std::to_string(r.call_ids.size()));
  for (const auto& id : r.call_ids) put_field(o, id);
  return o;
}

// Bytes from the log (another node's, or anything written to the subject): every length checked.
class FieldReader {
 public:
  explicit FieldReader(std::string_view in) : in_(in) {}
  std::optional<std::string_view> next() {
    std::size_t n = 0, i = 0;
    for (; i < in_.size() && i < 10 && in_[i] >= '0' && in_[i] <= '9'; ++i) n = n * 10 + static_cast<std::size_t>(in_[i] - '0');
    if (i == 0 || i >= in_.size() || in_[i] != ':' || in_.size() - i - 1 < n) return std::nullopt;
    auto v = in_.substr(i + 1, n);
    in_.remove_prefix(i + 1 + n);
    return v;
  }
  std::optional<std::size_t> number() {
    auto n = number64(10);
    if (!n) return std::nullopt;
    return static_cast<std::size_t>(*n);
  }
  // Up to `digits` decimal digits (19 fit into 64 bits).
  std::optional<std::uint64_t> number64(std::size_t digits = 19) {
    auto f = next();
    if (!f || f->empty() || f->size() > digits) return std::nullopt;
    std::uint64_t n = 0;
    for (char c : *f) {
      if (c < '0' || c > '9') return std::nullopt;
      n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return n;
  }
  // A count (at most `max`), then that many fields, appended to `out`; false on anything else.
  bool strings(std::vector<std::string>& out, std::size_t max) {
    auto n = number();
    if (!n || *n > max) return false;
    out.reserve(out.size() + *n);
    for (std::size_t i = 0; i < *n; ++i) {
      auto v = next();
      if (!v) return false;
      out.emplace_back(*v);
    }
    return true;
  }
  bool done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

std::optional<LogRecord> decode_record(std::string_view in) {
  const bool v1 = in.starts_with(kRecordMagicV1);
  if (!v1 && !in.starts_with(kRecordMagic)) return std::nullopt;
  FieldReader f(in.substr(kRecordMagic.size()));
  LogRecord r;
  auto kind = f.number();
  // cbh1 knew the kinds up to parking.
  const auto last = v1 ? HubMessage::Kind::parking : HubMessage::Kind::calls_resynced;
  if (!kind || *kind > static_cast<std::size_t>(last)) return std::nullopt;
  r.kind = static_cast<HubMessage::Kind>(*kind);
  auto type = f.next(), tail = f.next(), user = f.next(), gone = f.next(), id = f.next(), created = f.next();
  if (!type || !tail || !user || !gone || !id || !created) return std::nullopt;
  if (type->empty() || type->find_first_of("\"\\") != std::string_view::npos) return std::nullopt;
  if (tail->empty() || tail->back() != '}' || (tail->front() != ',' && tail->size() != 1)) return std::nullopt;
  r.type = *type;
  r.tail = *tail;
  r.user = *user;
  r.call_gone = *gone == "1";
  r.call_id = *id;
  r.call_created = *created;
  auto at = f.number(), len = f.number();
  auto replaced = f.next();
  if (!at || !len || !replaced || !f.strings(r.devices, kMaxDevices)) return std::nullopt;
  r.call_at = *at;
  r.call_len = *len;
  r.call_replaced = *replaced;
  if (!v1) {
    auto link = f.next();
    auto term = f.number64();
    if (!link || !term || !f.strings(r.call_ids, kMaxCallIds)) return std::nullopt;
    r.link = *link;
    r.term = *term;
  }
  if (!f.done()) return std::nullopt;
  return r;
}

}  // namespace

std::string_view line_state_name(model::DeviceState s) {
  switch (s) {
    case model::DeviceState::unknown:  // no PBX report and no call: nothing says it is busy
    case model::DeviceState::idle: return "idle";
    case model::DeviceState::ringing: return "ringing";
    case model::DeviceState::busy: return "busy";
    case model::DeviceState::held: return "held";
    case model::DeviceState::unavailable: return "offline";
    case model::DeviceState::dnd: return "dnd";
  }
  return "idle";
}

std::optional<model::DeviceState> line_state_from_name(std::string_view name) {
  for (auto s : {model::DeviceState::idle, model::DeviceState::ringing, model::DeviceState::busy,
                 model::DeviceState::held, model::DeviceState::unavailable, model::DeviceState::dnd})
    if (line_state_name(s) == name) return s;
  return std::nullopt;
}

std::string device_json(const model::RegisteredDevice& d) {
  auto field = [](std::string& o, std::string_view k, std::string_view v) {
    o += ",\"";
    o += k;
    o += "\":";
    put_string(o, v);
  };
  std::string o = "{\"id\":";
  put_string(o, d.id);
  field(o, "pbx", d.pbx);
  field(o, "endpoint", d.endpoint);
  field(o, "extension", d.extension);
  field(o, "sip_user", d.sip_user);
  field(o, "user_agent", d.user_agent);
  field(o, "vendor", d.agent.vendor);
  field(o, "model", d.agent.model);
  field(o, "firmware", d.agent.firmware);
  field(o, "registration", model::to_string(d.registration()));
  field(o, "address", d.address());
  field(o, "status", model::to_string(d.status));
  o += ",\"last_call_id\":";
  if (d.last_call_id.empty()) o += "null";
  else put_string(o, d.last_call_id);
  o += ",\"last_seen\":";
  if (d.last_seen) put_string(o, base::format_rfc3339_ms(*d.last_seen));
  else o += "null";
  o += ",\"contacts\":[";
  bool first = true;
  for (const auto& c : d.contacts) {
    o += first ? "{\"uri\":" : ",{\"uri\":";
    first = false;
    put_string(o, c.uri);
    field(o, "address", c.address);
    field(o, "user_agent", c.user_agent);
    field(o, "status", c.status);
    o += ",\"dynamic\":";
    o += c.dynamic ? "true" : "false";
    o += ",\"expires\":";
    if (c.expires) put_string(o, base::format_rfc3339_ms(*c.expires));
    else o += "null";
    o += '}';
  }
  o += "]}";
  return o;
}

void EventHub::on_devices(const base::TenantId& tn, const model::DeviceRegistry& registry,
                          std::span<const std::string> ids) {
  auto& t = tenant(tn);
  for (const auto& id : ids) {
    std::string json = head("device", next_seq(t));
    if (const auto* d = registry.find_id(id)) {
      json += ",\"event\":\"changed\",\"device\":";
      json += device_json(*d);
    } else {
      json += ",\"event\":\"removed\",\"id\":";
      put_string(json, id);
    }
    json += '}';
    publish(t, HubMessage::Kind::device, {}, std::move(json));
  }
}

std::string queue_json(const model::Queue& q, std::string_view pbx, const base::TenantId& tenant,
                       base::Timestamp now, const RemoteInfoView* remotes) {
  auto str = [](std::string& o, std::string_view k, std::string_view v) {
    o += ",\"";
    o += k;
    o += "\":";
    put_string(o, v);
  };
  auto num = [](std::string& o, std::string_view k, std::int64_t v) {
    o += ",\"";
    o += k;
    o += "\":";
    o += std::to_string(v);
  };
  auto when = [](std::string& o, std::string_view k, const std::optional<base::Timestamp>& t) {
    o += ",\"";
    o += k;
    o += "\":";
    if (t) put_string(o, base::format_rfc3339_ms(*t));
    else o += "null";
  };
  const bool today = std::chrono::floor<std::chrono::days>(q.day_start) == std::chrono::floor<std::chrono::days>(now);
  std::string o = "{\"id\":";
  put_string(o, std::string(pbx) + ":" + q.name);
  str(o, "pbx", pbx);
  str(o, "name", q.name);
  str(o, "strategy", q.strategy);
  num(o, "max", q.max);
  o += ",\"wrapup_seconds\":";
  o += q.wrapup_seconds ? std::to_string(*q.wrapup_seconds) : std::string("null");
  num(o, "waiting", static_cast<std::int64_t>(q.callers.size()));
  num(o, "longest_wait", q.longest_wait(now));
  num(o, "answered_today", today ? q.answered_today : 0);
  num(o, "abandoned_today", today ? q.abandoned_today : 0);
  num(o, "pbx_completed", q.pbx_completed);
  num(o, "pbx_abandoned", q.pbx_abandoned);
  num(o, "holdtime", q.holdtime);
  num(o, "talktime", q.talktime);
  o += ",\"callers\":[";
  for (std::size_t i = 0; i < q.callers.size(); ++i) {
    const auto& c = q.callers[i];
    o += i ? ",{" : "{";
    o += "\"position\":" + std::to_string(c.position);
    str(o, "channel", c.channel);
    str(o, "uniqueid", c.uniqueid);
    str(o, "linkedid", c.linkedid);
    o += ",\"number\":";
    if (c.number.empty()) o += "null";
    else put_string(o, c.number);
    o += ",\"name\":";
    if (c.name.empty()) o += "null";
    else put_string(o, c.name);
    when(o, "joined", c.joined);
    num(o, "wait", std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::seconds>(now - c.joined).count()));
    if (remotes) {
      // The caller as the calls show a remote party: classified, with the directory's contacts
      // (TenantRuntime::on_queues_changed has them looked up; docs/queues.md).
      model::Connection conn;
      conn.state = model::ConnectionState::queued;
      if (!c.number.empty()) conn.remote = c.number;
      o += ",\"remote_info\":";
      remotes->append_remote_info(o, tenant, conn);
    }
    o += '}';
  }
  o += "],\"agents\":[";
  for (std::size_t i = 0; i < q.members.size(); ++i) {
    const auto& m = q.members[i];
    o += i ? ",{" : "{";
    o += "\"interface\":";
    put_string(o, m.interface);
    str(o, "name", m.name);
    o += ",\"extension\":";
    if (m.device.empty()) o += "null";
    else put_string(o, m.device);
    str(o, "membership", m.membership);
    str(o, "state", model::to_string(q.state(m, now)));
    o += ",\"paused\":";
    o += m.paused ? "true" : "false";
    o += ",\"paused_reason\":";
    if (m.paused) put_string(o, m.paused_reason);
    else o += "null";
    o += ",\"in_call\":";
    o += m.in_call ? "true" : "false";
    o += ",\"ringing\":";
    o += m.ringing ? "true" : "false";
    num(o, "penalty", m.penalty);
    num(o, "calls_taken", m.calls_taken);
    when(o, "last_call", m.last_call);
    when(o, "last_pause", m.last_pause);
    when(o, "login_time", m.login_time);
    num(o, "wrapup_seconds", q.wrapup_for(m));
    when(o, "wrapup_until", q.wrapup_until(m));
    o += '}';
  }
  o += "]}";
  return o;
}

void EventHub::on_queues(const base::TenantId& tn, const model::QueueState& state, std::span<const std::string> names,
                         base::Timestamp now) {
  auto& t = tenant(tn);
  for (const auto& name : names) {
    std::string json = head("queue", next_seq(t));
    std::vector<std::string> devices;
    if (const auto* q = state.find(name)) {
      json += ",\"event\":\"changed\",\"queue\":";
      json += queue_json(*q, state.pbx(), tn, now, remote_info_);
      for (const auto& m : q->members)
        if (!m.device.empty()) devices.push_back(m.device);
    } else {
      json += ",\"event\":\"removed\",\"id\":";
      put_string(json, state.pbx() + ":" + name);
      json += ",\"pbx\":";
      put_string(json, state.pbx());
      json += ",\"name\":";
      put_string(json, name);
    }
    json += '}';
    publish(t, HubMessage::Kind::queue, std::move(devices), std::move(json));
  }
}

std::string parked_call_json(const model::ParkedCall& c, std::string_view pbx, const base::TenantId& tenant,
                             base::Timestamp now, const RemoteInfoView* remotes) {
  auto str = [](std::string& o, std::string_view k, std::string_view v, bool null_if_empty = false) {
    o += ",\"";
    o += k;
    o += "\":";
    if (null_if_empty && v.empty()) o += "null";
    else put_string(o, v);
  };
  std::string o = "{\"id\":";
  put_string(o, std::string(pbx) + ":" + c.lot + ":" + c.space);
  str(o, "pbx", pbx);
  str(o, "lot", c.lot);
  str(o, "space", c.space);
  str(o, "call_id", c.linkedid, true);
  str(o, "channel", c.channel);
  str(o, "number", c.number, true);
  str(o, "name", c.name, true);
  str(o, "parked_by", c.parker, true);
  str(o, "since", base::format_rfc3339_ms(c.since));
  o += ",\"parked_seconds\":";
  o += std::to_string(std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::seconds>(now - c.since).count()));
  o += ",\"times_out_at\":";
  if (c.times_out_at) put_string(o, base::format_rfc3339_ms(*c.times_out_at));
  else o += "null";
  if (remotes) {
    // The parked caller as the calls show a remote party: classified, with the directory's
    // contacts when a lookup for the number ran while it talked to one of the tenant's phones.
    model::Connection conn;
    conn.state = model::ConnectionState::held;
    if (!c.number.empty()) conn.remote = c.number;
    o += ",\"remote_info\":";
    remotes->append_remote_info(o, tenant, conn);
  }
  o += '}';
  return o;
}

void EventHub::on_parking(const base::TenantId& tn, const model::ParkingState& state,
                          std::span<const model::ParkingChange> changes, base::Timestamp now) {
  auto& t = tenant(tn);
  for (const auto& ch : changes) {
    std::string json = head("parking", next_seq(t));
    json += ",\"event\":";
    put_string(json, model::to_string(ch.kind));
    json += ",\"reason\":";
    if (ch.reason == model::ParkingChange::Reason::none) json += "null";
    else put_string(json, model::to_string(ch.reason));
    json += ",\"by\":";
    if (ch.by.empty()) json += "null";
    else put_string(json, ch.by);
    json += ",\"parked_call\":";
    json += parked_call_json(ch.call, state.pbx(), tn, now, remote_info_);
    json += '}';
    std::vector<std::string> devices;
    if (!ch.call.parker.empty()) devices.push_back(ch.call.parker);
    publish(t, HubMessage::Kind::parking, std::move(devices), std::move(json));
  }
}

std::string call_json(const model::Call& c, const base::TenantId& tenant, const model::CallModel& m,
                      const RemoteInfoView* remotes) {
  std::string o = "{\"id\":";
  put_string(o, c.id);
  o += ",\"tenant\":";
  put_string(o, tenant);
  o += ",\"created_at\":";
  put_string(o, base::format_rfc3339_ms(c.created_at));
  if (auto u = m.channel_usage(c.id)) {
    // Channel accounting (docs/call-control.md): what the call occupies at the PBX now.
    o += ",\"channels\":{\"trunk\":" + std::to_string(u->trunk) + ",\"internal\":" + std::to_string(u->internal) + "}";
  }
  o += ",\"connections\":[";
  bool first = true;
  for (const auto& conn : c.connections) {
    o += first ? "{\"device\":" : ",{\"device\":";
    first = false;
    put_string(o, conn.device);
    o += ",\"state\":";
    put_string(o, model::to_string(conn.state));
    o += ",\"remote\":";
    if (conn.remote) put_string(o, *conn.remote); else o += "null";
    if (remotes) {
      o += ",\"remote_info\":";
      remotes->append_remote_info(o, tenant, conn);
    }
    o += ",\"since\":";
    put_string(o, base::format_rfc3339_ms(conn.since));
    o += '}';
  }
  o += "],\"allowed_actions\":{";
  first = true;
  for (const auto& conn : c.connections) {
    if (!first) o += ',';
    first = false;
    put_string(o, conn.device);
    o += ":[";
    bool f2 = true;
    for (auto a : model::action_names(m.allowed_actions(c, conn.device))) {
      if (!f2) o += ',';
      f2 = false;
      put_string(o, a);
    }
    o += ']';
  }
  // Why a phone's Answer/Hold/... is missing (docs/api.md): only devices that lack one.
  o += "},\"unavailable_actions\":{";
  first = true;
  for (const auto& conn : c.connections) {
    auto missing = m.unavailable_actions(c, conn.device);
    if (missing.empty()) continue;
    if (!first) o += ',';
    first = false;
    put_string(o, conn.device);
    o += ":{";
    bool f2 = true;
    for (const auto& [action, why] : missing) {
      if (!f2) o += ',';
      f2 = false;
      put_string(o, model::to_string(action));
      o += ':';
      put_string(o, why);
    }
    o += '}';
  }
  o += "}}";
  return o;
}

EventHub::EventHub(EventHubOptions options) : options_(std::move(options)) {
  if (options_.retention == 0) options_.retention = 1;
}

EventHub::Tenant& EventHub::tenant(const base::TenantId& name) {
  auto [it, inserted] = tenants_.try_emplace(name);
  if (inserted) it->second.id = &it->first;
  return it->second;
}

std::string EventHub::encode(std::string_view json) const {
  return options_.encode ? options_.encode(json) : std::string(json);
}

void EventHub::add_model(const base::TenantId& tn, const model::CallModel* m, std::string link, std::uint64_t term) {
  auto& t = tenant(tn);
  t.models.push_back(m);
  t.model_links[m] = ModelLink{std::move(link), term};
  if (log_) {
    // A new term of a link (cluster mode): the lines this node published in an earlier term of its
    // own may have changed under another owner since; the model's first sync publishes them all.
    t.lines.clear();
    t.lines_synced = 0;
  }
}

void EventHub::remove_model(const model::CallModel* m) {
  for (auto& [name, t] : tenants_) {
    std::erase(t.models, m);
    t.model_links.erase(m);
    if (t.lines_from == m) t.lines_mixed = true;  // another model may reuse the address
  }
}

const EventHub::ModelLink* EventHub::link_of(const Tenant& t, const model::CallModel& m) const {
  auto it = t.model_links.find(&m);
  return it == t.model_links.end() || it->second.name.empty() ? nullptr : &it->second;
}

void EventHub::publish(Tenant& t, HubMessage::Kind kind, std::vector<std::string> devices,
                       std::string json, std::string user, bool call_gone, const CallPart* call,
                       const ModelLink* link, std::vector<std::string> call_ids) {
  if (!log_) {
    deliver(t, kind, std::move(devices), json, std::move(user), call_gone, true);
    return;
  }
  // `json` starts with head(type, 0): the log numbers it; the record carries the rest.
  const std::size_t type_end = json.find('"', 9);
  const std::size_t prefix = type_end + 9;  // `","seq":0`
  LogRecord r;
  r.kind = kind;
  r.type = json.substr(9, type_end - 9);
  r.tail = json.substr(prefix);
  r.user = std::move(user);
  r.devices = std::move(devices);
  r.call_gone = call_gone;
  if (call && call->at >= prefix) {
    r.call_id = call->id;
    r.call_created = call->created_at;
    r.call_at = call->at - prefix;
    r.call_len = call->len;
    r.call_replaced = call->replaced;
  }
  if (link) {
    r.link = link->name;
    r.term = link->term;
  }
  r.call_ids = std::move(call_ids);
  ++stats_.logged;
  log_->append(*t.id, encode_record(r));
}

std::shared_ptr<const HubMessage> EventHub::message_for(const EventFilter& f,
                                                        const std::shared_ptr<const HubMessage>& m) const {
  if (!m->resynced || !m->user.empty() || f.scope == EventScope::tenant) return sees_message(f, *m) ? m : nullptr;
  auto json = resynced_json(m->seq, *m->resynced, &f);
  if (!json) return nullptr;
  auto copy = std::make_shared<HubMessage>(*m);
  copy->frame = std::make_shared<const std::string>(encode(*json));
  return copy;
}

void EventHub::deliver(Tenant& t, HubMessage::Kind kind, std::vector<std::string> devices, const std::string& json,
                       std::string user, bool call_gone, bool tap,
                       std::shared_ptr<const HubMessage::Resynced> resynced) {
  auto msg = std::make_shared<HubMessage>();
  msg->seq = t.seq;
  msg->kind = kind;
  msg->devices = std::move(devices);
  msg->user = std::move(user);
  msg->frame = std::make_shared<const std::string>(encode(json));
  msg->resynced = std::move(resynced);
  ++stats_.published;
  t.ring.push_back(msg);
  while (t.ring.size() > options_.retention) t.ring.pop_front();

  ++publishing_;
  const std::size_t n = t.subs.size();
  for (std::size_t i = 0; i < n && i < t.subs.size(); ++i) {
    auto& s = t.subs[i];
    if (!s.sink) continue;
    if (s.skip_to) {
      if (msg->seq <= s.skip_to) continue;
      s.skip_to = 0;
    }
    auto& f = *s.filter;
    if (f.seen_seq != msg->seq) {
      f.seen_seq = msg->seq;
      f.copy.reset();
      if (msg->resynced) {
        f.copy = message_for(f.filter, msg);
        f.sees = f.copy != nullptr;
      } else {
        f.sees = sees_message(f.filter, *msg);
      }
    }
    if (f.sees) {
      ++stats_.deliveries;
      s.sink->on_message(f.copy ? *f.copy : *msg);
    }
  }
  if (--publishing_ == 0 && !removed_while_publishing_.empty()) {
    auto ids = std::move(removed_while_publishing_);
    removed_while_publishing_.clear();
    for (auto [tp, id] : ids) remove_now(*tp, id);
  }
  // Messages for one user are nobody else's business, except a user's AnyDevice change, which
  // the tenant's admins may subscribe webhooks to (anydevice.changed); command outcomes stay private.
  if (tap && tap_ && (msg->user.empty() || kind == HubMessage::Kind::user_devices))
    tap_(TappedMessage{*t.id, kind, json, call_gone});
}

bool EventHub::apply_logged(const base::TenantId& tn, std::uint64_t seq, std::string_view record, bool own) {
  auto& t = tenant(tn);
  if (seq <= t.seq) {
    ++stats_.log_duplicates;
    return true;
  }
  if (t.seq != 0 && seq != t.seq + 1) {
    ++stats_.log_gaps;
    t.ring.clear();  // what came between is unknown here: no resume across it
  }
  t.seq = seq;
  auto r = decode_record(record);
  if (!r) {
    ++stats_.log_undecodable;
    return false;
  }
  ++stats_.applied;
  std::string json = head(r->type, seq);
  json += r->tail;
  // The mirror: the calls and lines every node's snapshots show.
  if (r->kind == HubMessage::Kind::call && !r->call_id.empty()) {
    // A message of an earlier term that reached the log after a later term's (an old owner that
    // was stopped, not dead) is stale: the new owner's resync said what is true. It goes to no
    // client (it would bring back a card the resync ended) and leaves no trace in the mirror; every
    // node decides the same from the same log, so its seq is a gap everywhere.
    if (!current_term(t, r->link, r->term)) return true;
    {
      if (!r->call_replaced.empty()) t.mirror_calls.erase(r->call_replaced);
      if (r->call_gone) {
        t.mirror_calls.erase(r->call_id);
      } else if (r->call_at + r->call_len <= r->tail.size()) {
        auto& c = t.mirror_calls[r->call_id];
        c.created_at = r->call_created;
        c.devices = r->devices;
        c.json = r->tail.substr(r->call_at, r->call_len);
        c.link = r->link;
        c.term = r->term;
      }
    }
  } else if (r->kind == HubMessage::Kind::calls_resynced && !r->link.empty()) {
    // The link's owner listed its calls after a resync: the link's other calls are over (they ended
    // while no node owned the link, or while its owner did not hear the PBX). Calls of records that
    // named no link (older nodes) are left alone. The clients learn which of the calls they were
    // shown ended (`ended`), each only those it may see (message_for).
    if (!current_term(t, r->link, r->term)) return true;  // an old owner's list: stale, as above
    auto res = std::make_shared<HubMessage::Resynced>();
    res->pbx = r->link;
    std::sort(r->call_ids.begin(), r->call_ids.end());
    {
      for (auto it = t.mirror_calls.begin(); it != t.mirror_calls.end();) {
        if (it->second.link == r->link && !std::binary_search(r->call_ids.begin(), r->call_ids.end(), it->first)) {
          res->ended.push_back({it->first, std::move(it->second.devices)});
          it = t.mirror_calls.erase(it);
        } else {
          ++it;
        }
      }
      stats_.mirror_dropped += res->ended.size();
      std::sort(res->ended.begin(), res->ended.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    }
    res->listed.reserve(r->call_ids.size());
    for (auto& id : r->call_ids) {
      auto it = t.mirror_calls.find(id);
      res->listed.push_back({std::move(id), it == t.mirror_calls.end() ? std::vector<std::string>{} : it->second.devices});
    }
    json = *resynced_json(seq, *res, nullptr);
    deliver(t, r->kind, std::move(r->devices), json, std::move(r->user), false, own, std::move(res));
    return true;
  } else if (r->kind == HubMessage::Kind::line && !r->devices.empty()) {
    if (!current_term(t, r->link, r->term)) return true;  // an old owner's late line state: stale, as above
    const auto at = r->tail.rfind("\"state\":\"");
    if (at != std::string::npos) {
      const auto from = at + 9;
      const auto to = r->tail.find('"', from);
      if (to != std::string::npos) t.mirror_lines[r->devices.front()] = r->tail.substr(from, to - from);
    }
  }
  const bool devices_changed = !own && r->kind == HubMessage::Kind::user_devices && !r->user.empty();
  std::string user = devices_changed ? r->user : std::string();
  deliver(t, r->kind, std::move(r->devices), json, std::move(r->user), r->call_gone, own);
  if (devices_changed && on_remote_user_devices_) on_remote_user_devices_(tn, user);
  return true;
}

bool EventHub::current_term(Tenant& t, const std::string& link, std::uint64_t term) {
  if (link.empty()) return true;  // an older node's record: it names no link
  auto& latest = t.link_terms[link];
  if (term < latest) {
    ++stats_.log_stale;  // an old owner's message published after the new owner's
    return false;
  }
  latest = term;
  return true;
}

void EventHub::on_calls_resynced(const base::TenantId& tn, const model::CallModel& m) {
  if (!log_) return;
  auto& t = tenant(tn);
  const ModelLink* link = link_of(t, m);
  if (!link) return;  // a model of no named link: nothing could be dropped by its name
  std::vector<std::string> ids;
  ids.reserve(m.calls().size());
  for (const auto& [id, c] : m.calls())
    if (!c.connections.empty()) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  std::string json = head("calls_resynced", next_seq(t));
  json += ",\"pbx\":";
  put_string(json, link->name);
  json += ",\"calls\":[";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) json += ',';
    put_string(json, ids[i]);
  }
  json += "]}";
  publish(t, HubMessage::Kind::calls_resynced, {}, std::move(json), {}, false, nullptr, link, std::move(ids));
}

void EventHub::publish_raw(const base::TenantId& tn, HubMessage::Kind kind,
                           std::vector<std::string> devices, std::string_view type,
                           std::string_view json_tail) {
  auto& t = tenant(tn);
  std::string json = head(type, next_seq(t));
  json += json_tail;
  publish(t, kind, std::move(devices), std::move(json));
}

void EventHub::publish_to_user(const base::TenantId& tn, const std::string& user, std::string_view type,
                               std::string_view json_tail, HubMessage::Kind kind) {
  auto& t = tenant(tn);
  std::string json = head(type, next_seq(t));
  json += json_tail;
  publish(t, kind, {}, std::move(json), user);
}

void EventHub::publish_line(Tenant& t, const std::string& device, model::DeviceState s, const ModelLink* link) {
  auto [it, inserted] = t.lines.try_emplace(device, s);
  if (!inserted) {
    if (line_state_name(it->second) == line_state_name(s)) {
      it->second = s;
      return;
    }
    it->second = s;
  }
  std::string json = head("line", next_seq(t));
  json += ",\"device\":";
  put_string(json, device);
  json += ",\"state\":\"";
  json += line_state_name(s);
  json += "\"}";
  publish(t, HubMessage::Kind::line, {device}, std::move(json), {}, false, nullptr, link);
}

void EventHub::on_call_event(const model::CallEvent& e, const model::CallModel& m) {
  auto& t = tenant(e.tenant);
  std::vector<std::string> devices;
  devices.reserve(e.connections.size() + 1);
  devices.push_back(e.device);
  for (const auto& [d, st] : e.connections)
    if (d != e.device) devices.push_back(d);
  std::string json = head("call", next_seq(t));
  json += ",\"event\":";
  put_string(json, model::to_string(e.type));
  json += ",\"call\":";
  CallPart part{.id = e.call_id, .created_at = {}, .at = json.size(), .len = 0, .replaced = {}};
  if (const auto* c = m.find_call(e.call_id)) {
    json += call_json(*c, e.tenant, m, remote_info_);
    part.created_at = base::format_rfc3339_ms(c->created_at);
  } else {  // the call is gone (last connection cleared): what the event still knows
    json += "{\"id\":";
    put_string(json, e.call_id);
    json += ",\"tenant\":";
    put_string(json, e.tenant);
    json += ",\"connections\":[";
    bool first = true;
    for (const auto& [d, st] : e.connections) {
      json += first ? "{\"device\":" : ",{\"device\":";
      first = false;
      put_string(json, d);
      json += ",\"state\":";
      put_string(json, model::to_string(st));
      json += '}';
    }
    json += "],\"allowed_actions\":{},\"unavailable_actions\":{}}";
  }
  part.len = json.size() - part.at;
  // CallModel::merge: the events of the merged call name the call it replaced, now gone.
  if (e.type == model::CallEventType::transferred && e.detail && *e.detail != e.call_id && !m.find_call(*e.detail))
    part.replaced = *e.detail;
  json += ",\"device\":";
  put_string(json, e.device);
  json += ",\"state\":";
  put_string(json, model::to_string(e.state));
  json += ",\"at\":";
  put_string(json, base::format_rfc3339_ms(e.at));
  json += ",\"cause\":";
  json += e.cause ? std::to_string(*e.cause) : std::string("null");
  if (e.detail) {
    json += ",\"detail\":";
    put_string(json, *e.detail);
  }
  json += '}';
  // The model still holds a call whose last connection just cleared while it reports that (it
  // erases the call after its sink returns): no connections left is the end of the call too.
  const model::Call* after = m.find_call(e.call_id);
  publish(t, HubMessage::Kind::call, devices, std::move(json), {}, after == nullptr || after->connections.empty(),
          &part, link_of(t, m));
  if (t.trace) trace_delivery(t, e, devices);

  note_lines_from(t, m);
  const ModelLink* link = link_of(t, m);
  for (const auto& d : devices) publish_line(t, d, m.device_state(d), link);

  if (!t.watchers.empty()) {
    // A watcher may unwatch itself or others meanwhile: each is looked up again before its call.
    std::vector<std::uint64_t> ids;
    ids.reserve(t.watchers.size());
    for (const auto& [id, w] : t.watchers) ids.push_back(id);
    for (auto id : ids) {
      auto it = std::find_if(t.watchers.begin(), t.watchers.end(), [id](const auto& p) { return p.first == id; });
      if (it != t.watchers.end()) it->second->on_call_event(e, m);
    }
  }
}

std::uint64_t EventHub::watch_calls(const base::TenantId& tn, CallWatcher* w) {
  auto id = next_id_++;
  tenant(tn).watchers.emplace_back(id, w);
  return id;
}

void EventHub::unwatch_calls(const base::TenantId& tn, std::uint64_t id) {
  auto it = tenants_.find(tn);
  if (it == tenants_.end()) return;
  std::erase_if(it->second.watchers, [id](const auto& p) { return p.first == id; });
}

void EventHub::on_call_update(const base::TenantId& tn, std::string_view event, const model::Call& c,
                              const model::CallModel& m) {
  auto& t = tenant(tn);
  std::vector<std::string> devices;
  devices.reserve(c.connections.size());
  for (const auto& conn : c.connections) devices.push_back(conn.device);
  std::string json = head("call", next_seq(t));
  json += ",\"event\":";
  put_string(json, event);
  json += ",\"call\":";
  CallPart part{.id = c.id, .created_at = base::format_rfc3339_ms(c.created_at), .at = json.size(), .len = 0, .replaced = {}};
  json += call_json(c, tn, m, remote_info_);
  part.len = json.size() - part.at;
  json += '}';
  publish(t, HubMessage::Kind::call, std::move(devices), std::move(json), {}, false, &part, link_of(t, m));
}

void EventHub::sync_lines(const base::TenantId& tn, const model::CallModel& m) {
  auto& t = tenant(tn);
  note_lines_from(t, m);
  // A device the model did not change since the last sync has the state published then (or
  // later, by on_call_event from the same model): only changed devices can differ. Same order
  // (sorted by device) and same messages as diffing every device.
  const std::uint64_t since = t.lines_mixed ? 0 : t.lines_synced;
  const ModelLink* link = link_of(t, m);
  for (const auto& d : since == 0 ? m.devices() : m.devices_changed_since(since))
    publish_line(t, d, m.device_state(d), link);
  if (!t.lines_mixed) t.lines_synced = m.line_version();
}

void EventHub::note_lines_from(Tenant& t, const model::CallModel& m) {
  if (t.lines_from == nullptr) t.lines_from = &m;
  else if (t.lines_from != &m) t.lines_mixed = true;
}

void EventHub::on_journal(const model::JournalEntry& e, std::optional<std::int64_t> id,
                          std::span<const std::int64_t> resolved) {
  auto& t = tenant(e.tenant);
  std::string json = head("journal", next_seq(t));
  json += ",\"entry\":";
  if (id) {
    std::string line = model::to_json_line(e);  // "{...}"
    json += "{\"id\":" + std::to_string(*id) + (line.size() > 2 ? "," : "");
    json.append(line, 1);
  } else {
    json += model::to_json_line(e);
  }
  if (!resolved.empty()) {
    json += ",\"resolves\":[";
    for (std::size_t i = 0; i < resolved.size(); ++i) {
      if (i) json += ',';
      json += std::to_string(resolved[i]);
    }
    json += ']';
  }
  json += '}';
  publish(t, HubMessage::Kind::journal, {e.party}, std::move(json));
}

void EventHub::for_each_mirror_line(
    const base::TenantId& tenant, const std::function<void(const std::string&, model::DeviceState)>& f) const {
  auto it = tenants_.find(tenant);
  if (it == tenants_.end()) return;
  for (const auto& [device, name] : it->second.mirror_lines)
    if (auto s = line_state_from_name(name)) f(device, *s);
}

void EventHub::for_each_mirror_call(
    const base::TenantId& tenant,
    const std::function<void(std::string_view, const std::vector<std::string>&, std::string_view)>& f) const {
  auto it = tenants_.find(tenant);
  if (it == tenants_.end()) return;
  std::vector<const std::pair<const std::string, MirrorCall>*> calls;
  for (const auto& entry : it->second.mirror_calls) calls.push_back(&entry);
  std::sort(calls.begin(), calls.end(), [](const auto* a, const auto* b) {
    return std::tie(a->second.created_at, a->first) < std::tie(b->second.created_at, b->first);
  });
  for (const auto* c : calls) f(c->first, c->second.devices, c->second.json);
}

std::string EventHub::mirror_snapshot_json(const Tenant& t, const EventFilter& f) const {
  std::string o = head("snapshot", t.seq);
  o += ",\"calls\":[";
  std::vector<const std::pair<const std::string, MirrorCall>*> calls;
  for (const auto& entry : t.mirror_calls)
    if (sees_any(f, entry.second.devices)) calls.push_back(&entry);
  std::sort(calls.begin(), calls.end(), [](const auto* a, const auto* b) {
    return std::tie(a->second.created_at, a->first) < std::tie(b->second.created_at, b->first);
  });
  for (std::size_t i = 0; i < calls.size(); ++i) {
    if (i) o += ',';
    o += calls[i]->second.json;
  }
  o += "],\"lines\":[";
  bool first = true;
  for (const auto& [d, state] : t.mirror_lines) {
    if (!f.sees_line(d)) continue;
    o += first ? "{\"device\":" : ",{\"device\":";
    first = false;
    put_string(o, d);
    o += ",\"state\":\"";
    o += state;
    o += "\"}";
  }
  o += "]}";
  return o;
}

std::string EventHub::snapshot_json(const Tenant& t, const base::TenantId& tn,
                                    const EventFilter& f) const {
  if (log_) return mirror_snapshot_json(t, f);
  std::string o = head("snapshot", t.seq);
  o += ",\"calls\":[";
  bool first = true;
  std::vector<std::pair<std::string, model::DeviceState>> lines;
  for (const auto* m : t.models) {
    std::vector<const model::Call*> calls;
    for (const auto& [id, c] : m->calls()) {
      if (f.sees_call(c)) calls.push_back(&c);
    }
    std::sort(calls.begin(), calls.end(),
              [](const auto* a, const auto* b) { return a->created_at < b->created_at; });
    for (const auto* c : calls) {
      if (!first) o += ',';
      first = false;
      o += call_json(*c, tn, *m, remote_info_);
    }
    for (const auto& d : m->devices())
      if (f.sees_line(d)) lines.emplace_back(d, m->device_state(d));
  }
  o += "],\"lines\":[";
  std::sort(lines.begin(), lines.end());
  first = true;
  for (const auto& [d, s] : lines) {
    o += first ? "{\"device\":" : ",{\"device\":";
    first = false;
    put_string(o, d);
    o += ",\"state\":\"";
    o += line_state_name(s);
    o += "\"}";
  }
  o += "]}";
  return o;
}

EventHub::Attach EventHub::subscribe(const base::TenantId& tn, EventFilter filter,
                                     std::optional<std::uint64_t> since, EventSubscriber* sink) {
  std::sort(filter.own.begin(), filter.own.end());
  std::sort(filter.team.begin(), filter.team.end());
  auto& t = tenant(tn);
  Attach a;
  a.id = next_id_++;
  std::uint64_t skip_to = 0;
  if (since && log_ && *since > t.seq && *since - t.seq <= options_.retention) {
    a.resumed = true;  // this node is behind the one the client came from: it catches up
    ++stats_.resumes;
    skip_to = *since;
  } else if (since) {
    // Resumable when every message after `since` is still in the ring (or nothing happened since).
    const std::uint64_t oldest = t.ring.empty() ? t.seq + 1 : t.ring.front()->seq;
    if (*since <= t.seq && *since + 1 >= oldest) {
      a.resumed = true;
      ++stats_.resumes;
      for (const auto& m : t.ring)
        if (m->seq > *since)
          if (auto v = message_for(filter, m)) a.initial.push_back(v->frame);
    } else {
      ++stats_.resyncs;
      a.initial.push_back(std::make_shared<const std::string>(encode(head("resync", t.seq) + "}")));
    }
  }
  if (!a.resumed) {
    ++stats_.snapshots;
    a.initial.push_back(std::make_shared<const std::string>(encode(snapshot_json(t, tn, filter))));
  }
  // Intern the filter: key = scope, user, own devices, team devices (sorted above).
  std::string key(1, static_cast<char>('0' + static_cast<int>(filter.scope)));
  for (const auto* part : {&filter.own, &filter.team}) {
    key += '\x1f';
    for (const auto& d : *part) (key += d) += '\x1e';
  }
  (key += '\x1f') += filter.user;
  if (filter.admin) key += "\x1f" "admin";
  auto& slot = t.filters[key];
  if (!slot) {
    slot = std::make_unique<SharedFilter>();
    slot->filter = std::move(filter);
    slot->key = key;
  }
  ++slot->refs;
  t.subs.push_back(Sub{a.id, slot.get(), sink, skip_to});
  ++subscribers_;
  return a;
}

void EventHub::unsubscribe(const base::TenantId& tn, std::uint64_t id) {
  auto it = tenants_.find(tn);
  if (it == tenants_.end()) return;
  if (publishing_ > 0) {
    for (auto& s : it->second.subs)
      if (s.id == id && s.sink) {
        s.sink = nullptr;
        removed_while_publishing_.emplace_back(&it->second, id);
      }
    return;
  }
  remove_now(it->second, id);
}

void EventHub::set_trace(const base::TenantId& tn, ports::CallTrace* trace) { tenant(tn).trace = trace; }

namespace {
std::string_view scope_name(EventScope s) {
  switch (s) {
    case EventScope::own: return "own";
    case EventScope::team: return "team";
    case EventScope::tenant: return "tenant";
  }
  return "own";
}
void append_list(std::string& o, const std::vector<std::string>& v) {
  if (v.empty()) {
    o += "none";
    return;
  }
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) o += ", ";
    o += v[i];
  }
}
}  // namespace

// One step per call event: whom it reached, whom not and why, and devices nobody watched.
void EventHub::trace_delivery(Tenant& t, const model::CallEvent& e, const std::vector<std::string>& devices) {
  std::string to, not_to;
  std::vector<bool> watched(devices.size(), false);
  for (const auto& [key, fp] : t.filters) {
    const EventFilter& f = fp->filter;
    if (fp->refs == 0) continue;
    bool sees = f.scope == EventScope::tenant;
    for (std::size_t i = 0; i < devices.size(); ++i) {
      if (f.scope == EventScope::tenant || f.sees_device(devices[i])) {
        sees = true;
        watched[i] = true;
      }
    }
    const std::string who = f.user.empty() ? std::string("(token without user)") : f.user;
    std::string& out = sees ? to : not_to;
    if (!out.empty()) out += "; ";
    out += who;
    out += " (scope ";
    out += scope_name(f.scope);
    if (!sees) {
      out += ": their devices ";
      append_list(out, f.own);
      if (f.scope == EventScope::team) {
        out += ", team ";
        append_list(out, f.team);
      }
      out += " are not in this call";
    }
    out += ", ";
    out += std::to_string(fp->refs);
    out += fp->refs == 1 ? " client)" : " clients)";
  }
  std::string detail = std::string(model::to_string(e.type)) + " at " + e.device + ". ";
  detail += to.empty() ? "Sent to nobody" : "Sent to " + to;
  if (!not_to.empty()) detail += ". Not to " + not_to;
  for (std::size_t i = 0; i < devices.size(); ++i) {
    if (watched[i]) continue;
    detail += ". Device " + devices[i] + ": no connected client shows it";
    for (auto g = t.gone.rbegin(); g != t.gone.rend(); ++g) {
      if (std::binary_search(g->own.begin(), g->own.end(), devices[i])) {
        detail += " (" + g->user + "'s client disconnected at " + base::format_rfc3339_ms(g->at) + ")";
        break;
      }
    }
  }
  t.trace->add(e.call_id, ports::TraceStage::delivery, e.at, to.empty() ? "not delivered" : "delivered",
               std::move(detail));
}

void EventHub::remove_now(Tenant& t, std::uint64_t id) {
  auto& subs = t.subs;
  for (std::size_t i = 0; i < subs.size(); ++i) {
    if (subs[i].id == id) {
      if (t.trace && !subs[i].filter->filter.user.empty()) {
        const auto& f = subs[i].filter->filter;
        t.gone.push_back(Tenant::Gone{f.user, f.own, base::SystemClock{}.now()});
        if (t.gone.size() > kGoneKept) t.gone.pop_front();
      }
      if (--subs[i].filter->refs == 0) t.filters.erase(t.filters.find(subs[i].filter->key));
      subs[i] = subs.back();  // order among subscribers does not matter
      subs.pop_back();
      --subscribers_;
      return;
    }
  }
}

std::uint64_t EventHub::last_seq(const base::TenantId& tn) const {
  auto it = tenants_.find(tn);
  return it == tenants_.end() ? 0 : it->second.seq;
}

std::string EventHub::heartbeat(const base::TenantId& tn) const {
  return encode(head("heartbeat", last_seq(tn)) + "}");
}

EventHub::Stats EventHub::stats() const {
  Stats s = stats_;
  s.subscribers = subscribers_;
  return s;
}

}  // namespace callbridge::core
