// CstaCallTracker: CSTA call control events from device monitors (ECMA-269 17.2, decoded by
// protocols/csta) -> the call model (model::CallModel) and the call journal (model::JournalBuilder
// legs), for the CSTA driver. Each event is applied at the monitor of the device it is about
// (the subject: alerting, answering, holding, releasing, transferring ... device), with that
// monitor's localConnectionInfo; copies of it at other monitors only fill in what the device
// there learns (the far end rings, the far end answered). Journal legs: one per device and call
// (and per remote: a transfer starts a new leg), incoming when the device was rung; a conversation
// is a CSTA call and ends with it. Pure: no I/O; model thread; not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/tenant_id.hpp"
#include "base/time.hpp"
#include "model/call_model.hpp"
#include "model/journal_builder.hpp"
#include "protocols/csta/messages.hpp"

namespace callbridge::drivers::csta {

namespace wire = protocols::csta;

// ECMA-269 EventCause of a cleared/failed connection -> Q.850 cause (the model's and the API's).
std::optional<int> q850_of(std::string_view cause);

class CstaCallTracker {
 public:
  using EventSink = std::function<void(const model::CallEvent&)>;
  using JournalSink = std::function<void(model::JournalEntry)>;

  // `internal`: whether a device id is one of the company's lines (a remote that is not is an
  // outside party: inbound/outbound entries); unset: ids not in E.164 are internal.
  CstaCallTracker(base::TenantId tenant, EventSink on_event, JournalSink on_journal,
                  std::function<bool(std::string_view)> internal = {});

  model::CallModel& model() { return model_; }
  const model::CallModel& model() const { return model_; }

  // `m` arrived at the monitor of `device` (the monitored device as the driver named it).
  // Anything that is no call control event is ignored.
  void on_event(std::string_view device, const wire::Message& m, base::Timestamp at);
  // The device is monitored (now idle unless a snapshot says otherwise).
  void on_monitored(std::string_view device, base::Timestamp at);
  // After a reconnect: the device's calls as SnapshotDevice reported them. Calls of the device the
  // model still has and the snapshot does not are over (ended at `at`, estimated); calls in the
  // snapshot the model does not know are taken up (their start estimated).
  void on_snapshot(std::string_view device, const std::vector<wire::SnapshotDeviceItem>& items, base::Timestamp at);
  // The link went down: calls and lines stay as last seen until the snapshots after the reconnect.
  void on_link_down(base::Timestamp at);
  // Ends every open leg (stop, end of a test).
  void flush(base::Timestamp at);

  std::size_t open_legs() const { return legs_.size(); }

 private:
  struct LegInfo {
    model::LegId id = 0;
    std::string remote;
    bool incoming = true;
    model::Direction direction = model::Direction::inbound;
    bool answered = false;
  };
  using Key = std::pair<std::string, std::string>;  // call, device

  LegInfo* leg(const std::string& call, const std::string& device);
  LegInfo& open_leg(const std::string& call, const std::string& device, std::string remote, bool incoming,
                    base::Timestamp at, std::optional<model::Direction> direction = {});
  void set_remote(const std::string& call, const std::string& device, const std::string& remote);
  void answer_leg(const std::string& call, const std::string& device, base::Timestamp at);
  void end_leg(const std::string& call, const std::string& device, base::Timestamp at,
               std::string_view cause = {}, std::uint8_t estimated = 0);
  void maybe_end_conversation(const std::string& call, base::Timestamp at, bool cleared,
                              std::uint8_t estimated = 0);
  void transferred(const std::string& call, const std::string& from, const std::string& to, base::Timestamp at);

  model::Direction direction_of(std::string_view remote, bool incoming) const;

  base::TenantId tenant_;
  std::function<bool(std::string_view)> internal_;
  model::CallModel model_;
  model::JournalBuilder journal_;
  std::map<Key, LegInfo> legs_;                          // open legs
  std::map<std::string, std::set<std::string>> conv_;    // call -> devices with legs (open or ended, not emitted)
  std::map<std::string, std::string> merged_into_;       // device -> the call a transfer moved it into (last)
  struct Hint {
    std::string from, remote;
    base::Timestamp at;
  };
  std::map<std::string, Hint> transfer_hints_;           // device a call was handed to -> by whom, which remote
};

}  // namespace callbridge::drivers::csta
