#include "drivers/ami/ami_commands.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <utility>

#include <spdlog/spdlog.h>

#include "base/device_name.hpp"
#include "drivers/ami/ami_features.hpp"
#include "drivers/ami/ami_link.hpp"
#include "drivers/ami/ami_parking_tracker.hpp"

namespace callbridge::drivers::ami {

using base::Error;
using base::fail;

namespace {

std::string str(std::string_view v) { return std::string(v); }

// AMI "Response: Error" becomes conflict with Asterisk's message ("No such channel", ...).
base::Status to_status(const base::Result<AmiResponse>& r, std::string_view action) {
  if (!r) return fail(r.error());
  if (!r->success()) {
    std::string why(r->message());
    if (why.empty()) why = "refused";
    return fail(Error::conflict(std::string(action) + ": " + why));
  }
  return {};
}

}  // namespace

AmiAction originate_action(const AmiCommandsOptions& o, const ports::MakeCallRequest& r) {
  AmiAction a("Originate");
  if (r.first_leg_dial_string) {
    const std::string& ctx = o.first_leg_context.empty() ? o.context : o.first_leg_context;
    a.set("Channel", "Local/" + *r.first_leg_dial_string + "@" + ctx);
  } else {
    a.set("Channel", o.tech + "/" + r.from_device);
  }
  a.set("Context", o.context);
  a.set("Exten", r.dial_string);
  a.set("Priority", "1");
  // CallerID "name" <number>: what the first leg shows while it rings.
  std::string name = r.caller_id_name.empty() ? r.caller_id_number : r.caller_id_name;
  std::string quoted;
  for (char c : name) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  a.set("CallerID", "\"" + quoted + "\" <" + r.caller_id_number + ">");
  a.set("Timeout", std::to_string(o.originate_timeout.count()));
  a.set("Async", "true");  // answer at once; OriginateResponse (same ActionID) reports the outcome
  a.set("Variable", "CTI_REQUEST=" + r.request_id);
  // AnyDevice: the call tracker ties the Local pair and the external device's channel to the
  // user's extension through this variable (VarSet on both Local halves; docs/call-control.md).
  if (r.first_leg_dial_string) a.set("Variable", std::string(kAnyDevicePartyVariable) + "=" + r.from_device);
  return a;
}

AmiAction hangup_action(std::string_view channel) {
  AmiAction a("Hangup");
  a.set("Channel", str(channel));
  a.set("Cause", "16");
  return a;
}

AmiAction blind_transfer_action(std::string_view channel, std::string_view exten, std::string_view context) {
  AmiAction a("BlindTransfer");
  a.set("Channel", str(channel));
  a.set("Exten", str(exten));
  a.set("Context", str(context));
  return a;
}

AmiAction atxfer_action(std::string_view channel, std::string_view exten, std::string_view context) {
  AmiAction a("Atxfer");
  a.set("Channel", str(channel));
  a.set("Exten", str(exten));
  a.set("Context", str(context));
  return a;
}

AmiAction notify_action(std::string_view endpoint, std::string_view event) {
  // Out of dialog to the endpoint's contacts: what Yealink/Snom expect for "Event: talk/hold".
  AmiAction a("PJSIPNotify");
  a.set("Endpoint", str(endpoint));
  a.set("Variable", "Event=" + str(event));
  return a;
}

AmiAction redirect_action(std::string_view channel, std::optional<std::string_view> extra_channel,
                          std::string_view context, std::string_view exten) {
  AmiAction a("Redirect");
  a.set("Channel", str(channel));
  if (extra_channel) {
    a.set("ExtraChannel", str(*extra_channel));
    a.set("ExtraContext", str(context));
    a.set("ExtraExten", str(exten));
    a.set("ExtraPriority", "1");
  }
  a.set("Context", str(context));
  a.set("Exten", str(exten));
  a.set("Priority", "1");
  return a;
}

AmiAction play_dtmf_action(std::string_view channel, char digit) {
  AmiAction a("PlayDTMF");
  a.set("Channel", str(channel));
  a.set("Digit", std::string(1, digit));
  a.set("Duration", "100");
  a.set("Receive", "yes");
  return a;
}

AmiAction setvar_action(std::string_view channel, std::string_view variable, std::string_view value) {
  AmiAction a("Setvar");
  a.set("Channel", str(channel));
  a.set("Variable", str(variable));
  a.set("Value", str(value));
  return a;
}

AmiAction pbx_hold_action(std::string_view device_channel, std::string_view remote_channel) {
  AmiAction a("Redirect");
  a.set("Channel", str(device_channel));
  a.set("Context", str(kHoldContext));
  a.set("Exten", str(kHoldDeviceExten));
  a.set("Priority", "1");
  a.set("ExtraChannel", str(remote_channel));
  a.set("ExtraContext", str(kHoldContext));
  a.set("ExtraExten", str(kHoldRemoteExten));
  a.set("ExtraPriority", "1");
  return a;
}

AmiAction bridge_action(std::string_view channel1, std::string_view channel2) {
  AmiAction a("Bridge");
  a.set("Channel1", str(channel1));
  a.set("Channel2", str(channel2));
  a.set("Tone", "no");
  return a;
}

AmiAction pickup_action(const AmiCommandsOptions& o, std::string_view picker_device, std::string_view ringing_channel,
                        std::string_view caller_id) {
  AmiAction a("Originate");
  a.set("Channel", o.tech + "/" + str(picker_device));
  a.set("Application", "PickupChan");
  a.set("Data", str(ringing_channel));
  if (!caller_id.empty()) a.set("CallerID", "\"" + str(caller_id) + "\" <" + str(caller_id) + ">");
  a.set("Timeout", std::to_string(o.originate_timeout.count()));
  a.set("Async", "true");
  return a;
}

AmiAction move_action(const AmiCommandsOptions& o, const ports::MoveCallRequest& r, std::string_view remote_channel) {
  AmiAction a("Originate");
  if (r.external_dial_string) {
    const std::string& ctx = o.first_leg_context.empty() ? o.context : o.first_leg_context;
    a.set("Channel", "Local/" + *r.external_dial_string + "@" + ctx);
  } else {
    a.set("Channel", o.tech + "/" + r.device);
  }
  a.set("Application", "Bridge");
  a.set("Data", str(remote_channel));
  if (!r.caller_id_number.empty()) a.set("CallerID", "\"" + r.caller_id_number + "\" <" + r.caller_id_number + ">");
  a.set("Timeout", std::to_string(o.originate_timeout.count()));
  a.set("Async", "true");
  a.set("Variable", std::string(kMoveCallVariable) + "=" + r.call_id);
  if (r.external_dial_string) {
    a.set("Variable", std::string(kAnyDevicePartyVariable) + "=" + r.device);
    a.set("Variable", std::string(kMoveDeviceVariable) + "=" + r.external_number);
  }
  return a;
}

std::string endpoint_of(std::string_view channel, std::string_view tech) {
  if (channel.size() <= tech.size() + 1 || channel.substr(0, tech.size()) != tech ||
      channel[tech.size()] != '/')
    return {};
  auto rest = channel.substr(tech.size() + 1);
  auto dash = rest.rfind('-');
  return std::string(dash == std::string_view::npos ? rest : rest.substr(0, dash));
}

AmiCommands::AmiCommands(AmiCommandsOptions options, const AmiCallTracker& tracker, SubmitFn submit,
                         std::function<bool()> is_up)
    : options_(std::move(options)), tracker_(tracker), submit_(std::move(submit)), is_up_(std::move(is_up)) {}

std::unique_ptr<AmiCommands> AmiCommands::over_link(AmiCommandsOptions options, const AmiCallTracker& tracker,
                                                    AmiLink& link) {
  return std::make_unique<AmiCommands>(
      std::move(options), tracker,
      [&link](AmiAction a, ActionCallback cb, std::optional<std::chrono::milliseconds> timeout) {
        return link.submit(std::move(a), std::move(cb), timeout);
      },
      [&link] { return link.state() == AmiLinkState::up; });
}

std::string AmiCommands::next_action_id(std::string_view prefix) {
  char num[32];
  std::snprintf(num, sizeof num, "%04llu", static_cast<unsigned long long>(++seq_));
  return std::string(prefix) + "-" + num;
}

void AmiCommands::send(AmiAction a, std::string_view prefix, ports::CommandDone done) {
  if (!is_up_()) return done(fail(Error::unavailable("the AMI link is down")));
  if (a.action_id.empty()) a.action_id = next_action_id(prefix);
  std::string name = a.name;
  auto id = submit_(std::move(a),
                    [done, name](base::Result<AmiResponse> r) { done(to_status(r, name)); },
                    options_.action_timeout);
  if (!id) done(fail(id.error()));  // the callback never runs when submit refuses
}

std::optional<AmiCallTracker::CallChannels> AmiCommands::locate(const std::string& call_id,
                                                                const std::string& device,
                                                                ports::CommandDone& done) {
  auto ch = tracker_.call_channels(call_id, device);
  if (!ch) done(fail(Error::not_found("device " + device + " has no live channel in call " + call_id)));
  return ch;
}

void AmiCommands::make_call(const ports::MakeCallRequest& r, ports::CommandDone done) {
  // Channel: <tech>/<device>: a name with '/' or '.' would pick another technology or resource.
  if (!r.first_leg_dial_string && !base::is_device_name(r.from_device))
    return done(fail(Error::invalid_argument("'" + r.from_device.substr(0, 40) + "' is not a device name")));
  AmiAction a = originate_action(options_, r);
  a.action_id = r.request_id;  // OriginateResponse carries it back
  if (r.on_outcome && !r.request_id.empty()) done = expect_originate_response(r.request_id, r.on_outcome, std::move(done));
  send(std::move(a), "c2d", std::move(done));
}

ports::CommandDone AmiCommands::expect_originate_response(const std::string& action_id, OutcomeFn fn,
                                                          ports::CommandDone done) {
  // Registered before sending: OriginateResponse may overtake the action's Response.
  while (originates_.size() >= kMaxPendingOriginates && !originate_order_.empty()) {
    auto old = originate_order_.front();
    originate_order_.pop_front();
    if (auto it = originates_.find(old); it != originates_.end()) {
      auto f = std::move(it->second);
      originates_.erase(it);
      f(fail(Error::timeout("no OriginateResponse (too many originates waiting)")));
    }
  }
  originates_[action_id] = std::move(fn);
  originate_order_.push_back(action_id);
  return [self = this, action_id, done = std::move(done)](base::Status st) {
    if (!st) self->originates_.erase(action_id);  // refused at once: no OriginateResponse follows
    done(st);
  };
}

std::string originate_failure_reason(std::string_view code, std::string_view channel) {
  // main/manager.c reports the AST_CONTROL_* value the first leg ended with (0: no channel).
  std::string what;
  if (code == "0") what = "the call could not be set up (unknown, unregistered or unreachable device)";
  else if (code == "1") what = "the first leg hung up";
  else if (code == "3") what = "no answer (the phone rang until the originate timeout)";
  else if (code == "5") what = "busy";
  else if (code == "8") what = "congestion";
  else what = "the first leg failed";
  std::string out = "Originate failed: " + what;
  if (!channel.empty()) out += " on " + std::string(channel);
  out += " (OriginateResponse Reason " + std::string(code.empty() ? "?" : code) + ")";
  return out;
}

void AmiCommands::on_ami_message(const AmiMessage& m) {
  const auto ev = m.event();
  if (!moving_.empty() && (ev == "BridgeEnter" || ev == "Hangup")) {
    // A move's new channel (the Originate's: the desk phone's, or the mobile's Local ";1"): in
    // the remote's bridge = moved; hung up before = the Bridge application found no remote.
    std::string uid(m.get("Uniqueid"));
    if (auto it = moves_.find(uid); it != moves_.end()) {
      std::string call = std::move(it->second);
      moves_.erase(it);
      if (ev == "BridgeEnter") return finish_move(call, {});
      return finish_move(call, fail(Error::not_found("the call's other party was gone when the new device answered")));
    }
    if (ev == "BridgeEnter" && moves_.size() < moving_.size()) {
      recent_bridged_.push_back(std::move(uid));
      if (recent_bridged_.size() > 64) recent_bridged_.pop_front();
    }
  }
  if (ev == "Pickup" && !originates_.empty()) {
    recent_pickups_.emplace_back(std::string(m.get("Uniqueid")), std::string(m.get("TargetUniqueid")));
    if (recent_pickups_.size() > 64) recent_pickups_.pop_front();
  }
  if (ev == "UnParkedCall" && !originates_.empty()) {
    recent_unparks_.emplace_back(m.get("RetrieverUniqueid"));
    if (recent_unparks_.size() > 64) recent_unparks_.pop_front();
  }
  if (ev == "ParkedCall" && m.action_id().empty() && !parks_.empty()) {
    // res_parking names the space once the channel is in it (after "Park successful").
    if (auto it = parks_.find(std::string(m.get("ParkeeChannel"))); it != parks_.end()) {
      auto fn = std::move(it->second);
      parks_.erase(it);
      return fn(std::string(m.get("ParkingSpace")));
    }
  }
  if (!pickups_.empty() && ev == "UnParkedCall") {
    auto it = pickups_.find(std::string(m.get("RetrieverUniqueid")));
    if (it != pickups_.end() && it->second.unpark) {
      auto p = std::move(it->second);
      pickups_.erase(it);
      return p.outcome({});
    }
  }
  if (!pickups_.empty() && (ev == "Pickup" || ev == "Hangup")) {
    // The picker's channel (Uniqueid of its OriginateResponse): app_directed_pickup raises Pickup
    // when it took the ringing channel (live_pickup_via_api); when PickupChan finds no ringing
    // channel it returns and the channel hangs up without one, Cause 0 (live_pickup_too_late).
    // An OriginateResponse that came after PickupChan took the call names the taken channel, so
    // a pickup may be waiting under the Pickup's TargetUniqueid (live_pickup_via_line in CI:
    // OriginateResponse of 101's channel, then Pickup by 102, then 101's Hangup, Cause 26).
    auto it = pickups_.find(std::string(m.get("Uniqueid")));
    if (it == pickups_.end() && ev == "Pickup") it = pickups_.find(std::string(m.get("TargetUniqueid")));
    if (it == pickups_.end() || (ev == "Pickup" && it->second.unpark)) return;
    auto p = std::move(it->second);
    pickups_.erase(it);
    if (p.unpark)  // ParkedCall() found the space empty: it played pbx-invalidpark and hung up
      return p.outcome(fail(Error::not_found("ParkedCall found nothing at " + p.target + " when " + p.picker +
                                             " answered")));
    if (ev == "Pickup") return p.outcome({});
    return p.outcome(fail(Error::not_found("PickupChan found nothing to pick up: " + p.target +
                                           " no longer rang when " + p.picker + " answered")));
  }
  if (ev != "OriginateResponse" || originates_.empty()) return;
  auto it = originates_.find(std::string(m.action_id()));
  if (it == originates_.end()) return;
  auto fn = std::move(it->second);
  originates_.erase(it);
  std::erase(originate_order_, std::string(m.action_id()));
  if (m.get("Response") == "Success") {
    std::string uid(m.get("Uniqueid"));
    if (uid == "<null>") uid.clear();
    return fn(uid);
  }
  fn(fail(Error::conflict(originate_failure_reason(m.get("Reason"), m.get("Channel")))));
}

void AmiCommands::on_session_end() {
  auto waiting = std::move(originates_);
  originates_.clear();
  originate_order_.clear();
  for (auto& [id, fn] : waiting)
    fn(fail(Error::unavailable("the AMI session ended before the OriginateResponse of " + id)));
  auto picking = std::move(pickups_);
  pickups_.clear();
  for (auto& [uid, p] : picking)
    p.outcome(fail(Error::unavailable("the AMI session ended before the pickup of " + p.target + " was done")));
  moves_.clear();
  recent_bridged_.clear();
  auto moving = std::move(moving_);
  moving_.clear();
  for (auto& [call, fn] : moving)
    if (fn) fn(fail(Error::unavailable("the AMI session ended before the move of call " + call + " was done")));
  auto parking = std::move(parks_);
  parks_.clear();
  for (auto& [ch, fn] : parking) fn(fail(Error::unavailable("the AMI session ended before the PBX reported the park of " + ch)));
}

void AmiCommands::hangup(const std::string& call_id, const std::string& device, ports::CommandDone done) {
  auto ch = locate(call_id, device, done);
  if (!ch) return;
  // An Atxfer consultation: one channel of the device carries the held call and the consultation,
  // and hanging it up completes the transfer (atxferdropcall=no). Hanging up one of the two calls
  // ends its other side instead: the consultation's target (Asterisk's attended transfer then
  // returns the transferer to the held party: Cancel of a consultation) or the held party.
  if (ch->shared && ch->remote) return send(hangup_action(ch->remote->name), "hangup", std::move(done));
  send(hangup_action(ch->party.name), "hangup", std::move(done));
}

std::string AmiCommands::phone_event(const std::string& device, std::string PhoneNotifyEvents::*which,
                                     std::string_view what, ports::CommandDone& done) {
  PhoneNotifyEvents ev = options_.phone ? options_.phone(device) : PhoneNotifyEvents{};
  std::string event = ev.*which;
  if (event.empty())
    done(fail(Error::conflict("the phone of device " + device + " does not support remote " + std::string(what))));
  return event;
}

void AmiCommands::notify(const std::string& call_id, const std::string& device,
                         std::string PhoneNotifyEvents::*which, std::string_view what, ports::CommandDone done) {
  std::string event = phone_event(device, which, what, done);
  if (event.empty()) return;
  auto ch = locate(call_id, device, done);
  if (!ch) return;
  notify_on(*ch, device, event, what, std::move(done));
}

void AmiCommands::notify_on(const AmiCallTracker::CallChannels& ch, const std::string& device,
                            const std::string& event, std::string_view what, ports::CommandDone done) {
  std::string endpoint = endpoint_of(ch.party.name, "PJSIP");
  if (endpoint.empty())
    return done(fail(Error::conflict("remote " + std::string(what) + " needs a PJSIP phone, device " +
                                     device + " is on " + ch.party.name)));
  send(notify_action(endpoint, event), "notify", std::move(done));
}

void AmiCommands::answer(const std::string& call_id, const std::string& device, ports::CommandDone done) {
  notify(call_id, device, &PhoneNotifyEvents::answer, "answer", std::move(done));
}
void AmiCommands::hold(const std::string& call_id, const std::string& device, ports::CommandDone done) {
  auto ch = locate(call_id, device, done);
  if (!ch) return;
  if (ch->party.trunk) return pbx_hold(*ch, call_id, device, std::move(done));
  std::string event = phone_event(device, &PhoneNotifyEvents::hold, "hold", done);
  if (!event.empty()) notify_on(*ch, device, event, "hold", std::move(done));
}
void AmiCommands::retrieve(const std::string& call_id, const std::string& device, ports::CommandDone done) {
  auto ch = locate(call_id, device, done);
  if (!ch) return;
  if (ch->party.trunk) return pbx_retrieve(*ch, call_id, device, std::move(done));
  std::string event = phone_event(device, &PhoneNotifyEvents::retrieve, "retrieve", done);
  if (!event.empty()) notify_on(*ch, device, event, "retrieve", std::move(done));
}

// A call on the user's external device (AnyDevice) is held by the PBX (docs/call-control.md "Hold
// on an external device"): each channel is told the other's name (its hangup handler hangs that
// one up should it hang up while held), then both go to [callbridge-hold] at once: music on hold
// for both. Done when Asterisk accepted the Redirect.
void AmiCommands::pbx_hold(const AmiCallTracker::CallChannels& ch, const std::string& call_id,
                           const std::string& device, ports::CommandDone done) {
  if (!tracker_.pbx_hold())
    return done(fail(Error::conflict("call " + call_id + " is on an external device of " + device +
                                     ": holding it needs callbridge's dialplan version " +
                                     std::to_string(kHoldDialplanVersion) +
                                     " on the PBX ([callbridge-hold], docs/dialplan.md)")));
  if (!ch.remote || ch.shared)
    return done(fail(Error::conflict("call " + call_id + " has no single remote party to hold")));
  auto self = this;
  const std::string dev = ch.party.name, remote = ch.remote->name;
  send(setvar_action(dev, kHoldPeerVariable, remote), "hold", [self, dev, remote, done](base::Status st) mutable {
    if (!st) return done(st);
    self->send(setvar_action(remote, kHoldPeerVariable, dev), "hold", [self, dev, remote, done](base::Status st2) mutable {
      if (!st2) return done(st2);
      self->send(pbx_hold_action(dev, remote), "hold", std::move(done));
    });
  });
}

// Resumes a PBX hold: AMI Bridge of the two channels, then neither names the other any more (a
// later transfer or hangup of one must not end the other).
void AmiCommands::pbx_retrieve(const AmiCallTracker::CallChannels& ch, const std::string& call_id,
                               const std::string& device, ports::CommandDone done) {
  if (!ch.remote)
    return done(fail(Error::conflict("call " + call_id + " of " + device + " has no remote party to resume")));
  auto self = this;
  const std::string dev = ch.party.name, remote = ch.remote->name;
  send(bridge_action(dev, remote), "retrieve", [self, dev, remote, done](base::Status st) {
    if (st) {
      for (const std::string& c : {dev, remote})
        self->send(setvar_action(c, kHoldPeerVariable, ""), "retrieve", [c](base::Status s) {
          if (!s) spdlog::warn("AMI: clearing {} on {} after a retrieve: {}", kHoldPeerVariable, c, s.error().message());
        });
    }
    done(st);
  });
}

void AmiCommands::alternate(const std::string& call_id, const std::string& other_call_id,
                            const std::string& device, ports::CommandDone done) {
  auto a = locate(call_id, device, done);
  if (!a) return;
  auto b = locate(other_call_id, device, done);
  if (!b) return;
  // A consultation callbridge started (Atxfer): one channel carries both calls; Asterisk's
  // attended transfer swaps them (atxferswap), whatever the device: a mobile, or a desk phone.
  if (a->party.uniqueid == b->party.uniqueid)
    return key_feature(a->party.name, options_.atxfer_swap, "alternate", std::move(done));
  if (a->party.trunk)
    return done(fail(Error::conflict("calls " + call_id + " and " + other_call_id + " are on an external device of " +
                                     device + ": switching between them works within a consultation only")));
  // The phone holds its active call, then resumes the held one ("hold", then "talk" on
  // Yealink/Snom). Done after the second NOTIFY was accepted.
  auto self = this;
  notify(call_id, device, &PhoneNotifyEvents::hold, "hold",
         [self, other_call_id, device, done](base::Status st) mutable {
           if (!st) return done(st);
           self->notify(other_call_id, device, &PhoneNotifyEvents::retrieve, "retrieve", std::move(done));
         });
}

// Feature digits as if received from the channel's phone: one PlayDTMF each, in order, the next
// after Asterisk accepted the previous one. Done when the last was accepted.
void AmiCommands::key_feature(const std::string& channel, const std::string& digits, std::string_view what,
                              ports::CommandDone done) {
  if (digits.empty()) return done(fail(Error::conflict(std::string(what) + " within a consultation is not configured")));
  auto self = this;
  std::string rest = digits.substr(1);
  send(play_dtmf_action(channel, digits.front()), "dtmf",
       [self, channel, rest, what = std::string(what), done](base::Status st) mutable {
         if (!st || rest.empty()) return done(st);
         self->key_feature(channel, rest, what, std::move(done));
       });
}

void AmiCommands::consult(const std::string& call_id, const std::string& device, const std::string& dial_string,
                          ports::CommandDone done) {
  // Asterisk's attended transfer feature: holds the remote (MOH) and dials for the device;
  // hanging up the device completes it (atxferdropcall=no), see attended_transfer/scenario.md.
  auto ch = locate(call_id, device, done);
  if (!ch) return;
  send(atxfer_action(ch->party.name, dial_string, options_.context), "atxfer", std::move(done));
}

void AmiCommands::transfer(const std::string& call_id, const std::string& device, const std::string& dial_string,
                           ports::CommandDone done) {
  auto ch = locate(call_id, device, done);
  if (!ch) return;
  send(blind_transfer_action(ch->party.name, dial_string, options_.context), "bxfer", std::move(done));
}

void AmiCommands::complete_transfer(const std::string& call_id, const std::string& other_call_id,
                                    const std::string& device, ports::CommandDone done) {
  auto a = locate(call_id, device, done);
  if (!a) return;
  auto b = locate(other_call_id, device, done);
  if (!b) return;
  if (a->party.uniqueid == b->party.uniqueid) {
    // One channel carries both calls: an Atxfer consultation. The transferer leaving completes it.
    return send(hangup_action(a->party.name), "hangup", std::move(done));
  }
  // Two calls on the phone (one held by the phone): connect the two remotes, then drop the
  // device's two channels.
  if (!a->remote || !b->remote)
    return done(fail(Error::not_found("call " + (a->remote ? other_call_id : call_id) +
                                      " has no single remote channel to transfer")));
  auto self = this;
  std::string c1 = a->party.name, c2 = b->party.name;
  send(bridge_action(a->remote->name, b->remote->name), "bridge",
       [self, c1, c2, done](base::Status st) {
         if (!st) return done(st);
         // Best effort: Asterisk may already have hung them up when their bridges dissolved.
         self->send(hangup_action(c1), "hangup", [](base::Status) {});
         self->send(hangup_action(c2), "hangup", [](base::Status) {});
         done({});
       });
}

void AmiCommands::conference(const std::string& call_id, const std::string& other_call_id,
                             const std::string& device, ports::CommandDone done) {
  auto a = locate(call_id, device, done);
  if (!a) return;
  auto b = locate(other_call_id, device, done);
  if (!b) return;
  // Within a consultation callbridge started (Atxfer: one channel carries both calls, e.g. on an
  // external device): Asterisk's three-way (atxferthreeway) joins the three in one bridge.
  if (a->party.uniqueid == b->party.uniqueid)
    return key_feature(a->party.name, options_.atxfer_threeway, "conference", std::move(done));
  if (options_.conference_context.empty())
    return done(fail(Error::conflict("no conference context is configured for this PBX")));
  if (!a->remote || !b->remote)
    return done(fail(Error::not_found("a call has no single remote channel to join")));
  // Room named after the device; the dialplan runs ConfBridge(${EXTEN}) in conference_context.
  std::string room = "cb" + device;
  std::string ctx = options_.conference_context;
  std::string second = b->remote->name;
  auto self = this;
  send(redirect_action(a->party.name, std::string_view(a->remote->name), ctx, room), "redirect",
       [self, second, ctx, room, done](base::Status st) mutable {
         if (!st) return done(st);
         self->send(redirect_action(second, std::nullopt, ctx, room), "redirect", std::move(done));
       });
}

void AmiCommands::redirect(const std::string& call_id, const std::string& device, const std::string& dial_string,
                           ports::CommandDone done) {
  // A ringing call is deflected by sending the *caller's* channel elsewhere; the Dial to the
  // device ends with it.
  auto ch = locate(call_id, device, done);
  if (!ch) return;
  if (!ch->remote) return done(fail(Error::not_found("call " + call_id + " has no caller channel to deflect")));
  send(redirect_action(ch->remote->name, std::nullopt, options_.context, dial_string), "redirect",
       std::move(done));
}

void AmiCommands::pickup(const std::string& call_id, const std::string& ringing_device,
                         const std::string& picker_device, const std::string& caller_id, ports::CommandDone done,
                         ports::PbxCommands::PickupOutcome outcome) {
  // Channel: <tech>/<device>: a name with '/' or '.' would pick another technology or resource.
  if (!base::is_device_name(picker_device))
    return done(fail(Error::invalid_argument("'" + picker_device.substr(0, 40) + "' is not a device name")));
  auto ch = locate(call_id, ringing_device, done);
  if (!ch) return;
  // Only a caller id of dialable characters goes into the CallerID header (no quotes, no CR/LF).
  std::string cid;
  for (char c : caller_id)
    if ((c >= '0' && c <= '9') || c == '+' || c == '*' || c == '#') cid += c;
  if (cid.size() > 32) cid.clear();
  AmiAction a = pickup_action(options_, picker_device, ch->party.name, cid);
  if (outcome) {
    // Asterisk accepts the Originate whatever PickupChan will find; the outcome is known once the
    // picker's phone answered: OriginateResponse first, then Pickup or Hangup of its channel.
    a.action_id = next_action_id("pickup");
    std::string target = ch->party.name;
    OutcomeFn answered = [self = this, outcome, target, picker = options_.tech + "/" + picker_device](
                             base::Result<std::string> uid) {
      if (!uid) return outcome(fail(uid.error()));
      if (uid->empty()) return outcome(fail(Error::internal("OriginateResponse without the picker's Uniqueid")));
      // Picked up before the OriginateResponse came (it then names either channel).
      auto& seen = self->recent_pickups_;
      for (auto it = seen.begin(); it != seen.end(); ++it) {
        if (it->first == *uid || it->second == *uid) {
          seen.erase(it);
          return outcome({});
        }
      }
      if (self->pickups_.size() >= kMaxPendingOriginates) {
        return outcome(fail(Error::timeout("too many pickups waiting for their end; not followed")));
      }
      self->pickups_[*uid] = PendingPickup{outcome, target, picker};
    };
    done = expect_originate_response(a.action_id, std::move(answered), std::move(done));
  }
  send(std::move(a), "pickup", std::move(done));
}

void AmiCommands::park(const std::string& call_id, const std::string& device, const std::string& lot,
                       ports::CommandDone done, ParkOutcome outcome) {
  auto ch = locate(call_id, device, done);
  if (!ch) return;
  if (!ch->remote) return done(fail(Error::not_found("call " + call_id + " has no other party to park")));
  // An Atxfer consultation shares the device's channel between two calls: parking "the remote"
  // would be ambiguous for the timeout's ring back.
  if (ch->shared) return done(fail(Error::conflict("Park: a consultation call is in progress on " + ch->party.name)));
  AmiAction a = park_action(ch->remote->name, ch->party.name, lot);
  if (outcome) {
    const std::string parkee = ch->remote->name;
    if (parks_.contains(parkee)) return done(fail(Error::conflict("Park: " + parkee + " is being parked already")));
    if (parks_.size() >= kMaxPendingOriginates) return done(fail(Error::unavailable("too many parks waiting for the PBX")));
    parks_[parkee] = std::move(outcome);
    done = [self = this, parkee, done = std::move(done)](base::Status st) {
      if (!st) self->parks_.erase(parkee);  // refused: no ParkedCall follows
      done(st);
    };
  }
  send(std::move(a), "park", std::move(done));
}

void AmiCommands::unpark(const ports::UnparkRequest& r, ports::CommandDone done, PickupOutcome outcome) {
  if (!r.first_leg_dial_string && !base::is_device_name(r.from_device))
    return done(fail(Error::invalid_argument("'" + r.from_device.substr(0, 40) + "' is not a device name")));
  // Lot and space go into the application's data: "<lot>,<space>"; nothing else may.
  auto plain = [](const std::string& v) {
    if (v.empty() || v.size() > 64) return false;
    for (char c : v)
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_'))
        return false;
    return true;
  };
  if (!plain(r.lot) || !plain(r.space))
    return done(fail(Error::invalid_argument("not a parking lot and space: '" + r.lot.substr(0, 40) + "', '" +
                                             r.space.substr(0, 40) + "'")));
  std::string channel;
  if (r.first_leg_dial_string) {
    const std::string& ctx = options_.first_leg_context.empty() ? options_.context : options_.first_leg_context;
    channel = "Local/" + *r.first_leg_dial_string + "@" + ctx;
  } else {
    channel = options_.tech + "/" + r.from_device;
  }
  std::string cid;
  for (char c : r.caller_id)
    if ((c >= '0' && c <= '9') || c == '+' || c == '*' || c == '#') cid += c;
  if (cid.size() > 32) cid.clear();
  AmiAction a = unpark_action(channel, r.lot, r.space, cid, options_.originate_timeout);
  if (r.first_leg_dial_string) a.set("Variable", std::string(kAnyDevicePartyVariable) + "=" + r.from_device);
  if (outcome) {
    a.action_id = next_action_id("unpark");
    OutcomeFn answered = [self = this, outcome, target = r.lot + "," + r.space, channel](base::Result<std::string> uid) {
      if (!uid) return outcome(fail(uid.error()));
      if (uid->empty()) return outcome(fail(Error::internal("OriginateResponse without the retriever's Uniqueid")));
      auto& seen = self->recent_unparks_;
      if (auto it = std::find(seen.begin(), seen.end(), *uid); it != seen.end()) {
        seen.erase(it);
        return outcome({});
      }
      if (self->pickups_.size() >= kMaxPendingOriginates)
        return outcome(fail(Error::timeout("too many retrievals waiting for their end; not followed")));
      self->pickups_[*uid] = PendingPickup{outcome, target, channel, true};
    };
    done = expect_originate_response(a.action_id, std::move(answered), std::move(done));
  }
  send(std::move(a), "unpark", std::move(done));
}

void AmiCommands::finish_move(const std::string& call_id, base::Status st) {
  auto it = moving_.find(call_id);
  if (it == moving_.end()) return;
  auto fn = std::move(it->second);
  moving_.erase(it);
  if (fn) fn(std::move(st));
}

void AmiCommands::move_call(const ports::MoveCallRequest& r, ports::CommandDone done) {
  if (!base::is_device_name(r.device))
    return done(fail(Error::invalid_argument("'" + r.device.substr(0, 40) + "' is not a device name")));
  if (!valid_move_call_id(r.call_id))
    return done(fail(Error::not_found("no call " + r.call_id.substr(0, 64))));
  if (r.external_dial_string) {
    const std::string& d = *r.external_dial_string;
    const bool dialable = !d.empty() && d.size() <= 40 && std::all_of(d.begin(), d.end(), [](char c) {
      return (c >= '0' && c <= '9') || c == '+' || c == '*' || c == '#';
    });
    if (!dialable || !valid_e164(r.external_number))
      return done(fail(Error::invalid_argument("not an external device: '" + d.substr(0, 40) + "', '" +
                                               r.external_number.substr(0, 40) + "'")));
  }
  if (moving_.contains(r.call_id))
    return done(fail(Error::conflict("a move of call " + r.call_id + " is under way; wait for its outcome")));
  auto ch = locate(r.call_id, r.device, done);
  if (!ch) return;
  if (ch->shared) return done(fail(Error::conflict("a consultation call is in progress on " + ch->party.name)));
  if (!ch->remote || ch->remote->state != 6)
    return done(fail(Error::conflict("call " + r.call_id + " has no single connected party to move (a conference?)")));
  const bool on_external = !ch->party.device_number.empty() || ch->party.trunk;
  if (r.external_dial_string ? ch->party.device_number == r.external_number : !on_external)
    return done(fail(Error::conflict("call " + r.call_id + " is on that device already (" + ch->party.name + ")")));
  std::string cid;
  for (char c : r.caller_id_number)
    if ((c >= '0' && c <= '9') || c == '+' || c == '*' || c == '#') cid += c;
  if (cid.size() > 32) cid.clear();
  ports::MoveCallRequest req = r;
  req.caller_id_number = cid;
  AmiAction a = move_action(options_, req, ch->remote->name);
  a.action_id = next_action_id("move");
  if (moving_.size() >= kMaxPendingOriginates) return done(fail(Error::unavailable("too many moves waiting for the PBX")));
  moving_[r.call_id] = r.on_outcome;
  const std::string call_id = r.call_id;
  OutcomeFn answered = [self = this, call_id](base::Result<std::string> uid) {
    if (!uid) return self->finish_move(call_id, fail(uid.error()));
    if (uid->empty()) return self->finish_move(call_id, fail(Error::internal("OriginateResponse without the new channel's Uniqueid")));
    auto& seen = self->recent_bridged_;
    if (auto it = std::find(seen.begin(), seen.end(), *uid); it != seen.end()) {
      seen.erase(it);
      return self->finish_move(call_id, {});
    }
    self->moves_[*uid] = call_id;
  };
  done = expect_originate_response(a.action_id, std::move(answered),
                                   [self = this, call_id, done = std::move(done)](base::Status st) {
                                     if (!st) self->moving_.erase(call_id);  // refused: nothing follows
                                     done(st);
                                   });
  send(std::move(a), "move", std::move(done));
}

}  // namespace callbridge::drivers::ami
