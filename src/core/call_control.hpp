// CallControlService: the policy in front of ports::PbxCommands. Checks that the caller owns the
// device, that the call exists and the action is in the call's allowed_actions (CSTA services
// permitted) for that device (else action_not_allowed with the reason), that the PBX link is up
// (else pbx_unavailable), and turns destinations into dial strings with the tenant's DialingPlan
// (else invalid_number).
// Click-to-dial caller id and AnyDevice (call the user's mobile first, showing the office number)
// are decided here. Called by capabilities/calls on the model (io) thread; not thread-safe.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/any_device.hpp"
#include "core/dialing_plan.hpp"
#include "core/visibility.hpp"
#include "core/viewer.hpp"
#include "model/call_model.hpp"
#include "model/parking_state.hpp"
#include "ports/pbx_commands.hpp"

namespace callbridge::core {

// Why a command was not accepted. Transport-neutral: capabilities/calls maps each kind to an HTTP
// status and problem type (docs/api.md), another front end (CSTA) to its own error codes.
struct CommandFailure {
  enum class Kind {
    bad_request,         // a field is missing or invalid
    invalid_number,      // the destination is not a number of the tenant's dialing plan
    forbidden,           // not the caller's device
    not_found,           // no such call (for this caller)
    action_not_allowed,  // not among the call's allowed actions now; detail = the reason
    conflict,            // the PBX refused (its reason in detail)
    pbx_unavailable,     // the tenant's PBX link is down
    timeout,             // the PBX did not answer in time
    no_trunk_capacity,   // the tenant's trunk limit would be exceeded (nothing was dialled)
    internal,
  };
  Kind kind = Kind::internal;
  std::string detail;
};

struct CommandAccepted {
  std::optional<std::string> call_id;  // null for make_call (the call exists once the PBX reports it)
  std::optional<std::string> request_id;  // make_call: the correlation id ("c2d-0001")
  std::optional<std::string> space{};     // park's final word: the parking space ("701")
};

// The device a call moves to (POST /api/v1/calls/{id}/move; the route found it among the user's
// devices): the user's extension that has the call (back to the desk phone), or one of their
// external devices.
struct MoveTarget {
  std::string name;    // "mobile", or the extension ("103")
  std::string number;  // the external device's E.164 number; "" = the extension's own phone
  bool private_device = true;  // an external device: the user's own phone, not the company's
};

using CommandOutcome = std::expected<CommandAccepted, CommandFailure>;
using CommandCallback = std::function<void(CommandOutcome)>;

// Who asks: the visibility policy's viewer (api: Principal::viewer(); a callback acts as the
// entry's line, core::callback_caller()). Commands act only through the caller's own extensions
// (core::may_act_from / may_act_on), whatever the role.
using CommandCaller = Viewer;

enum class CallCommand { answer, hangup, hold, retrieve, consult, alternate, transfer, conference, deflect, pickup, park };
std::string_view to_string(CallCommand c);
std::optional<CallCommand> parse_call_command(std::string_view verb);  // "answer", ...

struct CallControlOptions {
  base::TenantId tenant;  // no default: CallControlOptions{.tenant = t}
  // Caller id the user's own phone shows for click-to-dial: empty = the destination (as dialed),
  // which is what tests/fixtures/asterisk-22/click_to_dial_originate sent.
  std::string click_to_dial_caller_id{};
  // AnyDevice, the tenant's default ([tenant.X.call_control] any_device): the external number to
  // call first for a device (the user's mobile), nullopt = the device itself. Applies to users who
  // never chose an active device.
  std::function<std::optional<std::string>(std::string_view device)> any_device_number{};
  // AnyDevice, the user's own choice (GET/PUT /api/v1/me/devices): their active device, nullopt =
  // never chosen. An external one is called first; an extension is the default `from` and rings
  // itself (the tenant's default map does not apply). Io thread; must not block.
  std::function<std::optional<ActiveDevice>(const std::string& user)> active_device{};
  // The tenant's policy ([tenant.X.any_device]) on an external active device's number, checked at
  // each make call (the policy may have changed since the device was added): nullopt = allowed,
  // else the reason. Unset: every number.
  std::function<std::optional<std::string>(std::string_view e164)> device_refused{};
  // The user's external device with this number (the journal's "device" of an AnyDevice call: its
  // name and whether it is private; ActiveDevices::device_of_number). Unset or nullopt: the entry
  // names no device and counts it private.
  std::function<std::optional<ActiveDevice>(std::string_view e164)> device_of_number{};
  // What the first leg shows when it is a mobile: the office number (E.164 or as dialed).
  std::function<std::string(std::string_view device)> office_number{};
  std::uint64_t first_request_seq = 1;  // request ids are "c2d-<seq, 4+ digits>"
  // The res_parking lot park puts calls into, and unpark looks in ([tenant.X.call_control]
  // parking_lot; docs/parking.md).
  std::string parking_lot = "default";
  // Channel accounting (docs/call-control.md): at most this many trunk channels (to the outside)
  // at once for the tenant ([tenant.X.call_control] max_trunk_channels); 0 = no limit. A make
  // call or unpark that would need more is refused (no_trunk_capacity) before anything is
  // dialled. `trunk_channels_in_use`: the tenant's trunk channels now (its drivers' count).
  std::uint32_t max_trunk_channels = 0;
  std::function<std::uint32_t()> trunk_channels_in_use{};
};

class CallControlService {
 public:
  // `plan` may be null (no [tenant.X.dialing]): then only digits, '*', '#' and a leading '+'
  // are dialable, unchanged. `model` and `pbx` must outlive the service.
  CallControlService(CallControlOptions options, const model::CallModel& model, ports::PbxCommands& pbx,
                     const DialingPlan* plan);

  // POST /api/v1/calls: `from` (default: the caller's first device) calls `to`. Returns the
  // request id when the request went to the PBX ("" when it was rejected before; `done` has why).
  // `finished` (optional) gets the PBX's final word once the request was accepted (AMI
  // OriginateResponse): the call id when known, or conflict with the PBX's reason; it may never
  // run when the driver cannot tell (see ports::MakeCallRequest::on_outcome).
  std::string make_call(const CommandCaller& caller, std::string_view to, std::optional<std::string> from,
                        CommandCallback done, CommandCallback finished = {});
  // POST /api/v1/calls/{id}/<verb>. `device`: which of the caller's devices (default: the one in
  // the call that may do it). `to`: consult/deflect need it; transfer with it is blind, without it
  // completes the attended transfer. `finished` (park only, optional): the PBX's final word, the
  // parking space the call went to (CommandAccepted::space).
  void execute(const CommandCaller& caller, CallCommand command, const std::string& call_id,
               std::optional<std::string> device, std::optional<std::string> to, CommandCallback done,
               CommandCallback finished = {});

  // POST /api/v1/calls/{id}/move (docs/call-control.md "Moving a call"): the caller's connected
  // call goes to another of their devices: an external one ("take it on my mobile") or back to
  // the extension's own phone. Checked before anything is dialled: the call is still there and
  // the caller's (not_found), connected at their extension (action_not_allowed), the target is
  // that extension or an external device the tenant's policy allows (action_not_allowed with a
  // hint to transfer for another extension; forbidden with the policy's reason), the PBX link is
  // up, and an external device's trunk channel fits under max_trunk_channels (no_trunk_capacity).
  // The driver refuses (conflict) a call already on that device or without a single remote.
  // `finished`: ok once the new device talks to the remote (same call id); conflict when it did
  // not answer (the call stays where it was); not_found when the call ended meanwhile.
  void move_call(const CommandCaller& caller, const std::string& call_id, const MoveTarget& target,
                 CommandCallback done, CommandCallback finished = {});

  // The external device a call was moved to with this E.164 number (the latest such move, among
  // the last kMaxMovedDevices): the journal names the device that carried a moved call and whether
  // it is private (docs/journal.md "Moving a call") also when it is not the user's active device.
  std::optional<ActiveDevice> moved_device(std::string_view e164) const;
  static constexpr std::size_t kMaxMovedDevices = 256;

  // The parked calls of the PBX this service controls (PbxDriver::parking()); null: none, then
  // unpark answers not_found. Must outlive the service.
  void set_parking(const model::ParkingState* parking) { parking_ = parking; }
  const model::ParkingState* parking() const { return parking_; }
  const std::string& parking_lot() const { return options_.parking_lot; }
  // The call model the service acts on (the driver it goes through).
  const model::CallModel& model() const { return model_; }
  // POST /api/v1/parking/{space}/pickup: the caller's phone (`device`, default as make_call picks
  // it: their active device, AnyDevice included) is rung and takes the call parked at `space` of
  // the tenant's lot (`lot`: another lot of the same PBX). Every user of the tenant may (parking
  // lots are shared, like dialing the space). not_found "Nothing is parked at 701 ..." when the
  // space is empty. `finished`: ok (call_id = the parked call's) once the phone talks to the
  // caller; not_found when someone else took it first or the caller hung up before the phone
  // answered; conflict when the phone did not answer. Returns the parked call's id ("" when none).
  std::string unpark(const CommandCaller& caller, const std::string& space, std::optional<std::string> lot,
                     std::optional<std::string> device, CommandCallback done, CommandCallback finished = {});

  // POST /api/v1/calls/{id}/pickup: the caller's `device` (default: their first extension) takes
  // over the call ringing at a colleague's line. `scope`: the lines the caller may see
  // (core::line_scope: own, team mates', the whole tenant for supervisors and admins); a call
  // with no connection on one of them is answered like a call that does not exist. Refused with
  // action_not_allowed (and the reason in words) when it no longer rings there, or rings at the
  // caller's own line. execute(pickup) uses the caller's own lines only (no team known).
  // `finished` (optional) gets the PBX's final word once `done` accepted it: the call id when
  // the picker talks to the caller; not_found "Nothing to pick up: ..." when the call stopped
  // ringing (answered there, ended) before the picker's phone answered; conflict when the
  // picker's phone did not take it (see ports::PbxCommands::pickup).
  void pickup(const CommandCaller& caller, const std::string& call_id, std::optional<std::string> device,
              const LineScope& scope, CommandCallback done, CommandCallback finished = {});

  // POST /api/v1/lines/{device}/pickup (the presence page knows lines, not call ids): picks up
  // the call ringing longest at `ringing_device`, a line in `scope`; not_found ("nothing rings
  // at 101") when there is none. Then as pickup(). Returns the call's id ("" when none).
  std::string pickup_line(const CommandCaller& caller, const std::string& ringing_device, std::optional<std::string> device,
                          const LineScope& scope, CommandCallback done, CommandCallback finished = {});

  // The reason `action` is not allowed for `device` in `call` (the action_not_allowed detail).
  std::string why_not(const model::Call& call, std::string_view device, model::Action action) const;

  // Commands refused because the tenant's trunk channels were all in use (diagnostics).
  std::uint64_t trunk_refusals() const { return trunk_refusals_; }

 private:
  std::expected<std::string, CommandFailure> dial_string(std::string_view to) const;
  // Which phone rings first for the caller (make call, unpark): `from` when given (one of theirs),
  // else their chosen active device (an extension, or an external number: AnyDevice), else their
  // first extension; `mobile` is the external dial string that rings first, if any.
  struct FirstLeg {
    std::string device;
    std::optional<std::string> mobile;
    bool external = false;  // the user's chosen external device
    std::string external_name;
  };
  std::expected<FirstLeg, CommandFailure> first_leg(const CommandCaller& caller, std::optional<std::string> from,
                                                    std::string_view verb) const;
  const model::Call* other_call(const model::Call& call, std::string_view device) const;
  std::string next_request_id();
  // no_trunk_capacity when `needed` more trunk channels would exceed max_trunk_channels.
  std::optional<CommandFailure> trunk_full(std::uint32_t needed, std::string_view what);
  // A dial string that goes out through the trunk (not an extension or a feature code).
  bool external_dial_string(std::string_view dial) const;
  std::uint64_t trunk_refusals_ = 0;
  std::vector<ActiveDevice> moved_devices_;  // oldest first, at most kMaxMovedDevices

  CallControlOptions options_;
  const model::CallModel& model_;
  ports::PbxCommands& pbx_;
  const DialingPlan* plan_;
  const model::ParkingState* parking_ = nullptr;
  std::uint64_t seq_;
};

// Errc from PbxCommands -> CommandFailure.
CommandFailure failure_from(const base::Error& e);

}  // namespace callbridge::core
