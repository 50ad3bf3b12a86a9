#include "sim/pbx_model.hpp"

#include <algorithm>
#include <cstdio>

#include "base/error.hpp"

namespace callbridge::sim {

std::string_view to_string(ChanState s) {
  switch (s) {
    case ChanState::down: return "Down";
    case ChanState::ring: return "Ring";
    case ChanState::ringing: return "Ringing";
    case ChanState::up: return "Up";
    case ChanState::busy: return "Busy";
  }
  return "Unknown";
}

std::string_view to_string(DeviceState s) {
  switch (s) {
    case DeviceState::unknown: return "UNKNOWN";
    case DeviceState::not_inuse: return "NOT_INUSE";
    case DeviceState::inuse: return "INUSE";
    case DeviceState::busy: return "BUSY";
    case DeviceState::ringing: return "RINGING";
    case DeviceState::onhold: return "ONHOLD";
    case DeviceState::unavailable: return "UNAVAILABLE";
  }
  return "UNKNOWN";
}

namespace {
std::string or_unknown(const std::string& s) { return s.empty() ? "<unknown>" : s; }
std::string cause_text(int cause) {
  switch (cause) {
    case 16: return "Normal Clearing";
    case 17: return "User busy";
    case 19: return "No user responding";
    case 21: return "Call Rejected";
    case 26: return "Answered elsewhere";
    case 127: return "Interworking, unspecified";
    default: return "Unknown";
  }
}
}  // namespace

PbxModel::PbxModel(const base::Clock& clock, LabConfig config, EmitFn emit)
    : clock_(clock), config_(std::move(config)), emit_(std::move(emit)) {
  if (config_.login_time == 0) {
    config_.login_time = std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
  }
  // The order `DeviceStateList` reports them in the lab (ami_reconnect/ami-reconnect.log).
  for (auto it = config_.phones.rbegin(); it != config_.phones.rend(); ++it) {
    devices_.emplace_back("PJSIP/" + it->ext, DeviceState::not_inuse);
  }
  for (const auto& m : config_.queue_members) {
    devices_.emplace_back("Queue:" + config_.queue + "_pause_PJSIP/" + m, DeviceState::not_inuse);
    const Phone* p = phone(m);
    agents_.push_back({.ext = m, .name = p ? p->name : m, .login_time = config_.login_time});
  }
  devices_.emplace_back("Queue:" + config_.queue + "_avail", DeviceState::not_inuse);
  devices_.emplace_back("Queue:" + config_.queue, DeviceState::not_inuse);
  devices_.emplace_back("PJSIP/" + config_.trunk, DeviceState::not_inuse);
  devices_.emplace_back("confbridge:" + config_.conference, DeviceState::not_inuse);
}

std::string sim_user_agent(const Phone& p) {
  if (!p.user_agent.empty()) return p.user_agent;
  static const char* const kModels[] = {"Yealink SIP-T46S 66.86.0.15",     "snom D785/10.1.54.13",
                                        "Grandstream GXP2170 1.0.11.23",   "Cisco/SPA504G-7.6.2b",
                                        "PolycomVVX-VVX_411-UA/5.9.5.0614", "MicroSIP/3.21.3"};
  unsigned n = 0;
  for (char c : p.ext) n = n * 10 + static_cast<unsigned>(c >= '0' && c <= '9' ? c - '0' : 0);
  return kModels[(n + 2) % 6];  // 100: Yealink, 101: snom, ... 105: MicroSIP
}

std::string sim_phone_port(const Phone& p) {
  unsigned n = 0;
  bool digits = !p.ext.empty() && p.ext.size() <= 4;
  for (char c : p.ext) {
    if (c < '0' || c > '9') digits = false;
    else n = n * 10 + static_cast<unsigned>(c - '0');
  }
  return digits && 5000 + n <= 65535 ? std::to_string(5000 + n) : "5060";
}

bool PbxModel::set_registered(const std::string& ext, bool on) {
  if (!phone(ext) || registered(ext) == on) return false;
  if (on) unregistered_.erase(ext);
  else unregistered_.insert(ext);
  const std::string device = "PJSIP/" + ext;
  // Asterisk's order (register/ami.log, unregister/ami.log): the device state first, then the peer
  // and contact status.
  dirty_.insert(device);
  update_devices();
  emit("PeerStatus", "system,all", {{"ChannelType", "PJSIP"}, {"Peer", device}, {"PeerStatus", on ? "Reachable" : "Unreachable"}});
  emit("ContactStatus", "system,all",
       {{"URI", "sip:" + ext + "@127.0.0.1:" + sim_phone_port(*phone(ext))},
        {"ContactStatus", on ? "NonQualified" : "Removed"},
        {"AOR", ext},
        {"EndpointName", ext},
        {"RoundtripUsec", "0"}});
  return true;
}

const Phone* PbxModel::phone(std::string_view ext) const {
  for (const auto& p : config_.phones) {
    if (p.ext == ext) return &p;
  }
  return nullptr;
}

std::string PbxModel::timestamp() const {
  auto us = base::to_micros(clock_.now());
  char buf[40];
  std::snprintf(buf, sizeof buf, "%lld.%06lld", static_cast<long long>(us / 1'000'000),
                static_cast<long long>(us % 1'000'000));
  return buf;
}

void PbxModel::emit(std::string_view event, std::string_view privilege, const Fields& body) {
  SimMessage m;
  m.add("Event", std::string(event));
  m.add("Privilege", std::string(privilege));
  m.add("Timestamp", timestamp());
  m.add("SystemName", config_.system_name);
  m.append(body);
  emit_(m);
}

Fields PbxModel::snapshot(const Channel& c, std::string_view prefix) const {
  std::string p(prefix);
  return {
      {p + "Channel", c.name},
      {p + "ChannelState", std::to_string(static_cast<int>(c.state))},
      {p + "ChannelStateDesc", std::string(to_string(c.state))},
      {p + "CallerIDNum", or_unknown(c.cid_num)},
      {p + "CallerIDName", or_unknown(c.cid_name)},
      {p + "ConnectedLineNum", or_unknown(c.conn_num)},
      {p + "ConnectedLineName", or_unknown(c.conn_name)},
      {p + "Language", "en"},
      {p + "AccountCode", ""},
      {p + "Context", c.context},
      {p + "Exten", c.exten},
      {p + "Priority", std::to_string(c.priority)},
      {p + "Uniqueid", c.uniqueid},
      {p + "Linkedid", c.linkedid},
  };
}

Fields PbxModel::bridge_snapshot(const Bridge& b, std::string_view prefix) const {
  std::string p(prefix);
  return {
      {p + "BridgeUniqueid", b.id},
      {p + "BridgeType", b.type},
      {p + "BridgeTechnology", b.technology},
      {p + "BridgeCreator", b.creator},
      {p + "BridgeName", b.name},
      {p + "BridgeNumChannels", std::to_string(b.members.size())},
      {p + "BridgeVideoSourceMode", "none"},
  };
}

Channel& PbxModel::new_channel(std::string_view endpoint, ChanState state, std::string cid_num,
                               std::string cid_name, std::string context, std::string exten, int priority,
                               const Channel* linked_to) {
  Channel c;
  char name[64];
  std::snprintf(name, sizeof name, "PJSIP/%.*s-%08llx", static_cast<int>(endpoint.size()), endpoint.data(),
                static_cast<unsigned long long>(next_pjsip_++));
  c.name = name;
  c.device = "PJSIP/" + std::string(endpoint);
  auto epoch = std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
  c.uniqueid = config_.system_name + "-" + std::to_string(epoch) + "." + std::to_string(next_uid_++);
  c.linkedid = linked_to ? linked_to->linkedid : c.uniqueid;
  c.state = state;
  c.cid_num = std::move(cid_num);
  c.cid_name = std::move(cid_name);
  c.context = std::move(context);
  c.exten = std::move(exten);
  c.priority = priority;
  c.created = clock_.now();
  return add_channel(std::move(c));
}

Channel& PbxModel::add_channel(Channel c) {
  channels_.push_back(std::move(c));
  Channel& ref = channels_.back();
  emit("Newchannel", "call,all", snapshot(ref));
  return ref;
}

std::pair<Channel*, Channel*> PbxModel::new_local_pair(const std::string& exten, const std::string& context) {
  Channel own;
  auto epoch = std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
  own.linkedid = config_.system_name + "-" + std::to_string(epoch) + "." + std::to_string(next_uid_);  // ;1's
  return new_local_pair(exten, context, own);
}

std::pair<Channel*, Channel*> PbxModel::new_local_pair(const std::string& exten, const std::string& context,
                                                       const Channel& linked_to) {
  char base[160];
  std::snprintf(base, sizeof base, "Local/%s@%s-%08llx", exten.c_str(), context.c_str(),
                static_cast<unsigned long long>(next_local_++));
  auto epoch = std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
  Channel* out[2];
  for (int i = 0; i < 2; ++i) {
    Channel c;
    c.name = std::string(base) + (i == 0 ? ";1" : ";2");
    c.device = "Local/" + exten + "@" + context;
    c.uniqueid = config_.system_name + "-" + std::to_string(epoch) + "." + std::to_string(next_uid_++);
    c.linkedid = linked_to.linkedid;
    c.state = i == 0 ? ChanState::down : ChanState::ring;
    c.context = context;
    c.exten = exten;
    c.created = clock_.now();
    c.outgoing = i == 0;
    out[i] = &add_channel(std::move(c));
  }
  return {out[0], out[1]};
}

Channel* PbxModel::find(std::string_view uniqueid) {
  for (auto& c : channels_) {
    if (c.uniqueid == uniqueid) return &c;
  }
  return nullptr;
}

Channel* PbxModel::find_by_name(std::string_view name) {
  for (auto& c : channels_) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

void PbxModel::set_state(Channel& c, ChanState s) {
  c.state = s;
  touch(c);
  emit("Newstate", "call,all", snapshot(c));
}

void PbxModel::set_connected(Channel& c, std::string num, std::string name) {
  c.conn_num = std::move(num);
  c.conn_name = std::move(name);
  touch(c);
  emit("NewConnectedLine", "call,all", snapshot(c));
}

void PbxModel::set_callerid(Channel& c, std::string num, std::string name) {
  c.cid_num = std::move(num);
  c.cid_name = std::move(name);
  auto f = snapshot(c);
  f.emplace_back("CID-CallingPres", "0 (Presentation Allowed, Not Screened)");
  emit("NewCallerid", "call,all", f);
}

void PbxModel::set_dialplan(Channel& c, std::string context, std::string exten, int priority) {
  c.context = std::move(context);
  c.exten = std::move(exten);
  c.priority = priority;
}

void PbxModel::dial_begin(const Channel* caller, const Channel& callee, std::string_view dial_string) {
  Fields f = caller ? snapshot(*caller) : Fields{};
  auto d = snapshot(callee, "Dest");
  f.insert(f.end(), d.begin(), d.end());
  f.emplace_back("DialString", std::string(dial_string));
  emit("DialBegin", "call,all", f);
}

void PbxModel::dial_state(const Channel* caller, const Channel& callee, std::string_view status) {
  Fields f = caller ? snapshot(*caller) : Fields{};
  auto d = snapshot(callee, "Dest");
  f.insert(f.end(), d.begin(), d.end());
  f.emplace_back("DialStatus", std::string(status));
  emit("DialState", "call,all", f);
}

void PbxModel::dial_end(const Channel* caller, const Channel& callee, std::string_view status) {
  Fields f = caller ? snapshot(*caller) : Fields{};
  auto d = snapshot(callee, "Dest");
  f.insert(f.end(), d.begin(), d.end());
  f.emplace_back("DialStatus", std::string(status));
  emit("DialEnd", "call,all", f);
}

std::string PbxModel::new_bridge_id() {
  // A UUID-shaped id (Asterisk uses ast_uuid_generate_str), deterministic per model.
  std::uint64_t x = ++next_bridge_ * 0x9E3779B97F4A7C15ULL;
  auto mix = [](std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  };
  std::uint64_t a = mix(x), b = mix(x + 1);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-4%03llx-%04llx-%012llx",
                static_cast<unsigned long long>(a >> 32), static_cast<unsigned long long>((a >> 16) & 0xffff),
                static_cast<unsigned long long>(a & 0xfff),
                static_cast<unsigned long long>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

Bridge& PbxModel::bridge_create(std::string type, std::string technology, std::string creator, std::string name) {
  Bridge b;
  b.creator = std::move(creator);
  b.name = std::move(name);
  b.id = new_bridge_id();
  b.type = std::move(type);
  b.technology = std::move(technology);
  bridges_.push_back(std::move(b));
  emit("BridgeCreate", "call,all", bridge_snapshot(bridges_.back()));
  return bridges_.back();
}

Bridge* PbxModel::find_bridge(std::string_view id) {
  for (auto& b : bridges_) {
    if (b.id == id) return &b;
  }
  return nullptr;
}

void PbxModel::bridge_enter(Bridge& b, Channel& c, std::string_view swap_uniqueid) {
  b.members.push_back(c.uniqueid);
  c.bridge = b.id;
  auto f = bridge_snapshot(b);
  auto s = snapshot(c);
  f.insert(f.end(), s.begin(), s.end());
  if (!swap_uniqueid.empty()) f.emplace_back("SwapUniqueid", std::string(swap_uniqueid));
  emit("BridgeEnter", "call,all", f);
}

void PbxModel::bridge_leave(Channel& c) {
  Bridge* b = find_bridge(c.bridge);
  if (!b) return;
  std::erase(b->members, c.uniqueid);
  c.bridge.clear();
  auto f = bridge_snapshot(*b);
  auto s = snapshot(c);
  f.insert(f.end(), s.begin(), s.end());
  emit("BridgeLeave", "call,all", f);
}

void PbxModel::bridge_destroy(std::string_view bridge_id) {
  auto it = std::find_if(bridges_.begin(), bridges_.end(), [&](const Bridge& b) { return b.id == bridge_id; });
  if (it == bridges_.end()) return;
  emit("BridgeDestroy", "call,all", bridge_snapshot(*it));
  bridges_.erase(it);
}

void PbxModel::hangup_request(Channel& c, std::optional<int> cause, std::optional<int> tech_cause) {
  auto f = snapshot(c);
  if (cause) f.emplace_back("Cause", std::to_string(*cause));
  if (tech_cause) f.emplace_back("TechCause", std::to_string(*tech_cause));
  emit("HangupRequest", "call,all", f);
}

void PbxModel::soft_hangup_request(Channel& c, int cause, std::optional<int> tech_cause) {
  auto f = snapshot(c);
  f.emplace_back("Cause", std::to_string(cause));
  if (tech_cause) f.emplace_back("TechCause", std::to_string(*tech_cause));
  emit("SoftHangupRequest", "call,all", f);
}

void PbxModel::hangup(std::string_view uniqueid, int cause, std::optional<int> tech_cause) {
  auto it = std::find_if(channels_.begin(), channels_.end(), [&](const Channel& c) { return c.uniqueid == uniqueid; });
  if (it == channels_.end()) return;
  auto f = snapshot(*it);
  f.emplace_back("Cause", std::to_string(cause));
  f.emplace_back("Cause-txt", cause_text(cause));
  if (tech_cause) f.emplace_back("TechCause", std::to_string(*tech_cause));
  emit("Hangup", "call,all", f);
  dirty_.insert(it->device);
  if (Bridge* b = find_bridge(it->bridge)) std::erase(b->members, it->uniqueid);
  channels_.erase(it);
}

void PbxModel::hold(Channel& c, std::optional<std::string> music_class) {
  auto f = snapshot(c);
  if (music_class) f.emplace_back("MusicClass", *music_class);
  c.holding_since = clock_.now();
  emit("Hold", "call,all", f);
}

void PbxModel::unhold(Channel& c) {
  c.holding_since.reset();
  emit("Unhold", "call,all", snapshot(c));
}

void PbxModel::moh_start(Channel& c, std::string music_class) {
  auto f = snapshot(c);
  f.emplace_back("Class", std::move(music_class));
  emit("MusicOnHoldStart", "call,all", f);
}

void PbxModel::moh_stop(Channel& c) { emit("MusicOnHoldStop", "call,all", snapshot(c)); }

int PbxModel::hint_status(DeviceState s) {
  switch (s) {
    case DeviceState::inuse: return 1;
    case DeviceState::busy: return 2;
    case DeviceState::ringing: return 8;
    case DeviceState::onhold: return 16;
    case DeviceState::unavailable: return 4;
    default: return 0;
  }
}

std::string_view PbxModel::hint_status_text(int status) {
  switch (status) {
    case 0: return "Idle";
    case 1: return "InUse";
    case 2: return "Busy";
    case 8: return "Ringing";
    case 16: return "Hold";
    case 4: return "Unavailable";
    default: return "Unknown";
  }
}

DeviceState PbxModel::compute(std::string_view device) const {
  const std::string trunk = "PJSIP/" + config_.trunk;
  if (device.starts_with("PJSIP/")) {
    bool any = false, ringing = false, held = false;
    for (const auto& c : channels_) {
      if (c.device != device) continue;
      any = true;
      ringing = ringing || c.state == ChanState::ringing;
      held = held || c.held;
    }
    if (!any) return unregistered_.contains(std::string(device.substr(6))) ? DeviceState::unavailable : DeviceState::not_inuse;
    // The lab endpoints use device_state_busy_at=1: one channel makes a phone BUSY.
    if (device != trunk) return DeviceState::busy;
    if (held) return DeviceState::onhold;
    if (ringing) return DeviceState::ringing;
    return DeviceState::inuse;
  }
  const std::string q = "Queue:" + config_.queue;
  if (device == q) return queue_callers > 0 ? DeviceState::ringing : DeviceState::not_inuse;
  if (device == q + "_avail") {
    for (const auto& m : config_.queue_members) {
      if (compute("PJSIP/" + m) == DeviceState::not_inuse) return DeviceState::not_inuse;
    }
    return DeviceState::inuse;
  }
  if (device == "confbridge:" + config_.conference) {
    return conference_active ? DeviceState::inuse : DeviceState::not_inuse;
  }
  return DeviceState::not_inuse;  // Queue:*_pause_*: members are never paused here
}

void PbxModel::queue_member_status(const std::string& ext, DeviceState s) {
  if (const auto* a = queue_agent(ext)) emit_member("QueueMemberStatus", *a, s);
}

void PbxModel::emit_member(std::string_view event, const QueueAgent& a, DeviceState s) {
  auto& st = member_stats[a.ext];
  emit(event, "agent,all",
       {{"Queue", config_.queue},
        {"MemberName", a.name},
        {"Interface", "PJSIP/" + a.ext},
        {"StateInterface", "PJSIP/" + a.ext},
        {"Membership", a.dynamic ? "dynamic" : "static"},
        {"Penalty", "0"},
        {"CallsTaken", std::to_string(st.calls_taken)},
        {"LastCall", std::to_string(st.last_call)},
        {"LastPause", std::to_string(a.last_pause)},
        {"LoginTime", std::to_string(a.login_time)},
        {"InCall", "0"},
        {"Status", std::to_string(static_cast<int>(s))},
        {"Paused", a.paused ? "1" : "0"},
        {"PausedReason", a.paused ? a.reason : ""},
        {"Ringinuse", "0"},
        {"Wrapuptime", "0"}});
}

const PbxModel::QueueAgent* PbxModel::queue_agent(std::string_view ext) const {
  for (const auto& a : agents_)
    if (a.ext == ext) return &a;
  return nullptr;
}

namespace {
std::string_view interface_ext(std::string_view interface) {
  return interface.starts_with("PJSIP/") ? interface.substr(6) : std::string_view();
}
}  // namespace

std::string PbxModel::queue_add(std::string_view queue, std::string_view interface, const std::string& name,
                                bool paused, const std::string& reason) {
  if (queue != config_.queue) return "Unable to add interface to queue: No such queue";
  auto ext = interface_ext(interface);
  if (ext.empty()) return "Unable to add interface to queue: Out of memory";
  if (queue_agent(ext)) return "Unable to add interface: Already there";
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
  QueueAgent a{.ext = std::string(ext), .name = name.empty() ? std::string(interface) : name, .dynamic = true,
               .paused = paused, .reason = paused ? reason : "", .last_pause = paused ? now : 0, .login_time = now};
  agents_.push_back(a);
  emit_member("QueueMemberAdded", agents_.back(), compute("PJSIP/" + a.ext));
  return {};
}

std::string PbxModel::queue_remove(std::string_view queue, std::string_view interface) {
  if (queue != config_.queue) return "Unable to remove interface from queue: No such queue";
  auto ext = interface_ext(interface);
  auto it = std::find_if(agents_.begin(), agents_.end(), [&](const QueueAgent& a) { return a.ext == ext; });
  if (ext.empty() || it == agents_.end()) return "Unable to remove interface: Not there";
  if (!it->dynamic) return "Member not dynamic";
  QueueAgent gone = *it;
  agents_.erase(it);
  emit_member("QueueMemberRemoved", gone, compute("PJSIP/" + gone.ext));
  return {};
}

std::string PbxModel::queue_pause(std::string_view queue, std::string_view interface, bool paused,
                                  const std::string& reason) {
  if (!queue.empty() && queue != config_.queue) return "Interface not found";
  auto ext = interface_ext(interface);
  auto it = std::find_if(agents_.begin(), agents_.end(), [&](const QueueAgent& a) { return a.ext == ext; });
  if (ext.empty() || it == agents_.end()) return "Interface not found";
  it->paused = paused;
  it->reason = paused ? reason : "";
  if (paused) it->last_pause = std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
  emit_member("QueueMemberPause", *it, compute("PJSIP/" + it->ext));
  return {};
}

void PbxModel::update_devices() {
  for (auto& [device, state] : devices_) {
    if (device.starts_with("PJSIP/") && !dirty_.contains(device)) continue;
    DeviceState now = compute(device);
    if (now == state) continue;
    DeviceState before = state;
    state = now;
    emit("DeviceStateChange", "call,all", {{"Device", device}, {"State", std::string(to_string(now))}});
    if (!device.starts_with("PJSIP/")) continue;
    std::string ext = device.substr(6);
    if (phone(ext)) {
      int hs = hint_status(now);
      if (hs != hint_status(before)) {
        emit("ExtensionStatus", "call,all",
             {{"Exten", ext},
              {"Context", config_.hint_context},
              {"Hint", device},
              {"Status", std::to_string(hs)},
              {"StatusText", std::string(hint_status_text(hs))}});
      }
    }
    if (queue_agent(ext)) queue_member_status(ext, now);
  }
  dirty_.clear();
}

void PbxModel::announce_device(std::string device, DeviceState s) {
  emit("DeviceStateChange", "call,all", {{"Device", std::move(device)}, {"State", std::string(to_string(s))}});
}

}  // namespace callbridge::sim

namespace callbridge::sim {

namespace {
std::string astdb_path(std::string_view family, std::string_view key) {
  std::string p = "/";
  p.append(family).append("/").append(key);
  return p;
}
bool astdb_text_ok(std::string_view s) {
  return !s.empty() && s.size() <= PbxModel::kMaxAstDbText &&
         std::none_of(s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n'; });
}
}  // namespace

std::optional<std::string> PbxModel::db_get(std::string_view family, std::string_view key) const {
  auto it = astdb_.find(astdb_path(family, key));
  if (it == astdb_.end()) return std::nullopt;
  return it->second;
}

bool PbxModel::db_put(std::string_view family, std::string_view key, std::string_view value) {
  if (!astdb_text_ok(family) || !astdb_text_ok(key) || value.size() > kMaxAstDbText) return false;
  std::string path = astdb_path(family, key);
  if (!astdb_.contains(path) && astdb_.size() >= kMaxAstDbEntries) return false;
  astdb_[std::move(path)] = std::string(value);
  return true;
}

bool PbxModel::db_del(std::string_view family, std::string_view key) {
  auto it = astdb_.find(astdb_path(family, key));
  if (it == astdb_.end()) return false;
  astdb_.erase(it);
  return true;
}

std::size_t PbxModel::db_del_tree(std::string_view family, std::string_view key) {
  std::string prefix = key.empty() ? astdb_path(family, "") : astdb_path(family, key) + "/";
  std::size_t n = 0;
  for (auto it = astdb_.lower_bound(prefix); it != astdb_.end() && it->first.starts_with(prefix);) {
    it = astdb_.erase(it);
    ++n;
  }
  return n;
}

std::string PbxModel::callbridge_setting(std::string_view what, std::string_view ext) const {
  auto v = db_get("callbridge", std::string(what) + "/" + std::string(ext));
  if (!v) return {};
  const bool seconds = what == "cfnrtime" || what == "fmdesk" || what == "dnd";
  const bool mode = what == "fmmode";
  std::string out;
  for (char c : *v) {
    const bool digit = c >= '0' && c <= '9';
    if (mode ? (c >= 'a' && c <= 'z') : seconds ? digit : (digit || c == '+')) out += c;
  }
  if (seconds && what != "dnd") out = out.substr(0, 3);
  return out;
}

}  // namespace callbridge::sim
