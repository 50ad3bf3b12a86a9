#include "csta_server/csta_server.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>

#include "csta_server/csta_session.hpp"

namespace callbridge::csta_server {

std::string sha256_hex(std::string_view text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

// ---- TenantFeed ---------------------------------------------------------------------------------

TenantFeed::TenantFeed(core::EventHub& hub, base::TenantId tenant, std::function<const ports::PbxFeatures*()> features)
    : hub_(hub), tenant_(std::move(tenant)), features_(std::move(features)) {
  watch_id_ = hub_.watch_calls(tenant_, this);
  if (features_) {
    // The whole tenant's messages; on_message reads the line_features ones (the initial snapshot
    // is not needed: monitors take the features as they are when they start).
    core::EventFilter f;
    f.scope = core::EventScope::tenant;
    sub_id_ = hub_.subscribe(tenant_, std::move(f), std::nullopt, this).id;
  }
}

TenantFeed::~TenantFeed() {
  hub_.unwatch_calls(tenant_, watch_id_);
  if (sub_id_) hub_.unsubscribe(tenant_, sub_id_);
}

void TenantFeed::on_message(const core::HubMessage& m) {
  if (m.kind != core::HubMessage::Kind::features || !features_) return;
  const ports::PbxFeatures* f = features_();
  if (!f) return;
  for (const auto& line : m.devices) {
    auto w = watchers_.find(line);
    if (w == watchers_.end()) continue;
    const ports::LineFeatures now = f->line(line);
    auto to = w->second;  // a session may close (slow client) while it is handed the change
    for (auto* s : to)
      if (members_.count(s)) s->on_line_features(line, now);
  }
}

void TenantFeed::remove(CstaSession* s) {
  members_.erase(s);
  auto it = watched_.find(s);
  if (it == watched_.end()) return;
  for (const auto& d : it->second) {
    auto w = watchers_.find(d);
    if (w == watchers_.end()) continue;
    std::erase(w->second, s);
    if (w->second.empty()) watchers_.erase(w);
  }
  watched_.erase(it);
}

void TenantFeed::watch(const std::string& device, CstaSession* s) {
  auto& devs = watched_[s];
  if (std::find(devs.begin(), devs.end(), device) != devs.end()) return;
  devs.push_back(device);
  watchers_[device].push_back(s);
}

void TenantFeed::unwatch(const std::string& device, CstaSession* s) {
  if (auto it = watched_.find(s); it != watched_.end()) {
    std::erase(it->second, device);
    if (it->second.empty()) watched_.erase(it);
  }
  if (auto w = watchers_.find(device); w != watchers_.end()) {
    std::erase(w->second, s);
    if (w->second.empty()) watchers_.erase(w);
  }
}

void TenantFeed::on_call_event(const model::CallEvent& e, const model::CallModel& m) {
  // As the hub decides it: the model erases a call after its last connection cleared.
  const model::Call* after = m.find_call(e.call_id);
  const bool gone = after == nullptr || after->connections.empty();
  ids_.of(e.call_id, e.device);  // a reservation (MakeCall) binds to the first call at its device
  mapper_.observe(e);
  // Only the sessions that monitor a device of the call (the event's device and the call's
  // connections: CallMapper::map gives nothing to any other), each once; the events of each
  // device are mapped once for all its monitors.
  FeedEvent fe{.event = e, .gone = gone, .devices = {}, .frames = {}};
  std::vector<CstaSession*> to;
  const std::uint64_t stamp = ++stamp_;
  auto take = [&](const std::string& device) {
    auto w = watchers_.find(device);
    if (w == watchers_.end()) return;
    for (const auto& [d, _] : fe.devices)
      if (d == device) return;
    fe.devices.emplace_back(device, mapper_.map(e, device, gone));
    for (auto* s : w->second)
      if (s->take_stamp(stamp)) to.push_back(s);
  };
  take(e.device);
  for (const auto& [d, st] : e.connections) take(d);
  // A session may close (slow client) while it is handed the event: it leaves members_ then.
  for (auto* s : to)
    if (members_.count(s)) s->on_call_event(fe, *this);
  if (gone) {
    mapper_.forget(e.call_id);
    ids_.forget(e.call_id);
  }
  // CallModel::merge names the call it emptied (transfers and conferences joining two calls):
  // that one ended without an event of its own.
  if (e.type == model::CallEventType::transferred && e.detail && *e.detail != e.call_id &&
      ids_.has_call(*e.detail) && !m.find_call(*e.detail))
    ids_.forget(*e.detail);
}

// ---- CstaServer ------------------------------------------------------------------------------------

CstaServer::CstaServer(CstaServerOptions options, CstaServerDeps deps)
    : options_(std::move(options)), deps_(std::move(deps)) {}

CstaServer::~CstaServer() {
  for (auto& s : sessions_) s->on_closed();
  sessions_.clear();
  feeds_.clear();
}

base::Timestamp CstaServer::now() const {
  static const base::SystemClock system;
  return deps_.clock ? deps_.clock->now() : system.now();
}

std::shared_ptr<CstaSession> CstaServer::open(Transport t, std::string remote) {
  ++stats_.connections;
  auto s = std::make_shared<CstaSession>(*this, std::move(t), std::move(remote));
  sessions_.push_back(s);
  return s;
}

void CstaServer::closed(const std::shared_ptr<CstaSession>& s) {
  s->on_closed();
  std::erase(sessions_, s);
}

std::optional<ClientIdentity> CstaServer::check_client(std::string_view name, std::string_view secret) const {
  const std::string digest = sha256_hex(secret);
  for (const auto& c : options_.clients) {
    if (c.name != name) continue;
    if (c.secret_sha256.size() != digest.size() ||
        CRYPTO_memcmp(c.secret_sha256.data(), digest.data(), digest.size()) != 0)
      return std::nullopt;
    ClientIdentity id{.viewer = core::Viewer{.tenant = c.tenant}, .whole_tenant = true, .name = "csta:" + c.name};
    id.viewer.user = id.name;
    id.viewer.role = core::Role::supervisor;  // sees the whole tenant; acts through the line it names
    return id;
  }
  return std::nullopt;
}

TenantFeed& CstaServer::feed(const base::TenantId& tenant, CstaSession* s) {
  auto& f = feeds_[tenant];
  if (!f)
    f = std::make_unique<TenantFeed>(*deps_.hub, tenant, [this, tenant]() -> const ports::PbxFeatures* {
      auto* rt = deps_.runtime ? deps_.runtime(tenant) : nullptr;
      return rt ? rt->features() : nullptr;
    });
  f->add(s);
  return *f;
}

void CstaServer::leave_feed(const base::TenantId& tenant, CstaSession* s) {
  auto it = feeds_.find(tenant);
  if (it == feeds_.end()) return;
  // The feed stays (one per tenant that ever had a client): it may be handing out an event right
  // now, and its call ids must not change under the tenant's next client.
  it->second->remove(s);
}

std::vector<CstaClientInfo> CstaServer::clients(const std::optional<base::TenantId>& tenant) const {
  std::vector<CstaClientInfo> out;
  for (const auto& s : sessions_) {
    if (s->state() == CstaSession::State::closed) continue;
    if (tenant && (!s->identity() || s->identity()->viewer.tenant != *tenant)) continue;
    out.push_back(s->info());
  }
  return out;
}

}  // namespace callbridge::csta_server
