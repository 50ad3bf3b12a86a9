// CstaServer: the northbound CSTA XML server (issue 15, docs/csta.md "Server") without sockets:
// the sessions of every connected CSTA client (csta_session.hpp), what they share per tenant (the
// CSTA call ids, who called whom: TenantFeed) and the server's counters for the diagnostics. The
// TCP/TLS listener (csta_listener.hpp) hands it each connection's bytes and gets back what to send;
// app/ wires the authentication, the tenants' runtimes, the audit log and the users.
// Io (model) thread only; not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/tenant_id.hpp"
#include "base/time.hpp"
#include "core/any_device.hpp"
#include "core/event_hub.hpp"
#include "core/tenant_runtime.hpp"
#include "core/viewer.hpp"
#include "csta_server/call_ids.hpp"
#include "csta_server/call_mapper.hpp"
#include "ports/audit_log.hpp"
#include "ports/identity_store.hpp"
#include "ports/pbx_features.hpp"

namespace callbridge::csta_server {

class CstaSession;

// Who a session acts for once logged in.
struct ClientIdentity {
  core::Viewer viewer;        // tenant, user, role, extensions (a user's API token)
  bool whole_tenant = false;  // a [[csta.client]]: every line and call of the tenant
  std::string name;           // as the diagnostics and the audit log name it: "anna", "csta:tapi"
};

// [[csta.client]]: a dedicated credential (app/config.hpp CstaClientConfig, secret already hashed).
struct CstaClientCredential {
  std::string name;
  std::string secret_sha256;  // lowercase hex
  base::TenantId tenant;
};

struct CstaServerOptions {
  std::size_t max_frame_bytes = 65536;
  int requests_per_second = 50;
  bool accept_ecma354 = true;  // StartApplicationSession
  bool accept_osv = true;      // SystemStatus / SystemStatusResponse / SystemRegister
  std::size_t max_monitors_per_session = 1000;
  std::vector<CstaClientCredential> clients;
};

struct CstaServerDeps {
  core::EventHub* hub = nullptr;  // required
  // The tenant's runtime (call models, call control, dialing plan); null when it is not running.
  std::function<core::TenantRuntime*(const base::TenantId&)> runtime;
  // A user's API token (cbt_...) -> the user as the visibility policy sees them, or why not.
  // `done` on the io thread (maybe inline). Unset: tokens are refused.
  std::function<void(std::string token, std::string remote,
                     std::function<void(std::expected<core::Viewer, std::string>)> done)>
      check_token;
  // The users of a tenant (their extensions are the tenant's lines). May block briefly (identity.db).
  std::function<std::vector<ports::User>(const base::TenantId&)> users;
  ports::AuditLog* audit = nullptr;  // control requests are recorded here; null: not recorded
  // The tenant's number policy for external forwarding destinations ([tenant.X.any_device], as the
  // REST forwarding routes apply it). Unset: every external number.
  std::function<core::AnyDevicePolicy(const base::TenantId&)> forward_policy;
  const base::Clock* clock = nullptr;  // wall time (audit, command log); null: the system clock
  // Monotonic time for the request rate limit (tests inject it).
  std::function<std::chrono::steady_clock::time_point()> steady_now;
};

// One tenant call event on its way to the monitors (TenantFeed::on_call_event): the CSTA events
// each monitored device of the call sees, mapped once per device, and the frames encoded so far,
// shared by every monitor that would write the same bytes (the same device and event,
// monitorCrossRefID, edition, device id style and framing: every tab of a TAPI provider, every
// client that monitors the line as its first monitor).
struct FeedEvent {
  const model::CallEvent& event;
  bool gone = false;  // the call is over after this event
  std::vector<std::pair<std::string, std::vector<MappedEvent>>> devices;  // monitored devices in the call
  std::unordered_map<std::string, std::shared_ptr<const std::string>> frames;
};

// What one tenant's sessions share: the CSTA call ids and who called whom, fed by the tenant's
// call events once (the hub's CallWatcher), then handed to the sessions that monitor a device of
// the call: an index device -> sessions makes an event cost its own monitors, not the tenant's
// sessions (bench/csta_fanout). The lines' DND and forwarding (ports::PbxFeatures) changes reach
// it as the hub's `line_features` messages (a tenant-wide subscription that reads only those) and
// go to the monitors of the line as DoNotDisturb/Forwarding events.
class TenantFeed final : public core::CallWatcher, public core::EventSubscriber {
 public:
  // `features`: the tenant's PBX line features now (null: none).
  TenantFeed(core::EventHub& hub, base::TenantId tenant, std::function<const ports::PbxFeatures*()> features = {});
  ~TenantFeed();
  void on_call_event(const model::CallEvent& e, const model::CallModel& m) override;
  void on_message(const core::HubMessage& m) override;  // line_features only
  void add(CstaSession* s) { members_.insert(s); }
  void remove(CstaSession* s);  // also every watch() of s
  // `s` monitors `device` (once per session and device, however many monitors it has there).
  void watch(const std::string& device, CstaSession* s);
  void unwatch(const std::string& device, CstaSession* s);
  bool empty() const { return members_.empty(); }
  std::size_t watchers(const std::string& device) const {
    auto it = watchers_.find(device);
    return it == watchers_.end() ? 0 : it->second.size();
  }
  CallIds& ids() { return ids_; }
  CallMapper& mapper() { return mapper_; }

 private:
  core::EventHub& hub_;
  base::TenantId tenant_;
  std::uint64_t watch_id_ = 0, sub_id_ = 0;
  std::function<const ports::PbxFeatures*()> features_;
  CallIds ids_;
  CallMapper mapper_;
  std::unordered_set<CstaSession*> members_;
  std::unordered_map<std::string, std::vector<CstaSession*>> watchers_;  // device -> sessions, in order
  std::unordered_map<CstaSession*, std::vector<std::string>> watched_;   // session -> its devices
  std::uint64_t stamp_ = 0;  // per event: a session is handed each event once
};

// One connected client as the diagnostics show it.
struct CstaClientInfo {
  std::string remote;
  std::string tenant;     // "" before login
  std::string user;       // ClientIdentity::name; "" before login
  std::string state;      // "starting", "active"
  std::string style;      // "ecma354", "osv", ""
  std::string edition;    // "ed3".."ed6", "none"
  std::string framing;    // "header", "headerless", "detect"
  std::size_t monitors = 0;
  std::uint64_t messages_in = 0, messages_out = 0, errors = 0;
  base::Timestamp connected_at{};
};

struct CstaServerStats {
  std::uint64_t connections = 0;       // accepted since start
  std::uint64_t sessions_started = 0;  // logged in
  std::uint64_t logins_refused = 0;
  std::uint64_t messages_in = 0, messages_out = 0, errors_sent = 0, events_sent = 0;
  std::uint64_t protocol_errors = 0;   // framing errors, oversize frames (connection closed)
  std::uint64_t rate_limited = 0;
};

class CstaServer {
 public:
  CstaServer(CstaServerOptions options, CstaServerDeps deps);
  ~CstaServer();
  CstaServer(const CstaServer&) = delete;
  CstaServer& operator=(const CstaServer&) = delete;

  // A connection's way out: `send` queues bytes (the listener bounds its queue), `close` ends the
  // connection after what was queued.
  struct Transport {
    std::function<void(std::shared_ptr<const std::string> bytes)> send;
    std::function<void()> close;
  };
  // A new connection; the session lives until closed() (the listener calls it when the socket is done).
  // `send` gets frames that may be shared with other connections (the same event to many
  // monitors): keep the pointer, do not modify the bytes.
  std::shared_ptr<CstaSession> open(Transport t, std::string remote);
  void closed(const std::shared_ptr<CstaSession>& s);

  // Diagnostics: the clients of `tenant` (all when nullopt; clients not logged in count as no tenant's).
  std::vector<CstaClientInfo> clients(const std::optional<base::TenantId>& tenant = std::nullopt) const;
  const CstaServerStats& stats() const { return stats_; }
  const CstaServerOptions& options() const { return options_; }

  // --- for CstaSession ---
  const CstaServerDeps& deps() const { return deps_; }
  CstaServerStats& mutable_stats() { return stats_; }
  // A [[csta.client]] credential check: the identity, or nullopt.
  std::optional<ClientIdentity> check_client(std::string_view name, std::string_view secret) const;
  TenantFeed& feed(const base::TenantId& tenant, CstaSession* s);
  void leave_feed(const base::TenantId& tenant, CstaSession* s);
  base::Timestamp now() const;

 private:
  CstaServerOptions options_;
  CstaServerDeps deps_;
  CstaServerStats stats_;
  std::map<base::TenantId, std::unique_ptr<TenantFeed>> feeds_;
  std::vector<std::shared_ptr<CstaSession>> sessions_;
};

// SHA-256 of `text` as 64 lowercase hex digits ([[csta.client]] secret_sha256).
std::string sha256_hex(std::string_view text);

}  // namespace callbridge::csta_server
