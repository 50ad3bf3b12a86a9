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

TenantFeed::TenantFeed(core::EventHub& hub, base::TenantId tenant) : hub_(hub), tenant_(std::move(tenant)) {
  watch_id_ = hub_.watch_calls(tenant_, this);
}

TenantFeed::~TenantFeed() { hub_.unwatch_calls(tenant_, watch_id_); }

void TenantFeed::remove(CstaSession* s) { std::erase(sessions_, s); }

void TenantFeed::on_call_event(const model::CallEvent& e, const model::CallModel& m) {
  // As the hub decides it: the model erases a call after its last connection cleared.
  const model::Call* after = m.find_call(e.call_id);
  const bool gone = after == nullptr || after->connections.empty();
  ids_.of(e.call_id, e.device);  // a reservation (MakeCall) binds to the first call at its device
  mapper_.observe(e);
  // A session may close (slow client) while it is handed the event: walk a copy.
  auto sessions = sessions_;
  for (auto* s : sessions)
    if (std::find(sessions_.begin(), sessions_.end(), s) != sessions_.end()) s->on_call_event(e, gone, *this);
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
  if (!f) f = std::make_unique<TenantFeed>(*deps_.hub, tenant);
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
