// Translates the AMI event stream into the CSTA call model (model::CallModel) and the call journal
// (model::JournalBuilder). Keeps the AMI-level graph: channels by Uniqueid, Local ;1/;2 pairs,
// bridges and their members, dial relations, holds, conference bridges; resolves for every internal
// party channel "who is the remote" through bridges and Local pairs, and turns changes of that
// answer into journal legs and CSTA events. Rebuilds live state after a reconnect from the resync
// lists (CoreShowChannel/Status/BridgeListItem). Never reads Event: Cdr / Event: CEL.
// Called on the AMI session's (model) thread, in stream order; not thread-safe.
//
// How it decides (details in ami_call_legs.cpp):
// - Every internal party channel (PJSIP/100-...) has journal "legs": one per remote it talks to.
//   After each graph change the channel's remote is re-resolved: through its bridge peer, else the
//   channel dialing it (it rings), else the one channel it dials; Local ;1/;2 halves are walked
//   through; a ConfBridge/softmix or 3+-member bridge is a conference.
// - A new remote opens a new leg (ringing, outgoing, or already connected after a transfer);
//   a phone-initiated call opens an outgoing leg at Newchannel that adopts its remote when found
//   (or becomes an incoming leg if it reaches a caller only through a bridge: pickup, park).
// - Connected through bridges only = answered. Hold/Unhold on the channel = hold time.
// - Legs end at the party's Hangup, when their remote hangs up, or at BlindTransfer,
//   AttendedTransfer and ParkedCall (which also set transferred_to/_from).
// - Entries are emitted when the whole conversation (Linkedid, merged on transfers) has no
//   channel left, so "missed" vs "answered_elsewhere" is final.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/tenant_id.hpp"
#include "base/time.hpp"
#include "drivers/ami/ami_sink.hpp"
#include "model/call_model.hpp"
#include "model/journal_entry.hpp"

namespace callbridge::drivers::ami {

// AnyDevice (docs/call-control.md "AnyDevice"): how the PBX tells the tracker whose external
// device a call leg reaches. A Local channel carrying the variable (set by callbridge's own
// Originate of an AnyDevice first leg: VarSet on both halves), or a Local channel of the dialplan
// include's follow-me context (Local/EXT@callbridge-followme), belongs to extension EXT; the
// channel its ";2" half dials (through further Local pairs) is that user's device: it becomes a
// party channel of EXT, with the dialled number as the device that carried the call.
inline constexpr std::string_view kAnyDevicePartyVariable = "CALLBRIDGE_PARTY";
inline constexpr std::string_view kFollowMeContext = "callbridge-followme";
// Moving a live call to another device of its party (docs/call-control.md "Moving a call"):
// callbridge's Originate of the new device (Application Bridge, Data = the remote's channel)
// carries the model call id it moves (kMoveCallVariable) and, for an external device, its E.164
// number (kMoveDeviceVariable: the journal's device number as the user gave it, not re-read from
// the dial string). Asterisk reports both as VarSet on the new channel (on both Local halves for a
// mobile). That channel rings without a leg of its own; once it talks to the call's remote it
// takes over the party's leg: same call id, same journal entry, the new device from then on.
inline constexpr std::string_view kMoveCallVariable = "CALLBRIDGE_MOVE";
inline constexpr std::string_view kMoveDeviceVariable = "CALLBRIDGE_DEVICE";
// Hold of a call on an external device, done by the PBX (docs/call-control.md "Hold on an external
// device"; contrib/asterisk/callbridge.conf [callbridge-hold], dialplan version >=
// kHoldDialplanVersion in ami_features.hpp): the device's channel waits at kHoldDeviceExten, the remote's at
// kHoldRemoteExten, each with kHoldPeerVariable naming the other; AMI Bridge resumes the call.
inline constexpr std::string_view kHoldContext = "callbridge-hold";
inline constexpr std::string_view kHoldDeviceExten = "device";
inline constexpr std::string_view kHoldRemoteExten = "remote";
inline constexpr std::string_view kHoldPeerVariable = "CALLBRIDGE_HOLD_PEER";
// What those variables may hold: a model call id (a Linkedid, maybe "~<Uniqueid or bridge id>"),
// and an E.164 number ('+' and 2..19 digits).
bool valid_move_call_id(std::string_view v);
bool valid_e164(std::string_view v);

struct TrackerOptions {
  base::TenantId tenant;  // no default: TrackerOptions{.tenant = t}
  // A channel is an internal party when its technology is one of `party_techs` and its endpoint
  // name (PJSIP/<endpoint>-xxxxxxxx) is all digits with min..max length, or is listed in
  // `party_endpoints` (e.g. "reception").
  std::vector<std::string> party_techs = {"PJSIP", "SIP", "IAX2", "DAHDI"};
  std::size_t party_min_len = 2;
  std::size_t party_max_len = 6;
  std::vector<std::string> party_endpoints{};
  // Numbers that are internal (extensions, conference rooms, feature codes) rather than external.
  // Default: 2..6 characters of [0-9*#], not starting with 0 or +.
  std::function<bool(std::string_view number)> is_internal_number{};
  // Raw caller id or dialed number of an external party -> E.164 (app/ wires the tenant's dialing
  // plan). Default, for a tenant without a plan: "+..." numbers without separators, anything
  // else as the PBX reported it - no country is assumed (see default_canonical_remote).
  std::function<std::string(std::string_view raw_number)> canonical_remote{};
  // Upper bound of tracked channels; events for new channels beyond it are dropped (counted).
  std::size_t max_channels = 200000;
};

struct TrackerOutputs {
  std::function<void(model::JournalEntry)> on_journal;
  std::function<void(const model::CallEvent&)> on_event;
  // A resync's channel list was applied (TrackerStats::resyncs_done): the model holds exactly the
  // calls the PBX has now (after the events of what changed meanwhile). Unset: nobody hears.
  std::function<void()> on_resynced;
};

// The defaults of TrackerOptions, usable by other code and tests.
bool default_is_internal_number(std::string_view number);
std::string default_canonical_remote(std::string_view raw);

struct TrackerStats {
  std::uint64_t messages = 0;
  std::uint64_t handled = 0;     // events that touched the graph
  std::uint64_t ignored = 0;     // noise skipped by name
  std::uint64_t unknown_channel = 0;  // events about channels we never saw
  std::uint64_t dropped_channels = 0; // over max_channels
  std::uint64_t resyncs = 0;       // sessions started (each begins a resync)
  std::uint64_t resyncs_done = 0;  // resyncs whose channel list was applied (the link is in step again)
  std::uint64_t closed_by_resync = 0;  // channels gone while the link was down
};

// A live channel as an API snapshot shows it.
struct ChannelSnapshot {
  std::string uniqueid;
  std::string name;
  std::string party;  // empty unless an internal party
  std::string bridge;
  int state = 0;      // AMI ChannelState
  // A party channel that is the user's external device (AnyDevice): its E.164 number; "" for the
  // extension's own phone. `trunk`: the channel goes to the outside.
  std::string device_number{};
  bool trunk = false;
};

class AmiCallTracker final : public AmiSink {
 public:
  AmiCallTracker(TrackerOptions options, TrackerOutputs outputs);
  ~AmiCallTracker() override;
  AmiCallTracker(const AmiCallTracker&) = delete;
  AmiCallTracker& operator=(const AmiCallTracker&) = delete;

  void on_session_start(base::Timestamp at) override;
  void on_message(const AmiMessage& m, base::Timestamp received_at) override;
  void on_session_end(base::Timestamp at, const base::Error& why) override;

  // Ends every open call and emits the journal entries (end of a replay, shutdown).
  void flush(base::Timestamp at);

  // Open-call state, so that a restarted callbridged continues the calls in progress with their
  // real start/answer/hold times and journals the ones that ended while it was down (exactly
  // once: entries carry state_scope/state_key; see ports::JournalStore::put_open_state).
  // `put(key, text)`: text empty = delete the row. Call before the first session.
  using StatePut = std::function<void(const std::string& key, std::string text)>;
  void enable_state(std::string scope, StatePut put);
  // Rows a previous run left (their text); re-attached to the channels of the first resync, the
  // rest end then (estimated end). Call before the first session.
  void restore_state(const std::vector<std::string>& rows);

  // The PBX can hold calls on external devices (its callbridge dialplan has [callbridge-hold]):
  // their connections offer hold and retrieve (model::Connection::pbx_hold) from then on.
  void set_pbx_hold(bool available);
  bool pbx_hold() const;

  // Live state for API snapshots.
  const model::CallModel& model() const;
  model::CallModel& model();
  std::vector<ChannelSnapshot> channels() const;
  // The channels a call control command addresses (drivers/ami AmiCommands): internal party
  // `device`'s live channel carrying model call `call_id`, and the remote it talks to or rings
  // with right now (resolved through bridges and Local pairs; nullopt for a conference or when
  // none). nullopt when the device has no live channel in that call.
  struct CallChannels {
    ChannelSnapshot party;
    std::optional<ChannelSnapshot> remote;
    // The party channel also carries another call: an Atxfer consultation (the held call and the
    // consultation on one channel of the transferer).
    bool shared = false;
  };
  std::optional<CallChannels> call_channels(std::string_view call_id, std::string_view device) const;
  std::size_t live_channels() const;
  // Channel accounting (docs/call-control.md): the live trunk and internal channels and their
  // peaks since start; and those of model call `call_id`'s conversation (no peaks), nullopt when
  // it is not one the tracker follows.
  model::ChannelUsage channel_usage() const;
  std::optional<model::ChannelUsage> call_channel_usage(std::string_view call_id) const;
  const TrackerStats& stats() const;
  // Time of the latest event seen (Timestamp header, else receive time).
  base::Timestamp last_event_time() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace callbridge::drivers::ami
