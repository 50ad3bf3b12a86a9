// The queues of one PBX connection as the PBX reports them (docs/queues.md): per queue its
// parameters, its members (agents) with their device state, pause and wrap-up, the callers waiting
// in it in position order, and the calls answered and abandoned today. Filled by a driver
// (drivers/ami AmiQueueTracker from app_queue's QueueStatus and live queue events); no I/O.
// One thread (the driver's model thread).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/time.hpp"

namespace callbridge::model {

// What an agent is doing in one queue, derived from the PBX's member report: paused wins, then
// an unreachable device, then ringing, then busy, then wrap-up (the PBX's wrapuptime after the
// member's last queue call), else available.
enum class AgentState : std::uint8_t { available, ringing, busy, wrap_up, paused, unavailable };
std::string_view to_string(AgentState s);

struct QueueMember {
  std::string interface;  // "PJSIP/101": what the PBX calls (Location / Interface)
  std::string name;       // MemberName ("Ben Bravo"); may equal the interface
  std::string device;     // "101": the line it rings (endpoint of the state interface); "" if none
  std::string membership; // static | dynamic | realtime
  int penalty = 0;
  std::uint32_t calls_taken = 0;
  std::optional<base::Timestamp> last_call, last_pause, login_time;
  bool paused = false;
  std::string paused_reason;
  int status = 0;       // the PBX's device state number (AST_DEVICE_*: 1 not in use, 2 in use, 6 ringing, ...)
  bool in_call = false; // InCall: on a queue call now
  bool ringing = false; // called by the queue (AgentCalled) and not yet connected or given up
  int wrapup_seconds = 0;  // the member's own Wrapuptime (0: the queue's)

  bool operator==(const QueueMember&) const = default;
};

struct QueueCaller {
  std::string channel;    // "PJSIP/trunk-0000001e"
  std::string uniqueid, linkedid;
  std::string number;     // CallerIDNum ("" when unknown or withheld)
  std::string name;       // CallerIDName ("" when unknown)
  int position = 0;       // 1 = next to be served
  base::Timestamp joined{};

  bool operator==(const QueueCaller&) const = default;
};

struct Queue {
  std::string name;
  std::string strategy;          // ringall, leastrecent, ...
  int max = 0;                   // max waiting callers (0: unlimited)
  std::optional<int> wrapup_seconds;  // the queue's wrapuptime when the PBX reported it
  std::uint32_t pbx_completed = 0, pbx_abandoned = 0;  // QueueParams: since the PBX's reset
  int holdtime = 0, talktime = 0;                      // QueueParams: average seconds
  // Counted here from the live events of the current day (UTC date of day_start).
  std::uint32_t answered_today = 0, abandoned_today = 0;
  base::Timestamp day_start{};
  std::vector<QueueCaller> callers;  // by position
  std::vector<QueueMember> members;  // by interface

  bool operator==(const Queue&) const = default;
  const QueueMember* member(std::string_view interface) const;
  const QueueMember* member_by_device(std::string_view device) const;
  // The seconds of wrap-up that apply to `m` (its own, else the queue's, else 0).
  int wrapup_for(const QueueMember& m) const;
  // When `m`'s wrap-up ends (last call + wrap-up), if it has one.
  std::optional<base::Timestamp> wrapup_until(const QueueMember& m) const;
  AgentState state(const QueueMember& m, base::Timestamp now) const;
  // The callers' longest wait at `now`, seconds (0 without callers).
  std::int64_t longest_wait(base::Timestamp now) const;
};

// The queues of one PBX connection by name. Every change marks the queue changed (take_changed());
// a removed queue's name stays in the set so consumers publish the removal.
class QueueState {
 public:
  explicit QueueState(std::string pbx) : pbx_(std::move(pbx)) {}
  const std::string& pbx() const { return pbx_; }

  const Queue* find(std::string_view name) const;
  // Stores `q` (by its name) and marks it changed when it differs from what was there.
  void put(Queue q);
  bool erase(std::string_view name);
  const std::map<std::string, Queue, std::less<>>& queues() const { return queues_; }
  std::size_t size() const { return queues_.size(); }

  std::vector<std::string> take_changed();  // names, sorted, unique; empties the set
  bool has_changes() const { return !changed_.empty(); }

 private:
  std::string pbx_;
  std::map<std::string, Queue, std::less<>> queues_;
  std::vector<std::string> changed_;
};

}  // namespace callbridge::model
