#include "app/relay_call_summaries.hpp"

#include <boost/json.hpp>

#include "relay/edge/relay_client.hpp"

namespace callbridge::app {
namespace json = boost::json;

namespace {

constexpr std::size_t kMaxNumber = 64, kMaxName = 256, kMaxDevices = 256, kMaxTenant = 64;
constexpr auto kRefreshEvery = std::chrono::seconds(1);

// At most `max` bytes, not cutting a UTF-8 sequence.
std::string cut(std::string s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
  return s;
}

std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

CallSummaryView summarize_call(const model::Call& call, const base::TenantId& tenant, const core::RemoteInfoView* remote,
                               std::string opaque_id) {
  CallSummaryView v;
  v.summary.call = std::move(opaque_id);
  v.summary.tenant = cut(tenant.str(), kMaxTenant);
  bool connected = false, held = false, ringing = false, dialing = false;
  std::string devices;
  for (const auto& c : call.connections) {
    connected |= c.state == model::ConnectionState::connected;
    held |= c.state == model::ConnectionState::held;
    ringing |= c.state == model::ConnectionState::alerting || c.state == model::ConnectionState::queued;
    dialing |= c.state == model::ConnectionState::initiated;
    if (!devices.empty()) devices += ',';
    devices += c.device;
  }
  v.summary.state = connected ? "connected" : held ? "held" : ringing ? "ringing" : dialing ? "dialing" : "idle";
  v.summary.devices = cut(std::move(devices), kMaxDevices);

  // The remote party: the first connection whose remote is external, else the first remote at all.
  bool external = false;
  for (const auto& c : call.connections) {
    if (!c.remote) continue;
    std::string number = *c.remote, name;
    bool is_external = false, pending = false;
    if (remote != nullptr) {
      std::string out;
      remote->append_remote_info(out, tenant, c);
      boost::system::error_code ec;
      json::value info = json::parse(out, ec);
      if (!ec && info.is_object()) {
        const json::object& o = info.as_object();
        is_external = str(o, "kind") == "external";
        if (auto e164 = str(o, "e164"); !e164.empty()) number = e164;
        pending = str(o, "lookup") == "pending";
        const json::value* contacts = o.if_contains("contacts");
        if (contacts && contacts->is_array() && !contacts->as_array().empty() && contacts->as_array()[0].is_object()) {
          name = str(contacts->as_array()[0].as_object(), "name");
        }
      }
    }
    if (v.summary.number.empty() || (is_external && !external)) {
      v.summary.number = cut(std::move(number), kMaxNumber);
      v.summary.name = cut(std::move(name), kMaxName);
      v.lookup_pending = pending;
      external = is_external;
    }
    if (external) break;
  }
  return v;
}

RelayCallSummaries::RelayCallSummaries(boost::asio::io_context& io, core::EventHub& hub,
                                       const core::RemoteInfoView* remote, relay::edge::RelayClient& link)
    : io_(io), hub_(hub), remote_(remote), link_(link), refresh_(io) {}

RelayCallSummaries::~RelayCallSummaries() {
  refresh_.cancel();
  for (const auto& [tenant, id] : watches_) hub_.unwatch_calls(tenant, id);
}

void RelayCallSummaries::watch(const base::TenantId& tenant) {
  if (watches_.contains(tenant)) return;
  watches_.emplace(tenant, hub_.watch_calls(tenant, this));
}

void RelayCallSummaries::send(const relay::wire::CallSummary& s) { link_.send_call_summary(s); }

void RelayCallSummaries::on_call_event(const model::CallEvent& e, const model::CallModel& m) {
  const auto key = std::make_pair(e.tenant, e.call_id);
  const model::Call* call = m.find_call(e.call_id);
  auto it = calls_.find(key);
  if (call == nullptr || call->connections.empty()) {
    // Gone (cleared, or merged into another call by a transfer): the relay drops its summary.
    if (it == calls_.end()) return;
    relay::wire::CallSummary ended;
    ended.call = it->second.last.summary.call;
    ended.state = "ended";
    send(ended);
    calls_.erase(it);
    return;
  }
  if (it == calls_.end()) {
    it = calls_.emplace(key, Live{e.tenant, {}, {}}).first;
    it->second.last.summary.call = "c" + std::to_string(next_id_++);
  }
  Live& live = it->second;
  live.call = *call;
  CallSummaryView now = summarize_call(live.call, live.tenant, remote_, live.last.summary.call);
  if (now.summary != live.last.summary) send(now.summary);
  live.last = std::move(now);
  if (live.last.lookup_pending) arm_refresh();
}

void RelayCallSummaries::resend_all() {
  for (const auto& [key, live] : calls_) send(live.last.summary);
}

void RelayCallSummaries::arm_refresh() {
  if (refresh_armed_) return;
  refresh_armed_ = true;
  refresh_.expires_after(kRefreshEvery);
  refresh_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    refresh_armed_ = false;
    refresh();
  });
}

// A directory answer arrives after the call event that asked for it: look again while pending.
void RelayCallSummaries::refresh() {
  bool pending = false;
  for (auto& [key, live] : calls_) {
    if (!live.last.lookup_pending) continue;
    CallSummaryView now = summarize_call(live.call, live.tenant, remote_, live.last.summary.call);
    if (now.summary != live.last.summary) send(now.summary);
    live.last = std::move(now);
    pending |= live.last.lookup_pending;
  }
  if (pending) arm_refresh();
}

}  // namespace callbridge::app
