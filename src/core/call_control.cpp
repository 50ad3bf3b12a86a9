#include "core/call_control.hpp"

#include "core/visibility.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace callbridge::core {

using model::Action;
using model::ConnectionState;

CommandFailure failure_from(const base::Error& e) {
  using K = CommandFailure::Kind;
  switch (e.code()) {
    case base::Errc::unavailable: return {K::pbx_unavailable, e.message()};
    case base::Errc::timeout: return {K::timeout, e.message()};
    case base::Errc::not_found: return {K::not_found, e.message()};
    case base::Errc::conflict: return {K::conflict, e.message()};
    case base::Errc::invalid_argument: return {K::bad_request, e.message()};
    default: return {K::internal, e.to_string()};
  }
}

std::string_view to_string(CallCommand c) {
  switch (c) {
    case CallCommand::answer: return "answer";
    case CallCommand::hangup: return "hangup";
    case CallCommand::hold: return "hold";
    case CallCommand::retrieve: return "retrieve";
    case CallCommand::consult: return "consult";
    case CallCommand::alternate: return "alternate";
    case CallCommand::transfer: return "transfer";
    case CallCommand::conference: return "conference";
    case CallCommand::deflect: return "deflect";
    case CallCommand::pickup: return "pickup";
    case CallCommand::park: return "park";
  }
  return "?";
}

std::optional<CallCommand> parse_call_command(std::string_view verb) {
  for (auto c : {CallCommand::answer, CallCommand::hangup, CallCommand::hold, CallCommand::retrieve,
                 CallCommand::consult, CallCommand::alternate, CallCommand::transfer, CallCommand::conference,
                 CallCommand::deflect, CallCommand::pickup, CallCommand::park}) {
    if (to_string(c) == verb) return c;
  }
  return std::nullopt;
}

namespace {

Action action_of(CallCommand c) {
  switch (c) {
    case CallCommand::answer: return Action::answer;
    case CallCommand::hangup: return Action::hangup;
    case CallCommand::hold: return Action::hold;
    case CallCommand::retrieve: return Action::retrieve;
    case CallCommand::consult: return Action::consult;
    case CallCommand::alternate: return Action::alternate;
    case CallCommand::transfer: return Action::transfer;
    case CallCommand::conference: return Action::conference;
    case CallCommand::deflect: return Action::deflect;
    case CallCommand::pickup: return Action::answer;  // not through the generic path (pickup())
    case CallCommand::park: return Action::park;
  }
  return Action::hangup;
}

const model::Connection* connection_of(const model::Call& call, std::string_view device) {
  for (const auto& c : call.connections)
    if (c.device == device) return &c;
  return nullptr;
}

bool active(ConnectionState s) {
  return s == ConnectionState::connected || s == ConnectionState::initiated || s == ConnectionState::queued;
}

CommandFailure fail_with(CommandFailure::Kind k, std::string detail) { return {k, std::move(detail)}; }

std::string reject(const CommandCallback& done, std::unexpected<CommandFailure> f) {
  done(std::move(f));
  return {};
}

}  // namespace

CallControlService::CallControlService(CallControlOptions options, const model::CallModel& model,
                                       ports::PbxCommands& pbx, const DialingPlan* plan)
    : options_(std::move(options)), model_(model), pbx_(pbx), plan_(plan), seq_(options_.first_request_seq) {}

std::string CallControlService::next_request_id() {
  char num[32];
  std::snprintf(num, sizeof num, "%04llu", static_cast<unsigned long long>(seq_++));
  return std::string("c2d-") + num;
}

std::expected<std::string, CommandFailure> CallControlService::dial_string(std::string_view to) const {
  using K = CommandFailure::Kind;
  if (to.empty()) return std::unexpected(fail_with(K::bad_request, "\"to\" is missing"));
  if (to.size() > 256) return std::unexpected(fail_with(K::invalid_number, "destination longer than 256 characters"));
  if (plan_) {
    auto d = plan_->dial_string(to);
    if (!d) return std::unexpected(fail_with(K::invalid_number, d.error().message()));
    return *d;
  }
  // No dialing plan: dial what was given if it is plainly a number.
  std::string_view v = to;
  if (v.starts_with("tel:")) v.remove_prefix(4);
  std::string out;
  for (char c : v) {
    if ((c >= '0' && c <= '9') || c == '*' || c == '#' || (c == '+' && out.empty())) out += c;
    else if (c == ' ' || c == '-' || c == '/' || c == '(' || c == ')' || c == '.') continue;
    else return std::unexpected(fail_with(K::invalid_number, "not a dialable number: \"" + std::string(to) + "\""));
  }
  if (out.empty() || out == "+")
    return std::unexpected(fail_with(K::invalid_number, "not a dialable number: \"" + std::string(to) + "\""));
  return out;
}

std::string CallControlService::make_call(const CommandCaller& caller, std::string_view to,
                                          std::optional<std::string> from, CommandCallback done,
                                          CommandCallback finished) {
  using K = CommandFailure::Kind;
  if (caller.tenant != options_.tenant)
    return reject(done, std::unexpected(fail_with(K::forbidden, "tenant " + caller.tenant.str() + " is not served here")));
  auto leg = first_leg(caller, std::move(from), "call");
  if (!leg) return reject(done, std::unexpected(leg.error()));
  auto dial = dial_string(to);
  if (!dial) return reject(done, std::unexpected(dial.error()));
  if (!pbx_.available())
    return reject(done, std::unexpected(fail_with(K::pbx_unavailable, "The phone system cannot be reached right now (the PBX link is down); try again in a moment.")));
  // Channel accounting: the external first leg and an external destination each take a trunk
  // channel; refused before anything is dialled.
  const std::uint32_t needed = (leg->mobile ? 1u : 0u) + (external_dial_string(*dial) ? 1u : 0u);
  if (auto full = trunk_full(needed, "This call"))
    return reject(done, std::unexpected(std::move(*full)));

  ports::MakeCallRequest r;
  r.from_device = leg->device;
  r.dial_string = *dial;
  r.request_id = next_request_id();
  if (leg->mobile) {
    // AnyDevice: the mobile rings first and shows the office number, then the destination.
    r.first_leg_dial_string = *leg->mobile;
    r.caller_id_number = options_.office_number ? options_.office_number(leg->device) : leg->device;
    r.caller_id_name = r.caller_id_number;
  } else {
    // The desk phone shows whom it is about to call.
    r.caller_id_number = options_.click_to_dial_caller_id.empty() ? *dial : options_.click_to_dial_caller_id;
    r.caller_id_name = r.caller_id_number;
  }
  std::string rid = r.request_id;
  if (finished) {
    r.on_outcome = [finished, rid](base::Result<std::string> call) {
      if (!call) return finished(std::unexpected(failure_from(call.error())));
      std::optional<std::string> id;
      if (!call->empty()) id = *call;
      finished(CommandAccepted{std::move(id), rid});
    };
  }
  pbx_.make_call(r, [done, rid](base::Status st) {
    if (!st) return done(std::unexpected(failure_from(st.error())));
    done(CommandAccepted{std::nullopt, rid});
  });
  return rid;
}

bool CallControlService::external_dial_string(std::string_view dial) const {
  if (dial.empty() || dial.front() == '*' || dial.front() == '#') return false;  // feature codes
  if (plan_) return !plan_->is_extension(dial);
  // No dialing plan: what the AMI tracker takes for internal (2-6 digits, not 0... or +...).
  if (dial.size() < 2 || dial.size() > 6 || dial.front() == '0' || dial.front() == '+') return true;
  return !std::all_of(dial.begin(), dial.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<CommandFailure> CallControlService::trunk_full(std::uint32_t needed, std::string_view what) {
  if (needed == 0 || options_.max_trunk_channels == 0 || !options_.trunk_channels_in_use) return std::nullopt;
  const std::uint32_t used = options_.trunk_channels_in_use();
  if (used + needed <= options_.max_trunk_channels) return std::nullopt;
  ++trunk_refusals_;
  const auto n = [](std::uint32_t v) { return std::to_string(v); };
  return fail_with(CommandFailure::Kind::no_trunk_capacity,
                   "All outside lines are busy: " + std::string(what) + " needs " + n(needed) + " trunk channel" +
                       (needed == 1 ? "" : "s") + ", " + n(used) + " of the " + n(options_.max_trunk_channels) +
                       " the company may use at once are in use. Try again when a call has ended.");
}

std::expected<CallControlService::FirstLeg, CommandFailure> CallControlService::first_leg(
    const CommandCaller& caller, std::optional<std::string> from, std::string_view verb) const {
  using K = CommandFailure::Kind;
  // The user's active device (AnyDevice): an extension they still own, or an external number.
  const std::optional<ActiveDevice> chosen = options_.active_device ? options_.active_device(caller.user) : std::nullopt;
  const bool chose_desk = chosen && chosen->number.empty() && caller.owns(chosen->name);
  const bool chose_external = chosen && !chosen->number.empty();
  FirstLeg leg;
  if (from) {
    if (!may_act_from(caller, *from))
      return std::unexpected(fail_with(K::forbidden, "Extension " + *from + " is not one of yours; " + std::string(verb) +
                                                         " from your own extension."));
    leg.device = *from;
  } else if (chose_desk) {
    leg.device = chosen->name;
  } else if (!caller.extensions.empty()) {
    leg.device = caller.extensions.front();
  } else {
    return std::unexpected(fail_with(K::forbidden, "You have no extension to " + std::string(verb) +
                                                       " from; ask an admin to give you one."));
  }
  std::optional<std::string> mobile;
  if (chose_external) {
    if (auto why = options_.device_refused ? options_.device_refused(chosen->number) : std::nullopt)
      return std::unexpected(fail_with(K::forbidden, "Your active device \"" + chosen->name +
                                                         "\" may not be used any more: " + *why + ". Choose another device."));
    mobile = chosen->number;
    leg.external = true;
    leg.external_name = chosen->name;
  } else if (!chose_desk && options_.any_device_number) {
    mobile = options_.any_device_number(leg.device);
  }
  if (mobile) {
    auto first = dial_string(*mobile);
    if (!first)
      return std::unexpected(fail_with(K::internal, "the AnyDevice number of " +
                                                        (chose_external ? "device " + chosen->name : "extension " + leg.device) +
                                                        " is not dialable: " + first.error().detail));
    leg.mobile = *first;
  }
  return leg;
}

const model::Call* CallControlService::other_call(const model::Call& call, std::string_view device) const {
  const model::Connection* self = connection_of(call, device);
  if (!self) return nullptr;
  bool want_held = active(self->state);
  bool want_active = self->state == ConnectionState::held;
  if (!want_held && !want_active) return nullptr;
  const model::Call* best = nullptr;
  for (const auto& [id, c] : model_.calls()) {
    if (id == call.id) continue;
    const model::Connection* o = connection_of(c, device);
    if (!o) continue;
    if ((want_held && o->state == ConnectionState::held) || (want_active && active(o->state))) {
      // The most recent one if several (deterministic regardless of hash order).
      if (!best || c.created_at > best->created_at || (c.created_at == best->created_at && c.id > best->id))
        best = &c;
    }
  }
  return best;
}

namespace {

// A connection's state as a person says it (the web client shows these details as they are):
// CSTA's "alerting" is "ringing", "initiated" is "dialing".
std::string_view plain(ConnectionState s) {
  switch (s) {
    case ConnectionState::null: return "ended";
    case ConnectionState::initiated: return "dialing";
    case ConnectionState::alerting: return "ringing";
    case ConnectionState::connected: return "connected";
    case ConnectionState::held: return "on hold";
    case ConnectionState::queued: return "waiting in a queue";
    case ConnectionState::failed: return "failed";
  }
  return "in another state";
}

}  // namespace

std::string CallControlService::why_not(const model::Call& call, std::string_view device, Action action) const {
  const model::Connection* conn = connection_of(call, device);
  std::string dev(device);
  if (!conn) return "Extension " + dev + " is not part of this call (call " + call.id + ").";
  model::DeviceCaps caps = model_.device_caps(device);
  const model::Call* other = other_call(call, device);
  // "... at 100 the call is ringing."
  const std::string is = "at " + dev + " the call is " + std::string(plain(conn->state)) + ".";
  switch (action) {
    case Action::answer:
      if (conn->state == ConnectionState::alerting && !caps.remote_answer)
        return "This phone cannot be answered from here: answering from the API needs a phone that accepts "
               "remote answer (device " + dev + " has remote_answer off). Pick up the handset.";
      return "Only a ringing call can be answered; " + is;
    case Action::hold:
      if (conn->state == ConnectionState::connected && !caps.remote_hold)
        return "This phone cannot be put on hold from here: hold from the API needs a phone that accepts remote "
               "hold (device " + dev + " has remote_hold off). Use the phone's hold key.";
      return "Only a connected call can be put on hold; " + is;
    case Action::retrieve:
      if (conn->state == ConnectionState::held && !caps.remote_hold)
        return "This phone cannot resume a call from here: retrieve from the API needs a phone that accepts "
               "remote hold (device " + dev + " has remote_hold off). Use the phone.";
      if (conn->state == ConnectionState::held)
        return "Another call of " + dev + " is active; switch between the two calls (alternate) instead.";
      return "Only a call on hold can be resumed; " + is;
    case Action::alternate:
      if (!other) return "Switching needs a call on hold and an active call at " + dev + "; there is only this one.";
      return "This phone cannot switch calls from here: it needs a phone that accepts remote hold (device " + dev +
             " has remote_hold off).";
    case Action::conference:
      return "A conference needs a call on hold and an active call at " + dev + "; " + is;
    case Action::transfer:
      return "Only a connected call (or a call on hold with a consultation call) can be transferred; " + is;
    case Action::consult:
      return "A consultation call needs a connected call; " + is;
    case Action::deflect:
      return "Only a ringing call can be sent elsewhere; " + is;
    case Action::hangup:
      return "This call cannot be hung up from here; " + is;
    case Action::park:
      return "Only a connected call with another party can be parked; " + is;
    case Action::pickup:  // not the device's own action: a colleague takes the call (pickup())
    case Action::dial:
      break;
  }
  return "Not possible now (" + std::string(model::to_string(action)) + "); " + is;
}

void CallControlService::execute(const CommandCaller& caller, CallCommand command, const std::string& call_id,
                                 std::optional<std::string> device, std::optional<std::string> to,
                                 CommandCallback done, CommandCallback finished) {
  using K = CommandFailure::Kind;
  if (command == CallCommand::pickup) return pickup(caller, call_id, std::move(device), line_scope(caller, {}), std::move(done));
  if (caller.tenant != options_.tenant)
    return done(std::unexpected(fail_with(K::not_found, "This call is over or not yours (no call " + call_id + ").")));
  if ((command == CallCommand::consult || command == CallCommand::deflect) && (!to || to->empty()))
    return done(std::unexpected(fail_with(K::bad_request, std::string(to_string(command)) + " needs \"to\"")));
  if (device && !may_act_from(caller, *device))
    return done(std::unexpected(fail_with(K::forbidden, "Extension " + *device + " is not one of yours.")));

  const model::Call* call = model_.find_call(call_id);
  // Invisible = nonexistent: a user learns nothing about other people's calls.
  if (!call || !may_act_on(caller, model_, *call)) return done(std::unexpected(fail_with(K::not_found, "This call is over or not yours (no call " + call_id + ").")));
  if (!pbx_.available()) return done(std::unexpected(fail_with(K::pbx_unavailable, "The phone system cannot be reached right now (the PBX link is down); try again in a moment.")));

  Action action = action_of(command);
  if (!device) {
    // The caller's device in this call that may do it; else the first one in the call (for the reason).
    for (const auto& d : caller.extensions) {
      if (!connection_of(*call, d)) continue;
      if (!device) device = d;
      if (model::has(model_.allowed_actions(*call, d), action)) {
        device = d;
        break;
      }
    }
  } else if (!connection_of(*call, *device)) {
    return done(std::unexpected(fail_with(K::not_found, "Extension " + *device + " is not part of this call (call " + call_id + ").")));
  }
  if (!model::has(model_.allowed_actions(*call, *device), action))
    return done(std::unexpected(fail_with(K::action_not_allowed, why_not(*call, *device, action))));

  std::optional<std::string> dial;
  if (to && !to->empty()) {
    auto d = dial_string(*to);
    if (!d) return done(std::unexpected(d.error()));
    dial = *d;
  }
  const model::Call* other = nullptr;
  bool needs_other = command == CallCommand::alternate || command == CallCommand::conference ||
                     (command == CallCommand::transfer && !dial);
  if (needs_other) {
    other = other_call(*call, *device);
    if (!other)
      return done(std::unexpected(fail_with(
          K::action_not_allowed, command == CallCommand::transfer
                                     ? "Completing a transfer needs a consultation call: " + *device +
                                           " has no other call on hold or active. Give a number to transfer to."
                                     : "This needs a call on hold and an active call at " + *device + "; there is only this one.")));
  }

  std::string id = call_id;
  auto finish = [done, id](base::Status st) {
    if (!st) return done(std::unexpected(failure_from(st.error())));
    done(CommandAccepted{id, std::nullopt});
  };
  const std::string& dev = *device;
  switch (command) {
    case CallCommand::answer: return pbx_.answer(id, dev, finish);
    case CallCommand::hangup: return pbx_.hangup(id, dev, finish);
    case CallCommand::hold: return pbx_.hold(id, dev, finish);
    case CallCommand::retrieve: return pbx_.retrieve(id, dev, finish);
    case CallCommand::consult: return pbx_.consult(id, dev, *dial, finish);
    case CallCommand::alternate: return pbx_.alternate(id, other->id, dev, finish);
    case CallCommand::transfer:
      if (dial) return pbx_.transfer(id, dev, *dial, finish);
      return pbx_.complete_transfer(id, other->id, dev, finish);
    case CallCommand::conference: return pbx_.conference(id, other->id, dev, finish);
    case CallCommand::deflect: return pbx_.redirect(id, dev, *dial, finish);
    case CallCommand::park: {
      ports::PbxCommands::ParkOutcome outcome;
      if (finished) {
        outcome = [finished, id](base::Result<std::string> space) {
          if (!space) return finished(std::unexpected(failure_from(space.error())));
          finished(CommandAccepted{id, std::nullopt, *space});
        };
      }
      return pbx_.park(id, dev, options_.parking_lot, finish, std::move(outcome));
    }
    case CallCommand::pickup: break;  // handled above
  }
}

void CallControlService::move_call(const CommandCaller& caller, const std::string& call_id, const MoveTarget& target,
                                   CommandCallback done, CommandCallback finished) {
  using K = CommandFailure::Kind;
  const auto gone = [&] {
    done(std::unexpected(fail_with(K::not_found, "This call is over or not yours (no call " + call_id + ").")));
  };
  if (caller.tenant != options_.tenant) return gone();
  const model::Call* call = model_.find_call(call_id);
  if (!call || !may_act_on(caller, model_, *call)) return gone();
  // The caller's own connection in the call (a supervisor may see others' calls, but moves only
  // their own).
  const model::Connection* conn = nullptr;
  for (const auto& d : caller.extensions)
    if (const model::Connection* c = connection_of(*call, d); c && (!conn || c->state == ConnectionState::connected))
      conn = c;
  if (!conn) return gone();
  const std::string& ext = conn->device;
  if (conn->state != ConnectionState::connected)
    return done(std::unexpected(fail_with(
        K::action_not_allowed, "Only a connected call can be moved to another device; at " + ext + " the call is " +
                                   std::string(plain(conn->state)) + ".")));
  const bool external = !target.number.empty();
  if (!external && target.name != ext) {
    return done(std::unexpected(fail_with(
        K::action_not_allowed, "The call is on extension " + ext + "; a call moves between the devices of that line "
                               "(its desk phone and your external devices). To hand it to " + target.name +
                               ", transfer it.")));
  }
  if (external) {
    if (auto why = options_.device_refused ? options_.device_refused(target.number) : std::nullopt)
      return done(std::unexpected(fail_with(K::forbidden, "Device \"" + target.name + "\" may not be used: " + *why +
                                                              ". Choose another device.")));
  }
  if (!pbx_.available())
    return done(std::unexpected(fail_with(K::pbx_unavailable, "The phone system cannot be reached right now (the PBX link is down); try again in a moment.")));
  // The new device rings while the old one still talks: an external one takes a trunk channel
  // more until the old one (if external) hangs up.
  if (auto full = trunk_full(external ? 1u : 0u, "Moving the call to device " + target.name))
    return done(std::unexpected(std::move(*full)));
  ports::MoveCallRequest r;
  r.call_id = call_id;
  r.device = ext;
  if (external) {
    auto dial = dial_string(target.number);
    if (!dial)
      return done(std::unexpected(fail_with(K::internal, "the number of device " + target.name + " is not dialable: " +
                                                             dial.error().detail)));
    r.external_dial_string = *dial;
    r.external_number = target.number;
    // Like make call's first leg: the mobile shows the office number.
    r.caller_id_number = options_.office_number ? options_.office_number(ext) : ext;
  } else {
    r.caller_id_number = conn->remote.value_or("");  // the desk phone shows whom it takes over
  }
  const std::string phone = external ? "device " + target.name : "desk phone " + ext;
  if (external) {
    std::erase_if(moved_devices_, [&](const ActiveDevice& d) { return d.number == target.number; });
    if (moved_devices_.size() >= kMaxMovedDevices) moved_devices_.erase(moved_devices_.begin());
    moved_devices_.push_back(ActiveDevice{target.name, target.number, target.private_device});
  }
  if (finished) {
    r.on_outcome = [finished, call_id, phone](base::Status st) {
      if (st) return finished(CommandAccepted{call_id, std::nullopt});
      const base::Error& e = st.error();
      if (e.code() == base::Errc::conflict)
        return finished(std::unexpected(fail_with(
            K::conflict, "Your " + phone + " did not take the call, so it stays where it was (" + e.message() + ").")));
      if (e.code() == base::Errc::not_found)
        return finished(std::unexpected(fail_with(
            K::not_found, "The call ended before your " + phone + " answered (" + e.message() + ").")));
      finished(std::unexpected(failure_from(e)));
    };
  }
  pbx_.move_call(r, [done, call_id](base::Status st) {
    if (!st) return done(std::unexpected(failure_from(st.error())));
    done(CommandAccepted{call_id, std::nullopt});
  });
}

std::optional<ActiveDevice> CallControlService::moved_device(std::string_view e164) const {
  for (auto it = moved_devices_.rbegin(); it != moved_devices_.rend(); ++it)
    if (it->number == e164) return *it;
  return std::nullopt;
}

std::string CallControlService::unpark(const CommandCaller& caller, const std::string& space,
                                       std::optional<std::string> lot, std::optional<std::string> device,
                                       CommandCallback done, CommandCallback finished) {
  using K = CommandFailure::Kind;
  const std::string in_lot = lot.value_or(options_.parking_lot);
  const std::string where = space + (lot ? " (lot " + in_lot + ")" : std::string());
  const model::ParkedCall* parked =
      caller.tenant == options_.tenant && parking_ ? parking_->find(in_lot, space) : nullptr;
  // Another tenant's lot is answered like an empty space: its parked calls are not this caller's business.
  if (!parked) {
    done(std::unexpected(fail_with(K::not_found, "Nothing is parked at " + where +
                                                     " any more: it was picked up, timed out or the caller hung up.")));
    return {};
  }
  auto leg = first_leg(caller, std::move(device), "pick up a parked call");
  if (!leg) {
    done(std::unexpected(leg.error()));
    return {};
  }
  if (!pbx_.available()) {
    done(std::unexpected(fail_with(K::pbx_unavailable, "The phone system cannot be reached right now (the PBX link is down); try again in a moment.")));
    return {};
  }
  if (auto full = trunk_full(leg->mobile ? 1u : 0u, "Picking the call up on your external device")) {
    done(std::unexpected(std::move(*full)));
    return {};
  }
  ports::UnparkRequest r;
  r.from_device = leg->device;
  r.first_leg_dial_string = leg->mobile;
  r.lot = in_lot;
  r.space = space;
  r.caller_id = parked->number;
  std::optional<std::string> call_id;
  if (!parked->linkedid.empty()) call_id = parked->linkedid;
  const std::string phone = leg->external ? "device " + leg->external_name : leg->mobile ? *leg->mobile : leg->device;
  ports::PbxCommands::PickupOutcome outcome;
  if (finished) {
    outcome = [finished, call_id, where, phone](base::Status st) {
      if (st) return finished(CommandAccepted{call_id, std::nullopt});
      const base::Error& e = st.error();
      if (e.code() == base::Errc::not_found)
        return finished(std::unexpected(fail_with(
            K::not_found, "Nothing was parked at " + where + " any more when your phone (" + phone +
                              ") answered: someone else picked it up, or the caller hung up.")));
      if (e.code() == base::Errc::conflict)
        return finished(std::unexpected(fail_with(
            K::conflict, "Your phone (" + phone + ") did not take the call, so it stays parked at " + where + " (" +
                             e.message() + ").")));
      finished(std::unexpected(failure_from(e)));
    };
  }
  pbx_.unpark(r, [done, call_id](base::Status st) {
    if (!st) return done(std::unexpected(failure_from(st.error())));
    done(CommandAccepted{call_id, std::nullopt});
  }, std::move(outcome));
  return call_id.value_or("");
}

void CallControlService::pickup(const CommandCaller& caller, const std::string& call_id,
                                std::optional<std::string> device, const LineScope& scope, CommandCallback done,
                                CommandCallback finished) {
  using K = CommandFailure::Kind;
  const auto not_found = [&] {
    done(std::unexpected(fail_with(K::not_found, "This call is over or not visible to you (no call " + call_id + ").")));
  };
  if (caller.tenant != options_.tenant) return not_found();
  if (device) {
    if (!may_act_from(caller, *device))
      return done(std::unexpected(fail_with(K::forbidden, "Extension " + *device + " is not one of yours; pick up with your own extension.")));
  } else if (!caller.extensions.empty()) {
    device = caller.extensions.front();
  } else {
    return done(std::unexpected(fail_with(K::forbidden, "You have no extension to pick up a call with; ask an admin to give you one.")));
  }
  const model::Call* call = model_.find_call(call_id);
  if (!call) return not_found();
  // The colleague's line where it rings, among the lines the caller may see. Invisible = nonexistent.
  const model::Connection* ringing = nullptr;
  const model::Connection* seen = nullptr;
  for (const auto& c : call->connections) {
    if (!scope.whole_tenant() && !scope.sees(c.device)) continue;
    if (!seen) seen = &c;
    if (c.state == ConnectionState::alerting && c.device != *device && !ringing) ringing = &c;
  }
  if (!seen) return not_found();
  if (const model::Connection* own = connection_of(*call, *device)) {
    if (own->state == ConnectionState::alerting)
      return done(std::unexpected(fail_with(K::action_not_allowed, "This call rings at your own extension " + *device + "; answer it instead.")));
    return done(std::unexpected(fail_with(K::action_not_allowed, "Extension " + *device + " is already in this call (it is " +
                                                                     std::string(plain(own->state)) + " there).")));
  }
  if (!ringing)
    return done(std::unexpected(fail_with(K::action_not_allowed, "This call is no longer ringing, so it cannot be picked up: at " +
                                                                     seen->device + " it is " + std::string(plain(seen->state)) + ".")));
  if (!pbx_.available()) return done(std::unexpected(fail_with(K::pbx_unavailable, "The phone system cannot be reached right now (the PBX link is down); try again in a moment.")));
  std::string id = call_id;
  ports::PbxCommands::PickupOutcome outcome;
  if (finished) {
    outcome = [finished, id, at = ringing->device, picker = *device](base::Status st) {
      if (st) return finished(CommandAccepted{id, std::nullopt});
      const base::Error& e = st.error();
      if (e.code() == base::Errc::not_found)
        return finished(std::unexpected(fail_with(
            K::not_found, "Nothing to pick up: the call stopped ringing at " + at + " before your phone (" + picker +
                              ") answered; it was answered there or ended.")));
      if (e.code() == base::Errc::conflict)
        return finished(std::unexpected(fail_with(
            K::conflict, "Your phone (" + picker + ") did not take the call, so nothing was picked up (" + e.message() + ").")));
      finished(std::unexpected(failure_from(e)));
    };
  }
  pbx_.pickup(id, ringing->device, *device, ringing->remote.value_or(""), [done, id](base::Status st) {
    if (!st) return done(std::unexpected(failure_from(st.error())));
    done(CommandAccepted{id, std::nullopt});
  }, std::move(outcome));
}

std::string CallControlService::pickup_line(const CommandCaller& caller, const std::string& ringing_device,
                                            std::optional<std::string> device, const LineScope& scope,
                                            CommandCallback done, CommandCallback finished) {
  using K = CommandFailure::Kind;
  const model::Call* best = nullptr;
  if (caller.tenant == options_.tenant && (scope.whole_tenant() || scope.sees(ringing_device))) {
    for (const auto& [id, c] : model_.calls()) {
      const model::Connection* conn = connection_of(c, ringing_device);
      if (!conn || conn->state != ConnectionState::alerting) continue;
      // The one ringing longest (deterministic regardless of hash order).
      if (!best || conn->since < connection_of(*best, ringing_device)->since ||
          (conn->since == connection_of(*best, ringing_device)->since && c.id < best->id))
        best = &c;
    }
  }
  if (!best) {
    done(std::unexpected(fail_with(K::not_found, "No call is ringing at " + ringing_device +
                                                     " that you could pick up (it may have been answered or ended).")));
    return {};
  }
  std::string id = best->id;
  pickup(caller, id, std::move(device), scope, std::move(done), std::move(finished));
  return id;
}

}  // namespace callbridge::core
