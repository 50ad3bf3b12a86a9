// Per-event handlers of AmiCallTracker: channels, dials, bridges, holds, transfers, park, device
// state. Part of AmiCallTracker (see ami_call_tracker_impl.hpp); resync lists: ami_call_resync.cpp.
#include "drivers/ami/ami_call_tracker_impl.hpp"

namespace callbridge::drivers::ami {

// ---------------------------------------------------------------------------------------------
// Events

void AmiCallTracker::Impl::on_newchannel(const AmiFields& f, Timestamp t) {
  ChanInfo ci = chan_info(f);
  Slot s = g_.find(ci.uid);
  if (s == kNoSlot) {
    s = ensure_channel(ci, t);
    if (s == kNoSlot) return;
  } else {
    update_channel(s, ci, t);
  }
  Channel& c = g_.at(s);
  if (c.kind == ChanKind::party && c.state == 4 && c.legs.empty()) {
    // The phone itself started this call (INVITE from the phone): an outgoing entry from now.
    c.initiated = true;
    std::optional<std::string> raw;
    if (!c.exten.empty() && c.exten != "s") raw = c.exten;
    open_pending(s, t, raw);
  }
}

void AmiCallTracker::Impl::on_dial_begin(const AmiFields& f, Timestamp t) {
  ChanInfo di = dest_info(f);
  Slot dst = ensure_channel(di, t);
  if (dst == kNoSlot) return;
  update_channel(dst, di, t);
  Slot src = kNoSlot;
  ChanInfo si = chan_info(f);
  if (!si.uid.empty()) {
    // The destination's ring starts now, whatever was lost; the caller's call started before.
    const bool src_known = g_.find(si.uid) != kNoSlot;
    src = ensure_channel(si, t);
    if (src != kNoSlot) update_channel(src, si, t);
    if (src != kNoSlot && !src_known) note_unseen_creation(src);
  }
  Channel& d = g_.at(dst);
  d.was_dialed = true;
  // Dialled by the PBX's forwarding of a line (callbridge.conf): that line handed the caller on.
  // As after a transfer, the caller (the remote of the dialled party's leg) carries who did.
  if (src != kNoSlot && !g_.at(src).forwarded_by.empty()) g_.at(src).transferred_by = g_.at(src).forwarded_by;
  std::string num = number_from_dial_string(f[F::dial_string]);
  if (num.empty() && src != kNoSlot) num = g_.at(src).exten;
  if (d.dialed_number.empty()) d.dialed_number = num;
  // Forwarded to an external number after the line rang (on busy, on no answer): that line's
  // entry names the number it handed the call to (JOURNAL.md, "forward to an external number").
  if (src != kNoSlot && !g_.at(src).forwarded_by.empty() && d.kind != ChanKind::party && !num.empty() &&
      !opt_.is_internal_number(num)) {
    const std::string to = opt_.canonical_remote(num);
    for (model::LegId id : journal_.legs_of(g_.at(src).conv))
      if (const model::Leg* l = journal_.leg(id); l && l->start.party == g_.at(src).forwarded_by)
        journal_.set_transferred_to(id, to);
  }
  if (src != kNoSlot) {
    note_device_dial(src, dst, num, t);  // AnyDevice: the user's external device rings
    g_.start_dial(src, dst);
    g_.at(src).ever_dialed_out = true;
  } else {
    // AMI Originate: the PBX calls the party's own phone first (click-to-dial).
    d.originated = true;
    // A moved call's new desk phone (kMoveCallVariable) is no call of its own: it takes over the
    // party's leg once it talks to the remote.
    if (d.kind == ChanKind::party && d.legs.empty() && d.move_of.empty()) open_pending(dst, t, std::nullopt);
  }
  refresh_around(dst, t);
}

void AmiCallTracker::Impl::on_dial_end(const AmiFields& f, Timestamp t) {
  Slot dst = g_.find(f[F::dest_uniqueid]);
  Slot src = g_.find(f[F::uniqueid]);
  if (dst == kNoSlot) {
    ++stats_.unknown_channel;
    return;
  }
  std::string_view status = f[F::dial_status];
  // The caller's Dial, ringing other parties, answered by a party it never dialed: a pickup
  // moved the picker into the answered dial. Its own call (the pickup code, the API's Originate
  // into PickupChan) is no call, as at the Pickup event, which Asterisk may send only after the
  // picker's BridgeEnter (tests/live pickup_via_line): the bridge then hands the caller to it.
  if (status == "ANSWER" && src != kNoSlot && g_.at(dst).kind == ChanKind::party &&
      g_.at(dst).dial_source == kNoSlot) {
    const auto& ringing = g_.at(src).dial_targets;
    if (!ringing.empty() && std::find(ringing.begin(), ringing.end(), dst) == ringing.end())
      discard_pending(g_.at(dst), t);
  }
  g_.end_dial(dst);
  if (src != kNoSlot) g_.at(src).forwarded_by.clear();  // the forward's Dial is over
  auto mark = [&](Slot s, bool incoming, model::LegOutcome o) {
    if (s == kNoSlot || g_.at(s).kind != ChanKind::party) return;
    for (const auto& l : g_.at(s).legs) {
      const model::Leg* jl = journal_.leg(l.id);
      if (jl && !jl->answered_at && jl->start.incoming == incoming) journal_.set_outcome(l.id, o);
    }
  };
  if (status == "BUSY") {
    mark(dst, true, model::LegOutcome::rejected);
    mark(src, false, model::LegOutcome::busy);
  } else if (status == "CONGESTION" || status == "CHANUNAVAIL") {
    mark(src, false, model::LegOutcome::failed);
  }
  refresh_around(dst, t);
  if (src != kNoSlot) refresh_around(src, t);
}

void AmiCallTracker::Impl::on_bridge_enter(const AmiFields& f, Timestamp t) {
  ChanInfo ci = chan_info(f);
  Slot s = g_.find(ci.uid);
  if (s == kNoSlot) {
    ++stats_.unknown_channel;
    s = ensure_channel(ci, t);
    if (s == kNoSlot) return;
    note_unseen_creation(s);
  } else {
    update_channel(s, ci, t);
  }
  std::string_view bid = f[F::bridge_uniqueid];
  if (bid.empty()) return;
  Bridge& b = g_.ensure_bridge(bid);
  if (conference_room(f)) b.conference = true;
  g_.join_bridge(s, bid);
  if (g_.at(s).pbx_held) pbx_unhold(g_.at(s), t);  // AMI Bridge resumed a PBX hold
  note_external_answers(std::string(bid), t);
  refresh_around(s, t);
  follow_swap(s, t);
}

void AmiCallTracker::Impl::on_bridge_leave(const AmiFields& f, Timestamp t) {
  Slot s = g_.find(f[F::uniqueid]);
  if (s == kNoSlot) {
    ++stats_.unknown_channel;
    return;
  }
  std::string bid = g_.at(s).bridge;
  std::vector<Slot> others;
  if (Bridge* b = g_.bridge(bid)) others = b->members;
  g_.leave_bridge(s);
  refresh_around(s, t);
  for (Slot o : others) {
    if (o != s && g_.at(o).live) refresh_around(o, t);
  }
}

// Every answered leg of party channel `c` on hold (held) or back (!held): journal and model.
void AmiCallTracker::Impl::set_legs_held(Channel& c, bool held, Timestamp t) {
  for (auto& l : c.legs) set_leg_held(c, l, held, t);
}

void AmiCallTracker::Impl::set_leg_held(Channel& c, PartyLeg& l, bool held, Timestamp t) {
  if (l.held == held || (held && !l.answered)) return;
  l.held = held;
  if (held) journal_.hold(l.id, t);
  else journal_.unhold(l.id, t);
  model_.update(l.call_id, c.ext, held ? ConnectionState::held : ConnectionState::connected,
                held ? CallEventType::held : CallEventType::retrieved, t);
}

std::size_t AmiCallTracker::Impl::answered_legs(const Channel& c) {
  return static_cast<std::size_t>(std::count_if(c.legs.begin(), c.legs.end(), [](const PartyLeg& l) { return l.answered; }));
}

// Asterisk's attended transfer moves the transferer between the transferee's bridge and the
// consultation's: at a swap (atxferswap: callbridge's alternate within a consultation, or the
// user's keys), and back to the transferee when the consultation's target hangs up
// (tests/fixtures/asterisk-22/live_alternate_on_mobile). The bridge it entered tells which of its
// calls it talks in; with two answered calls the other waits.
void AmiCallTracker::Impl::follow_swap(Slot s, Timestamp t) {
  Channel& c = g_.at(s);
  if (c.kind != ChanKind::party || c.pbx_held) return;
  const bool consulting = answered_legs(c) >= 2;
  if (!consulting && c.on_hold) return;  // one call, held by the phone itself
  Far f = g_.resolve(s);
  if (!f.ok || f.conference || f.slot == kNoSlot) return;
  const std::string& talking = g_.at(f.slot).uid;
  auto it = std::find_if(c.legs.begin(), c.legs.end(),
                         [&](const PartyLeg& l) { return l.answered && l.anchor == talking; });
  if (it == c.legs.end()) return;
  for (auto& l : c.legs) {
    if (&l == &*it) set_leg_held(c, l, false, t);
    else if (consulting) set_leg_held(c, l, true, t);
  }
}

void AmiCallTracker::Impl::on_hold(const AmiFields& f, Timestamp t, bool hold) {
  Slot s = g_.find(f[F::uniqueid]);
  if (s == kNoSlot) {
    ++stats_.unknown_channel;
    return;
  }
  Channel& c = g_.at(s);
  if (c.kind != ChanKind::party) return;
  // A lone Unhold (no Hold before, e.g. a REFER side effect) changes nothing.
  if (c.on_hold == hold) return;
  c.on_hold = hold;
  if (!hold && c.pbx_held) return;  // the PBX still holds it
  // Two answered calls on the channel: an attended transfer's consultation, whose every swap
  // sends Hold (to the bridge it leaves) and Unhold (to the one it enters): the bridge it is in
  // tells which call talks (follow_swap), not these.
  if (answered_legs(c) >= 2) return;
  set_legs_held(c, hold, t);
}

// PBX hold (callbridge.conf [callbridge-hold]): callbridged redirected the external device's
// channel and its remote out of their bridge into music on hold; the leg goes on, held. The
// device's channel is alone now, which ends nothing (refresh() keeps the legs of a party without
// a remote); the AMI Bridge that resumes the call brings the same remote back.
void AmiCallTracker::Impl::on_pbx_hold(const AmiFields& f, Timestamp t) {
  Slot s = g_.find(f[F::uniqueid]);
  if (s == kNoSlot) return;
  Channel& c = g_.at(s);
  if (c.kind != ChanKind::party || c.pbx_held) return;
  c.pbx_held = true;
  set_legs_held(c, true, t);
}

void AmiCallTracker::Impl::pbx_unhold(Channel& c, Timestamp t) {
  c.pbx_held = false;
  if (!c.on_hold) set_legs_held(c, false, t);  // else the device's own hold still holds
}

Slot AmiCallTracker::Impl::behind_local(Slot s) const {
  if (s == kNoSlot || g_.at(s).kind != ChanKind::local || g_.at(s).peer == kNoSlot) return s;
  Far f = g_.resolve(g_.at(s).peer);  // what the pair's other half talks to or dials
  return f.ok && !f.conference ? f.slot : s;
}

void AmiCallTracker::Impl::on_blind_transfer(const AmiFields& f, Timestamp t) {
  if (f[F::result] != "Success") return;
  Slot ps = g_.find(f[F::transferer_uniqueid]);
  // The transferee may be a Local half still standing between the transferer and the party it
  // talks to (an AnyDevice call transferred before chan_local optimized the pair away: Asterisk
  // names the ";2" that dials the mobile): the transferred party is behind that pair.
  Slot cs = behind_local(g_.find(f[F::transferee_uniqueid]));
  std::string_view ext = f[F::extension];
  std::string to = ext.empty() ? std::string()
                   : opt_.is_internal_number(ext) ? std::string(ext)
                                                  : opt_.canonical_remote(ext);
  std::string by;
  if (ps != kNoSlot) {
    Channel& p = g_.at(ps);
    if (p.kind == ChanKind::party) {
      by = p.ext;
      p.handed_over = true;
      for (auto it = p.legs.begin(); it != p.legs.end();) {
        bool hit = cs != kNoSlot ? it->anchor == g_.at(cs).uid : it->answered;
        if (!hit) {
          ++it;
          continue;
        }
        if (!to.empty()) journal_.set_transferred_to(it->id, to);
        end_leg(p, *it, t, std::nullopt, to.empty() ? std::nullopt : std::optional(to));
        if (cs != kNoSlot) g_.at(cs).blind_transfer_legs.push_back(it->id);
        it = p.legs.erase(it);
      }
    } else {
      by = p.transferred_by;
    }
  }
  if (cs != kNoSlot && !by.empty()) {
    g_.at(cs).transferred_by = by;
    g_.at(cs).transferred_at = t;
  }
}

void AmiCallTracker::Impl::on_attended_transfer(const AmiFields& f, Timestamp t) {
  if (f[F::result] != "Success") return;
  if (f[F::dest_type] == "Threeway") {
    // The transferer stays: the three of them now share one bridge (a conference). Only the
    // conversations join; the bridge moves that follow re-resolve every party.
    Slot a = g_.find(f[F::orig_transferer_uniqueid]);
    Slot b = g_.find(f[F::transferee_uniqueid]);
    Slot c = g_.find(f[F::transfer_target_uniqueid]);
    // The transferer talks to both: held since its Atxfer, and Asterisk sends no Unhold.
    if (a != kNoSlot && g_.at(a).kind == ChanKind::party && !g_.at(a).pbx_held) {
      g_.at(a).on_hold = false;
      set_legs_held(g_.at(a), false, t);
    }
    if (b != kNoSlot) {
      std::string into = g_.at(b).conv;
      for (Slot x : {a, c}) {
        if (x == kNoSlot || g_.at(x).conv == into) continue;
        std::string from = g_.at(x).conv;
        merge_convs(from, into, t);
        model_.merge(from, into, t);
      }
    }
    return;
  }
  Slot p1 = g_.find(f[F::orig_transferer_uniqueid]);
  Slot p2 = g_.find(f[F::second_transferer_uniqueid]);
  Slot cs = g_.find(f[F::transferee_uniqueid]);
  Slot ds = g_.find(f[F::transfer_target_uniqueid]);
  std::string cuid = cs != kNoSlot ? g_.at(cs).uid : std::string();

  // Who the transferee was handed to: the target channel, else whom the consultation reached.
  std::string target;
  auto number_for = [&](Slot x) -> std::string {
    const Channel& c = g_.at(x);
    if (c.kind == ChanKind::party) return c.ext;
    model::LegStart s;
    describe(c, false, s);
    return s.remote.value_or("");
  };
  if (ds != kNoSlot) {
    target = number_for(ds);
  } else {
    for (Slot p : {p2, p1}) {
      if (p == kNoSlot || !target.empty()) continue;
      for (const auto& l : g_.at(p).legs) {
        if (l.anchor == cuid) continue;
        Slot a = g_.find(l.anchor);
        if (a != kNoSlot) {
          target = number_for(a);
          break;
        }
        // The consultation reached a conference or application: what it dialed is the target.
        const model::Leg* jl = journal_.leg(l.id);
        if (jl && jl->start.remote) {
          target = *jl->start.remote;
          break;
        }
      }
    }
  }

  std::string by;
  for (Slot p : {p1, p2}) {
    if (p == kNoSlot) continue;
    Channel& c = g_.at(p);
    if (c.kind != ChanKind::party) continue;
    if (by.empty()) by = c.ext;
    c.handed_over = true;
    for (const auto& l : c.legs) {
      bool handed_over = !cuid.empty() && l.anchor == cuid;
      if (handed_over && !target.empty()) journal_.set_transferred_to(l.id, target);
      end_leg(c, l, t, std::nullopt,
              handed_over && !target.empty() ? std::optional(target) : std::nullopt);
    }
    c.legs.clear();
  }
  // Whoever talked to a transferer now talks to someone else.
  if (p1 != kNoSlot) end_legs_anchored_on(g_.at(p1), t);
  if (p2 != kNoSlot && p2 != p1) end_legs_anchored_on(g_.at(p2), t);

  if (!by.empty()) {
    for (Slot x : {cs, ds}) {
      if (x == kNoSlot) continue;
      Channel& c = g_.at(x);
      c.transferred_by = by;
      c.transferred_at = t;
      // Legs that formed a moment before this event (the bridge moves come first).
      for (const auto& uid : c.anchored_by) {
        Slot ps = g_.find(uid);
        if (ps == kNoSlot) continue;
        for (const auto& l : g_.at(ps).legs) {
          if (l.anchor != c.uid) continue;
          const model::Leg* jl = journal_.leg(l.id);
          if (jl && !jl->start.transferred_from && jl->start.party != by &&
              jl->start.started_at + std::chrono::seconds(1) >= t)
            journal_.set_transferred_from(l.id, by);
        }
      }
    }
  }
  // One conversation from now on.
  if (cs != kNoSlot) {
    std::string into = g_.at(cs).conv;
    for (Slot x : {p1, p2, ds}) {
      if (x == kNoSlot) continue;
      std::string from = g_.at(x).conv;
      if (from == into) continue;
      merge_convs(from, into, t);
      model_.merge(from, into, t);
    }
    refresh_conv(into, t);
  }
}

void AmiCallTracker::Impl::on_parked_call(const AmiFields& f, Timestamp t) {
  // A ParkedCalls list item (ActionID set: the resync's, AmiParkingTracker) reports a park that
  // happened before; only the live event hands the parker's leg over.
  if (!f[F::action_id].empty()) return;
  Slot cs = g_.find(f[F::parkee_uniqueid]);
  if (cs == kNoSlot) return;
  Channel& c = g_.at(cs);
  std::string space(f[F::parking_space]);
  std::string by = c.transferred_by;
  for (const auto& uid : c.anchored_by) {
    Slot ps = g_.find(uid);
    if (ps == kNoSlot) continue;
    Channel& p = g_.at(ps);
    for (auto it = p.legs.begin(); it != p.legs.end();) {
      if (it->anchor != c.uid) {
        ++it;
        continue;
      }
      if (!space.empty()) journal_.set_transferred_to(it->id, space);
      end_leg(p, *it, t, std::nullopt, space.empty() ? std::nullopt : std::optional(space));
      by = p.ext;
      it = p.legs.erase(it);
    }
  }
  // A blind transfer to the parking extension just before: the slot is the real destination.
  if (c.transferred_at && *c.transferred_at + std::chrono::seconds(10) >= t && !space.empty()) {
    for (model::LegId id : c.blind_transfer_legs) journal_.set_transferred_to(id, space);
  }
  c.blind_transfer_legs.clear();
  if (!by.empty()) {
    c.transferred_by = by;
    c.transferred_at = t;
  }
}

namespace {
model::DeviceState device_state_from(std::string_view s) {
  if (s == "NOT_INUSE" || s == "Idle") return model::DeviceState::idle;
  if (s == "INUSE" || s == "BUSY" || s == "InUse" || s == "Busy") return model::DeviceState::busy;
  if (s == "RINGING" || s == "RINGINUSE" || s == "Ringing" || s == "InUse&Ringing")
    return model::DeviceState::ringing;
  if (s == "ONHOLD" || s == "Hold" || s == "OnHold") return model::DeviceState::held;
  if (s == "UNAVAILABLE" || s == "INVALID" || s == "Unavailable") return model::DeviceState::unavailable;
  return model::DeviceState::unknown;
}
}  // namespace

void AmiCallTracker::Impl::on_device_state(std::string_view device, std::string_view state,
                                           Timestamp t) {
  // "PJSIP/100" -> party 100 (same rule as channels, without the -xxxxxxxx suffix).
  auto [kind, ext] = classify_name(device, false);
  if (kind != ChanKind::party) return;
  model_.set_pbx_device_state(ext, device_state_from(state), t);
}

void AmiCallTracker::Impl::on_extension_status(const AmiFields& f, Timestamp t) {
  std::string_view exten = f[F::exten];
  if (exten.empty() || !opt_.is_internal_number(exten)) return;
  model::DeviceState st = device_state_from(f[F::status_text]);
  if (st == model::DeviceState::unknown) {
    switch (to_int(f[F::status], -99)) {
      case 0: st = model::DeviceState::idle; break;
      case 1: case 2: st = model::DeviceState::busy; break;
      case 4: st = model::DeviceState::unavailable; break;
      case 8: case 9: st = model::DeviceState::ringing; break;
      case 16: case 17: st = model::DeviceState::held; break;
      default: return;
    }
  }
  model_.set_pbx_device_state(exten, st, t);
}

}  // namespace callbridge::drivers::ami
