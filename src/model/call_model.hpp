// The CSTA-style call model (ECMA-269 in spirit): calls with one connection per device, connection
// states, device (line) states for presence, the events clients see, and the actions allowed now.
// Pure state, no I/O. Driven by a PBX driver (e.g. drivers/ami AmiCallTracker) on the model thread;
// not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/tenant_id.hpp"
#include "base/time.hpp"

namespace callbridge::model {

// CSTA connection states (ECMA-269 6.1.2).
enum class ConnectionState { null, initiated, alerting, connected, held, queued, failed };

// CSTA call control events (ECMA-269 17.2), named as the API publishes them.
enum class CallEventType {
  originated,
  delivered,
  established,
  held,
  retrieved,
  diverted,
  transferred,
  conferenced,
  connection_cleared,
  failed,
  queued,
};

// A device's line state, as presence shows it.
enum class DeviceState { unknown, idle, ringing, busy, held, unavailable, dnd };

// CSTA "services permitted": what a client may offer for one connection right now.
enum class Action : std::uint32_t {
  answer = 1u << 0,
  hangup = 1u << 1,
  hold = 1u << 2,
  retrieve = 1u << 3,
  consult = 1u << 4,
  alternate = 1u << 5,
  transfer = 1u << 6,    // blind transfer of a connected call, or completing a consultation
  conference = 1u << 7,  // join a held and an active call
  deflect = 1u << 8,     // send a ringing call elsewhere
  dial = 1u << 9,        // make a new call from this device
  // A ringing connection a colleague may take over with their own extension (CSTA Directed Pickup,
  // POST /api/v1/calls/{id}/pickup); only when the PBX driver can (CallModel::set_pickup_offered).
  // Whoever sees the call may pick it up: users see their own calls only, supervisors and admins
  // every call and every line of their tenant (core/visibility).
  pickup = 1u << 10,
  // A connected call whose other party may be parked (POST /api/v1/calls/{id}/park: the remote
  // waits in a parking space, the device leaves); only when the PBX driver can
  // (CallModel::set_park_offered).
  park = 1u << 11,
};
using ActionSet = std::uint32_t;
inline bool has(ActionSet s, Action a) { return (s & static_cast<std::uint32_t>(a)) != 0; }

std::string_view to_string(ConnectionState s);
std::string_view to_string(CallEventType t);
std::string_view to_string(DeviceState s);
std::string_view to_string(Action a);
// Names of the actions in `s`, in a fixed order.
std::vector<std::string_view> action_names(ActionSet s);

// What the phone behind a device can do when asked remotely (SIP "talk" events, uaCSTA, ...).
// Without it answer/hold/retrieve cannot work through the PBX, so they are never offered.
struct DeviceCaps {
  bool remote_answer = false;
  bool remote_hold = false;
};

struct Connection {
  std::string device;  // internal party, e.g. "100"
  ConnectionState state = ConnectionState::null;
  std::optional<std::string> remote;  // who the device talks to / is called by, as the journal shows it
  base::Timestamp since{};
  // The PBX itself holds and resumes this connection (a call carried by the user's external
  // device, AnyDevice: the device cannot be asked to hold): hold/retrieve need no DeviceCaps.
  bool pbx_hold = false;
};

// Channels occupied at the PBX (docs/call-control.md "Channel accounting"): trunk = to the outside
// (external parties, and users' external devices: AnyDevice), internal = the tenant's phones.
// For one call: its conversation's channels now. For a PBX connection: every live channel, and the
// most at once since callbridged started (peaks).
struct ChannelUsage {
  std::uint32_t trunk = 0;
  std::uint32_t internal = 0;
  std::uint32_t trunk_peak = 0;
  std::uint32_t internal_peak = 0;
  // Connection totals: seconds the trunk channels that ended were up (each channel once, from
  // its creation: ringing occupies the channel too).
  double trunk_seconds = 0.0;
};

struct Call {
  std::string id;
  std::vector<Connection> connections;
  base::Timestamp created_at{};
};

// One event as the API publishes it (and `callbridge replay --events-out` prints it).
struct CallEvent {
  base::TenantId tenant;
  CallEventType type = CallEventType::delivered;
  std::string call_id{};
  std::string device{};  // the device whose connection changed
  ConnectionState state = ConnectionState::null;
  // Every connection of the call after the change: device -> state.
  std::vector<std::pair<std::string, ConnectionState>> connections{};
  std::optional<std::string> remote{};
  ActionSet allowed_actions = 0;  // for `device` in this call
  base::Timestamp at{};
  std::optional<int> cause{};  // Q.850 cause when cleared/failed
  std::optional<std::string> detail{};  // e.g. the transfer target
};

// One JSON object, no trailing newline.
std::string to_json_line(const CallEvent& e);

class CallModel {
 public:
  using EventSink = std::function<void(const CallEvent&)>;

  explicit CallModel(base::TenantId tenant, EventSink sink = {});
  const base::TenantId& tenant() const { return tenant_; }

  void set_sink(EventSink sink) { sink_ = std::move(sink); }
  void set_device_caps(std::string_view device, DeviceCaps caps);
  // Caps of devices without set_device_caps (e.g. from configured device patterns). Unset: none.
  void set_caps_resolver(std::function<DeviceCaps(std::string_view device)> f) { caps_resolver_ = std::move(f); }
  DeviceCaps device_caps(std::string_view device) const;
  // Channel accounting: the channels call `call_id` occupies at the PBX now, as the driver
  // counts them (its conversation's trunk and internal channels; docs/call-control.md). Unset
  // or nullopt: unknown (the API leaves it out).
  void set_channel_usage_resolver(std::function<std::optional<ChannelUsage>(std::string_view call_id)> f) {
    usage_resolver_ = std::move(f);
  }
  std::optional<ChannelUsage> channel_usage(std::string_view call_id) const {
    return usage_resolver_ ? usage_resolver_(call_id) : std::nullopt;
  }
  // The PBX driver can carry out a directed pickup (ports::PbxCommands::pickup): ringing
  // connections then offer Action::pickup. Off by default (replay, drivers without it).
  void set_pickup_offered(bool on) { pickup_offered_ = on; }
  // The PBX driver can park a call's remote (ports::PbxCommands::park): connected connections then
  // offer Action::park. Off by default.
  void set_park_offered(bool on) { park_offered_ = on; }

  // Moves `device`'s connection in `call_id` to `state` (creating call and connection as needed)
  // and publishes `type`. A no-op (no event) if nothing changes.
  // `pbx_hold`, when given, sets the connection's Connection::pbx_hold before the event goes out.
  void update(std::string_view call_id, std::string_view device, ConnectionState state,
              CallEventType type, base::Timestamp at, std::optional<std::string> remote = {},
              std::optional<std::string> detail = {}, std::optional<bool> pbx_hold = {});
  // Sets Connection::pbx_hold of an existing connection (no event: it shows in the next one).
  void set_pbx_hold(std::string_view call_id, std::string_view device, bool on);
  // The connection goes away (connectionCleared, or failed when `failed`); a call without
  // connections is removed.
  // `transferred`: the device handed its remote over (CSTA Transferred event), detail = target.
  void clear(std::string_view call_id, std::string_view device, base::Timestamp at,
             std::optional<int> cause = {}, bool failed = false,
             std::optional<std::string> detail = {}, bool transferred = false);
  // Connections of `from` move into `into` (transfer / conference joins); `from` disappears.
  void merge(std::string_view from, std::string_view into, base::Timestamp at);

  // Line state as the PBX reports it (DeviceStateChange, ExtensionStatus, presence).
  void set_pbx_device_state(std::string_view device, DeviceState s, base::Timestamp at);
  void set_dnd(std::string_view device, bool on, base::Timestamp at);
  // Do-not-disturb the PBX carries out for the line (ports::PbxFeatures, AstDB): shown like the
  // presence DND above; either one makes the line "dnd".
  void set_line_dnd(std::string_view device, bool on, base::Timestamp at);
  // Effective state: unavailable/dnd from the PBX win, otherwise derived from connections,
  // otherwise what the PBX said.
  DeviceState device_state(std::string_view device) const;

  ActionSet allowed_actions(const Call& call, std::string_view device) const;
  // The actions `device` would have now if its phone accepted remote control (DeviceCaps), each
  // with why it is missing, so a client can say so instead of silently showing no button
  // ("answer": "this phone cannot be answered from here; pick up the handset"). In Action order.
  std::vector<std::pair<Action, std::string_view>> unavailable_actions(const Call& call,
                                                                       std::string_view device) const;

  const Call* find_call(std::string_view id) const;
  const std::unordered_map<std::string, Call>& calls() const { return calls_; }
  // Devices the model has heard of (from calls or PBX state).
  std::vector<std::string> devices() const;
  // Line changes, so a consumer (the event hub) can diff only what moved: every change of a
  // device's inputs to device_state() (PBX state, dnd, connection counts, first sight) gets the
  // next version. Devices whose version is > `version`, sorted; line_version() = the latest.
  std::uint64_t line_version() const { return line_version_; }
  std::vector<std::string> devices_changed_since(std::uint64_t version) const;

 private:
  ActionSet actions_with(const Call& call, std::string_view device, DeviceCaps caps) const;
  struct DeviceInfo {
    DeviceState pbx = DeviceState::unknown;
    bool dnd = false;
    bool line_dnd = false;
    DeviceCaps caps;
    bool caps_set = false;  // by set_device_caps (else caps_resolver_ decides)
    // Connections of the device over all calls, by state (keeps presence and allowed actions
    // O(1) per event however many calls a device has).
    int alerting = 0, active = 0, held = 0;
    std::uint64_t version = 0;  // line_version_ of its last change
  };
  DeviceInfo& touch(std::string_view device);  // find or add, and mark changed
  void count(std::string_view device, ConnectionState s, int delta);
  Call* call_ptr(std::string_view id);
  void publish(const Call& call, std::string_view device, ConnectionState state,
               CallEventType type, base::Timestamp at, std::optional<std::string> remote,
               std::optional<int> cause, std::optional<std::string> detail);

  base::TenantId tenant_;
  EventSink sink_;
  std::function<DeviceCaps(std::string_view)> caps_resolver_;
  std::function<std::optional<ChannelUsage>(std::string_view)> usage_resolver_;
  bool pickup_offered_ = false;
  bool park_offered_ = false;
  std::unordered_map<std::string, Call> calls_;
  std::unordered_map<std::string, DeviceInfo> devices_;
  std::uint64_t line_version_ = 0;
};

}  // namespace callbridge::model
