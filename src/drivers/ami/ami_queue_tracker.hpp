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

  // Today's counts survive a restart (docs/queues.md "Answered and abandoned today"): `put(text)`
  // gets the row to keep (kTodayStatePrefix...) whenever a count changes and after each resync;
  // restore_today() takes the row the previous run kept. At the first resync of the same UTC day
  // the counts continue from it, plus what the PBX's own counters (QueueParams Completed/Abandoned)
  // say happened meanwhile: every abandoned call, and the calls answered and completed while
  // callbridged was down (those still in progress at the restart are not counted).
  static constexpr std::string_view kTodayStatePrefix = "queues-today=";
  void enable_today_state(std::function<void(std::string text)> put) { put_today_ = std::move(put); }
  // false: not such a row (or unreadable; ignored).
  bool restore_today(std::string_view text);

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

  void save_today();

  model::QueueState state_;
  // The PBX's Completed/Abandoned as of now: the last QueueParams plus the AgentComplete /
  // QueueCallerAbandon events since; by queue.
  struct PbxCounts {
    std::uint32_t completed = 0, abandoned = 0;
  };
  std::map<std::string, PbxCounts, std::less<>> pbx_now_;
  // What the previous run kept (restore_today), applied at the first resync of the same day.
  struct Kept {
    std::uint32_t answered = 0, abandoned = 0;
    PbxCounts pbx;
    std::uint32_t in_call = 0;  // agents in a queue call when it was kept
    bool counted = false;       // answered/abandoned added to the queue (add_kept_counts)
  };
  void add_kept_counts(model::Queue& q);
  std::int64_t kept_day_ = 0;
  std::map<std::string, Kept, std::less<>> kept_;
  std::function<void(std::string)> put_today_;
  std::string last_saved_;
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
