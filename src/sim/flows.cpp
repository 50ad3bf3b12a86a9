#include "sim/flows.hpp"

#include <algorithm>
#include <cctype>
#include <functional>
#include <memory>
#include <set>

namespace callbridge::sim {

namespace {

const std::string kInternal = "from-internal";

std::string did(const PbxModel& m, std::string_view ext) { return m.config().company_prefix + std::string(ext); }

Fields merge(std::initializer_list<Fields> parts) {
  Fields f;
  for (const auto& p : parts) f.insert(f.end(), p.begin(), p.end());
  return f;
}

// Dial(<dial_string>) from the dialplan channel `caller` to phone `p` (chan_pjsip outgoing leg):
// Newchannel, NewConnectedLine (callee), DialBegin, NewConnectedLine (caller), Newstate Ringing,
// DialState RINGING, then the device/hint changes.
// ringing_first: chan_pjsip's 180 Ringing won the race against Dial's DialBegin publication (both
// orders occur in the captures: inbound_answered vs inbound_missed).
Channel& ring_phone(PbxModel& m, Channel& caller, const Phone& p, std::string_view dial_string, bool set_exten,
                    bool ringing_first = false) {
  Channel& callee = m.new_channel(p.ext, ChanState::down, p.ext, p.name, kInternal, "s", 1, &caller);
  callee.outgoing = true;
  callee.app = "AppDial";
  callee.app_data = "(Outgoing Line)";
  if (set_exten) callee.exten = p.ext;
  m.set_connected(callee, caller.cid_num, caller.cid_name);
  if (ringing_first) m.set_state(callee, ChanState::ringing);
  m.dial_begin(&caller, callee, dial_string);
  m.set_connected(caller, callee.cid_num, callee.cid_name);
  if (!ringing_first) m.set_state(callee, ChanState::ringing);
  m.dial_state(&caller, callee, "RINGING");
  m.update_devices();
  return callee;
}

// The callee answers: Newstate Up, DialEnd ANSWER, caller Up, a basic bridge with both.
void answer(PbxModel& m, Channel& caller, Channel& callee, bool blank_exten = true) {
  m.set_state(callee, ChanState::up);
  if (blank_exten) callee.exten.clear();  // AppDial's channel leaves the dialplan
  m.dial_end(&caller, callee, "ANSWER");
  if (caller.state != ChanState::up) m.set_state(caller, ChanState::up);
  Bridge& b = m.bridge_create();
  m.bridge_enter(b, callee);
  m.bridge_enter(b, caller);
  m.update_devices();
}

// callbridge.conf's [callbridge-hold] (below, with its AMI actions): a channel on hold there
// (MusicOnHold), one the hold touched (hangup handler, or bridged by the AMI Bridge action), and
// how a call ends then. ami_cause: hung up by AMI Hangup with that cause; none: the party's BYE.
bool held_in_pbx(const Channel& c);
bool hold_touched(const Channel& c);
void end_held(PbxModel& m, Channel& hanger, std::optional<int> ami_cause);
void end_hold_bridged(PbxModel& m, Channel& hanger, Channel& peer, std::optional<int> ami_cause);

// One party of a two-party basic bridge hangs up (SIP BYE). The dialplan channel (Dial's caller)
// gets the SoftHangupRequest when Dial returns.
void end_bridged(PbxModel& m, Channel& hanger, Channel& peer, std::optional<int> request_cause = 16) {
  if (hold_touched(hanger) || hold_touched(peer)) return end_hold_bridged(m, hanger, peer, std::nullopt);
  Channel& dialplan = hanger.outgoing ? peer : hanger;
  std::string bridge = hanger.bridge;
  std::string hu = hanger.uniqueid, pu = peer.uniqueid;
  m.hangup_request(hanger, request_cause);
  m.bridge_leave(hanger);
  m.bridge_leave(peer);
  m.bridge_destroy(bridge);
  m.soft_hangup_request(dialplan, 16);
  m.hangup(hu, 16);
  m.hangup(pu, 16);
  m.update_devices();
}

// The bridged peer of `c` in a two-party bridge, or nullptr.
Channel* bridged_peer(PbxModel& m, const Channel& c) {
  Bridge* b = m.find_bridge(c.bridge);
  if (!b) return nullptr;
  for (const auto& uid : b->members) {
    if (uid != c.uniqueid) return m.find(uid);
  }
  return nullptr;
}

// Looks up both channels of a leg; nullptr unless both still exist.
bool both(PbxModel& m, const std::string& a, const std::string& b, Channel*& ca, Channel*& cb) {
  ca = m.find(a);
  cb = m.find(b);
  return ca && cb;
}

// After answer: the talk phase ends with one side hanging up, unless something else ended it.
void schedule_talk_end(SimEngine& e, const std::string& caller_uid, const std::string& callee_uid,
                       microseconds talk, HangupBy by) {
  e.after(talk, [&e, caller_uid, callee_uid, by] {
    Channel *caller, *callee;
    if (!both(e.model(), caller_uid, callee_uid, caller, callee)) return;
    Channel* hanger = by == HangupBy::caller ? caller : callee;
    if (held_in_pbx(*hanger)) return end_held(e.model(), *hanger, std::nullopt);  // on hold in the PBX
    if (caller->bridge.empty() || caller->bridge != callee->bridge) return;
    if (by == HangupBy::caller) end_bridged(e.model(), *caller, *callee);
    else end_bridged(e.model(), *callee, *caller);
  });
}

// Caller gave up while the callee rang (SIP CANCEL from the caller's side).
void caller_cancels(PbxModel& m, Channel& caller, Channel& callee) {
  std::string cu = caller.uniqueid, eu = callee.uniqueid;
  m.hangup_request(caller, 127, 487);
  m.dial_end(&caller, callee, "CANCEL");
  m.soft_hangup_request(caller, 16, 487);
  m.hangup(cu, 127, 487);
  m.hangup(eu, 127, 500);
  m.update_devices();
}

// The callee rejected with 486 Busy Here; Dial returns BUSY, the dialplan hangs up.
void callee_busy(PbxModel& m, Channel& caller, Channel& callee) {
  std::string cu = caller.uniqueid, eu = callee.uniqueid;
  m.hangup_request(callee, 17, 486);
  m.dial_end(&caller, callee, "BUSY");
  m.hangup(eu, 17, 486);
  caller.priority += 1;  // Dial() returned; the next priority is Hangup()
  m.soft_hangup_request(caller, 16);
  m.hangup(cu, 17, 486);
  m.update_devices();
}

// Dial() ended without an answer and the dialplan goes on with the caller (callbridge.conf's
// forwarding on busy / no answer): BUSY or NOANSWER, the caller's Uniqueid.
using DialFailed = std::function<void(const std::string& caller_uid, const std::string& status)>;

// Dial's timeout ran out while the phone rang: DialEnd NOANSWER, the phone's channel goes (cause 0,
// as live_forward_no_answer_after_seconds).
void dial_no_answer(PbxModel& m, Channel& caller, Channel& callee) {
  std::string eu = callee.uniqueid;
  m.dial_end(&caller, callee, "NOANSWER");
  m.hangup(eu, 0);
  m.update_devices();
}

// The phone rejected with 486 and the dialplan goes on (the caller stays).
void dial_busy(PbxModel& m, Channel& caller, Channel& callee) {
  std::string eu = callee.uniqueid;
  m.hangup_request(callee, 17, 486);
  m.dial_end(&caller, callee, "BUSY");
  m.hangup(eu, 17, 486);
  m.update_devices();
}

// Schedules what happens after a phone started ringing for `caller`. `give_up` > 0: Dial's
// timeout (callbridge.conf's no-answer time), after which `on_fail` gets NOANSWER unless the phone
// was answered first; `on_fail` also gets BUSY when the phone rejects (else the caller hangs up).
void schedule_ring_outcome(SimEngine& e, const std::string& caller_uid, const std::string& callee_uid,
                           Outcome outcome, microseconds ring, microseconds talk, HangupBy by,
                           std::function<void(Channel&, Channel&)> on_answer = nullptr, microseconds give_up = 0us,
                           DialFailed on_fail = nullptr) {
  // Picking up: at the end of the ring time when the outcome is "answered", or earlier when the
  // phone is answered remotely (action_phone_notify), whatever the outcome would have been.
  e.set_answer(callee_uid, [&e, caller_uid, callee_uid, talk, by, on_answer] {
    Channel *caller, *callee;
    if (!both(e.model(), caller_uid, callee_uid, caller, callee)) return;
    if (callee->state != ChanState::ringing) return;
    answer(e.model(), *caller, *callee);
    if (on_answer) on_answer(*caller, *callee);
    schedule_talk_end(e, caller_uid, callee_uid, talk, by);
  });
  const bool times_out = on_fail && give_up.count() > 0 && give_up <= ring;
  e.after(times_out ? give_up : ring, [&e, caller_uid, callee_uid, outcome, times_out, on_fail] {
    auto pick_up = e.take_answer(callee_uid);
    Channel *caller, *callee;
    if (!both(e.model(), caller_uid, callee_uid, caller, callee)) return;
    if (callee->state != ChanState::ringing) return;
    if (times_out) {
      dial_no_answer(e.model(), *caller, *callee);
      return on_fail(caller_uid, "NOANSWER");
    }
    switch (outcome) {
      case Outcome::missed: caller_cancels(e.model(), *caller, *callee); return;
      case Outcome::busy:
        if (!on_fail) return callee_busy(e.model(), *caller, *callee);
        dial_busy(e.model(), *caller, *callee);
        return on_fail(caller_uid, "BUSY");
      case Outcome::answered: break;
    }
    if (pick_up) pick_up();
  });
}

// The transferee (in the dialplan at from-internal,<ext>) dials the transfer target.
void continue_to_phone(SimEngine& e, Channel& transferee, const Phone& target, microseconds ring,
                       microseconds talk) {
  PbxModel& m = e.model();
  m.set_dialplan(transferee, kInternal, target.ext, 2);
  transferee.app = "Dial";
  transferee.app_data = "PJSIP/" + target.ext + ",30,tT";
  Channel& callee = ring_phone(m, transferee, target, target.ext, true);
  schedule_ring_outcome(e, transferee.uniqueid, callee.uniqueid, Outcome::answered, ring, talk, HangupBy::caller);
}

// Blind transfer of `transferer`'s bridged peer to `target` (BlindTransfer event; the transferer
// hangs up; the transferee runs from-internal,<ext>).
// IsExternal is "Yes" for AMI BlindTransfer and for the ## feature alike (both captures).
void blind_transfer(SimEngine& e, Channel& transferer, Channel& transferee, const Phone& target,
                    microseconds ring, microseconds talk) {
  PbxModel& m = e.model();
  Bridge* b = m.find_bridge(transferer.bridge);
  if (!b) return;
  std::string bridge = b->id;
  m.unhold(transferer);  // Asterisk unholds the transferer before moving the transferee
  Fields f{{"Result", "Success"}};
  auto t1 = m.snapshot(transferer, "Transferer");
  auto t2 = m.snapshot(transferee, "Transferee");
  auto bs = m.bridge_snapshot(*b);
  f.insert(f.end(), t1.begin(), t1.end());
  f.insert(f.end(), t2.begin(), t2.end());
  f.insert(f.end(), bs.begin(), bs.end());
  f.emplace_back("IsExternal", "Yes");
  f.emplace_back("Context", kInternal);
  f.emplace_back("Extension", target.ext);
  m.emit("BlindTransfer", "call,all", f);
  m.set_dialplan(transferee, kInternal, target.ext, 1);
  transferee.outgoing = false;
  m.bridge_leave(transferee);
  m.bridge_leave(transferer);
  m.bridge_destroy(bridge);
  m.hangup(transferer.uniqueid, 16);
  m.update_devices();
  continue_to_phone(e, transferee, target, ring, talk);
}

// Outbound leg over the trunk from dialplan channel `caller` (at outbound,<e164>,3), with the
// pre-dial handler outbound-cli presenting <prefix><ext>.
Channel& dial_trunk(PbxModel& m, Channel& caller, const std::string& e164, const std::string& presented) {
  Channel& trunk = m.new_channel(m.config().trunk, ChanState::down, "", "", "from-trunk", "s", 1, &caller);
  trunk.outgoing = true;
  trunk.app = "AppDial";
  trunk.app_data = "(Outgoing Line)";
  trunk.dnid = e164;
  trunk.conn_num = caller.cid_num;
  trunk.conn_name = caller.cid_name;
  m.set_dialplan(trunk, "from-trunk", e164, 1);
  // chan_pjsip's outgoing caller id: the dialed number and the caller's connected-line name.
  m.set_callerid(trunk, e164, caller.conn_name);
  m.set_connected(trunk, caller.cid_num, caller.cid_name);
  m.set_dialplan(trunk, "outbound-cli", "s", 1);
  m.set_callerid(trunk, presented, trunk.cid_name);
  trunk.priority = 2;
  m.set_dialplan(caller, "outbound", e164, 3);
  caller.app = "Dial";
  caller.app_data = e164 + "@trunk";
  m.dial_begin(&caller, trunk, e164 + "@" + m.config().trunk);
  m.set_connected(caller, trunk.cid_num, trunk.cid_name);
  m.set_dialplan(trunk, "from-trunk", e164, 1);
  m.set_state(trunk, ChanState::ringing);
  m.dial_state(&caller, trunk, "RINGING");
  m.update_devices();
  return trunk;
}

// --- callbridge.conf (docs/dialplan.md): DND, forwarding and follow-me from AstDB ---------------

const std::string kCbDial = "callbridge-dial";
const std::string kCbFollowMe = "callbridge-followme";

// How a call to an extension goes on once Gosub(callbridge-dial,...) routes it.
struct Leg {
  Outcome outcome = Outcome::answered;  // what the desk phone does after `ring`
  microseconds ring = 2s;
  microseconds talk = 3s;
  HangupBy hangup_by = HangupBy::caller;
  bool ringing_first = false;
  microseconds far_ring = 2s;  // an external destination (forward, follow-me) answers after
  std::function<void(Channel&, Channel&)> on_answer = nullptr;  // the desk phone answered
  int hops = 0;  // forwards so far (CALLBRIDGE_HOPS)
};

void route_to_extension(SimEngine& e, Channel& caller, const Phone& p, Leg leg);

// After a Dial without an answer and nothing more to do, Return() and the lab's dialplan hangs up.
void hang_up_after_dial(PbxModel& m, Channel& caller, const std::string& status) {
  std::string cu = caller.uniqueid;
  caller.priority += 1;
  m.soft_hangup_request(caller, 16);
  if (status == "BUSY") m.hangup(cu, 17, 486);
  else m.hangup(cu, 16);
  m.update_devices();
}

// The caller (a trunk or phone channel in the dialplan) dials an external number through the trunk
// and the far end answers after `leg.far_ring` (live_forward_no_answer_to_external_number).
void dial_external(SimEngine& e, Channel& caller, const std::string& e164, const std::string& line, Leg leg) {
  PbxModel& m = e.model();
  Channel& out = m.new_channel(m.config().trunk, ChanState::down, "", "", "from-trunk", "s", 1, &caller);
  out.outgoing = true;
  out.app = "AppDial";
  out.app_data = "(Outgoing Line)";
  m.set_dialplan(out, "from-trunk", line, 1);
  m.set_callerid(out, line, "");
  m.set_connected(out, caller.cid_num, caller.cid_name);
  caller.priority = 14;
  caller.app = "Dial";
  caller.app_data = e164 + "@" + m.config().trunk + ",60,tT";
  m.dial_begin(&caller, out, e164 + "@" + m.config().trunk);
  m.set_state(out, ChanState::ringing);
  m.dial_state(&caller, out, "RINGING");
  m.update_devices();
  std::string cu = caller.uniqueid, ou = out.uniqueid;
  e.after(leg.far_ring, [&e, cu, ou, leg] {
    Channel *caller, *out;
    PbxModel& m = e.model();
    if (!both(m, cu, ou, caller, out) || out->state != ChanState::ringing) return;
    m.set_state(*out, ChanState::up);
    out->exten.clear();
    m.dial_end(caller, *out, "ANSWER");
    if (caller->state != ChanState::up) m.set_state(*caller, ChanState::up);
    Bridge& b = m.bridge_create();
    std::string bid = b.id;
    m.bridge_enter(*m.find_bridge(bid), *out);
    m.bridge_enter(*m.find_bridge(bid), *caller);
    m.update_devices();
    schedule_talk_end(e, cu, ou, leg.talk, HangupBy::caller);
  });
}

// [callbridge-forward]: `line`'s call goes to `dest` (an extension, rung with its own settings, or
// an E.164 number). The Newexten of its first priority is what callbridged reads (the
// destination's journal entry says transferred_from `line`).
void forward(SimEngine& e, Channel& caller, const std::string& line, std::string dest, std::string_view reason,
             Leg leg) {
  PbxModel& m = e.model();
  dest = dest.substr(0, 24);
  m.set_dialplan(caller, "callbridge-forward", line, 1);
  caller.app = "NoOp";
  caller.app_data = "callbridge: " + line + " forwards (" + std::string(reason) + ") to " + dest;
  m.emit("Newexten", "dialplan,all",
         merge({m.snapshot(caller), {{"Extension", line}, {"Application", caller.app}, {"AppData", caller.app_data}}}));
  ++leg.hops;
  if (dest.empty()) return hang_up_after_dial(m, caller, "NOANSWER");
  if (dest.starts_with('+')) return dial_external(e, caller, dest, line, leg);
  const Phone* p = m.phone(dest);
  if (!p) return hang_up_after_dial(m, caller, "CHANUNAVAIL");  // Dial(PJSIP/<no endpoint>)
  // Someone else's phone: it answers after `ring` (the hold/transfer plans were the first phone's).
  leg.ringing_first = false;
  leg.outcome = Outcome::answered;
  leg.on_answer = nullptr;
  route_to_extension(e, caller, *p, leg);
}

// Follow-me (callbridge.conf [callbridge-followme]): the caller dials Local/<ext>@callbridge-followme/n
// — with the desk phone in parallel when `desk` is set — whose ;2 half dials `mobile` through the
// trunk presenting the office number (the caller's number as the name). Whichever answers first
// takes the call; the mobile answers after leg.far_ring, the desk as leg.outcome/leg.ring say (or
// remotely). As live_follow_me_rings_desk_and_mobile (parallel) and live_follow_me_to_mobile.
void dial_follow_me(SimEngine& e, Channel& caller, const Phone& p, const Phone* desk_phone, const std::string& mobile,
                    microseconds timeout, Leg leg, DialFailed on_fail) {
  PbxModel& m = e.model();
  const std::string local = p.ext + "@" + kCbFollowMe + "/n";
  m.set_dialplan(caller, kCbDial, "s", desk_phone ? 27 : 33);
  caller.app = "Dial";
  caller.app_data = (desk_phone ? "PJSIP/" + p.ext + "&" : std::string()) + "Local/" + local + "," +
                    std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) + ",tT";
  Channel* desk = nullptr;
  if (desk_phone) {
    desk = &m.new_channel(p.ext, ChanState::down, p.ext, p.name, kInternal, "s", 1, &caller);
    desk->outgoing = true;
    desk->app = "AppDial";
    desk->app_data = "(Outgoing Line)";
    m.set_connected(*desk, caller.cid_num, caller.cid_name);
  }
  auto [l1, l2] = m.new_local_pair(p.ext, kCbFollowMe, caller);
  l1->app = "AppDial";
  l1->app_data = "(Outgoing Line)";
  m.set_connected(*l1, caller.cid_num, caller.cid_name);
  if (desk) m.dial_begin(&caller, *desk, p.ext);
  m.set_callerid(*l2, caller.cid_num, caller.cid_name);
  m.emit("LocalBridge", "call,all",
         merge({m.snapshot(*l1, "LocalOne"), m.snapshot(*l2, "LocalTwo"),
                {{"Context", kCbFollowMe}, {"Exten", p.ext}, {"LocalOptimization", "No"}}}));
  if (desk) m.set_state(*desk, ChanState::ringing);
  m.dial_begin(&caller, *l1, local);
  m.set_callerid(*l2, m.config().company_prefix + p.ext, caller.cid_num);  // CALLBRIDGE_FOLLOWME_CID office
  if (desk) m.dial_state(&caller, *desk, "RINGING");
  Channel& out = m.new_channel(m.config().trunk, ChanState::down, "", "", "from-trunk", "s", 1, l2);
  out.outgoing = true;
  out.app = "AppDial";
  out.app_data = "(Outgoing Line)";
  m.set_connected(out, l2->cid_num, l2->cid_name);
  l2->priority = 8;
  l2->app = "Dial";
  l2->app_data = mobile + "@" + m.config().trunk + ",,tT";
  m.dial_begin(l2, out, mobile + "@" + m.config().trunk);
  m.set_connected(*l2, p.ext, p.name);
  m.set_state(out, ChanState::ringing);
  m.set_state(*l1, ChanState::ringing);
  m.dial_state(l2, out, "RINGING");
  m.dial_state(&caller, *l1, "RINGING");
  m.update_devices();

  struct Ids {
    std::string caller, desk, l1, l2, out, ext, name;
  };
  auto ids = std::make_shared<Ids>(
      Ids{caller.uniqueid, desk ? desk->uniqueid : "", l1->uniqueid, l2->uniqueid, out.uniqueid, p.ext, p.name});
  // Still ringing: the caller waits in Dial.
  auto live = [&e, ids]() -> Channel* {
    Channel* c = e.model().find(ids->caller);
    return c && c->state != ChanState::up && e.model().find(ids->l1) ? c : nullptr;
  };
  // The external leg goes away (its Dial cancelled or the call taken at the desk).
  auto drop_mobile = [&e, ids](int cause) {
    PbxModel& m = e.model();
    if (Channel* l1 = m.find(ids->l1)) m.hangup(l1->uniqueid, cause);
    Channel *l2 = m.find(ids->l2), *out = m.find(ids->out);
    if (l2 && out) m.dial_end(l2, *out, "CANCEL");
    if (out) m.hangup(ids->out, cause, 487);
    if (l2) {
      m.soft_hangup_request(*l2, 16);
      m.hangup(ids->l2, 16);
    }
    m.update_devices();
  };
  // The desk phone answers: the Local leg is cancelled.
  if (desk) {
    e.set_answer(ids->desk, [&e, ids, live, drop_mobile, leg] {
      PbxModel& m = e.model();
      Channel* caller = live();
      Channel* desk = m.find(ids->desk);
      if (!caller || !desk || desk->state != ChanState::ringing) return;
      m.set_state(*desk, ChanState::up);
      m.dial_end(caller, *desk, "ANSWER");
      if (Channel* l1 = m.find(ids->l1)) m.dial_end(caller, *l1, "CANCEL");
      drop_mobile(26);
      m.set_state(*caller, ChanState::up);
      Bridge& b = m.bridge_create();
      std::string bid = b.id;
      m.bridge_enter(*m.find_bridge(bid), *desk);
      m.bridge_enter(*m.find_bridge(bid), *caller);
      m.update_devices();
      if (leg.on_answer) leg.on_answer(*caller, *desk);
      schedule_talk_end(e, ids->caller, ids->desk, leg.talk, leg.hangup_by);
    });
    e.after(leg.ring, [&e, ids, live, drop_mobile, leg] {
      auto pick_up = e.take_answer(ids->desk);
      PbxModel& m = e.model();
      Channel* caller = live();
      Channel* desk = m.find(ids->desk);
      if (!caller || !desk || desk->state != ChanState::ringing) return;
      switch (leg.outcome) {
        case Outcome::answered:
          if (pick_up) pick_up();
          return;
        case Outcome::busy:  // one leg of the Dial rejected; the other goes on ringing
          m.hangup_request(*desk, 17, 486);
          m.dial_end(caller, *desk, "BUSY");
          m.hangup(ids->desk, 17, 486);
          m.update_devices();
          return;
        case Outcome::missed: {  // the caller gives up
          m.hangup_request(*caller, 127, 487);
          m.dial_end(caller, *desk, "CANCEL");
          if (Channel* l1 = m.find(ids->l1)) m.dial_end(caller, *l1, "CANCEL");
          m.soft_hangup_request(*caller, 16, 487);
          m.hangup(ids->caller, 127, 487);
          m.hangup(ids->desk, 127, 500);
          drop_mobile(16);
          return;
        }
      }
    });
  }
  // The mobile answers: both halves of the Local channel go up, two bridges (carrier + ;2, caller + ;1).
  e.after(leg.far_ring, [&e, ids, live, leg] {
    PbxModel& m = e.model();
    Channel* caller = live();
    Channel *l1 = m.find(ids->l1), *l2 = m.find(ids->l2), *out = m.find(ids->out);
    if (!caller || !l1 || !l2 || !out || out->state != ChanState::ringing) return;
    e.take_answer(ids->desk);
    m.set_state(*out, ChanState::up);
    out->exten.clear();
    m.dial_end(l2, *out, "ANSWER");
    m.set_state(*l2, ChanState::up);
    std::string b1 = m.bridge_create().id;
    m.set_state(*l1, ChanState::up);
    m.set_connected(*caller, ids->ext, ids->name);
    if (Channel* desk = m.find(ids->desk)) m.dial_end(caller, *desk, "CANCEL");
    m.dial_end(caller, *l1, "ANSWER");
    m.set_state(*caller, ChanState::up);
    m.bridge_enter(*m.find_bridge(b1), *out);
    if (m.find(ids->desk)) m.hangup(ids->desk, 26);
    m.bridge_enter(*m.find_bridge(b1), *l2);
    std::string b2 = m.bridge_create().id;
    m.bridge_enter(*m.find_bridge(b2), *l1);
    m.bridge_enter(*m.find_bridge(b2), *caller);
    m.update_devices();
    // The caller hangs up after the talk: the Local pair and the carrier's leg follow.
    e.after(leg.talk, [&e, ids, b1, b2] {
      PbxModel& m = e.model();
      Channel *caller = m.find(ids->caller), *l1 = m.find(ids->l1), *l2 = m.find(ids->l2), *out = m.find(ids->out);
      if (!caller || caller->bridge != b2) return;
      m.hangup_request(*caller, 16);
      m.bridge_leave(*caller);
      m.soft_hangup_request(*caller, 16);
      if (l1) m.bridge_leave(*l1);
      m.bridge_destroy(b2);
      if (l2) m.hangup_request(*l2, 16);
      if (l1) m.hangup(ids->l1, 16);
      if (l2) {
        m.bridge_leave(*l2);
        m.soft_hangup_request(*l2, 16);
        m.hangup(ids->l2, 16);
      }
      m.hangup(ids->caller, 16);
      if (out) m.bridge_leave(*out);
      m.bridge_destroy(b1);
      m.hangup(ids->out, 16);
      m.update_devices();
    });
  });
  // Dial's timeout: nobody answered.
  e.after(timeout, [&e, ids, live, drop_mobile, on_fail] {
    PbxModel& m = e.model();
    Channel* caller = live();
    if (!caller) return;
    e.take_answer(ids->desk);
    if (Channel* desk = m.find(ids->desk)) {
      m.dial_end(caller, *desk, "NOANSWER");
      m.hangup(ids->desk, 0);
    }
    if (Channel* l1 = m.find(ids->l1)) m.dial_end(caller, *l1, "NOANSWER");
    drop_mobile(0);
    if (on_fail) on_fail(ids->caller, "NOANSWER");
    else hang_up_after_dial(m, *caller, "NOANSWER");
  });
}

// Gosub(callbridge-dial,s,1(<ext>,30,tT)) on `caller`: DND, unconditional, busy and no-answer
// forwarding and follow-me as callbridge.conf reads them from AstDB (PbxModel::callbridge_setting),
// else the phone rings as with a plain Dial.
void route_to_extension(SimEngine& e, Channel& caller, const Phone& p, Leg leg) {
  PbxModel& m = e.model();
  const bool plain = leg.hops > 5;  // a chain of forwards (or a loop) rings the extension plainly
  auto setting = [&](std::string_view what) { return plain ? std::string() : m.callbridge_setting(what, p.ext); };
  if (setting("dnd") == "1") {  // the caller hears busy
    m.set_dialplan(caller, kCbDial, "s", 38);
    caller.app = "Hangup";
    caller.app_data = "17";
    std::string cu = caller.uniqueid;
    m.soft_hangup_request(caller, 16);
    m.hangup(cu, 17, 486);
    m.update_devices();
    return;
  }
  const std::string cfu = setting("cfu"), cfb = setting("cfb"), cfnr = setting("cfnr"),
                    cfnrtime = setting("cfnrtime"), fm = setting("followme"), fmmode = setting("fmmode"),
                    fmdesk = setting("fmdesk");
  if (!cfu.empty()) return forward(e, caller, p.ext, cfu, "unconditional", leg);
  microseconds timeout = 30s;
  if (!cfnr.empty() && !cfnrtime.empty()) timeout = std::chrono::seconds(std::stoi(cfnrtime));
  const std::string ext = p.ext;
  DialFailed on_fail = [&e, ext, cfb, cfnr, leg](const std::string& caller_uid, const std::string& status) {
    Channel* c = e.model().find(caller_uid);
    if (!c) return;
    if (status == "BUSY" && !cfb.empty()) return forward(e, *c, ext, cfb, "user-busy", leg);
    if (status == "NOANSWER" && !cfnr.empty()) return forward(e, *c, ext, cfnr, "no-answer", leg);
    hang_up_after_dial(e.model(), *c, status);
  };
  if (!fm.empty()) {
    if (fmmode == "device") return dial_follow_me(e, caller, p, nullptr, fm, timeout, leg, on_fail);
    if (fmmode != "sequential") return dial_follow_me(e, caller, p, &p, fm, timeout, leg, on_fail);
    // sequential: the desk phone alone for fmdesk seconds (default 15), then the mobile
    microseconds desk = std::chrono::seconds(fmdesk.empty() ? 15 : std::stoi(fmdesk));
    m.set_dialplan(caller, kCbDial, "s", 30);
    caller.app = "Dial";
    caller.app_data = "PJSIP/" + p.ext + "," + std::to_string(desk.count() / 1'000'000) + ",tT";
    Channel& callee = ring_phone(m, caller, p, p.ext, false, leg.ringing_first);
    DialFailed then = [&e, ext, fm, timeout, leg, on_fail](const std::string& caller_uid, const std::string& status) {
      Channel* c = e.model().find(caller_uid);
      const Phone* ph = e.model().phone(ext);
      if (!c || !ph) return;
      if (status == "BUSY") return on_fail(caller_uid, status);
      dial_follow_me(e, *c, *ph, nullptr, fm, timeout, leg, on_fail);
    };
    schedule_ring_outcome(e, caller.uniqueid, callee.uniqueid, leg.outcome, leg.ring, leg.talk, leg.hangup_by,
                          leg.on_answer, desk, then);
    return;
  }
  m.set_dialplan(caller, kCbDial, "s", 23);
  caller.app = "Dial";
  caller.app_data = "PJSIP/" + p.ext + "," + std::to_string(timeout.count() / 1'000'000) + ",tT";
  Channel& callee = ring_phone(m, caller, p, p.ext, false, leg.ringing_first);
  const bool forwards = !cfb.empty() || !cfnr.empty();
  schedule_ring_outcome(e, caller.uniqueid, callee.uniqueid, leg.outcome, leg.ring, leg.talk, leg.hangup_by,
                        leg.on_answer, cfnr.empty() ? 0us : timeout, forwards ? on_fail : nullptr);
}

}  // namespace

// Attended transfer as a desk phone does it (attended_transfer_refer capture): hold, a new
// consultation call from the same phone, then REFER with Replaces: the transferee is swapped into
// the consultation bridge, both transferer channels hang up.
void attended_transfer(SimEngine& e, const std::string& orig_uid, const std::string& transferee_uid,
                       const std::string& target_ext, microseconds ring, microseconds consult, microseconds talk) {
  PbxModel& m = e.model();
  Channel *orig, *xferee;
  if (!both(m, orig_uid, transferee_uid, orig, xferee)) return;
  m.hold(*orig, "default");
  m.moh_start(*xferee);
  xferee->held = true;
  m.touch(*xferee);
  m.update_devices();
  e.after(504ms, [&e, orig_uid, transferee_uid, target_ext, ring, consult, talk] {
    PbxModel& m = e.model();
    Channel *orig, *xferee;
    const Phone* target = m.phone(target_ext);
    if (!both(m, orig_uid, transferee_uid, orig, xferee) || !target) return;
    Channel& k = m.new_channel(orig->device.substr(6), ChanState::ring, orig->cid_num, orig->cid_name, kInternal,
                               target->ext, 1, nullptr);
    k.dnid = target->ext;
    k.priority = 2;
    k.app = "Dial";
    k.app_data = "PJSIP/" + target->ext + ",30,tT";
    Channel& t = ring_phone(m, k, *target, target->ext, true);
    std::string ku = k.uniqueid, tu = t.uniqueid;
    e.after(ring, [&e, orig_uid, transferee_uid, ku, tu, consult, talk] {
      PbxModel& m = e.model();
      Channel *k, *t;
      if (!both(m, ku, tu, k, t) || t->state != ChanState::ringing) return;
      answer(m, *k, *t);
      e.after(consult, [&e, orig_uid, transferee_uid, ku, tu, talk] {
        PbxModel& m = e.model();
        Channel *orig = m.find(orig_uid), *xferee = m.find(transferee_uid), *k = m.find(ku), *t = m.find(tu);
        if (!orig || !xferee || !k || !t) return;
        Bridge* b1 = m.find_bridge(orig->bridge);
        Bridge* b2 = m.find_bridge(k->bridge);
        if (!b1 || !b2) return;
        Fields f{{"Result", "Success"}};
        for (const auto& part : {m.snapshot(*orig, "OrigTransferer"), m.bridge_snapshot(*b1, "Orig"),
                                 m.snapshot(*k, "SecondTransferer"), m.bridge_snapshot(*b2, "Second"),
                                 m.snapshot(*xferee, "Transferee"), m.snapshot(*t, "TransferTarget")}) {
          f.insert(f.end(), part.begin(), part.end());
        }
        f.insert(f.end(), {{"IsExternal", "No"}, {"DestType", "Bridge"}, {"DestBridgeUniqueid", b2->id}});
        std::string b1id = b1->id;
        m.unhold(*orig);
        m.unhold(*k);
        m.moh_stop(*xferee);
        xferee->held = false;
        m.touch(*xferee);
        m.bridge_leave(*xferee);
        m.bridge_leave(*k);
        m.bridge_enter(*b2, *xferee, ku);
        m.soft_hangup_request(*k, 1);
        m.emit("AttendedTransfer", "call,all", f);
        t->linkedid = xferee->linkedid;  // the target joins the transferee's call
        m.set_connected(*t, xferee->cid_num, xferee->cid_name);
        m.soft_hangup_request(*k, 16);
        m.set_connected(*xferee, t->cid_num, t->cid_name);
        m.bridge_leave(*orig);
        m.hangup(orig_uid, 16);
        m.bridge_destroy(b1id);
        m.hangup(ku, 16);
        m.update_devices();
        xferee->outgoing = false;
        schedule_talk_end(e, transferee_uid, tu, talk, HangupBy::caller);
      });
    });
  });
}


std::string e164_from_dialed(std::string_view d, std::string_view outside_prefix) {
  auto digits = [](std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
    }
    return true;
  };
  if (!outside_prefix.empty() && d.size() > outside_prefix.size() && d.starts_with(outside_prefix) &&
      (d[outside_prefix.size()] == '0' || d[outside_prefix.size()] == '+'))
    d.remove_prefix(outside_prefix.size());
  if (d.starts_with("+") && digits(d.substr(1))) return std::string(d);
  if (d.starts_with("00") && digits(d.substr(2))) return "+" + std::string(d.substr(2));
  if (d.starts_with("0") && digits(d.substr(1))) return "+49" + std::string(d.substr(1));
  return {};
}

void start_inbound(SimEngine& e, const InboundCall& c) {
  PbxModel& m = e.model();
  const Phone* p = m.phone(c.ext);
  if (!p) return;
  Channel& trunk = m.new_channel(m.config().trunk, ChanState::ring, c.caller, "", "from-trunk", did(m, c.ext), 1, nullptr);
  trunk.dnid = did(m, c.ext);
  m.set_dialplan(trunk, "ddi", c.ext, 2);
  trunk.app = "Dial";
  trunk.app_data = "PJSIP/" + c.ext + ",30,tT";
  InboundCall call = c;
  auto on_answer = [&e, call](Channel& caller, Channel& callee) {
        std::string cu = caller.uniqueid, eu = callee.uniqueid;
        if (call.hold_for.count() > 0) {
          e.after(call.hold_after, [&e, cu, eu, call] {
            Channel *trunk, *phone;
            if (!both(e.model(), cu, eu, trunk, phone) || trunk->held) return;  // held remotely already
            PbxModel& m = e.model();
            m.hold(*phone, "default");
            trunk->held = true;
            m.touch(*trunk);
            m.update_devices();
            m.moh_start(*trunk);
            e.after(call.hold_for, [&e, cu, eu] {
              Channel *trunk, *phone;
              if (!both(e.model(), cu, eu, trunk, phone) || !trunk->held) return;  // resumed remotely
              PbxModel& m = e.model();
              m.unhold(*phone);
              m.moh_stop(*trunk);
              trunk->held = false;
              m.touch(*trunk);
              m.update_devices();
            });
          });
        }
        if (!call.atxfer_to.empty()) {
          e.after(call.transfer_after, [&e, cu, eu, call] {
            attended_transfer(e, eu, cu, call.atxfer_to, call.ring, call.consult, call.talk_after_transfer);
          });
        }
        if (!call.transfer_to.empty()) {
          e.after(call.transfer_after, [&e, cu, eu, call] {
            Channel *trunk, *phone;
            if (!both(e.model(), cu, eu, trunk, phone)) return;
            const Phone* target = e.model().phone(call.transfer_to);
            if (!target) return;
            blind_transfer(e, *phone, *trunk, *target, call.ring, call.talk);
          });
        }
      };
  if (m.config().callbridge_dialplan) {
    trunk.app = "Gosub";
    trunk.app_data = "callbridge-dial,s,1(" + c.ext + ",30,tT)";
    return route_to_extension(e, trunk, *p,
                              Leg{c.outcome, c.ring, c.talk, c.hangup_by, c.ringing_first, c.far_ring, on_answer});
  }
  Channel& phone = ring_phone(m, trunk, *p, c.ext, true, c.ringing_first);
  schedule_ring_outcome(e, trunk.uniqueid, phone.uniqueid, c.outcome, c.ring, c.talk, c.hangup_by, on_answer);
}

void start_outbound(SimEngine& e, const OutboundCall& c) {
  PbxModel& m = e.model();
  const Phone* p = m.phone(c.ext);
  std::string e164 = e164_from_dialed(c.dialed, m.config().outside_prefix);
  if (!p || e164.empty()) return;
  Channel& caller = m.new_channel(p->ext, ChanState::ring, p->ext, p->name, kInternal, c.dialed, 1, nullptr);
  caller.dnid = c.dialed;
  Channel& trunk = dial_trunk(m, caller, e164, did(m, p->ext));
  std::string cu = caller.uniqueid, tu = trunk.uniqueid;
  e.after(c.ring, [&e, cu, tu, c] {
    Channel *caller, *trunk;
    if (!both(e.model(), cu, tu, caller, trunk)) return;
    PbxModel& m = e.model();
    if (c.outcome == Outcome::missed) {
      caller_cancels(m, *caller, *trunk);
      return;
    }
    if (c.outcome == Outcome::busy) {
      callee_busy(m, *caller, *trunk);
      return;
    }
    m.set_state(*trunk, ChanState::up);
    trunk->exten.clear();
    m.dial_end(caller, *trunk, "ANSWER");
    m.update_devices();
    m.set_state(*caller, ChanState::up);
    Bridge& b = m.bridge_create();
    m.bridge_enter(b, *trunk);
    m.bridge_enter(b, *caller);
    m.update_devices();
    schedule_talk_end(e, cu, tu, c.talk, c.hangup_by);
  });
}

void start_internal(SimEngine& e, const InternalCall& c) {
  PbxModel& m = e.model();
  const Phone* from = m.phone(c.from);
  const Phone* to = m.phone(c.to);
  if (!from || !to) return;
  Channel& caller = m.new_channel(from->ext, ChanState::ring, from->ext, from->name, kInternal, to->ext, 1, nullptr);
  caller.dnid = to->ext;
  caller.priority = 2;
  caller.app = "Dial";
  caller.app_data = "PJSIP/" + to->ext + ",30,tT";
  if (m.config().callbridge_dialplan) {
    caller.app = "Gosub";
    caller.app_data = "callbridge-dial,s,1(" + to->ext + ",30,tT)";
    return route_to_extension(e, caller, *to, Leg{c.outcome, c.ring, c.talk, c.hangup_by, false, c.far_ring});
  }
  Channel& callee = ring_phone(m, caller, *to, to->ext, true);
  schedule_ring_outcome(e, caller.uniqueid, callee.uniqueid, c.outcome, c.ring, c.talk, c.hangup_by);
}

void start_queue(SimEngine& e, const QueueCall& c) {
  PbxModel& m = e.model();
  const std::string main = did(m, "000");
  Channel& caller = m.new_channel(m.config().trunk, ChanState::ring, c.caller, "", "from-trunk", main, 1, nullptr);
  caller.dnid = main;
  m.set_dialplan(caller, "queue-" + m.config().queue, "s", 2);
  caller.app = "Queue";
  caller.app_data = m.config().queue;
  m.queue_callers += 1;
  m.update_devices();
  m.emit("QueueCallerJoin", "agent,all", [&] {
    auto f = m.snapshot(caller);
    f.insert(f.end(), {{"Queue", m.config().queue}, {"Position", "1"}, {"Count", std::to_string(m.queue_callers)}});
    return f;
  }());
  m.moh_start(caller);
  auto agent_fields = [&m](const Channel& caller, const Channel& agent, const Phone& p) {
    auto f = m.snapshot(caller);
    auto d = m.snapshot(agent, "Dest");
    f.insert(f.end(), d.begin(), d.end());
    f.insert(f.end(), {{"Queue", m.config().queue}, {"Interface", "PJSIP/" + p.ext}, {"MemberName", p.name}});
    return f;
  };
  std::vector<std::string> agents;
  for (const auto& agent : m.queue_agents()) {
    if (agent.paused) continue;  // app_queue rings no paused member
    if (auto st = m.member_stats.find(agent.ext); st != m.member_stats.end() && st->second.last_call > 0 &&
        std::chrono::duration_cast<std::chrono::seconds>(e.shown_now().time_since_epoch()).count() <
            st->second.last_call + m.config().queue_wrapup_seconds)
      continue;  // nor one in its wrap-up time
    const Phone* p = m.phone(agent.ext);
    if (!p) continue;
    Channel& a = m.new_channel(p->ext, ChanState::down, p->ext, p->name, kInternal, "s", 1, &caller);
    a.outgoing = true;
    a.app = "AppQueue";
    a.app_data = "(Outgoing Line)";
    a.conn_num = caller.cid_num;
    a.conn_name = caller.cid_name;
    m.set_state(a, ChanState::ringing);
    m.emit("NewConnectedLine", "call,all", m.snapshot(a));
    m.emit("AgentCalled", "agent,all", agent_fields(caller, a, *p));
    m.dial_begin(&caller, a, "PJSIP/" + p->ext);
    agents.push_back(a.uniqueid);
  }
  m.update_devices();
  for (auto it = agents.rbegin(); it != agents.rend(); ++it) m.dial_state(&caller, *m.find(*it), "RINGING");
  std::string cu = caller.uniqueid;
  auto joined = e.shown_now();
  e.after(c.ring, [&e, cu, agents, c, joined, agent_fields] {
    PbxModel& m = e.model();
    Channel* caller = m.find(cu);
    if (!caller) return;
    Channel* winner = nullptr;
    for (const auto& uid : agents) {
      Channel* a = m.find(uid);
      if (a && a->device == "PJSIP/" + c.answered_by) winner = a;
    }
    auto secs = [&](base::Timestamp from) {
      return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(e.shown_now() - from).count());
    };
    if (!winner) {  // the caller gives up: abandoned
      m.hangup_request(*caller, std::nullopt);
      for (const auto& uid : agents) {
        if (Channel* a = m.find(uid)) m.dial_end(caller, *a, "CANCEL");
      }
      m.moh_stop(*caller);
      m.queue_callers -= 1;
      m.queue_abandoned += 1;
      m.emit("QueueCallerAbandon", "agent,all", [&] {
        auto f = m.snapshot(*caller);
        f.insert(f.end(), {{"Queue", m.config().queue}, {"Position", "1"}, {"OriginalPosition", "1"},
                           {"HoldTime", secs(joined)}});
        return f;
      }());
      m.emit("QueueCallerLeave", "agent,all", [&] {
        auto f = m.snapshot(*caller);
        f.insert(f.end(), {{"Queue", m.config().queue}, {"Position", "1"}, {"Count", std::to_string(m.queue_callers)}});
        return f;
      }());
      m.soft_hangup_request(*caller, 16);
      for (const auto& uid : agents) m.hangup(uid, 16);
      m.hangup(cu, 16);
      m.update_devices();
      return;
    }
    m.set_state(*winner, ChanState::up);
    m.dial_end(caller, *winner, "ANSWER");
    for (const auto& uid : agents) {
      Channel* a = m.find(uid);
      if (a && a != winner) m.dial_end(caller, *a, "CANCEL");
    }
    m.set_connected(*caller, winner->cid_num, winner->cid_name);
    for (const auto& uid : agents) {
      Channel* a = m.find(uid);
      if (a && a != winner) m.dial_end(caller, *a, "CANCEL");
    }
    m.moh_stop(*caller);
    for (const auto& uid : agents) {
      Channel* a = m.find(uid);
      if (a && a != winner) m.hangup(uid, 26);
    }
    m.queue_callers -= 1;
    m.update_devices();
    m.emit("QueueCallerLeave", "agent,all", [&] {
      auto f = m.snapshot(*caller);
      f.insert(f.end(), {{"Queue", m.config().queue}, {"Position", "1"}, {"Count", std::to_string(m.queue_callers)}});
      return f;
    }());
    const Phone* wp = m.phone(c.answered_by);
    auto f = agent_fields(*caller, *winner, *wp);
    f.insert(f.end(), {{"HoldTime", secs(joined)}, {"RingTime", secs(joined)}});
    m.emit("AgentConnect", "agent,all", f);
    m.set_state(*caller, ChanState::up);
    Bridge& b = m.bridge_create();
    m.bridge_enter(b, *winner);
    m.bridge_enter(b, *caller);
    m.update_devices();
    std::string wu = winner->uniqueid;
    std::string hold = secs(joined);
    auto answered = e.shown_now();
    std::string ext = c.answered_by;
    e.after(c.talk, [&e, cu, wu, hold, answered, ext, agent_fields] {
      Channel *caller, *agent;
      PbxModel& m = e.model();
      if (!both(m, cu, wu, caller, agent)) return;
      std::string bridge = caller->bridge;
      m.hangup_request(*caller, std::nullopt);
      const Phone* wp = m.phone(ext);
      auto f = agent_fields(*caller, *agent, *wp);
      f.insert(f.end(), {{"HoldTime", hold},
                         {"TalkTime", std::to_string(std::chrono::duration_cast<std::chrono::seconds>(e.shown_now() - answered).count())},
                         {"Reason", "caller"}});
      m.emit("AgentComplete", "agent,all", f);
      auto& st = m.member_stats[ext];
      st.calls_taken += 1;
      st.last_call = std::chrono::duration_cast<std::chrono::seconds>(e.shown_now().time_since_epoch()).count();
      m.queue_completed += 1;
      m.bridge_leave(*caller);
      m.soft_hangup_request(*caller, 16);
      m.bridge_leave(*agent);
      m.bridge_destroy(bridge);
      m.hangup(cu, 16);
      m.hangup(wu, 16);
      m.update_devices();
    });
  });
}

namespace {

// ConfBridge state shared by the conference's steps: the bridge holds a hidden announcer
// (CBAnn/<room>) from ConfbridgeStart on, so BridgeNumChannels counts it.
struct Conference {
  std::string bridge;
  int users = 0;  // parties in the bridge
  std::string moh;  // the party left alone after others left hears music on hold
};

Fields conf_fields(PbxModel& m, const Bridge& b, std::size_t count) {
  Fields f{{"Conference", m.config().conference}};
  auto bs = m.bridge_snapshot(b);
  bs[5].second = std::to_string(count);
  f.insert(f.end(), bs.begin(), bs.end());
  return f;
}

void conference_leave(SimEngine& e, std::shared_ptr<Conference> conf, const std::string& uid) {
  PbxModel& m = e.model();
  Channel* c = m.find(uid);
  Bridge* b = conf ? m.find_bridge(conf->bridge) : nullptr;
  if (!c || !b) return;
  auto leave_event = [&] {
    auto f = conf_fields(m, *b, b->members.size());
    auto s = m.snapshot(*c);
    f.insert(f.end(), s.begin(), s.end());
    f.emplace_back("Admin", "No");
    m.emit("ConfbridgeLeave", "call,all", f);
  };
  m.hangup_request(*c, std::nullopt);
  bool last = conf->users == 1;
  if (last) {
    leave_event();
    if (conf->moh == uid) m.moh_stop(*c);
    conf->moh.clear();
    m.bridge_leave(*c);
    m.emit("ConfbridgeEnd", "call,all", conf_fields(m, *b, b->members.size()));
    m.conference_active = false;
    m.update_devices();
    conf->users = 0;
    std::string bridge = conf->bridge;
    e.after(387ms, [&e, uid, bridge] {  // the announcer channel is torn down, then the bridge
      PbxModel& m = e.model();
      std::string dev = "CBAnn/" + m.config().conference;
      m.announce_device(dev, DeviceState::unknown);
      if (Bridge* b = m.find_bridge(bridge)) b->members.clear();
      m.bridge_destroy(bridge);
      m.announce_device(dev, DeviceState::unknown);
      if (Channel* c = m.find(uid)) {
        m.soft_hangup_request(*c, 16);
        m.hangup(uid, 16);
      }
      m.update_devices();
    });
    return;
  }
  leave_event();
  m.bridge_leave(*c);
  conf->users -= 1;
  if (conf->users == 1) {  // the one left hears music on hold
    for (const auto& mu : b->members) {
      if (Channel* other = m.find(mu)) {
        m.moh_start(*other);
        conf->moh = mu;
      }
    }
  }
  m.soft_hangup_request(*c, 16);
  m.hangup(uid, 16);
  m.update_devices();
}

void conference_join(SimEngine& e, std::shared_ptr<Conference> conf, const std::string& uid) {
  PbxModel& m = e.model();
  Channel* c = m.find(uid);
  Bridge* b = m.find_bridge(conf->bridge);
  if (!c || !b) return;
  c->priority = 3;
  if (Channel* alone = conf->moh.empty() ? nullptr : m.find(conf->moh)) {  // company for the one alone
    m.moh_stop(*alone);
    conf->moh.clear();
  }
  b->members.push_back(c->uniqueid);
  auto f = conf_fields(m, *b, b->members.size());
  auto s = m.snapshot(*c);
  f.insert(f.end(), s.begin(), s.end());
  f.insert(f.end(), {{"Admin", "No"}, {"Muted", "No"}});
  m.emit("ConfbridgeJoin", "call,all", f);
  b->members.pop_back();
  m.bridge_enter(*b, *c);
  conf->users += 1;
}

}  // namespace

void start_conference(SimEngine& e, const ConferenceCall& c) {
  auto conf = std::make_shared<Conference>();
  for (const auto& party : c.parties) {
    e.after(party.at, [&e, conf, party, c] {
      PbxModel& m = e.model();
      const std::string room = m.config().conference;
      Channel* ch = nullptr;
      if (const Phone* p = m.phone(party.who)) {
        ch = &m.new_channel(p->ext, ChanState::ring, p->ext, p->name, kInternal, room, 1, nullptr);
        ch->dnid = room;
      } else {
        ch = &m.new_channel(m.config().trunk, ChanState::ring, party.who, "", "from-trunk", did(m, room), 1, nullptr);
        ch->dnid = did(m, room);
      }
      m.set_dialplan(*ch, "conferences", room, 2);
      ch->app = "ConfBridge";
      ch->app_data = room;
      m.set_state(*ch, ChanState::up);
      m.update_devices();
      std::string uid = ch->uniqueid;
      bool first = conf->bridge.empty();
      if (first) {
        e.after(15ms, [&e, conf] {
          PbxModel& m = e.model();
          Bridge& b = m.bridge_create("base", "softmix", "ConfBridge", m.config().conference);
          b.members.push_back("CBAnn/" + m.config().conference);  // the announcer, never AMI-visible
          conf->bridge = b.id;
          m.emit("ConfbridgeStart", "call,all", conf_fields(m, b, b.members.size()));
          m.conference_active = true;
          m.update_devices();
        });
        conf->bridge = "pending";
      }
      e.after(first ? c.announcement : 14ms, [&e, conf, uid] { conference_join(e, conf, uid); });
      e.after((first ? c.announcement : 0us) + party.stay, [&e, conf, uid] { conference_leave(e, conf, uid); });
    });
  }
}

namespace {

// The first leg of an Async Originate (manager.c action_originate): what OriginateResponse says
// besides the outcome, and how the originator's phone behaves.
struct OriginatorLeg {
  std::string action_id, ext, cid_num, cid_name;
  Fields target;  // {Context, Exten} of a dialplan originate, {Application, Data} of an application's
  microseconds timeout{}, ring{};
  bool phone_answers = true;
  std::vector<std::pair<std::string, std::string>> variables{};  // VarSet on the new channel
};

// Emits the OriginateResponse of `leg`: Success with the leg's channel and Uniqueid, or Failure
// with the device and "<null>" (as Asterisk 22 in click_to_dial_originate and the live pickups).
using OriginateRespond = std::function<void(bool ok, std::string reason)>;

// Rings the originator's phone (`leg.ext`) as the outgoing AppDial2 channel of an Originate. Once
// it answers (after `ring`, or earlier when answered remotely, action_phone_notify) its state is
// Up and `answered(uid, respond)` goes on (DialEnd and OriginateResponse in the order Asterisk
// uses for that kind of originate, then the dialplan or the application). A phone that does not
// answer before `timeout` ends NOANSWER with OriginateResponse Failure Reason 3
// (AST_CONTROL_RINGING). Nothing happens when `leg.ext` is no phone.
Fields join_fields(std::initializer_list<Fields> parts);

void ring_originator(SimEngine& e, const OriginatorLeg& leg,
                     std::function<void(const std::string& uid, const OriginateRespond& respond)> answered) {
  PbxModel& m = e.model();
  const Phone* p = m.phone(leg.ext);
  if (!p) return;
  Channel& ch = m.new_channel(p->ext, ChanState::down, p->ext, p->name, kInternal, "s", 1, nullptr);
  for (const auto& [k, v] : leg.variables)
    m.emit("VarSet", "dialplan,all", join_fields({m.snapshot(ch), {{"Variable", k}, {"Value", v}}}));
  ch.outgoing = true;
  ch.app = "AppDial2";
  ch.app_data = "(Outgoing Line)";
  m.set_callerid(ch, leg.cid_num, leg.cid_name);
  m.set_connected(ch, leg.cid_num, leg.cid_name);
  m.dial_begin(nullptr, ch, p->ext);
  m.set_state(ch, ChanState::ringing);
  m.update_devices();
  m.dial_state(nullptr, ch, "RINGING");
  std::string uid = ch.uniqueid;
  OriginateRespond respond = [&e, leg, uid, name = ch.name](bool ok, std::string reason) {
    Fields f{{"ActionID", leg.action_id},
             {"Response", ok ? "Success" : "Failure"},
             {"Channel", ok ? name : "PJSIP/" + leg.ext}};
    f.insert(f.end(), leg.target.begin(), leg.target.end());
    f.insert(f.end(), {{"Reason", std::move(reason)},
                       {"Uniqueid", ok ? uid : "<null>"},
                       {"CallerIDNum", leg.cid_num.empty() ? "<unknown>" : leg.cid_num},
                       {"CallerIDName", leg.cid_name.empty() ? "<unknown>" : leg.cid_name}});
    e.model().emit("OriginateResponse", "call,all", f);
  };
  e.set_answer(uid, [&e, uid, respond, answered = std::move(answered)] {
    PbxModel& m = e.model();
    Channel* ch = m.find(uid);
    if (!ch || ch->state != ChanState::ringing) return;
    m.set_state(*ch, ChanState::up);
    answered(uid, respond);
  });
  if (!leg.phone_answers || leg.ring >= leg.timeout) {
    e.after(leg.timeout, [&e, uid, respond] {
      (void)e.take_answer(uid);
      PbxModel& m = e.model();
      Channel* ch = m.find(uid);
      if (!ch || ch->state != ChanState::ringing) return;
      m.dial_end(nullptr, *ch, "NOANSWER");
      m.hangup_request(*ch, 19);
      m.hangup(uid, 19);
      m.update_devices();
      respond(false, "3");  // AST_CONTROL_RINGING: rang, no answer
    });
    return;
  }
  e.after(leg.ring, [&e, uid] {
    if (auto pick_up = e.take_answer(uid)) pick_up();
  });
}

}  // namespace

void start_originate(SimEngine& e, const OriginateCall& c) {
  OriginatorLeg leg{.action_id = c.action_id, .ext = c.ext, .cid_num = c.cid_num, .cid_name = c.cid_name,
                    .target = {{"Context", c.context}, {"Exten", c.exten}},
                    .timeout = c.timeout, .ring = c.ring, .phone_answers = c.phone_answers};
  ring_originator(e, leg, [&e, c](const std::string& uid, const OriginateRespond& respond) {
    PbxModel& m = e.model();
    Channel* ch = m.find(uid);
    m.dial_end(nullptr, *ch, "ANSWER");
    respond(true, "4");  // AST_CONTROL_ANSWER
    ch->outgoing = false;  // now runs the dialplan at Context/Exten
    m.set_dialplan(*ch, c.context, c.exten, 1);
    std::string e164 = e164_from_dialed(c.exten, m.config().outside_prefix);
    const Phone* target = m.phone(c.exten);
    if (target) {
      continue_to_phone(e, *ch, *target, c.far_ring, c.talk);
      return;
    }
    if (e164.empty()) {
      m.soft_hangup_request(*ch, 16);
      m.hangup(uid, 16);
      m.update_devices();
      return;
    }
    const Phone* self = m.phone(c.ext);
    Channel& trunk = dial_trunk(m, *ch, e164, did(m, self->ext));
    std::string tu = trunk.uniqueid;
    e.after(c.far_ring, [&e, uid, tu, c] {
      Channel *caller, *trunk;
      if (!both(e.model(), uid, tu, caller, trunk)) return;
      PbxModel& m = e.model();
      m.set_state(*trunk, ChanState::up);
      trunk->exten.clear();
      m.dial_end(caller, *trunk, "ANSWER");
      m.update_devices();
      Bridge& b = m.bridge_create();
      m.bridge_enter(b, *trunk);
      m.bridge_enter(b, *caller);
      schedule_talk_end(e, uid, tu, c.talk, HangupBy::caller);
    });
  });
}

namespace {

Fields join_fields(std::initializer_list<Fields> parts) {
  Fields f;
  for (const auto& p : parts) f.insert(f.end(), p.begin(), p.end());
  return f;
}

// chan_local's optimization of an answered Originate pair (live_make_call_from_mobile): ";2"'s
// peer (the device) moves into ";1"'s bridge (with the destination), both halves hang up.
void optimize_local_pair(PbxModel& m, const std::string& l1u, const std::string& l2u) {
  Channel *l1 = m.find(l1u), *l2 = m.find(l2u);
  if (!l1 || !l2) return;
  Channel* device = bridged_peer(m, *l2);
  if (!device || l1->bridge.empty()) return;
  std::string b1 = device->bridge, b2 = l1->bridge;
  m.emit("LocalOptimizationBegin", "call,all",
         join_fields({m.snapshot(*l1, "LocalOne"), m.snapshot(*l2, "LocalTwo"), m.snapshot(*device, "Source"),
                {{"DestUniqueId", l1u}, {"Id", "0"}}}));
  m.bridge_leave(*device);
  m.bridge_leave(*l1);
  m.bridge_enter(*m.find_bridge(b2), *device, l1u);
  m.emit("LocalOptimizationEnd", "call,all",
         join_fields({m.snapshot(*l1, "LocalOne"), m.snapshot(*l2, "LocalTwo"), {{"Success", "Yes"}, {"Id", "0"}}}));
  m.bridge_leave(*l2);
  m.soft_hangup_request(*l2, 16);
  m.hangup(l2u, 16);
  m.bridge_destroy(b1);
  m.hangup_request(*l1, 16);
  m.soft_hangup_request(*l1, 16);
  m.hangup(l1u, 16);
  m.update_devices();
}

}  // namespace

void start_local_originate(SimEngine& e, const LocalOriginateCall& c) {
  PbxModel& m = e.model();
  auto [l1, l2] = m.new_local_pair(c.number, c.local_context);
  for (Channel* half : {l1, l2}) {
    for (const auto& [k, v] : c.variables)
      m.emit("VarSet", "dialplan,all", join_fields({m.snapshot(*half), {{"Variable", k}, {"Value", v}}}));
  }
  m.set_callerid(*l1, c.cid_num, c.cid_name);
  m.set_connected(*l1, c.cid_num, c.cid_name);
  m.set_callerid(*l2, c.cid_num, c.cid_name);
  m.set_connected(*l2, c.cid_num, c.cid_name);
  m.emit("LocalBridge", "call,all",
         join_fields({m.snapshot(*l1, "LocalOne"), m.snapshot(*l2, "LocalTwo"),
                {{"Context", c.local_context}, {"Exten", c.number}, {"LocalOptimization", "Yes"}}}));
  m.dial_begin(nullptr, *l1, c.number + "@" + c.local_context);
  const std::string device_e164 = e164_from_dialed(c.number, m.config().outside_prefix);
  const std::string l1u = l1->uniqueid, l2u = l2->uniqueid, l1name = l1->name;
  auto respond = [&e, c, l1u, l1name](bool ok, const std::string& reason) {
    e.model().emit("OriginateResponse", "call,all",
                   {{"ActionID", c.action_id},
                    {"Response", ok ? "Success" : "Failure"},
                    {"Channel", ok ? l1name : "Local/" + c.number + "@" + c.local_context},
                    {"Context", c.context},
                    {"Exten", c.exten},
                    {"Reason", reason},
                    {"Uniqueid", ok ? l1u : "<null>"},
                    {"CallerIDNum", c.cid_num.empty() ? "<unknown>" : c.cid_num},
                    {"CallerIDName", c.cid_name.empty() ? "<unknown>" : c.cid_name}});
  };
  if (device_e164.empty()) {  // not a number of the outside world: nothing to dial
    m.hangup(l2u, 1);
    m.hangup(l1u, 1);
    respond(false, "0");
    return;
  }
  Channel& mobile = dial_trunk(m, *l2, device_e164, c.cid_num);
  const std::string mu = mobile.uniqueid;
  m.set_state(*l1, ChanState::ringing);
  m.dial_state(nullptr, *l1, "RINGING");
  if (c.ring >= c.timeout) {
    e.after(c.timeout, [&e, l1u, l2u, mu, respond] {
      PbxModel& m = e.model();
      Channel *l2 = m.find(l2u), *mob = m.find(mu), *l1 = m.find(l1u);
      if (!l1 || !l2 || !mob || mob->state != ChanState::ringing) return;
      m.dial_end(l2, *mob, "NOANSWER");
      m.hangup(mu, 19);
      m.dial_end(nullptr, *l1, "NOANSWER");
      m.soft_hangup_request(*l2, 16);
      m.hangup(l2u, 16);
      m.hangup(l1u, 19);
      m.update_devices();
      respond(false, "3");
    });
    return;
  }
  e.after(c.ring, [&e, c, l1u, l2u, mu, respond] {
    PbxModel& m = e.model();
    Channel *l1 = m.find(l1u), *l2 = m.find(l2u), *mob = m.find(mu);
    if (!l1 || !l2 || !mob || mob->state != ChanState::ringing) return;
    // The mobile answers: it talks to ";2"; ";1" is Up and runs the dialplan at Context/Exten.
    answer(m, *l2, *mob);
    m.set_state(*l1, ChanState::up);
    m.dial_end(nullptr, *l1, "ANSWER");
    respond(true, "4");
    l1->outgoing = false;
    m.set_dialplan(*l1, c.context, c.exten, 1);
    const Phone* target = m.phone(c.exten);
    std::string far;
    if (target) {
      l1->app = "Dial";
      l1->app_data = "PJSIP/" + target->ext + ",30,tT";
      far = ring_phone(m, *l1, *target, target->ext, true).uniqueid;
    } else if (std::string e164 = e164_from_dialed(c.exten, m.config().outside_prefix); !e164.empty()) {
      far = dial_trunk(m, *l1, e164, c.cid_num).uniqueid;
    } else {
      end_bridged(m, *mob, *l2);
      m.hangup(l1u, 1);
      m.update_devices();
      return;
    }
    auto pick_up = [&e, c, l1u, l2u, mu, far] {
      PbxModel& m = e.model();
      Channel *l1 = m.find(l1u), *dest = m.find(far);
      if (!l1 || !dest || dest->state != ChanState::ringing) return;
      answer(m, *l1, *dest);
      e.after(400ms, [&e, c, l1u, l2u, mu, far] {
        optimize_local_pair(e.model(), l1u, l2u);
        schedule_talk_end(e, far, mu, c.talk, HangupBy::caller);  // the destination hangs up
      });
    };
    if (target) e.set_answer(far, pick_up);  // a phone may also be answered remotely
    e.after(c.far_ring, [&e, far, pick_up] {
      if (auto remote = e.take_answer(far)) return remote();
      pick_up();
    });
  });
}

namespace {

// app_bridge on the answered channel `uid`: the `target` channel leaves its bridge into a new one
// with it (the new channel takes the call's Linkedid); whoever stays behind in the old bridge (the
// device the call moves away from) is alone: the bridge goes and it hangs up. A target that is
// gone or not up: Bridge fails and the new channel hangs up. Returns the target's Uniqueid ("" on
// failure).
std::string bridge_app(PbxModel& m, const std::string& uid, const std::string& target) {
  Channel* c = m.find(uid);
  if (!c) return {};
  c->app = "Bridge";
  c->app_data = target;
  Channel* r = m.find_by_name(target);
  if (!r || r->state != ChanState::up) {
    m.soft_hangup_request(*c, 16);
    m.hangup(uid, 16);
    m.update_devices();
    return {};
  }
  const std::string old = r->bridge, ru = r->uniqueid;
  if (held_in_pbx(*r)) {  // on hold in callbridge-hold: MusicOnHold ends as the bridge takes it
    m.moh_stop(*r);
    r->app.clear();
    r->app_data.clear();
  }
  Bridge& nb = m.bridge_create();
  const std::string nid = nb.id;
  if (!old.empty()) m.bridge_leave(*r);
  m.bridge_enter(*m.find_bridge(nid), *r);
  c->linkedid = r->linkedid;  // the new path joins the call's conversation
  m.bridge_enter(*m.find_bridge(nid), *c);
  if (Bridge* ob = m.find_bridge(old)) {
    const std::vector<std::string> left = ob->members;
    for (const auto& u : left) {
      Channel* o = m.find(u);
      if (!o) continue;
      m.bridge_leave(*o);
    }
    m.bridge_destroy(old);
    for (const auto& u : left) {
      if (Channel* o = m.find(u)) m.soft_hangup_request(*o, 16);
      m.hangup(u, 16);
    }
  }
  m.update_devices();
  return ru;
}

}  // namespace

void start_move(SimEngine& e, const MoveCall& c) {
  PbxModel& m = e.model();
  if (c.number.empty()) {
    // Back to the desk: the phone rings as an Originate's AppDial2 channel, then runs Bridge.
    OriginatorLeg leg{.action_id = c.action_id, .ext = c.ext, .cid_num = c.cid_num, .cid_name = c.cid_name,
                      .target = {{"Application", "Bridge"}, {"Data", c.target}},
                      .timeout = c.timeout, .ring = c.ring, .variables = c.variables};
    ring_originator(e, leg, [&e, c](const std::string& uid, const OriginateRespond& respond) {
      PbxModel& m = e.model();
      respond(true, "4");  // AST_CONTROL_ANSWER
      m.dial_end(nullptr, *m.find(uid), "ANSWER");
      std::string remote = bridge_app(m, uid, c.target);
      if (!remote.empty()) schedule_talk_end(e, remote, uid, c.talk, HangupBy::caller);
    });
    return;
  }
  // To a mobile: a Local pair, ";2" dials it through the trunk, ";1" runs Bridge once it answered.
  auto [l1, l2] = m.new_local_pair(c.number, c.local_context);
  for (Channel* half : {l1, l2}) {
    for (const auto& [k, v] : c.variables)
      m.emit("VarSet", "dialplan,all", join_fields({m.snapshot(*half), {{"Variable", k}, {"Value", v}}}));
  }
  m.set_callerid(*l1, c.cid_num, c.cid_name);
  m.set_connected(*l1, c.cid_num, c.cid_name);
  m.set_callerid(*l2, c.cid_num, c.cid_name);
  m.set_connected(*l2, c.cid_num, c.cid_name);
  m.emit("LocalBridge", "call,all",
         join_fields({m.snapshot(*l1, "LocalOne"), m.snapshot(*l2, "LocalTwo"),
                      {{"Context", c.local_context}, {"Exten", c.number}, {"LocalOptimization", "Yes"}}}));
  m.dial_begin(nullptr, *l1, c.number + "@" + c.local_context);
  const std::string l1u = l1->uniqueid, l2u = l2->uniqueid, l1name = l1->name;
  auto respond = [&e, c, l1u, l1name](bool ok, const std::string& reason) {
    e.model().emit("OriginateResponse", "call,all",
                   {{"ActionID", c.action_id},
                    {"Response", ok ? "Success" : "Failure"},
                    {"Channel", ok ? l1name : "Local/" + c.number + "@" + c.local_context},
                    {"Application", "Bridge"},
                    {"Data", c.target},
                    {"Reason", reason},
                    {"Uniqueid", ok ? l1u : "<null>"},
                    {"CallerIDNum", c.cid_num.empty() ? "<unknown>" : c.cid_num},
                    {"CallerIDName", c.cid_name.empty() ? "<unknown>" : c.cid_name}});
  };
  const std::string device_e164 = e164_from_dialed(c.number, m.config().outside_prefix);
  if (device_e164.empty()) {
    m.hangup(l2u, 1);
    m.hangup(l1u, 1);
    respond(false, "0");
    return;
  }
  Channel& mobile = dial_trunk(m, *l2, device_e164, c.cid_num);
  const std::string mu = mobile.uniqueid;
  m.set_state(*l1, ChanState::ringing);
  m.dial_state(nullptr, *l1, "RINGING");
  if (c.ring >= c.timeout) {
    e.after(c.timeout, [&e, l1u, l2u, mu, respond] {
      PbxModel& m = e.model();
      Channel *l2 = m.find(l2u), *mob = m.find(mu), *l1 = m.find(l1u);
      if (!l1 || !l2 || !mob || mob->state != ChanState::ringing) return;
      m.dial_end(l2, *mob, "NOANSWER");
      m.hangup(mu, 19);
      m.dial_end(nullptr, *l1, "NOANSWER");
      m.soft_hangup_request(*l2, 16);
      m.hangup(l2u, 16);
      m.hangup(l1u, 19);
      m.update_devices();
      respond(false, "3");
    });
    return;
  }
  e.after(c.ring, [&e, c, l1u, l2u, mu, respond] {
    PbxModel& m = e.model();
    Channel *l1 = m.find(l1u), *l2 = m.find(l2u), *mob = m.find(mu);
    if (!l1 || !l2 || !mob || mob->state != ChanState::ringing) return;
    answer(m, *l2, *mob);  // the mobile talks to ";2"
    m.set_state(*l1, ChanState::up);
    m.dial_end(nullptr, *l1, "ANSWER");
    respond(true, "4");
    std::string remote = bridge_app(m, l1u, c.target);
    if (remote.empty()) {
      if (Channel* mob2 = m.find(mu); mob2 && m.find(l2u)) end_bridged(m, *mob2, *m.find(l2u));
      return;
    }
    // Asterisk 22 lists the whole new path under the call's Linkedid from now on.
    for (const std::string& u : {l2u, mu})
      if (Channel* x = m.find(u)) x->linkedid = m.find(remote)->linkedid;
    e.after(400ms, [&e, c, l1u, l2u, mu, remote] {
      optimize_local_pair(e.model(), l1u, l2u);
      schedule_talk_end(e, remote, mu, c.talk, HangupBy::caller);  // the remote hangs up
    });
  });
}

void start_pickup(SimEngine& e, const PickupCall& c) {
  OriginatorLeg leg{.action_id = c.action_id, .ext = c.ext, .cid_num = c.cid_num, .cid_name = c.cid_name,
                    .target = {{"Application", "PickupChan"}, {"Data", c.target}},
                    .timeout = c.timeout, .ring = c.ring};
  ring_originator(e, leg, [&e, c](const std::string& uid, const OriginateRespond& respond) {
    PbxModel& m = e.model();
    Channel* picker = m.find(uid);
    respond(true, "4");  // AST_CONTROL_ANSWER
    m.dial_end(nullptr, *picker, "ANSWER");
    picker->app = "PickupChan";
    picker->app_data = c.target;
    // PickupChan: only a channel that still rings, reached by a plain Dial of its Linkedid.
    Channel* target = m.find_by_name(c.target);
    Channel* caller = target && target->state == ChanState::ringing && target->linkedid != target->uniqueid
                          ? m.find(target->linkedid)
                          : nullptr;
    if (!caller || caller->state == ChanState::up || !caller->bridge.empty()) {
      // PickupChan found nothing: it returns and the channel hangs up without a Pickup event,
      // Cause 0 (live_pickup_too_late); callbridge reads that as "nothing to pick up".
      m.hangup(uid, 0);
      m.update_devices();
      return;
    }
    m.set_connected(*picker, caller->cid_num, caller->cid_name);
    Fields f = m.snapshot(*picker);
    for (auto& kv : m.snapshot(*target, "Target")) f.push_back(std::move(kv));
    m.emit("Pickup", "call,all", f);
    m.set_connected(*caller, picker->cid_num, picker->cid_name);
    std::string tu = target->uniqueid;
    m.hangup(tu, 26);  // AST_CAUSE_ANSWERED_ELSEWHERE
    picker->exten.clear();
    m.dial_end(caller, *picker, "ANSWER");
    m.set_state(*caller, ChanState::up);
    Bridge& b = m.bridge_create();
    m.bridge_enter(b, *picker);
    m.bridge_enter(b, *caller);
    picker->linkedid = caller->linkedid;  // the picker joins the caller's conversation
    m.update_devices();
    schedule_talk_end(e, caller->uniqueid, uid, c.talk, HangupBy::callee);
  });
}

namespace {
void cancel_consultation(PbxModel& m, const PbxModel::Consultation& k);  // below, with the Atxfer flow
}  // namespace

namespace {

// The fields of res_parking's ParkedCall family: the parkee's snapshot, the parker's dial string,
// lot, space, seconds left and parked so far (manager_build_parked_call_string).
Fields parked_fields(PbxModel& m, const Channel& parkee, const std::string& space, const PbxModel::Parked& p,
                     microseconds parking_time) {
  Fields f = m.snapshot(parkee, "Parkee");
  const auto parked_for = std::chrono::duration_cast<std::chrono::seconds>(m.clock().now() - p.since).count();
  const auto total = std::chrono::duration_cast<std::chrono::seconds>(parking_time).count();
  f.insert(f.end(), {{"ParkerDialString", p.parker_dial_string},
                     {"Parkinglot", "default"},
                     {"ParkingSpace", space},
                     {"ParkingTimeout", std::to_string(std::max<std::int64_t>(0, total - parked_for))},
                     {"ParkingDuration", std::to_string(parked_for)}});
  return f;
}

// The space a channel is parked in ("" when it is not).
std::string parked_space(const PbxModel& m, std::string_view uniqueid) {
  for (const auto& [space, p] : m.parked)
    if (p.uniqueid == uniqueid) return space;
  return {};
}

// The parked channel leaves its space (retrieved, timed out, gave up): out of the parking bridge,
// which goes.
void unpark_channel(PbxModel& m, Channel& parkee, const std::string& space) {
  auto it = m.parked.find(space);
  if (it == m.parked.end()) return;
  std::string bridge = it->second.bridge;
  m.parked.erase(it);
  m.moh_stop(parkee);
  m.bridge_leave(parkee);
  m.bridge_destroy(bridge);
}

}  // namespace

base::Status action_park(SimEngine& e, std::string_view name, std::string_view timeout_channel, std::string_view lot,
                         microseconds parking_time) {
  PbxModel& m = e.model();
  Channel* c = m.find_by_name(name);
  if (!c) return base::fail(base::Error::not_found("Channel does not exist: " + std::string(name)));
  if (!lot.empty() && lot != "default")
    return base::fail(base::Error::not_found("Parkinglot '" + std::string(lot) + "' does not exist"));
  std::string space;
  for (int n = 701; n <= 720 && space.empty(); ++n)
    if (!m.parked.contains(std::to_string(n))) space = std::to_string(n);
  if (space.empty()) return base::fail(base::Error::conflict("All parking spaces are in use"));
  Channel* parker = timeout_channel.empty() ? nullptr : m.find_by_name(timeout_channel);
  // The parker hears the space and leaves the call (the DTMF park's behaviour for a TimeoutChannel
  // bridged with Channel); its dial string is what a timeout rings back.
  std::string parker_dial = parker ? parker->device : std::string();
  std::string cu = c->uniqueid;
  std::string pu = parker ? parker->uniqueid : std::string();
  if (!c->bridge.empty()) {
    std::string old = c->bridge;
    if (parker && parker->bridge == old) m.bridge_leave(*parker);
    m.bridge_leave(*c);
    m.bridge_destroy(old);
  }
  Bridge& b = m.bridge_create("parking", "holding_bridge", "Parking", "default");
  m.bridge_enter(b, *c);
  m.moh_start(*c);
  const std::uint64_t gen = ++m.park_generation;
  m.parked[space] = PbxModel::Parked{cu, parker_dial, b.id, m.clock().now(), gen};
  m.emit("ParkedCall", "call,all", parked_fields(m, *c, space, m.parked[space], parking_time));
  m.update_devices();
  if (!pu.empty()) {
    // After the announcement of the space the parker's channel hangs up (about a second in the lab).
    e.after(1s, [&e, pu] {
      PbxModel& m = e.model();
      if (Channel* p = m.find(pu); p && p->bridge.empty()) {
        m.hangup(pu, 16);
        m.update_devices();
      }
    });
  }
  e.after(parking_time, [&e, space, gen, parking_time] {
    PbxModel& m = e.model();
    auto it = m.parked.find(space);
    if (it == m.parked.end() || it->second.generation != gen) return;
    Channel* parkee = m.find(it->second.uniqueid);
    if (!parkee) {
      m.parked.erase(it);
      return;
    }
    PbxModel::Parked p = it->second;
    m.emit("ParkedCallTimeOut", "call,all", parked_fields(m, *parkee, space, p, parking_time));
    unpark_channel(m, *parkee, space);
    m.update_devices();
    // comebacktoorigin: the parked caller dials the parker again.
    const Phone* back = p.parker_dial_string.starts_with("PJSIP/") ? m.phone(p.parker_dial_string.substr(6)) : nullptr;
    if (!back) {
      m.hangup(parkee->uniqueid, 16);
      m.update_devices();
      return;
    }
    parkee->outgoing = false;
    continue_to_phone(e, *parkee, *back, 2s, 5s);
  });
  return {};
}

void start_unpark(SimEngine& e, const UnparkCall& c) {
  OriginatorLeg leg{.action_id = c.action_id, .ext = c.ext, .cid_num = c.cid_num, .cid_name = c.cid_name,
                    .target = {{"Application", "ParkedCall"}, {"Data", c.data}},
                    .timeout = c.timeout, .ring = c.ring};
  ring_originator(e, leg, [&e, c](const std::string& uid, const OriginateRespond& respond) {
    PbxModel& m = e.model();
    Channel* retriever = m.find(uid);
    m.dial_end(nullptr, *retriever, "ANSWER");
    respond(true, "4");  // AST_CONTROL_ANSWER; UnParkedCall follows (the lab's order)
    retriever->app = "ParkedCall";
    retriever->app_data = c.data;
    auto it = c.lot == "default" ? m.parked.find(c.space) : m.parked.end();
    Channel* parkee = it == m.parked.end() ? nullptr : m.find(it->second.uniqueid);
    if (!parkee) {
      // ParkedCall() on an empty space plays pbx-invalidpark and hangs up: no UnParkedCall.
      m.hangup(uid, 16);
      m.update_devices();
      return;
    }
    Fields f = parked_fields(m, *parkee, c.space, it->second, 45s);
    for (auto& kv : m.snapshot(*retriever, "Retriever")) f.push_back(std::move(kv));
    m.emit("UnParkedCall", "call,all", f);
    unpark_channel(m, *parkee, c.space);
    retriever->exten.clear();
    Bridge& b = m.bridge_create();
    m.bridge_enter(b, *parkee);
    m.bridge_enter(b, *retriever);
    m.set_connected(*retriever, parkee->cid_num, parkee->cid_name);
    m.set_connected(*parkee, retriever->cid_num, retriever->cid_name);
    m.update_devices();
    schedule_talk_end(e, parkee->uniqueid, uid, c.talk, HangupBy::callee);
  });
}

namespace {

// --- [callbridge-hold] ----------------------------------------------------------------------------
// As contrib/asterisk/callbridge.conf (version 2) and the lab's Asterisk 22 ran it (AMI recorded
// with VarSet/Newexten: hold, retrieve and hang-ups in both states).
constexpr std::string_view kHoldPeerVar = "CALLBRIDGE_HOLD_PEER";
constexpr std::string_view kHoldArmedVar = "CALLBRIDGE_HOLD_ARMED";
constexpr std::string_view kPeerGoneHandler = "callbridge-hold,peer-gone,1";

std::string var(const Channel& c, std::string_view name) {
  auto it = c.vars.find(name);
  return it == c.vars.end() ? std::string() : it->second;
}

// The channel is at callbridge-hold,<exten>,<priority> running `app`: Newexten (the snapshot, then
// Extension, Application, AppData).
void newexten(PbxModel& m, Channel& c, std::string exten, int priority, const std::string& app,
              const std::string& data) {
  m.set_dialplan(c, std::string(kHoldContext), std::move(exten), priority);
  m.emit("Newexten", "dialplan,all",
         join_fields({m.snapshot(c), {{"Extension", c.exten}, {"Application", app}, {"AppData", data}}}));
}

// The hangup handler callbridge-hold,peer-gone,1 of a channel that hangs up (if pushed):
// HangupHandlerRun, ExecIf(${CALLBRIDGE_HOLD_PEER} != "" ? SoftHangup(peer)), Return; then the
// channel is back where it was. Returns the Uniqueid of the peer it soft-hung-up (SoftHangupRequest
// cause 32, as Asterisk's SoftHangup application), "" when none (no peer variable, no such
// channel, or that one is hanging up already).
std::string run_hold_handler(PbxModel& m, Channel& c) {
  if (!c.hold_handler) return {};
  c.hold_handler = false;
  m.emit("HangupHandlerRun", "dialplan,all", join_fields({m.snapshot(c), {{"Handler", std::string(kPeerGoneHandler)}}}));
  const std::string context = c.context, exten = c.exten;
  const int priority = c.priority;
  const std::string peer_name = var(c, kHoldPeerVar);
  newexten(m, c, "peer-gone", 1, "ExecIf", (peer_name.empty() ? "0" : "1") + std::string("?SoftHangup(") + peer_name + ")");
  std::string killed;
  if (Channel* p = peer_name.empty() ? nullptr : m.find_by_name(peer_name); p && !p->hanging_up) {
    p->hanging_up = true;
    m.soft_hangup_request(*p, 32);
    killed = p->uniqueid;
  }
  newexten(m, c, "peer-gone", 2, "Return", "");
  m.set_dialplan(c, context, exten, priority);
  return killed;
}

// The peer a hangup handler soft-hung-up ends: its music stops (or it leaves its bridge), it
// gets the SoftHangupRequest of its own hang-up and runs its own handler. Its Hangup follows.
void peer_goes(PbxModel& m, const std::string& uid) {
  Channel* p = m.find(uid);
  if (!p) return;
  if (held_in_pbx(*p)) {
    m.moh_stop(*p);
  } else if (!p->bridge.empty()) {
    std::string b = p->bridge;
    m.bridge_leave(*p);
    if (Bridge* br = m.find_bridge(b); br && br->members.empty()) m.bridge_destroy(b);
  }
  m.soft_hangup_request(*p, 16);
  run_hold_handler(m, *p);
  if (held_in_pbx(*p)) newexten(m, *p, p->exten, p->priority, p->app_before_hold, p->app_data_before_hold);
}

bool held_in_pbx(const Channel& c) { return c.context == kHoldContext && c.app == "MusicOnHold"; }

bool hold_touched(const Channel& c) { return c.hold_handler || c.after_bridge_go_on; }

// A channel on hold in callbridge-hold hangs up (the recording of the remote hung up by AMI while
// held): its music stops, its handler hangs the peer up too.
void end_held(PbxModel& m, Channel& hanger, std::optional<int> ami_cause) {
  const std::string hu = hanger.uniqueid;
  hanger.hanging_up = true;
  if (!ami_cause) m.hangup_request(hanger, 16);  // the party's BYE
  m.moh_stop(hanger);
  if (ami_cause) m.soft_hangup_request(hanger, *ami_cause);
  const std::string peer = run_hold_handler(m, hanger);
  if (!peer.empty()) peer_goes(m, peer);
  if (Channel* h = m.find(hu)) newexten(m, *h, h->exten, h->priority, h->app_before_hold, h->app_data_before_hold);
  m.hangup(hu, ami_cause.value_or(16));
  if (!peer.empty()) m.hangup(peer, 16);
  m.update_devices();
}

// One of two bridged channels the hold touched hangs up (the recording after a retrieve): both
// leave, the bridge goes, the hanger's handler runs; the other continues after the bridge at its
// next priority, in callbridge-hold Hangup(), and runs its handler too.
void end_hold_bridged(PbxModel& m, Channel& hanger, Channel& peer, std::optional<int> ami_cause) {
  const std::string hu = hanger.uniqueid, pu = peer.uniqueid, bridge = hanger.bridge;
  hanger.hanging_up = true;
  if (!ami_cause) m.hangup_request(hanger, 16);
  m.bridge_leave(hanger);
  m.bridge_leave(peer);
  m.bridge_destroy(bridge);
  std::string killed = run_hold_handler(m, hanger);
  if (Channel* p = m.find(pu)) {
    p->hanging_up = true;
    if (p->after_bridge_go_on && p->context == kHoldContext) {
      p->app = "Hangup";
      p->app_data.clear();
      newexten(m, *p, p->exten, p->priority, "Hangup", "");
    }
    if (killed != pu) m.soft_hangup_request(*p, 16);
    run_hold_handler(m, *p);
  }
  m.hangup(pu, 16);
  m.hangup(hu, ami_cause.value_or(16));
  m.update_devices();
}

}  // namespace

base::Status action_setvar(SimEngine& e, std::string_view channel, std::string_view variable, std::string_view value) {
  Channel* c = e.model().find_by_name(channel);
  if (!c) return base::fail(base::Error::not_found("No such channel"));
  if (variable.size() > kMaxVarText || value.size() > kMaxVarText ||
      (c->vars.size() >= Channel::kMaxVars && !c->vars.contains(variable)))
    return base::fail(base::Error::invalid_argument("Variable not set"));
  c->vars[std::string(variable)] = std::string(value);
  e.model().emit("VarSet", "dialplan,all",
                 join_fields({e.model().snapshot(*c), {{"Variable", std::string(variable)}, {"Value", std::string(value)}}}));
  return {};
}

base::Status check_hold_redirect(SimEngine& e, std::string_view channel, std::string_view exten, std::string_view extra,
                                 std::string_view extra_exten) {
  PbxModel& m = e.model();
  auto known = [](std::string_view x) { return x == "device" || x == "remote"; };
  if (!m.find_by_name(channel)) return base::fail(base::Error::not_found("Channel not existent"));
  if (!known(exten)) return base::fail(base::Error::invalid_argument("Extension does not exist."));
  if (extra.empty()) return {};
  if (!m.find_by_name(extra)) return base::fail(base::Error::not_found("ExtraChannel does not exist: " + std::string(extra)));
  if (!known(extra_exten) || extra == channel) return base::fail(base::Error::invalid_argument("Secondary redirect failed"));
  return {};
}

void action_hold_redirect(SimEngine& e, std::string_view channel, std::string_view exten, std::string_view extra,
                          std::string_view extra_exten) {
  PbxModel& m = e.model();
  std::vector<std::pair<std::string, std::string>> moved;  // Uniqueid, exten
  for (auto [name, x] : {std::pair{channel, exten}, std::pair{extra, extra_exten}}) {
    if (Channel* c = name.empty() ? nullptr : m.find_by_name(name)) moved.emplace_back(c->uniqueid, std::string(x));
  }
  // The async goto: each channel is at <exten>,1 (Asterisk shows the application it was running).
  for (const auto& [uid, x] : moved) {
    Channel& c = *m.find(uid);
    if (held_in_pbx(c)) {
      m.moh_stop(c);  // held again: MusicOnHold is interrupted
    } else {
      c.app_before_hold = c.app;
      c.app_data_before_hold = c.app_data;
    }
    newexten(m, c, x, 1, c.app_before_hold, c.app_data_before_hold);
  }
  std::set<std::string> left;  // bridges the moved channels left
  for (const auto& [uid, x] : moved) {
    Channel& c = *m.find(uid);
    if (!c.bridge.empty()) {
      std::string b = c.bridge;
      left.insert(b);
      m.bridge_leave(c);
      if (Bridge* br = m.find_bridge(b); br && br->members.empty()) m.bridge_destroy(b);
    }
    c.outgoing = false;
    c.after_bridge_go_on = false;
    // Gosub(arm,1): the hangup handler is pushed once per channel.
    const bool armed = !var(c, kHoldArmedVar).empty();
    newexten(m, c, "arm", 1, "ExecIf",
             std::string(armed ? "0" : "1") + "?Set(CHANNEL(hangup_handler_push)=" + std::string(kPeerGoneHandler) + ")");
    if (!armed) {
      m.emit("HangupHandlerPush", "dialplan,all",
             join_fields({m.snapshot(c), {{"Handler", std::string(kPeerGoneHandler)}}}));
      c.hold_handler = true;
    }
    newexten(m, c, "arm", 2, "Set", std::string(kHoldArmedVar) + "=1");
    c.vars[std::string(kHoldArmedVar)] = "1";
    newexten(m, c, "arm", 3, "Return", "");
    c.app = "MusicOnHold";
    c.app_data.clear();
    newexten(m, c, x, 2, "MusicOnHold", "");
    m.moh_start(c);
  }
  // Whoever stays behind in a bridge alone (a single Redirect): its Dial() ends and it hangs up,
  // as action_redirect.
  for (const auto& b : left) {
    Bridge* br = m.find_bridge(b);
    if (!br) continue;
    const std::vector<std::string> rest = br->members;
    for (const auto& u : rest)
      if (Channel* o = m.find(u)) m.bridge_leave(*o);
    m.bridge_destroy(b);
    for (const auto& u : rest) {
      Channel* o = m.find(u);
      if (!o) continue;
      o->hanging_up = true;
      m.soft_hangup_request(*o, 16);
      run_hold_handler(m, *o);
      m.hangup(u, 16);
    }
  }
  m.update_devices();
}

base::Status action_bridge(SimEngine& e, std::string_view channel1, std::string_view channel2) {
  PbxModel& m = e.model();
  Channel* a = m.find_by_name(channel1);
  if (!a) return base::fail(base::Error::not_found("Channel1 does not exist: " + std::string(channel1)));
  Channel* b = m.find_by_name(channel2);
  if (!b) return base::fail(base::Error::not_found("Channel2 does not exist: " + std::string(channel2)));
  if (a == b) return base::fail(base::Error::conflict("Unable to add Channel2 to bridge: " + b->name));
  const std::string au = a->uniqueid, bu = b->uniqueid;
  const std::string nid = m.bridge_create().id;
  for (const std::string& uid : {au, bu}) {
    Channel& c = *m.find(uid);
    if (held_in_pbx(c)) m.moh_stop(c);
    if (!c.bridge.empty()) {
      std::string old = c.bridge;
      m.bridge_leave(c);
      if (Bridge* br = m.find_bridge(old); br && br->members.empty()) m.bridge_destroy(old);
    }
    // ast_bridge_set_after_go_on: back to the dialplan at the next priority once out of the bridge.
    c.priority += 1;
    c.app.clear();
    c.app_data.clear();
    c.after_bridge_go_on = true;
    m.bridge_enter(*m.find_bridge(nid), c);
  }
  m.update_devices();
  return {};
}

base::Status action_hangup(SimEngine& e, std::string_view name, int cause) {
  PbxModel& m = e.model();
  Channel* c = m.find_by_name(name);
  if (!c) return base::fail(base::Error::not_found("No such channel"));
  if (std::string space = parked_space(m, c->uniqueid); !space.empty()) {
    // The parked caller hangs up: res_parking's ParkedCallGiveUp.
    m.emit("ParkedCallGiveUp", "call,all", parked_fields(m, *c, space, m.parked[space], 45s));
    std::string cu = c->uniqueid;
    unpark_channel(m, *c, space);
    m.soft_hangup_request(*c, cause);
    m.hangup(cu, cause);
    m.update_devices();
    return {};
  }
  for (auto it = m.consultations.begin(); it != m.consultations.end(); ++it) {
    if (c->uniqueid != it->target && c->uniqueid != it->local1 && c->uniqueid != it->local2) continue;
    auto k = *it;
    m.consultations.erase(it);
    cancel_consultation(m, k);
    return {};
  }
  if (held_in_pbx(*c)) {  // on hold in callbridge-hold: its hangup handler takes the peer along
    end_held(m, *c, cause);
    return {};
  }
  if (Channel* peer = bridged_peer(m, *c); peer && (hold_touched(*c) || hold_touched(*peer))) {
    end_hold_bridged(m, *c, *peer, cause);
    return {};
  }
  if (Channel* peer = bridged_peer(m, *c)) {
    // manager.c Hangup: ast_channel_softhangup_withcause_locked -> SoftHangupRequest.
    std::string bridge = c->bridge, cu = c->uniqueid, pu = peer->uniqueid;
    // A Local half (an AnyDevice call before chan_local optimized it away): its other half and
    // whoever that one talks to hang up too, as chan_local passes the hangup on.
    std::string partner;
    if (peer->name.starts_with("Local/") && peer->name.size() > 2) {
      std::string other = peer->name;
      other.back() = other.back() == '1' ? '2' : '1';
      if (Channel* o = m.find_by_name(other)) partner = o->uniqueid;
    }
    m.soft_hangup_request(*c, cause);
    m.bridge_leave(*c);
    m.bridge_leave(*peer);
    m.bridge_destroy(bridge);
    m.hangup(cu, cause);
    m.hangup(pu, 16);
    if (Channel* o = partner.empty() ? nullptr : m.find(partner)) {
      Channel* far = bridged_peer(m, *o);
      std::string fb = o->bridge, fu = far ? far->uniqueid : std::string();
      m.soft_hangup_request(*o, 16);
      if (far) {
        m.bridge_leave(*o);
        m.bridge_leave(*far);
        m.bridge_destroy(fb);
      }
      m.hangup(partner, 16);
      if (!fu.empty()) m.hangup(fu, 16);
    }
    m.update_devices();
    return {};
  }
  // Ringing legs: find the Dial partner (same Linkedid) and end both.
  std::vector<std::string> related;
  for (const auto& other : m.channels()) {
    if (other.linkedid == c->linkedid && other.uniqueid != c->uniqueid && other.bridge.empty())
      related.push_back(other.uniqueid);
  }
  std::string cu = c->uniqueid;
  m.soft_hangup_request(*c, cause);
  m.hangup(cu, cause);
  for (const auto& uid : related) {
    if (Channel* o = m.find(uid)) {
      m.soft_hangup_request(*o, 16);
      m.hangup(uid, 16);
    }
  }
  m.update_devices();
  return {};
}

namespace {

// What a Yealink/Snom phone does with "Event: talk": answer its ringing call, else resume the
// call it has held longest (the second NOTIFY of an alternate resumes the other call); with
// "Event: hold": hold its active call. The Asterisk side is the phone's own re-INVITE or 200 OK,
// as in the hold_retrieve and inbound_answered captures.
void phone_reacts(SimEngine& e, const std::string& ext, const std::string& event) {
  PbxModel& m = e.model();
  const std::string device = "PJSIP/" + ext;
  std::vector<std::string> ringing, holding, active;
  for (const auto& c : m.channels()) {
    if (c.device != device) continue;
    if (c.state == ChanState::ringing && c.outgoing) ringing.push_back(c.uniqueid);
    else if (c.holding_since) holding.push_back(c.uniqueid);
    else if (c.state == ChanState::up && !c.bridge.empty()) active.push_back(c.uniqueid);
  }
  if (event == "talk") {
    for (const auto& uid : ringing) {
      if (auto pick_up = e.take_answer(uid)) return pick_up();
    }
    Channel* oldest = nullptr;
    for (const auto& uid : holding) {
      Channel* c = m.find(uid);
      if (c && (!oldest || *c->holding_since < *oldest->holding_since)) oldest = c;
    }
    if (!oldest) return;
    Channel* peer = bridged_peer(m, *oldest);
    m.unhold(*oldest);
    if (peer && peer->held) {
      m.moh_stop(*peer);
      peer->held = false;
      m.touch(*peer);
    }
    m.update_devices();
  } else if (event == "hold") {
    for (const auto& uid : active) {
      Channel* c = m.find(uid);
      Channel* peer = c ? bridged_peer(m, *c) : nullptr;
      if (!peer || peer->held) continue;
      m.hold(*c, "default");
      peer->held = true;
      m.touch(*peer);
      m.update_devices();
      m.moh_start(*peer);
      return;
    }
  }
}

}  // namespace

base::Status action_phone_notify(SimEngine& e, std::string_view endpoint, std::string_view event) {
  PbxModel& m = e.model();
  const Phone* p = m.phone(endpoint);
  if (!p && endpoint != m.config().trunk)
    return base::fail(base::Error::not_found("Unable to retrieve endpoint " + std::string(endpoint)));
  if (!p || !p->remote_control) return {};  // sent; this phone ignores such NOTIFYs
  std::string ev(event);
  for (auto& ch : ev) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  // The phone acts once the NOTIFY reached it (a LAN round trip and its own processing).
  e.after(kPhoneReaction, [&e, ext = p->ext, ev] { phone_reacts(e, ext, ev); });
  return {};
}

base::Status action_blind_transfer(SimEngine& e, std::string_view name, std::string_view exten, microseconds ring,
                                   microseconds talk) {
  PbxModel& m = e.model();
  Channel* c = m.find_by_name(name);
  if (!c) return base::fail(base::Error::not_found("No such channel"));
  const Phone* target = m.phone(exten);
  if (!target) return base::fail(base::Error::invalid_argument("Transfer failed"));
  Channel* peer = bridged_peer(m, *c);
  if (!peer) return base::fail(base::Error::conflict("Transfer failed"));
  blind_transfer(e, *c, *peer, *target, ring, talk);
  return {};
}

base::Status action_redirect(SimEngine& e, std::string_view name, std::string_view exten, microseconds ring,
                             microseconds talk) {
  PbxModel& m = e.model();
  Channel* c = m.find_by_name(name);
  if (!c) return base::fail(base::Error::not_found("Channel not existent"));
  const Phone* target = m.phone(exten);
  if (!target) return base::fail(base::Error::invalid_argument("Extension does not exist."));
  if (Channel* peer = bridged_peer(m, *c)) {
    // The redirected channel leaves the bridge; the other party's Dial() ends and it hangs up.
    std::string bridge = c->bridge, pu = peer->uniqueid;
    m.bridge_leave(*c);
    m.bridge_leave(*peer);
    m.bridge_destroy(bridge);
    m.soft_hangup_request(*peer, 16);
    m.hangup(pu, 16);
    m.update_devices();
  }
  c->outgoing = false;
  continue_to_phone(e, *c, *target, ring, talk);
  return {};
}

namespace {


// AMI Atxfer (the features.conf atxfer *2 path, capture attended_transfer): the transferer's
// channel leaves the call into a new bridge with Local/<ext>@from-internal;1 whose ;2 half dials
// the target; when the transferer hangs up, the bridges merge and the Local pair optimizes away.
void atxfer_feature(SimEngine& e, const std::string& xr_uid, const std::string& xe_uid, const std::string& target_ext,
                    microseconds ring, microseconds talk) {
  e.after(245ms, [&e, xr_uid, xe_uid] {  // after the DTMF *2 the transferer's bridge peer is held
    PbxModel& m = e.model();
    Channel *xr, *xe;
    if (!both(m, xr_uid, xe_uid, xr, xe)) return;
    m.hold(*xr, std::nullopt);
    xe->held = true;
    m.touch(*xe);
    m.update_devices();
    m.moh_start(*xe);
  });
  e.after(381ms, [&e, xr_uid, xe_uid, target_ext, ring, talk] {
    PbxModel& m = e.model();
    Channel *xr, *xe;
    const Phone* target = m.phone(target_ext);
    if (!both(m, xr_uid, xe_uid, xr, xe) || !target) return;
    auto [l1, l2] = m.new_local_pair(target->ext, kInternal, *xe);
    Bridge& b2 = m.bridge_create();
    std::string b2id = b2.id;
    m.set_callerid(*l2, xr->cid_num, xr->cid_name);
    m.emit("LocalBridge", "call,all",
           merge({m.snapshot(*l1, "LocalOne"), m.snapshot(*l2, "LocalTwo"),
                  {{"Context", kInternal}, {"Exten", target->ext}, {"LocalOptimization", "Yes"}}}));
    m.set_connected(*l1, xr->cid_num, xr->cid_name);
    m.bridge_enter(*m.find_bridge(b2id), *l1);
    m.bridge_leave(*xr);
    Channel& t = m.new_channel(target->ext, ChanState::down, target->ext, target->name, kInternal, "s", 1, xe);
    t.outgoing = true;
    t.app = "AppDial";
    t.app_data = "(Outgoing Line)";
    t.exten = target->ext;
    m.set_connected(t, l2->cid_num, l2->cid_name);
    m.bridge_enter(*m.find_bridge(b2id), *xr);
    m.set_connected(*xr, "", "");
    m.set_state(t, ChanState::ringing);
    l2->priority = 2;
    l2->app = "Dial";
    l2->app_data = "PJSIP/" + target->ext + ",30,tT";
    m.dial_begin(l2, t, target->ext);
    m.set_connected(*l2, t.cid_num, t.cid_name);
    l1->cid_num = t.cid_num;
    l1->cid_name = t.cid_name;
    m.set_state(*l1, ChanState::ringing);
    m.set_callerid(*l1, t.cid_num, t.cid_name);
    m.dial_state(l2, t, "RINGING");
    m.update_devices();
    m.announce_device(l1->device, DeviceState::inuse);
    m.set_connected(*xr, t.cid_num, t.cid_name);
    m.dial_state(nullptr, *l1, "RINGING");
    std::string l1u = l1->uniqueid, l2u = l2->uniqueid, tu = t.uniqueid;
    m.consultations.push_back({xr_uid, xe_uid, l1u, l2u, tu});
    e.after(ring, [&e, xr_uid, xe_uid, l1u, l2u, tu, talk] {
      PbxModel& m = e.model();
      Channel *l1 = m.find(l1u), *l2 = m.find(l2u), *t = m.find(tu);
      if (!l1 || !l2 || !t || t->state != ChanState::ringing) return;
      m.set_state(*t, ChanState::up);
      t->exten.clear();
      m.dial_end(l2, *t, "ANSWER");
      m.set_state(*l2, ChanState::up);
      Bridge& b3 = m.bridge_create();
      std::string b3id = b3.id;
      m.set_state(*l1, ChanState::up);
      m.bridge_enter(*m.find_bridge(b3id), *t);
      m.dial_end(nullptr, *l1, "ANSWER");
      m.announce_device(l1->device, DeviceState::inuse);
      m.announce_device(l1->device, DeviceState::inuse);
      m.bridge_enter(*m.find_bridge(b3id), *l2);
      m.update_devices();
      // The transferer hangs up: the transfer completes (bridges merge).
      e.after(2'616'000us, [&e, xr_uid, xe_uid, l1u, l2u, tu, talk] {
        PbxModel& m = e.model();
        Channel *xr = m.find(xr_uid), *xe = m.find(xe_uid), *l1 = m.find(l1u), *l2 = m.find(l2u), *t = m.find(tu);
        if (!xr || !xe || !l1 || !l2 || !t) return;
        Bridge* b1 = m.find_bridge(xe->bridge);
        Bridge* b2 = m.find_bridge(xr->bridge);
        if (!b1 || !b2) return;
        std::erase_if(m.consultations, [&](const PbxModel::Consultation& k) { return k.target == tu; });
        std::string b1id = b1->id, b2id = b2->id;
        m.hangup_request(*xr, 16);
        m.bridge_leave(*xr);
        m.emit("BridgeMerge", "call,all", merge({m.bridge_snapshot(*b1, "To"), m.bridge_snapshot(*b2, "From")}));
        m.bridge_leave(*l1);
        m.moh_stop(*xe);
        xe->held = false;
        m.touch(*xe);
        m.bridge_enter(*m.find_bridge(b1id), *l1);
        m.emit("AttendedTransfer", "call,all",
               merge({{{"Result", "Success"}},
                      m.snapshot(*xr, "OrigTransferer"), m.bridge_snapshot(*m.find_bridge(b1id), "Orig"),
                      m.snapshot(*xr, "SecondTransferer"), m.bridge_snapshot(*m.find_bridge(b2id), "Second"),
                      m.snapshot(*xe, "Transferee"),
                      {{"IsExternal", "No"}, {"DestType", "Bridge"}, {"DestBridgeUniqueid", b1id}}}));
        m.bridge_destroy(b2id);
        m.set_connected(*l1, xe->cid_num, xe->cid_name);
        m.hangup(xr_uid, 16);
        m.set_connected(*xe, t->cid_num, t->cid_name);
        m.set_connected(*t, xe->cid_num, xe->cid_name);
        m.update_devices();
        // chan_local optimizes the pair away: the transferee is swapped into the target's bridge.
        e.after(425ms, [&e, xe_uid, l1u, l2u, tu, talk] {
          PbxModel& m = e.model();
          Channel *xe = m.find(xe_uid), *l1 = m.find(l1u), *l2 = m.find(l2u), *t = m.find(tu);
          if (!xe || !l1 || !l2 || !t) return;
          std::string b1id = xe->bridge, b3id = l2->bridge;
          m.emit("LocalOptimizationBegin", "call,all",
                 merge({m.snapshot(*l1, "LocalOne"), m.snapshot(*l2, "LocalTwo"), m.snapshot(*xe, "Source"),
                        {{"DestUniqueId", l2u}, {"Id", "0"}}}));
          m.bridge_leave(*xe);
          m.set_callerid(*l2, xe->cid_num, xe->cid_name);
          m.bridge_leave(*l2);
          m.bridge_enter(*m.find_bridge(b3id), *xe, l2u);
          m.emit("LocalOptimizationEnd", "call,all",
                 merge({m.snapshot(*l1, "LocalOne"), m.snapshot(*l2, "LocalTwo"), {{"Success", "No"}, {"Id", "0"}}}));
          m.soft_hangup_request(*l2, 16);
          m.hangup_request(*l1, 16);
          std::string dev = l1->device;
          m.hangup(l2u, 16);
          m.bridge_leave(*l1);
          m.hangup(l1u, 16);
          m.bridge_destroy(b1id);
          m.announce_device(dev, DeviceState::not_inuse);
          m.announce_device(dev, DeviceState::not_inuse);
          xe->outgoing = false;
          schedule_talk_end(e, xe_uid, tu, talk, HangupBy::caller);
        });
      });
    });
  });
}

// The consulted side of an Atxfer consultation hangs up (AMI Hangup of the target, or of either
// Local half): Asterisk's attended transfer returns the transferer to the transferee, as
// recorded live (tests/live consult_cancel_api): the target's bridge goes, the Local pair hangs up,
// the transferer leaves the consultation bridge for the transferee's, MOH stops, Unhold.
void cancel_consultation(PbxModel& m, const PbxModel::Consultation& k) {
  Channel *xr = m.find(k.transferer), *xe = m.find(k.transferee), *l1 = m.find(k.local1), *l2 = m.find(k.local2),
          *t = m.find(k.target);
  if (!xr || !xe || !l1 || !l2 || !t) return;
  const std::string b1 = xe->bridge, b2 = xr->bridge, b3 = l2->bridge;
  if (t->state == ChanState::up) {
    m.bridge_leave(*t);
    m.bridge_leave(*l2);
  } else {
    m.dial_end(l2, *t, "CANCEL");
  }
  m.soft_hangup_request(*l2, 16);
  m.hangup_request(*l1, 16);
  m.hangup(k.local2, 16);
  if (!b3.empty()) m.bridge_destroy(b3);
  m.bridge_leave(*l1);
  m.bridge_leave(*xr);
  if (Bridge* b = m.find_bridge(b1)) m.bridge_enter(*b, *xr);
  m.moh_stop(*xe);
  xe->held = false;
  m.touch(*xe);
  m.hangup(k.target, 16);
  m.unhold(*xr);
  if (!b2.empty()) m.bridge_destroy(b2);
  m.hangup(k.local1, 16);
  m.set_connected(*xr, xe->cid_num, xe->cid_name);
  m.update_devices();
}

}  // namespace

base::Status action_atxfer(SimEngine& e, std::string_view name, std::string_view exten, microseconds ring,
                           microseconds consult, microseconds talk) {
  PbxModel& m = e.model();
  Channel* c = m.find_by_name(name);
  if (!c) return base::fail(base::Error::not_found("No such channel"));
  const Phone* target = m.phone(exten);
  if (!target) return base::fail(base::Error::invalid_argument("Extension does not exist"));
  Channel* peer = bridged_peer(m, *c);
  if (!peer) return base::fail(base::Error::conflict("Atxfer failed"));
  (void)consult;
  atxfer_feature(e, c->uniqueid, peer->uniqueid, target->ext, ring, talk);
  return {};
}

}  // namespace callbridge::sim
