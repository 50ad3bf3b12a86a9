// TenantRuntime: everything one tenant runs (ARCHITECTURE.md "Tenancy"): the call models of its
// PBX drivers (fed through the PbxEventSink it gives them), its dialing plan, its directory
// lookups and the remote party info of its calls, its call control and the log of its commands'
// outcomes, its journal writing (policy, contact of the remote, store) and its slice of the shared
// event hub, published under its TenantId. Nothing of one runtime reaches another tenant: events, entries or models of another
// tenant handed to it are dropped and counted. Built by app/ (one per configured tenant at start,
// or at run time: App::add_tenant / remove_tenant); io (model) thread only, except lookup(),
// which is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/tenant_id.hpp"
#include "base/time.hpp"
#include "core/call_control.hpp"
#include "core/call_trace.hpp"
#include "core/chosen_contacts.hpp"
#include "core/command_log.hpp"
#include "core/dialing_plan.hpp"
#include "core/event_hub.hpp"
#include "core/journal_policy.hpp"
#include "core/lookup_service.hpp"
#include "core/remote_info_service.hpp"
#include "model/call_model.hpp"
#include "model/journal_entry.hpp"
#include "ports/journal_store.hpp"
#include "ports/pbx_driver.hpp"

namespace callbridge::core {

// What every tenant shares, owned by the app; all of it must outlive the runtimes.
struct TenantServices {
  EventHub* hub = nullptr;               // required; this tenant publishes under its id only
  ports::JournalStore* journal = nullptr;  // required
  const JournalPolicy* policy = nullptr;   // required
  const base::Clock* clock = nullptr;      // required: wall time (lookup cache, remote info)
  // Run `f` on the io thread soon / after `d` (lookups finish on worker threads).
  std::function<void(std::function<void()> f)> post;
  std::function<void(std::chrono::milliseconds d, std::function<void()> f)> post_after;
  // The store reports commits (ports::JournalStore::set_on_committed): journal events go out from
  // on_committed() with the stored id. false: they go out when the entry is appended, without id.
  bool journal_ids = false;
  // Each change of one of the tenant's commands after its 202 (app: {"type":"command"} on the
  // issuing user's event stream, app/command_wiring). Unset: heard by no one.
  std::function<void(const CommandRecord&)> on_command;
  // The tenant's PBX features became ready (a login read them back, docs/dialplan.md): the app
  // rewrites the follow-me numbers that no longer match the users' active devices (io thread).
  // Unset: nothing.
  std::function<void(const base::TenantId&)> on_features_ready;
};

// One tenant's settings, from configuration (app/) or an operator at run time.
struct TenantSpec {
  base::TenantId id;
  // Built once by app::tenant_dialing_plan; null: no [dialing], numbers stay as reported.
  std::shared_ptr<const DialingPlan> plan = nullptr;
  // The directories this tenant's lookups ask (the built-in store, LDAP, HTTP), best first.
  std::vector<LookupSourceConfig> directories = {};
  LookupOptions lookup = {};  // workers: at least 2, and one more than the sources
  // Call control (click-to-dial caller id, AnyDevice); its tenant is set to `id`.
  CallControlOptions call_control{.tenant = id};
  // Remote info tuning (journal_wait, ...); lookup, post, plan and outputs are the runtime's.
  std::chrono::milliseconds journal_wait{2000};
  CommandLogOptions command_log = {};  // how many command outcomes are kept, how long
  CallTraceOptions trace = {};          // the explain traces: how many calls, how long ([trace])
};

class TenantRuntime final : public ports::PbxEventSink {
 public:
  struct Stats {
    std::uint64_t journal_received = 0;   // entries from the drivers
    std::uint64_t journal_committed = 0;  // ... the store confirmed (when it reports commits)
    std::uint64_t excluded_internal = 0;  // ... the journal policy did not keep
    std::uint64_t excluded_number = 0;
    std::uint64_t foreign_dropped = 0;    // events/entries of another tenant (a driver bug)
    std::size_t drivers = 0;
  };

  TenantRuntime(TenantSpec spec, TenantServices services);
  // Destroys the drivers first (a driver that was not stopped journals its open calls through
  // this runtime), hands out journal entries still waiting for a lookup, and takes the models out
  // of the hub. The hub keeps the tenant's seq and ring: clients of a re-created tenant resume.
  ~TenantRuntime();
  TenantRuntime(const TenantRuntime&) = delete;
  TenantRuntime& operator=(const TenantRuntime&) = delete;

  const base::TenantId& id() const { return id_; }
  // Null without a dialing plan.
  const DialingPlan* plan() const { return plan_.get(); }
  const std::shared_ptr<const DialingPlan>& shared_plan() const { return plan_; }
  // A number as typed or reported -> E.164 under the plan; nullopt if not an external number.
  std::optional<std::string> to_e164(std::string_view raw) const;

  // Drivers: built with sink() (the driver table in app/), then added. A driver of another tenant
  // is refused. Added while running: started at once.
  ports::PbxEventSink& sink() { return *this; }
  base::Status add_driver(std::unique_ptr<ports::PbxDriver> driver);
  const std::vector<std::unique_ptr<ports::PbxDriver>>& drivers() const { return drivers_; }
  // Stops the driver named `name` and then destroys it (cluster mode: its link's lease was lost,
  // docs/cluster.md); its model leaves the hub, and call control moves to the next driver that
  // offers it (or goes). `done` runs on the io thread once it is gone, with not_found for an
  // unknown name; it also runs (after the stop) when the runtime is destroyed first.
  void remove_driver(const std::string& name, std::function<void(base::Status)> done);
  // Starts every driver. Once.
  void start();
  // Stops every driver; `done` once all reported stopped (never, if one hangs: the caller has a
  // grace period). Journal entries waiting for a lookup are handed out then. Several callers may
  // wait (a removal and the daemon's shutdown); each `done` runs once.
  void stop(std::function<void()> done);
  bool running() const { return running_ && !stopping_; }

  // The journal path of a finished entry: policy, contact of the remote (a bounded wait for a
  // running lookup while running), store; then the {"type":"journal"} event.
  void record(model::JournalEntry entry);
  // The store committed `e` (its writer thread posted it here): {"type":"journal"} with its id.
  void on_committed(const ports::StoredEntry& e);
  // Entries waiting for a lookup are written now with what is known (shutdown).
  void flush_journal();

  // The tenant's call control: over the first driver that can control calls; null without one.
  CallControlService* call_control() { return control_.get(); }
  const CallControlService* call_control() const { return control_.get(); }
  // What became of the tenant's call control commands (GET /api/v1/commands/{id}); filled by the
  // REST command routes (capabilities/calls), which hold it weakly: a PBX answer that arrives after
  // the tenant was removed finds nothing. Goes with the runtime.
  CommandLog& commands() { return *commands_; }
  std::shared_ptr<CommandLog> shared_commands() const { return commands_; }
  // The contacts users chose in the screen pop for their lines' parts of live calls (PUT
  // /api/v1/calls/{id}/contact); record() gives each entry its choice (over the lookup's match).
  ChosenContacts& chosen_contacts() { return *chosen_; }
  // Directory lookups of this tenant (GET /api/v1/contacts/lookup, live calls). Thread-safe.
  LookupService& lookup() const { return *lookup_; }
  std::shared_ptr<LookupService> shared_lookup() const { return lookup_; }
  RemoteInfoService& remote_info() { return *remote_info_; }
  const RemoteInfoService& remote_info() const { return *remote_info_; }
  // The live call models of this tenant's drivers.
  void for_each_model(const std::function<void(const model::CallModel&)>& f) const;
  // The tenant's contacts changed (edit, import, another process): lookups start afresh and the
  // calls' remote info follows.
  void contacts_changed();

  Stats stats() const;
  // Channel accounting (docs/call-control.md): the tenant's trunk and internal channels now, over
  // its PBX connections (peaks and trunk seconds: their sums). Io thread.
  model::ChannelUsage channel_usage() const;
  // [tenant.X.call_control] max_trunk_channels; 0 = no limit.
  std::uint32_t max_trunk_channels() const { return control_options_.max_trunk_channels; }

  // ports::PbxEventSink, for the drivers (public so tests can drive it like a driver).
  void on_call_event(const model::CallEvent& e, const model::CallModel& m) override;
  void on_lines_changed(const model::CallModel& m) override;
  void on_calls_resynced(const model::CallModel& m) override;
  void on_journal_entry(model::JournalEntry entry) override;
  void on_devices_changed(const model::DeviceRegistry& registry, std::span<const std::string> ids) override;
  ports::CallTrace* call_trace() override { return trace_.get(); }

  // The explain traces of this tenant's calls (GET /api/v1/calls/{id}/trace).
  const CallTraceLog& traces() const { return *trace_; }
  CallTraceLog& traces() { return *trace_; }

  // The device registries of this tenant's drivers (docs/devices.md).
  void for_each_device_registry(const std::function<void(const model::DeviceRegistry&)>& f) const;
  // DELETE /api/v1/devices/{id}: false when no driver of this tenant has the device.
  bool forget_device(std::string_view id);

  void on_queues_changed(const model::QueueState& state, std::span<const std::string> names) override;
  // The queue states of this tenant's drivers (docs/queues.md).
  void for_each_queue_state(const std::function<void(const model::QueueState&)>& f) const;
  // An agent's membership change through the driver that has queue `r.queue` (`pbx` non-empty: only
  // that connection); Errc::not_found when no driver of this tenant has the queue. `done` on the io
  // thread, exactly once.
  void queue_member(const ports::QueueMemberRequest& r, std::string_view pbx, ports::CommandDone done);

  // DND, forwarding and follow-me (docs/dialplan.md): through the first driver that offers them,
  // null without one. Their changes go out as {"type":"line_features","line":..,"features":{..}}
  // to the subscriptions that see the line (as presence).
  ports::PbxFeatures* features();
  void on_line_features_changed(const ports::PbxFeatures& features, std::span<const std::string> lines) override;

  void on_parking_changed(const model::ParkingState& state, std::span<const model::ParkingChange> changes) override;
  // The parked calls of this tenant's drivers (docs/parking.md).
  void for_each_parking_state(const std::function<void(const model::ParkingState&)>& f) const;

 private:
  void store_entry(model::JournalEntry entry);
  void trace_journal(const model::JournalEntry& e, JournalVerdict verdict);
  void finish_stop();
  void bind_call_control();
  bool owns(const model::CallModel& m) const;
  const ports::PbxFeatures* features_if_ours(const ports::PbxFeatures& f) const;
  bool features_ready_ = false;  // as last reported (on_features_ready on each change to ready)

  base::TenantId id_;
  TenantServices services_;
  std::shared_ptr<const DialingPlan> plan_;
  CallControlOptions control_options_;
  std::shared_ptr<LookupService> lookup_;
  std::unique_ptr<RemoteInfoService> remote_info_;
  std::unique_ptr<CallControlService> control_;
  std::shared_ptr<CommandLog> commands_;
  std::unique_ptr<ChosenContacts> chosen_;
  std::unique_ptr<CallTraceLog> trace_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // posted lookup notices check it
  bool running_ = false;
  bool stopping_ = false;
  bool stopped_ = false;
  std::size_t stopping_left_ = 0;
  std::vector<std::function<void()>> stop_waiters_;
  Stats stats_;
  // Declared last: destroyed first, while what their final entries pass through still exists.
  std::vector<std::unique_ptr<ports::PbxDriver>> drivers_;
};

}  // namespace callbridge::core
