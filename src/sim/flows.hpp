// Call flows of the lab PBX as event-emitting state machines: each start_* function emits the
// flow's first step at once and schedules the rest on the SimEngine (durations below). The steps
// and the AMI they produce follow tests/fixtures/asterisk-22/<scenario>/ami.log (dialplan of the
// lab: from-trunk -> ddi,<ext>; from-internal -> phones, outbound, 800; queue-support; conferences).
// A step whose channels were hung up meanwhile (AMI Hangup, transfer) does nothing.
// The action_* functions are the AMI actions that change calls. Engine thread only.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "sim/sim_engine.hpp"

namespace callbridge::sim {

using std::chrono::microseconds;
using namespace std::chrono_literals;

enum class Outcome { answered, missed, busy };
enum class HangupBy { caller, callee };

// External caller -> DID <company_prefix><ext> -> Dial(PJSIP/<ext>,30,tT), or with
// LabConfig::callbridge_dialplan Gosub(callbridge-dial,s,1(<ext>,30,tT)): the extension's DND
// (busy at once, Hangup cause 17), forwarding (unconditional, busy, no answer after N s: the
// Newexten of [callbridge-forward], then the destination rung with its own settings or dialled
// through the trunk) and follow-me (parallel, sequential, device: Local/<ext>@callbridge-followme/n
// dialling the mobile through the trunk) as contrib/asterisk/callbridge.conf does with the AstDB
// keys it reads (PbxModel::callbridge_setting). Internal calls are routed the same way.
struct InboundCall {
  std::string caller = "+4989123456";
  std::string ext = "100";
  Outcome outcome = Outcome::answered;
  microseconds ring = 2s;  // until answer, 486 (busy) or the caller's CANCEL (missed)
  microseconds talk = 3s;
  HangupBy hangup_by = HangupBy::caller;
  // Hold/retrieve by the extension (phone re-INVITE sendonly): `hold_after` answer, for `hold_for`.
  microseconds hold_after = 0us, hold_for = 0us;
  // Blind transfer by the extension (feature code ##) `transfer_after` answer to `transfer_to`,
  // which rings for `ring` and talks `talk` before the caller hangs up.
  std::string transfer_to{};
  microseconds transfer_after = 2s;
  // Attended transfer by the extension (hold, consultation call, REFER with Replaces)
  // `transfer_after` answer to `atxfer_to`: target rings `ring`, consultation lasts `consult`, then
  // caller and target talk `talk_after_transfer` until the caller hangs up.
  std::string atxfer_to{};
  microseconds consult = 2s;
  microseconds talk_after_transfer = 7s;
  // Asterisk race: the phone's 180 Ringing (Newstate) published before DialBegin.
  bool ringing_first = false;
  // With LabConfig::callbridge_dialplan, an external destination of the extension's forwarding or
  // follow-me answers after this long (a forward to another extension rings it with `outcome`/`ring`).
  microseconds far_ring = 2s;
};

// Phone dials an outside number (0... national, 00... / + international) via PJSIP/trunk.
struct OutboundCall {
  std::string ext = "101";
  std::string dialed = "089123456";
  microseconds ring = 2s;
  microseconds talk = 3s;
  HangupBy hangup_by = HangupBy::caller;
  Outcome outcome = Outcome::answered;
};

struct InternalCall {
  std::string from = "100";
  std::string to = "102";
  Outcome outcome = Outcome::answered;
  microseconds ring = 2s;
  microseconds talk = 3s;
  HangupBy hangup_by = HangupBy::caller;
  microseconds far_ring = 2s;  // as InboundCall::far_ring
};

// External caller -> main number <prefix>000 -> Queue(support) ringall; `answered_by` picks up.
struct QueueCall {
  std::string caller = "+4989123456";
  std::string answered_by = "102";  // empty: nobody answers, the caller gives up after `ring`
  microseconds ring = 3s;
  microseconds talk = 10s;
};

// ConfBridge 800: each party joins at `at` (from start) and leaves after `stay`.
struct ConferenceParty {
  std::string who;  // a phone extension, or an outside number (dials <prefix>800 via the trunk)
  microseconds at = 0us;
  microseconds stay = 10s;
};
struct ConferenceCall {
  std::vector<ConferenceParty> parties{};
  microseconds announcement = 3'174'000us;  // the first joiner hears "only person" prompts first
};

// Action: Originate (Channel PJSIP/<ext>, Context, Exten, CallerID, Timeout, ActionID).
struct OriginateCall {
  std::string action_id{};
  std::string ext = "100";
  std::string context = "from-internal";
  std::string exten = "089123456";
  std::string cid_num{}, cid_name{};  // from CallerID: "name" <num>
  microseconds timeout = 30s;
  microseconds ring = 2s;    // the phone answers after
  microseconds far_ring = 2s;  // the far end answers after
  microseconds talk = 5s;
  bool phone_answers = true;
};

// Action: Originate (Channel Local/<number>@<local_context>, Context, Exten, CallerID, Variable...):
// callbridge's AnyDevice make call, the user's external device (a mobile behind the trunk) first.
// As the lab's Asterisk 22 in tests/fixtures/asterisk-22/live_make_call_from_mobile: the Local
// pair (VarSet of each Variable on both halves), ";2" dials the number through the trunk, which
// answers after `ring` (the mobile's answer delay; no answer within `timeout`: OriginateResponse
// Failure); then ";1" runs Context/Exten: a phone of the lab, or an external number through the
// trunk (answering after `far_ring`). Once both talk, chan_local optimizes the pair away (mobile and
// destination in one bridge) and the destination hangs up after `talk`.
struct LocalOriginateCall {
  std::string action_id{};
  std::string number = "01701234567";
  std::string local_context = "from-internal";
  std::string context = "from-internal";
  std::string exten = "089123456";
  std::string cid_num{}, cid_name{};
  std::vector<std::pair<std::string, std::string>> variables{};
  microseconds timeout = 30s;
  microseconds ring = 3s;
  microseconds far_ring = 2s;
  microseconds talk = 20s;
};
void start_local_originate(SimEngine& e, const LocalOriginateCall& c);

// Action: Originate with Application Bridge, Data <a channel in a call>: callbridge moving a call
// to another device of its party (docs/call-control.md "Moving a call"). As the lab's Asterisk 22
// in tests/fixtures/asterisk-22/live_move_call_desk_mobile_desk: the new device's channel
// (PJSIP/<ext>, or for `number` a Local pair whose ";2" dials it through the trunk) gets a VarSet
// per Variable and rings; once it answers (after `ring`), the Data channel leaves its bridge into a
// new one with it (taking the call's Linkedid), the device left behind is alone, its bridge goes
// and it hangs up; a Local pair is then optimized away (the mobile and the remote in one bridge).
// The remote hangs up after `talk`. No answer within `timeout`: OriginateResponse Failure Reason 3
// and the call stays as it was; a Data channel gone by the answer: the new channel hangs up.
struct MoveCall {
  std::string action_id{};
  std::string ext{};             // PJSIP/<ext>, or:
  std::string number{};          // Local/<number>@<local_context> (a mobile behind the trunk)
  std::string local_context = "from-internal";
  std::string target{};          // the Data: the channel to bridge with
  std::string cid_num{}, cid_name{};
  std::vector<std::pair<std::string, std::string>> variables{};
  microseconds timeout = 30s;
  microseconds ring = 2s;
  microseconds talk = 20s;
};
void start_move(SimEngine& e, const MoveCall& c);

// Action: Originate Channel PJSIP/<ext>, Application PickupChan, Data <ringing channel> (how
// callbridge picks up a colleague's call, docs/call-control.md). The picker's phone rings and
// answers after `ring`; then, as Asterisk 22 did in tests/fixtures/asterisk-22/live_pickup_via_api:
// Pickup (TargetChannel), the ringing channel hangs up (cause 26, answered elsewhere), the caller's
// Dial ends ANSWER towards the picker and both are bridged; the picker hangs up after `talk`.
// The caller is the channel whose Uniqueid is the ringing channel's Linkedid (a direct Dial); a
// target that no longer rings, or one reached through Local channels (queues, ring groups: not
// simulated), makes PickupChan find nothing and the picker's channel hang up.
struct PickupCall {
  std::string action_id{};
  std::string ext = "102";     // the picker
  std::string target{};        // the ringing channel's name ("PJSIP/101-00000004")
  std::string cid_num{}, cid_name{};
  microseconds timeout = 30s;
  microseconds ring = 2s;  // the picker's phone answers after
  microseconds talk = 5s;  // then talks to the caller until the picker hangs up
};

void start_pickup(SimEngine& e, const PickupCall& c);

// Retrieval of a parked call: Originate of `ext`'s phone into ParkedCall(<lot>,<space>).
struct UnparkCall {
  std::string action_id{};
  std::string ext = "102";     // the retriever
  std::string lot = "default";
  std::string space = "701";
  std::string data{};          // the Data as sent ("default,701")
  std::string cid_num{}, cid_name{};
  microseconds timeout = 30s;
  microseconds ring = 2s;   // the phone answers after
  microseconds talk = 5s;   // then talks to the parked caller until it hangs up
};
void start_unpark(SimEngine& e, const UnparkCall& c);

// res_parking (the lab's lot "default": spaces 701..720, parkingtime 45 s): Park of `name`'s
// channel (bridged to `timeout_channel`, which leaves and is rung back at the timeout) into the
// first free space; ParkedCall, then ParkedCallTimeOut and the ring back after `parking_time`.
// Errors as Asterisk 22's: "Channel does not exist: <name>", "Parkinglot <lot> does not exist",
// "All parking spaces are in use".
base::Status action_park(SimEngine& e, std::string_view name, std::string_view timeout_channel, std::string_view lot,
                         microseconds parking_time = 45s);
void start_inbound(SimEngine& e, const InboundCall& c);
void start_outbound(SimEngine& e, const OutboundCall& c);
void start_internal(SimEngine& e, const InternalCall& c);
void start_queue(SimEngine& e, const QueueCall& c);
void start_conference(SimEngine& e, const ConferenceCall& c);
void start_originate(SimEngine& e, const OriginateCall& c);

// "089123456" -> "+4989123456", "0049..." -> "+49...", "+..." unchanged; empty if not dialable.
// With an outside-line code (LabConfig::outside_prefix "0") in front of such a number it is
// dropped first: "00170..." is then the national "0170...", "0001..." the international "001...".
std::string e164_from_dialed(std::string_view dialed, std::string_view outside_prefix = {});

// AMI actions on live channels (by channel name). Errors carry Asterisk's response messages.
// See InboundCall::atxfer_to; also behind the AMI Atxfer action.
void attended_transfer(SimEngine& e, const std::string& transferer_uid, const std::string& transferee_uid,
                       const std::string& target_ext, microseconds ring, microseconds consult, microseconds talk);

base::Status action_hangup(SimEngine& e, std::string_view channel, int cause);
// PJSIPNotify to a phone's endpoint with "Event: <event>" (how callbridge answers and holds on
// Yealink/Snom, docs/call-control.md): a phone with remote_control answers its ringing call or
// resumes a held one on "talk", holds its active call on "hold", kPhoneReaction later; other
// phones (and the trunk) ignore it. Errc::not_found for an unknown endpoint, as Asterisk.
inline constexpr microseconds kPhoneReaction = 120ms;
base::Status action_phone_notify(SimEngine& e, std::string_view endpoint, std::string_view event);
base::Status action_blind_transfer(SimEngine& e, std::string_view channel, std::string_view exten,
                                   microseconds ring = 2s, microseconds talk = 6s);
base::Status action_redirect(SimEngine& e, std::string_view channel, std::string_view exten,
                             microseconds ring = 2s, microseconds talk = 6s);
base::Status action_atxfer(SimEngine& e, std::string_view channel, std::string_view exten,
                           microseconds ring = 2s, microseconds consult = 2s, microseconds talk = 6s);

// --- Hold in the PBX: callbridge.conf's [callbridge-hold] (dialplan version 2) ----------------
// How callbridged holds a call carried by an external device (a mobile cannot be held remotely),
// as the lab's Asterisk 22 did it (docs/pbxsim.md): Setvar CALLBRIDGE_HOLD_PEER on both channels,
// a dual Redirect into callbridge-hold (device / remote): each channel leaves its bridge, runs
// Gosub(arm) (HangupHandlerPush of callbridge-hold,peer-gone,1 the first time) and MusicOnHold;
// the AMI Bridge action brings them back together (MusicOnHoldStop, a new bridge); when one of
// them hangs up, its handler soft-hangs-up the peer named in CALLBRIDGE_HOLD_PEER, and a channel
// the Bridge action put into a bridge continues at its next priority (Hangup()) once its peer left.
inline constexpr std::string_view kHoldContext = "callbridge-hold";
inline constexpr std::size_t kMaxVarText = 1024;  // a longer variable name or value is refused
// Action: Setvar on a channel: stored (Channel::vars), VarSet emitted. Errc::not_found "No such
// channel"; Errc::invalid_argument "Variable not set" beyond the limits.
base::Status action_setvar(SimEngine& e, std::string_view channel, std::string_view variable, std::string_view value);
// Action: Redirect of `channel` to callbridge-hold,<exten>,1 and (unless empty) `extra` to
// callbridge-hold,<extra_exten>,1; extens "device" or "remote". Check first with
// check_hold_redirect (its error message is Asterisk's answer).
base::Status check_hold_redirect(SimEngine& e, std::string_view channel, std::string_view exten, std::string_view extra,
                                 std::string_view extra_exten);
void action_hold_redirect(SimEngine& e, std::string_view channel, std::string_view exten, std::string_view extra,
                          std::string_view extra_exten);
// Action: Bridge Channel1/Channel2 (features.c action_bridge): both leave MusicOnHold or their
// bridge for a new basic bridge. Errors as Asterisk's: "Channel1 does not exist: <name>" ...
base::Status action_bridge(SimEngine& e, std::string_view channel1, std::string_view channel2);

}  // namespace callbridge::sim
