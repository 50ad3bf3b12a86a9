// AmiCommands: ports::PbxCommands over the Asterisk Manager Interface (Asterisk 22): Originate
// (also of PickupChan for directed pickup and of ParkedCall to unpark), Park, Hangup, BlindTransfer, Atxfer, Redirect, Bridge and PJSIPNotify (remote answer/hold on phones
// that support it). Which channel a command addresses comes from the AmiCallTracker fed by the same
// link (call id + device -> PJSIP/100-0000000a). Actions go out through a SubmitFn: AmiLink::submit
// in the daemon, AmiProtocol::submit in tests. Model (io) thread only; not thread-safe.
// The AMI action builders are free functions so tests can compare them with the captured ami.sent.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <utility>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/error.hpp"
#include "drivers/ami/ami_call_tracker.hpp"
#include "drivers/ami/ami_protocol.hpp"
#include "ports/pbx_commands.hpp"

namespace callbridge::drivers::ami {

class AmiLink;

// The SIP NOTIFY `Event:` values a phone model understands for remote control (Yealink and Snom:
// "talk" answers a ringing call and resumes a held one, "hold" holds the active one). Empty: the
// phone cannot do it remotely.
struct PhoneNotifyEvents {
  std::string answer;
  std::string hold;
  std::string retrieve;
};

struct AmiCommandsOptions {
  std::string tech = "PJSIP";            // Originate Channel: <tech>/<device>
  std::string context = "from-internal"; // dialplan context of Originate/transfers/deflect
  std::chrono::milliseconds originate_timeout{30'000};  // how long the first leg may ring
  // AnyDevice first leg: Originate Channel Local/<number>@<first_leg_context> ("" = context).
  std::string first_leg_context;
  // Conference: the channels are redirected to <conference_context>,<room>,1 where the dialplan
  // runs ConfBridge(${EXTEN}). "" = no conference service on this PBX.
  std::string conference_context;
  // Asterisk's attended transfer feature codes (features.conf [general] atxferswap and
  // atxferthreeway; Asterisk's defaults). Within a consultation callbridge started (AMI Atxfer:
  // one channel of the device carries both calls) alternate and conference are these digits,
  // received on the device's channel (PlayDTMF Receive), as if the user keyed them.
  std::string atxfer_swap = "*4";
  std::string atxfer_threeway = "*3";
  // Per device; unset = no remote control (answer/hold/retrieve/alternate fail with conflict).
  std::function<PhoneNotifyEvents(std::string_view device)> phone;
  std::optional<std::chrono::milliseconds> action_timeout;  // unset: the protocol's default
};

// --- AMI action builders (ActionID set by the caller). ---
// Originate as tests/fixtures/asterisk-22/click_to_dial_originate/ami.sent: Channel, Context,
// Exten, Priority 1, CallerID "name" <number>, Timeout, Async true, Variable CTI_REQUEST=<id>.
AmiAction originate_action(const AmiCommandsOptions& o, const ports::MakeCallRequest& r);
AmiAction hangup_action(std::string_view channel);  // Cause 16 (normal clearing)
AmiAction blind_transfer_action(std::string_view channel, std::string_view exten, std::string_view context);
AmiAction atxfer_action(std::string_view channel, std::string_view exten, std::string_view context);
AmiAction notify_action(std::string_view endpoint, std::string_view event);  // PJSIPNotify
AmiAction redirect_action(std::string_view channel, std::optional<std::string_view> extra_channel,
                          std::string_view context, std::string_view exten);
AmiAction bridge_action(std::string_view channel1, std::string_view channel2);
// PlayDTMF of one digit with Receive: yes (Asterisk 16+): as if the channel's phone sent it, so
// the bridge's DTMF features (an attended transfer's swap and three-way) see it.
AmiAction play_dtmf_action(std::string_view channel, char digit);
AmiAction setvar_action(std::string_view channel, std::string_view variable, std::string_view value);
// PBX hold of a call on an external device: Redirect of the device's channel to
// kHoldContext,kHoldDeviceExten,1 with ExtraChannel = the remote to kHoldContext,kHoldRemoteExten,1.
AmiAction pbx_hold_action(std::string_view device_channel, std::string_view remote_channel);
// Directed pickup: Originate Channel <tech>/<picker> with Application PickupChan, Data = the
// ringing channel's full name (app_directed_pickup; no dialplan needed), CallerID "" <caller>
// so the picker's phone shows who it takes over, Async true.
AmiAction pickup_action(const AmiCommandsOptions& o, std::string_view picker_device, std::string_view ringing_channel,
                        std::string_view caller_id);
// Moving a call (ports::MoveCallRequest): Originate Channel <tech>/<device> (back to the desk) or
// Local/<external_dial_string>@<first_leg_context> (the mobile) with Application Bridge, Data =
// the remote's channel: Asterisk rings the new device and only once it answers moves the remote
// into a bridge with it; the old device's bridge dissolves and its channel hangs up (verified on
// the lab's Asterisk 22: tests/fixtures/asterisk-22/live_move_call_desk_mobile_desk). Variables:
// kMoveCallVariable = the call id, and for a mobile kAnyDevicePartyVariable = the extension and
// kMoveDeviceVariable = its E.164 number (the call tracker's clues). Async true.
AmiAction move_action(const AmiCommandsOptions& o, const ports::MoveCallRequest& r, std::string_view remote_channel);
// "PJSIP/100-0000000a" -> "100" (the endpoint), "" when not of `tech`.
std::string endpoint_of(std::string_view channel, std::string_view tech);

class AmiCommands final : public ports::PbxCommands {
 public:
  using SubmitFn = std::function<base::Result<std::string>(AmiAction, ActionCallback,
                                                           std::optional<std::chrono::milliseconds>)>;

  AmiCommands(AmiCommandsOptions options, const AmiCallTracker& tracker, SubmitFn submit,
              std::function<bool()> is_up);
  // Over a live link (the tracker must be the link's sink).
  static std::unique_ptr<AmiCommands> over_link(AmiCommandsOptions options, const AmiCallTracker& tracker,
                                                AmiLink& link);

  bool available() const override { return is_up_(); }
  void make_call(const ports::MakeCallRequest& request, ports::CommandDone done) override;
  void answer(const std::string& call_id, const std::string& device, ports::CommandDone done) override;
  void hangup(const std::string& call_id, const std::string& device, ports::CommandDone done) override;
  void hold(const std::string& call_id, const std::string& device, ports::CommandDone done) override;
  void retrieve(const std::string& call_id, const std::string& device, ports::CommandDone done) override;
  void consult(const std::string& call_id, const std::string& device, const std::string& dial_string,
               ports::CommandDone done) override;
  void alternate(const std::string& call_id, const std::string& other_call_id, const std::string& device,
                 ports::CommandDone done) override;
  void transfer(const std::string& call_id, const std::string& device, const std::string& dial_string,
                ports::CommandDone done) override;
  void complete_transfer(const std::string& call_id, const std::string& other_call_id,
                         const std::string& device, ports::CommandDone done) override;
  void conference(const std::string& call_id, const std::string& other_call_id, const std::string& device,
                  ports::CommandDone done) override;
  void redirect(const std::string& call_id, const std::string& device, const std::string& dial_string,
                ports::CommandDone done) override;
  // With `outcome`: OriginateResponse, then the picker channel's Pickup (ok) or its Hangup
  // without one (not_found: nothing to pick up) decide it.
  void pickup(const std::string& call_id, const std::string& ringing_device, const std::string& picker_device,
              const std::string& caller_id, ports::CommandDone done, PickupOutcome outcome) override;
  // Park (park_action): the device's remote goes into `lot`, TimeoutChannel = the device's channel.
  // With `outcome`: the ParkedCall event whose ParkeeChannel is that remote names the space.
  void park(const std::string& call_id, const std::string& device, const std::string& lot, ports::CommandDone done,
            ParkOutcome outcome) override;
  // Unpark (unpark_action): with `outcome`, OriginateResponse, then UnParkedCall whose
  // RetrieverUniqueid is the answered channel (ok) or that channel's Hangup without one
  // (not_found: ParkedCall() found the space empty) decide it.
  void unpark(const ports::UnparkRequest& r, ports::CommandDone done, PickupOutcome outcome) override;
  // Move (move_action), after checking on the tracker that the device carries the call with one
  // remote, not already on the requested device, and no other move of the call is under way.
  // Outcome: OriginateResponse Failure (conflict: the new device did not answer), else the
  // Originate's channel (its Uniqueid) entering a bridge (ok: it talks to the remote) or hanging
  // up without (not_found: the remote was gone when it answered).
  void move_call(const ports::MoveCallRequest& r, ports::CommandDone done) override;

  // ActionIDs are "<prefix>-<n>", n counting from 1 per instance, four digits at least
  // ("bxfer-0001"), so a fresh instance reproduces the captured ami.sent exactly. make_call uses
  // the request id instead (the caller's correlation id, e.g. "c2d-0001").
  std::string next_action_id(std::string_view prefix);

  // The link's AMI messages (the app's tap, after the tracker): `OriginateResponse` (ActionID =
  // the request id) completes make_call's MakeCallRequest::on_outcome — Success with the first
  // leg's Uniqueid (the call's id in the model), Failure with Asterisk's Reason explained — and
  // moves a pickup on to waiting for its channel's Pickup or Hangup. The end of the AMI session
  // fails those still waiting. At most kMaxPendingOriginates wait; the oldest is failed beyond
  // that (pickups past the OriginateResponse: the newest is not followed).
  void on_ami_message(const AmiMessage& m);
  void on_session_end();
  static constexpr std::size_t kMaxPendingOriginates = 1024;
  std::size_t pending_originates() const {
    return originates_.size() + pickups_.size() + parks_.size() + moves_.size();
  }

 private:
  // Sends `a` with ActionID next_action_id(prefix); `done` gets ok / the PBX's refusal.
  void send(AmiAction a, std::string_view prefix, ports::CommandDone done);
  using OutcomeFn = std::function<void(base::Result<std::string>)>;
  // Registers `fn` for the OriginateResponse of `action_id`; returns `done` wrapped so a refused
  // action unregisters it.
  ports::CommandDone expect_originate_response(const std::string& action_id, OutcomeFn fn, ports::CommandDone done);
  std::optional<AmiCallTracker::CallChannels> locate(const std::string& call_id, const std::string& device,
                                                     ports::CommandDone& done);
  void notify(const std::string& call_id, const std::string& device, std::string PhoneNotifyEvents::*which,
              std::string_view what, ports::CommandDone done);
  // The phone's NOTIFY event for `which`; "" after a conflict through `done` (no remote control).
  std::string phone_event(const std::string& device, std::string PhoneNotifyEvents::*which, std::string_view what,
                          ports::CommandDone& done);
  void notify_on(const AmiCallTracker::CallChannels& ch, const std::string& device, const std::string& event,
                 std::string_view what, ports::CommandDone done);
  void pbx_hold(const AmiCallTracker::CallChannels& ch, const std::string& call_id, const std::string& device,
                ports::CommandDone done);
  void pbx_retrieve(const AmiCallTracker::CallChannels& ch, const std::string& call_id, const std::string& device,
                    ports::CommandDone done);
  // `digits` (a feature code) received on `channel`: PlayDTMF Receive, one digit after the other.
  void key_feature(const std::string& channel, const std::string& digits, std::string_view what,
                   ports::CommandDone done);

  AmiCommandsOptions options_;
  const AmiCallTracker& tracker_;
  SubmitFn submit_;
  std::function<bool()> is_up_;
  std::uint64_t seq_ = 0;
  std::unordered_map<std::string, OutcomeFn> originates_;  // by request id (ActionID)
  struct PendingPickup {
    PickupOutcome outcome;
    std::string target;  // the ringing channel PickupChan is to take
    std::string picker;  // "PJSIP/102", for the words
    bool unpark = false; // done by UnParkedCall (RetrieverUniqueid), not Pickup
  };
  std::unordered_map<std::string, PendingPickup> pickups_;  // answered pickers, by their Uniqueid
  // Pickup events (picker Uniqueid, TargetUniqueid) seen while originates were pending, newest
  // last, at most 64: PickupChan may take the call before the OriginateResponse arrives, which
  // then names the taken channel (live_pickup_via_api in a CI run).
  std::deque<std::pair<std::string, std::string>> recent_pickups_;
  std::deque<std::string> originate_order_;                // oldest first; may hold finished ids
  // Parks waiting for their ParkedCall event, by the parked channel's name (ParkeeChannel).
  std::unordered_map<std::string, ParkOutcome> parks_;
  // UnParkedCall retrievers (RetrieverUniqueid) seen while originates were pending, at most 64:
  // the retrieval may come before the OriginateResponse.
  std::deque<std::string> recent_unparks_;
  // Moves: the calls with one under way (a second is refused), and the answered new channels
  // waiting to enter the remote's bridge, by Uniqueid; BridgeEnter Uniqueids seen while moves
  // waited for their OriginateResponse, at most 64.
  std::unordered_map<std::string, std::function<void(base::Status)>> moving_;  // by call id: the outcome
  std::unordered_map<std::string, std::string> moves_;  // new channel Uniqueid -> call id
  std::deque<std::string> recent_bridged_;
  void finish_move(const std::string& call_id, base::Status st);
};

// AMI OriginateResponse `Reason` (Asterisk's AST_CONTROL_* code of the first leg) in words.
std::string originate_failure_reason(std::string_view reason_code, std::string_view channel);

}  // namespace callbridge::drivers::ami
