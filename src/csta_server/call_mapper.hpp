// CallMapper: the call model's events (model::CallEvent) as the CSTA events one device monitor
// sees (ECMA-269 clause 17, "Call control events"), before any encoding: which event, the
// connection it is about (call id + device id, the same pair for the whole life of a call), the
// devices the event names, the monitored device's localConnectionInfo and the cause. Pure: no I/O,
// no XML; remembers per call only who called whom (the model keeps no direction). One per tenant,
// owned by the CSTA server; io thread, not thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "model/call_model.hpp"

namespace callbridge::csta_server {

// ECMA-269 17.2 events this server sends (ServiceInitiated .. Queued).
enum class EventKind {
  service_initiated,
  originated,
  delivered,
  established,
  held,
  retrieved,
  connection_cleared,
  call_cleared,
  transferred,
  conferenced,
  diverted,
  failed,
  queued,
};
std::string_view to_string(EventKind k);  // "ServiceInitiated", ... (the XML element names)

// ECMA-269 LocalConnectionState (localConnectionInfo).
enum class LocalState { null, initiated, alerting, connected, hold, queued, fail };
std::string_view to_string(LocalState s);  // "null", "initiated", "alerting", "connected", "hold", "queued", "fail"
LocalState local_state(model::ConnectionState s);

// A connection: the model's call id and a device (an internal device, or the remote number when
// the other side is outside). The CSTA server turns both into wire ids (its CallIds, the
// tenant's dialing plan).
struct ConnectionRef {
  std::string call;
  std::string device;
  bool operator==(const ConnectionRef&) const = default;
};

struct MappedEvent {
  EventKind kind = EventKind::delivered;
  ConnectionRef connection;  // initiated/originating/alerting/established/held/retrieved/dropped/... connection
  // The device the event is about: initiating, calling (Originated), alerting, answering, holding,
  // retrieving, releasing, transferring, conferencing, diverting, failing, queued device. Empty
  // for CallCleared.
  std::string subject;
  std::optional<std::string> calling;  // callingDevice (who started the call), when known
  std::optional<std::string> called;   // calledDevice (whom it was for), when known
  std::optional<std::string> other;    // Diverted: newDestination; Transferred: transferredToDevice;
                                       // Conferenced: addedParty
  std::optional<std::string> merged_from;  // Transferred: the call whose connections joined this one
  std::vector<ConnectionRef> connections;  // Transferred/Conferenced: the call's connections afterwards
  LocalState local = LocalState::null;     // the monitored device's connection in the call
  std::string cause;                       // ECMA-269 EventCause name ("newCall", "normalClearing", ...)
  bool operator==(const MappedEvent&) const = default;
};

// Q.850 cause (Asterisk's Hangup Cause) -> ECMA-269 EventCause of a cleared or failed connection.
std::string_view clearing_cause(std::optional<int> q850, bool failed);

class CallMapper {
 public:
  // Learns from `e` (who called whom) — call once per model event, before map() for the monitors;
  // forget() the call after them when it has no connection left.
  void observe(const model::CallEvent& e);
  void forget(std::string_view call) {
    calls_.erase(std::string(call));
    if (merged_.size() > 1024) merged_.clear();  // only needed while the merge's events go out
  }
  // The events a monitor of `device` sees for `e` (empty when the device is not in the call), in
  // the order they are sent.
  std::vector<MappedEvent> map(const model::CallEvent& e, std::string_view device, bool gone) const;
  // A call MakeCall started for `device` (cause "makeCall" instead of "newCall" on its first events).
  // `to`: the destination as the client asked for it (the PBX may report the first leg without it).
  void expect_make_call(std::string_view device, std::string_view to = {}) {
    make_calls_.insert_or_assign(std::string(device), std::string(to));
  }
  void cancel_make_call(std::string_view device) { make_calls_.erase(std::string(device)); }

  struct Parties {
    std::string calling, called;
    bool by_make_call = false;
  };
  const Parties* parties(std::string_view call) const;
  std::size_t calls_known() const { return calls_.size(); }

 private:
  std::unordered_map<std::string, Parties> calls_;
  std::unordered_map<std::string, std::string> make_calls_;  // device -> the destination of its MakeCall
  std::unordered_set<std::string> merged_;  // calls CallModel::merge took into another (recent ones)
};

}  // namespace callbridge::csta_server
