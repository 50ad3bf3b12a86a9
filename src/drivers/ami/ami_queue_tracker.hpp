// AmiQueueTracker: fills a model::QueueState (docs/queues.md) from what Asterisk's app_queue
// reports over AMI:
// - at every login the resync's QueueStatus (QueueParams, QueueMember, QueueEntry per queue;
//   queues it no longer lists leave the state);
// - live QueueCallerJoin/QueueCallerLeave/QueueCallerAbandon (the waiting callers and their
//   positions), QueueMemberAdded/Removed/Pause/Status/Penalty/Ringinuse (the agents),
//   AgentCalled/AgentConnect/AgentComplete/AgentRingNoAnswer/AgentDump (ringing, answered today,
//   last call).
// And it turns a ports::QueueMemberRequest into the AMI action (QueueAdd/QueueRemove/QueuePause).
// Model thread only.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "base/time.hpp"
#include "drivers/ami/ami_protocol.hpp"
#include "drivers/ami/ami_wire.hpp"
#include "model/queue_state.hpp"
#include "ports/pbx_driver.hpp"

namespace callbridge::drivers::ami {

class AmiQueueTracker {
 public:
  // `is_party(endpoint)`: whether an endpoint is an internal line (a member's device).
  AmiQueueTracker(std::string pbx, std::function<bool(std::string_view endpoint)> is_party);

  void on_session_start(base::Timestamp at);
  void on_message(const AmiMessage& m, base::Timestamp at);
  // The answer to GetConfig queues.conf (sent by the driver after each resync's QueueStatus): each
  // queue's wrapuptime as configured, which QueueStatus does not report (docs/queues.md). An error
  // answer (no such file, no config privilege) leaves the wrap-up times unknown.
  void on_config(const AmiResponse& r);

  const model::QueueState& state() const { return state_; }
  model::QueueState& state() { return state_; }

  // The action for `r` against the queue as known now: QueueAdd (interface PJSIP/<device>, its
  // state interface the same), QueueRemove/QueuePause (the member's own interface). Errors:
  // Errc::not_found (unknown queue; no member on that device for remove/pause), Errc::conflict
  // (already a member, for add), Errc::invalid_argument (bad device or reason).
  base::Result<AmiAction> action_for(const ports::QueueMemberRequest& r) const;

 private:
  model::Queue& edit(std::string_view queue);  // a working copy, stored by commit()
  void commit();
  void member_report(const AmiMessage& m, model::Queue& q, bool from_status);

  model::QueueState state_;
  std::function<bool(std::string_view)> is_party_;
  std::map<std::string, model::Queue, std::less<>> work_;  // queues edited by the current message
  // The resync in progress (QueueStatus with ActionID resync-QueueStatus): the queues it listed.
  std::map<std::string, model::Queue, std::less<>> resync_;
  bool resyncing_ = false;
  // Agents ringing for a caller: queue '\n' interface -> the caller's Uniqueid (AgentCalled); the
  // caller leaving stops exactly those.
  std::map<std::string, std::string, std::less<>> ringing_for_;
  // From the latest GetConfig queues.conf: queue -> wrapuptime (absent: 0).
  std::map<std::string, int, std::less<>> config_wrapup_;
  bool have_config_ = false;
};

}  // namespace callbridge::drivers::ami
