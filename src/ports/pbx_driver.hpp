// PbxDriver: one running connection to one PBX (for Asterisk: an AMI link and the tracker that
// turns its events into the call model) as a tenant's runtime sees it: start, stop, status for
// diagnostics, the call model it keeps, its call control (PbxCommands). What happens on the PBX
// comes back through the PbxEventSink the driver was built with (core::TenantRuntime implements
// it). Implemented by drivers/<name>/ (drivers/ami AmiDriver), built by the driver table in app/
// (app/driver_table.cpp). Every method, and every sink call, on the io (model) thread.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/tenant_id.hpp"
#include "model/call_model.hpp"
#include "model/device_registry.hpp"
#include "model/journal_entry.hpp"
#include "model/parking_state.hpp"
#include "model/queue_state.hpp"
#include "ports/call_trace.hpp"
#include "ports/pbx_commands.hpp"
#include "ports/pbx_features.hpp"

namespace callbridge::ports {

// What diagnostics and readiness show of one driver (GET /api/v1/diagnostics "pbx", /readyz).
struct PbxDriverStatus {
  std::string state = "stopped";  // driver words: "connecting", "logging_in", "up", "stopped", ...
  bool connected = false;         // talking to the PBX and receiving events (readiness)
  std::string peer;               // "pbx.example.com:5038"
  std::string last_error;         // "" when none
  std::vector<std::pair<std::string, std::uint64_t>> counters;  // messages, reconnects, ...
};

// Where a driver delivers what it learns, in PBX order. The model passed is the driver's own
// (PbxDriver::call_model()), already updated. Implementations must not call back into the driver's
// stop() or destroy it from here.
class PbxEventSink {
 public:
  // A CSTA event (ARCHITECTURE.md "The call model") the driver applied to `m`.
  virtual void on_call_event(const model::CallEvent& e, const model::CallModel& m) = 0;
  // Line states of `m` changed without a call event (PBX device, extension or presence state
  // reports; a lost session, after which states are unknown until the resync).
  virtual void on_lines_changed(const model::CallModel& m) = 0;
  // A finished conversation's journal entry (one per internal party leg).
  virtual void on_journal_entry(model::JournalEntry entry) = 0;
  // Devices of `registry` (the driver's, PbxDriver::devices()) changed, or were removed when their
  // id is no longer in it (docs/devices.md). Sorted ids. Default: ignored.
  virtual void on_devices_changed(const model::DeviceRegistry& registry, std::span<const std::string> ids) {
    (void)registry;
    (void)ids;
  }
  // Queues of `state` (the driver's, PbxDriver::queues()) changed, or were removed when their name
  // is no longer in it (docs/queues.md). Sorted names. Default: ignored.
  virtual void on_queues_changed(const model::QueueState& state, std::span<const std::string> names) {
    (void)state;
    (void)names;
  }
  // The PBX's per-line features (DND, forwarding, follow-me; ports::PbxFeatures) of `lines` changed
  // (read back after a login, or written), or their availability changed (`lines` empty: see
  // features.ready()). Sorted lines. Default: ignored.
  virtual void on_line_features_changed(const PbxFeatures& features, std::span<const std::string> lines) {
    (void)features;
    (void)lines;
  }
  // The parked calls of `state` (the driver's, PbxDriver::parking()) changed (docs/parking.md):
  // `changes` in PBX order. Default: ignored.
  virtual void on_parking_changed(const model::ParkingState& state, std::span<const model::ParkingChange> changes) {
    (void)state;
    (void)changes;
  }
  // The driver is in step with the PBX again: the resync after a login (the first one of a link's
  // owner included) finished, and `m` (the driver's model) holds exactly the calls in progress on
  // the PBX. Cluster mode: the event hub tells every node which calls of the link are still there,
  // so their mirrors drop the calls that ended while no node listened (docs/cluster.md). Default:
  // ignored.
  virtual void on_calls_resynced(const model::CallModel& m) { (void)m; }
  // Where the driver notes the PBX events that built each call (the admins' explain trace,
  // ports::CallTrace); null (the default): nobody traces, the driver notes nothing.
  virtual CallTrace* call_trace() { return nullptr; }

 protected:
  ~PbxEventSink() = default;
};

// An agent's membership in a queue (docs/queues.md): log in (add), log out (remove), pause with a
// reason, unpause. `device` is the agent's line ("101").
struct QueueMemberRequest {
  enum class Op : std::uint8_t { add, remove, pause, unpause };
  Op op = Op::add;
  std::string queue{};
  std::string device{};
  std::string member_name{};  // add: shown by the PBX ("Ben Bravo"); "" = the interface
  std::string reason{};       // pause: why (may be empty)
  bool paused = false;      // add: start paused
};

class PbxDriver {
 public:
  virtual ~PbxDriver() = default;
  // Unique within the daemon ([[pbx]] name); logs, diagnostics, recordings.
  virtual const std::string& name() const = 0;
  // The tenant whose calls this PBX carries; every event and entry it delivers belongs to it.
  virtual const base::TenantId& tenant() const = 0;
  // Connects (and keeps reconnecting) in the background. Once.
  virtual void start() = 0;
  // Begins a graceful stop (log off, close). `done` runs on the io thread once nothing of the
  // driver is pending any more; the caller forces shutdown after a grace period if it never comes.
  // Calls still open are ended (journaled) or kept for the next start, as the driver can.
  virtual void stop(std::function<void()> done) = 0;
  virtual PbxDriverStatus status() const = 0;
  // The live calls and lines this driver follows (snapshots, GET /api/v1/calls, call control).
  virtual const model::CallModel& call_model() const = 0;
  // Cluster mode: the fencing token of the ownership term this driver was built in (its
  // ports::LinkFence's token(); a driver is built anew for each term). 0 without a fence.
  virtual std::uint64_t term() const { return 0; }
  // Call control through this PBX; null when the driver cannot control calls.
  virtual PbxCommands* commands() = 0;
  // The SIP devices this PBX reports (docs/devices.md); null when the driver keeps no registry.
  // Channel accounting (docs/call-control.md): the connection's live trunk and internal channels,
  // their peaks and the trunk seconds of channels that ended (one call's: CallModel::channel_usage).
  // Io thread. Default: a driver that does not count.
  virtual model::ChannelUsage channel_usage() const { return {}; }
  virtual const model::DeviceRegistry* devices() const { return nullptr; }
  // Removes device `id` from the registry until the PBX reports it again; the sink hears of the
  // removal. false: no such device here.
  virtual bool forget_device(std::string_view id) {
    (void)id;
    return false;
  }
  // DND, forwarding and follow-me carried out by the PBX (docs/dialplan.md); null when the driver
  // cannot offer them.
  virtual PbxFeatures* features() { return nullptr; }
  // The PBX's queues (docs/queues.md); null when the driver keeps none.
  virtual const model::QueueState* queues() const { return nullptr; }
  // The PBX's parked calls (docs/parking.md); null when the driver keeps none.
  virtual const model::ParkingState* parking() const { return nullptr; }
  // Changes an agent's membership through the PBX; `done` runs once on the model thread with the
  // PBX's verdict (errors as in CommandDone: unavailable, not_found, conflict, invalid_argument,
  // timeout); the change itself arrives as a queue change. Default: refused.
  virtual void queue_member(const QueueMemberRequest& r, CommandDone done) {
    (void)r;
    done(base::fail(base::Error::conflict("this PBX driver has no queues")));
  }
};

}  // namespace callbridge::ports
