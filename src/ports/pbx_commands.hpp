// PbxCommands: the driver-neutral call control interface (CSTA "services": make call, answer,
// clear, hold, retrieve, consult, alternate, transfer, conference, deflect, directed pickup). Implemented by a PBX
// driver (drivers/ami AmiCommands); called by core::CallControlService on the model (io) thread.
// Every command is asynchronous: `done` runs exactly once on that thread — possibly before the
// call returns (link down, unknown call) — with the PBX's verdict on the *request*; the effect on
// the call arrives later as call events.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "base/error.hpp"

namespace callbridge::ports {

// Errors passed to CommandDone:
//   Errc::unavailable      - the PBX link is down (API: 503 pbx-unavailable)
//   Errc::not_found        - the PBX no longer knows the device's part in that call
//   Errc::conflict         - the PBX refused (AMI "Response: Error"), message = its reason
//   Errc::invalid_argument - the request cannot be expressed (e.g. CR/LF in a destination)
//   Errc::timeout          - no answer from the PBX in time
using CommandDone = std::function<void(base::Status)>;

struct MakeCallRequest {
  // The user's device that is called first and, once it answers, calls the destination.
  std::string from_device;
  // AnyDevice / follow-me: call this external dial string first (the user's mobile) instead of
  // the device. The caller id below is what that first leg shows.
  std::optional<std::string> first_leg_dial_string;
  // What the PBX dials after the first leg answered (already a dial string, see DialingPlan).
  std::string dial_string;
  // Shown on the first leg while it rings: for a desk phone usually the destination, for a mobile
  // the office number.
  std::string caller_id_name;
  std::string caller_id_number;
  // Correlates the PBX's later reports (AMI OriginateResponse/ActionID, CTI_REQUEST variable).
  std::string request_id;
  // Optional: the PBX's final word on the attempt, after `done` said the request was accepted
  // (AMI: OriginateResponse). Ok = the first leg answered and the destination is being dialed,
  // with the call id when the driver knows it ("" otherwise); an error (Errc::conflict, reason in
  // the message) = the first leg failed (unknown device, busy, no answer). Runs at most once, on
  // the model thread; never when `done` reported an error; may never run (link lost).
  std::function<void(base::Result<std::string>)> on_outcome{};
};

// Unpark (docs/parking.md): the user's phone (or their AnyDevice first leg) is rung and, once it
// answers, takes the call parked at `lot`/`space`.
struct UnparkRequest {
  std::string from_device;                              // the user's line ("102")
  std::optional<std::string> first_leg_dial_string{};   // AnyDevice: ring this external number instead
  std::string lot;                                      // "default"
  std::string space;                                    // "701"
  std::string caller_id{};                              // what the ringing phone shows (the parked caller)
};

// Moving a live call to another device of its party ("take it on my mobile", "back to my desk";
// docs/call-control.md "Moving a call"): the new device is rung and, only once it answers, takes
// the remote over from the device that carries the call now, which then leaves; if it does not
// answer, the call stays where it was. The call keeps its id.
struct MoveCallRequest {
  std::string call_id;
  std::string device;  // the party's extension whose connection in the call moves ("103")
  // The new device: nullopt = the extension's own phone; else the external dial string to ring
  // (the user's mobile, as the dialing plan dials it) and that device's E.164 number.
  std::optional<std::string> external_dial_string{};
  std::string external_number{};
  std::string caller_id_number{};  // shown on the new device while it rings
  // Optional, after `done` accepted the request: ok = the new device talks to the remote (the old
  // one left); Errc::conflict = the new device did not answer (busy, no answer; the call is
  // unchanged), reason in the message; Errc::not_found = the call ended before the new device
  // answered; Errc::unavailable = the link went down meanwhile. At most once, on the model thread.
  std::function<void(base::Status)> on_outcome{};
};

class PbxCommands {
 public:
  virtual ~PbxCommands() = default;

  // The link to the PBX is up (commands can be sent now).
  virtual bool available() const = 0;

  virtual void make_call(const MakeCallRequest& request, CommandDone done) = 0;
  // `device`'s connection in `call_id`:
  virtual void answer(const std::string& call_id, const std::string& device, CommandDone done) = 0;
  virtual void hangup(const std::string& call_id, const std::string& device, CommandDone done) = 0;
  virtual void hold(const std::string& call_id, const std::string& device, CommandDone done) = 0;
  virtual void retrieve(const std::string& call_id, const std::string& device, CommandDone done) = 0;
  // Attended transfer step 1: puts the call on hold and dials `dial_string` for the device.
  virtual void consult(const std::string& call_id, const std::string& device,
                       const std::string& dial_string, CommandDone done) = 0;
  // Swaps between `call_id` and the device's other call `other_call_id` (one held, one active).
  virtual void alternate(const std::string& call_id, const std::string& other_call_id,
                         const std::string& device, CommandDone done) = 0;
  // Blind transfer: the device's remote in `call_id` goes to `dial_string`, the device leaves.
  virtual void transfer(const std::string& call_id, const std::string& device,
                        const std::string& dial_string, CommandDone done) = 0;
  // Completes an attended transfer: the remotes of `call_id` and `other_call_id` are connected,
  // the device leaves both.
  virtual void complete_transfer(const std::string& call_id, const std::string& other_call_id,
                                 const std::string& device, CommandDone done) = 0;
  // Joins the device and the remotes of both calls in one conference.
  virtual void conference(const std::string& call_id, const std::string& other_call_id,
                          const std::string& device, CommandDone done) = 0;
  // Deflects a call ringing at the device to `dial_string` (CSTA Deflect Call).
  virtual void redirect(const std::string& call_id, const std::string& device,
                        const std::string& dial_string, CommandDone done) = 0;
  // Directed pickup (CSTA Pickup Call): `picker_device` takes over the call `call_id` that rings
  // at `ringing_device` (a colleague's). The picker's phone is rung first, showing
  // `caller_id` (the caller, "" = unknown); once it answers, the caller talks to it and the
  // ringing stops. A driver that cannot do it refuses with Errc::conflict (the default).
  // `outcome` (optional) is the PBX's final word once `done` said the request was accepted: ok =
  // the picker talks to the caller; Errc::not_found = there was nothing to pick up any more (the
  // call stopped ringing at `ringing_device`, answered there or ended, before the picker's phone
  // answered; Asterisk still accepts the Originate and rings the picker); Errc::conflict = the
  // picker's phone did not take it (busy, no answer), reason in the message; Errc::unavailable =
  // the link went down meanwhile. Runs at most once, on the model thread; never when `done`
  // reported an error.
  using PickupOutcome = std::function<void(base::Status)>;
  virtual void pickup(const std::string& call_id, const std::string& ringing_device,
                      const std::string& picker_device, const std::string& caller_id, CommandDone done,
                      PickupOutcome outcome) {
    (void)call_id, (void)ringing_device, (void)picker_device, (void)caller_id, (void)outcome;
    done(base::fail(base::Error::conflict("this PBX driver cannot pick up calls")));
  }
  // Park: `device`'s remote party in `call_id` goes into parking lot `lot` (its next free space);
  // the device leaves the call and is rung back when the lot's parking time is over. `outcome`
  // (optional, after `done` accepted): ok with the space the PBX chose ("701"); an error when the
  // PBX did not report the park (Errc::unavailable: the link went down). Default: refused.
  using ParkOutcome = std::function<void(base::Result<std::string>)>;
  virtual void park(const std::string& call_id, const std::string& device, const std::string& lot, CommandDone done,
                    ParkOutcome outcome) {
    (void)call_id, (void)device, (void)lot, (void)outcome;
    done(base::fail(base::Error::conflict("this PBX driver cannot park calls")));
  }
  // Unpark: see UnparkRequest. `outcome` (optional, after `done` accepted), like pickup's: ok = the
  // phone talks to the parked caller; Errc::not_found = nothing was parked at the space any more
  // when the phone answered; Errc::conflict = the phone did not answer (busy, no answer), reason in
  // the message; Errc::unavailable = the link went down meanwhile. Default: refused.
  // Moves a call between its party's devices (MoveCallRequest). `done`: the PBX's word on the
  // request; Errc::conflict before anything is dialled when the call is already on that device,
  // has no single remote (a conference) or another move of it is under way. Default: refused.
  virtual void move_call(const MoveCallRequest& r, CommandDone done) {
    (void)r;
    done(base::fail(base::Error::conflict("this PBX driver cannot move calls between devices")));
  }
  virtual void unpark(const UnparkRequest& r, CommandDone done, PickupOutcome outcome) {
    (void)r, (void)outcome;
    done(base::fail(base::Error::conflict("this PBX driver cannot retrieve parked calls")));
  }
};

}  // namespace callbridge::ports
