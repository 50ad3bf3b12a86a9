// Who talks to whom: resolving each party channel's remote, opening/answering/ending journal legs
// and publishing the matching CSTA events. Part of AmiCallTracker (see ami_call_tracker_impl.hpp).
#include "drivers/ami/ami_call_tracker_impl.hpp"

namespace callbridge::drivers::ami {

// ---------------------------------------------------------------------------------------------
// Legs

std::string AmiCallTracker::Impl::number_of(const Channel& c) const {
  if (c.was_dialed && !c.dialed_number.empty()) return c.dialed_number;
  return c.caller_num;
}

void AmiCallTracker::Impl::describe(const Channel& c, bool incoming, model::LegStart& s) const {
  s.remote_withheld = false;
  if (c.kind == ChanKind::party) {
    s.direction = model::Direction::internal;
    s.remote = c.ext;
    s.remote_name = c.originated ? std::nullopt : clean_name(c.caller_name);
    return;
  }
  std::string num = number_of(c);
  s.remote_name = c.was_dialed ? std::nullopt : clean_name(c.caller_name);
  if (withheld_number(num)) {
    s.direction = incoming ? model::Direction::inbound : model::Direction::outbound;
    s.remote = std::nullopt;
    s.remote_withheld = true;
  } else if (opt_.is_internal_number(num)) {
    s.direction = model::Direction::internal;
    s.remote = num;
  } else {
    s.direction = incoming ? model::Direction::inbound : model::Direction::outbound;
    s.remote = opt_.canonical_remote(num);
  }
}

std::string AmiCallTracker::Impl::model_call_for(const Channel& p, const Far& f) const {
  if (f.ok && !f.conference && f.slot != kNoSlot) {
    const Channel& c = g_.at(f.slot);
    for (const auto& l : c.legs) {
      if (l.anchor == p.uid) return l.call_id;
    }
  }
  std::string id = p.conv;
  for (const auto& l : p.legs) {
    if (l.call_id == id) {
      std::string_view suffix = !f.ok          ? std::string_view(p.uid)
                                : f.conference ? f.conf_key
                                               : std::string_view(g_.at(f.slot).uid);
      return id + "~" + std::string(suffix);
    }
  }
  return id;
}

void AmiCallTracker::Impl::open_pending(Slot ps, Timestamp t, std::optional<std::string> raw) {
  Channel& p = g_.at(ps);
  model::LegStart s;
  s.conversation = p.conv;
  s.party = p.ext;
  s.started_at = t;
  s.incoming = false;
  s.direction = model::Direction::outbound;
  if (raw && !withheld_number(*raw)) {
    if (opt_.is_internal_number(*raw)) {
      s.direction = model::Direction::internal;
      s.remote = *raw;
    } else {
      s.remote = opt_.canonical_remote(*raw);
    }
  }
  PartyLeg leg;
  leg.pending = true;
  leg.call_id = model_call_for(p, Far{});
  s.model_call = leg.call_id;
  leg.id = open_leg(p, std::move(s));
  const model::Leg* jl = journal_.leg(leg.id);
  model_.update(leg.call_id, p.ext, ConnectionState::initiated, CallEventType::originated, t,
                jl ? jl->start.remote : std::nullopt);
  p.legs.push_back(std::move(leg));
}

bool AmiCallTracker::Impl::talks_within(const Channel& p, std::string_view bridge_id) {
  const Bridge* b = g_.bridge(bridge_id);
  if (!b || b->conference) return false;  // a conference room (ConfBridge): legs of its own
  for (Slot m : b->members) {
    if (g_.at(m).uid == p.uid) continue;
    const std::string& who = g_.at(behind_local(m)).uid;  // a Local half: the party behind its pair
    for (const auto& l : p.legs)
      if (l.answered && l.anchor == who) return true;
  }
  return false;
}

model::LegId AmiCallTracker::Impl::open_leg(Channel& p, model::LegStart s) {
  s.party_channel = p.uid;
  if (!p.device_number.empty()) s.device_number = p.device_number;
  s.device_trunk = p.trunk;
  p.start_unseen = false;
  p.had_leg = true;
  if (!state_prefix_.empty()) s.state_key = p.uid + "#" + state_prefix_ + std::to_string(++leg_seq_);
  return journal_.open(std::move(s));
}

void AmiCallTracker::Impl::refresh(Slot ps, Timestamp t, RefreshMode mode) {
  Channel& p = g_.at(ps);
  if (p.kind != ChanKind::party || !p.live || p.handed_over) return;
  if (mode == RefreshMode::live && resync_hangups_) mode = RefreshMode::resync_known;
  const bool resync_new = mode == RefreshMode::resync_new;
  // When a leg first seen now started, and which of its times are estimates.
  // A known channel without a leg yet (its DialBegin was lost) rings since its creation.
  // So does a channel first listed by a resync that gets its first leg only from a later live
  // event (e.g. it was alone in its bridge at the resync; found by tests/faults: such a leg
  // started at that event without saying its start is unknown).
  const bool unseen_start = p.start_unseen && p.legs.empty();
  // A known channel whose earlier legs ended (an attended transfer's target: its consultation
  // ended in the gap) starts its new leg in the gap, not at its creation (found by tests/faults).
  // Likewise a channel first seen in this process's resync that carries a leg restored from the
  // previous run: its channel was created for that earlier leg.
  const Timestamp start_at =
      (resync_new && !p.had_leg) || unseen_start || (mode == RefreshMode::resync_known && p.legs.empty() && !p.had_leg)
          ? p.created_at
          : t;
  const std::uint8_t start_est = mode == RefreshMode::live && !unseen_start ? 0 : model::kEstimatedStart;
  Far f = g_.resolve(ps);
  if (!f.ok) {
    if (resync_new && p.legs.empty() && (p.state == 5 || (p.was_dialed && p.state != 6))) {
      // Ringing when we (re)connected, the dial relation is unknown: the connected line says who
      // for now; the leg adopts its real remote when the graph finds it (kResyncAnchor below).
      model::LegStart s;
      s.conversation = p.conv;
      s.party = p.ext;
      s.started_at = start_at;
      s.incoming = true;
      s.anchor = std::string(kResyncAnchor) + p.uid;
      Channel tmp;
      tmp.caller_num = p.conn_num;
      tmp.caller_name = p.conn_name;
      describe(tmp, true, s);
      PartyLeg leg;
      leg.anchor = s.anchor;
      leg.call_id = model_call_for(p, f);
      s.model_call = leg.call_id;
      auto remote = s.remote;
      leg.id = open_leg(p, std::move(s));
      journal_.mark_estimated(leg.id, start_est);
      model_.update(leg.call_id, p.ext, ConnectionState::alerting, CallEventType::delivered,
                    start_at, remote);
      p.legs.push_back(std::move(leg));
    }
    return;
  }
  std::string_view anchor = f.conference ? f.conf_key : std::string_view(g_.at(f.slot).uid);
  bool connected = !f.via_dial_forward && !f.via_dial_backward && !p.bridge.empty();
  PartyLeg* leg = nullptr;
  std::optional<std::string> adopted_remote;  // the caller a pickup / park retrieval reached
  for (auto& l : p.legs) {
    if (l.anchor == anchor) leg = &l;
  }
  // An ad-hoc bridge of three or more (a conference from a consultation: Asterisk's three-way,
  // atxferthreeway): a party that talked to some of its members goes on talking to them in the
  // same legs; it gets no conference leg of its own (tests/fixtures/asterisk-22/live_conference_on_mobile).
  if (!leg && f.conference && talks_within(p, f.conf_key)) return;
  if (!leg && !f.conference) {
    // A ringing leg opened in a resync before its caller was known: this is its caller.
    for (auto& l : p.legs) {
      if (!l.anchor.starts_with(kResyncAnchor) || l.answered) continue;
      Channel& c = g_.at(f.slot);
      l.anchor = std::string(anchor);
      journal_.set_anchor(l.id, l.anchor);
      model::LegStart s;
      describe(c, true, s);
      journal_.set_remote(l.id, s.direction, s.remote, s.remote_withheld, s.remote_name);
      if (c.trunk) journal_.set_remote_trunk(l.id, journal_.leg(l.id)->start.started_at);
      c.anchored_by.push_back(p.uid);
      leg = &l;
      break;
    }
  }
  // Moving a call: the new device talks to the call's remote now and carries the party's leg on.
  if (!leg && !f.conference && !p.move_of.empty() && take_over_moved_leg(ps, anchor, t)) leg = &p.legs.back();
  // The other side of such a move: our remote, an internal party, moved this call to another of
  // its devices (the new channel is moving it, or has taken it over already). Our leg follows the
  // new channel: same call, same entry, no "transferred" to a second call.
  if (!leg && !f.conference && g_.at(f.slot).kind == ChanKind::party) {
    Channel& c = g_.at(f.slot);
    for (auto& l : p.legs) {
      if (l.pending || l.anchor.empty() || l.anchor == anchor) continue;
      if (c.move_of != l.call_id && c.moved_in != l.call_id) continue;
      // ... from the channel our leg was anchored at: the same party's (or one gone by now).
      if (Slot os = g_.find(l.anchor); os != kNoSlot && (g_.at(os).kind != ChanKind::party || g_.at(os).ext != c.ext))
        continue;
      l.anchor = std::string(anchor);
      journal_.set_anchor(l.id, l.anchor);
      if (std::find(c.anchored_by.begin(), c.anchored_by.end(), p.uid) == c.anchored_by.end())
        c.anchored_by.push_back(p.uid);
      leg = &l;
      break;
    }
  }
  if (!leg) {
    for (auto& l : p.legs) {
      if (l.pending) leg = &l;
    }
    if (leg) {
      // The outgoing call found its remote end.
      leg->pending = false;
      leg->anchor = std::string(anchor);
      journal_.set_anchor(leg->id, leg->anchor);
      const model::Leg* jl = journal_.leg(leg->id);
      if (f.conference) {
        if (jl && !jl->start.remote && !f.conf_name.empty())
          journal_.set_remote(leg->id, model::Direction::internal, std::string(f.conf_name), false,
                              {});
      } else {
        Channel& c = g_.at(f.slot);
        c.anchored_by.push_back(p.uid);
        if (c.trunk) journal_.set_remote_trunk(leg->id, t);  // dialled (or reached) now
        if (connected && !c.was_dialed) {
          // Reached an originator only through bridges: pickup / park retrieval. The party
          // received this call; the code it dialed is no entry of its own.
          model::LegStart s;
          describe(c, true, s);
          journal_.restart(leg->id, t, true);
          journal_.set_remote(leg->id, s.direction, s.remote, s.remote_withheld, s.remote_name);
          if (!c.transferred_by.empty() && c.transferred_by != p.ext)
            journal_.set_transferred_from(leg->id, c.transferred_by);
          adopted_remote = s.remote;
        } else if (c.kind == ChanKind::party) {
          journal_.set_remote(leg->id, model::Direction::internal, c.ext, false,
                              clean_name(c.caller_name));
        } else if (jl && !jl->start.remote) {
          model::LegStart s;
          describe(c, false, s);
          journal_.set_remote(leg->id, s.direction, s.remote, s.remote_withheld, s.remote_name);
        }
      }
      const model::Leg* now = journal_.leg(leg->id);
      if (!connected)
        model_.update(leg->call_id, p.ext, ConnectionState::initiated, CallEventType::delivered, t,
                      now ? now->start.remote : std::nullopt);
    } else {
      model::LegStart s;
      s.conversation = p.conv;
      s.party = p.ext;
      s.started_at = start_at;
      s.anchor = std::string(anchor);
      if (f.conference) {
        s.incoming = false;
        s.direction = model::Direction::internal;
        if (!f.conf_name.empty()) s.remote = std::string(f.conf_name);
      } else {
        Channel& c = g_.at(f.slot);
        s.incoming = !f.via_dial_forward;
        if (resync_new && c.was_dialed && c.kind != ChanKind::party) {
          // Seen first in a resync: the party called out; its DialBegin is lost. While it runs
          // Dial, its channel's extension is what it dialed (as the dialplan normalized it). The
          // connected line is only a fallback: for a trunk call it is often our own number (a
          // pre-dial handler presents +49 30 555-1xx on the trunk, and Asterisk hands the trunk's
          // caller id back to the phone as its connected line; found by tests/faults).
          s.incoming = false;
          if (c.dialed_number.empty()) {
            if (p.app == "Dial" && dialable_number(p.exten)) c.dialed_number = p.exten;
            else if (!withheld_number(p.conn_num)) c.dialed_number = p.conn_num;
          }
        }
        describe(c, s.incoming, s);
        if (!c.transferred_by.empty() && c.transferred_by != p.ext)
          s.transferred_from = c.transferred_by;
        c.anchored_by.push_back(p.uid);
      }
      PartyLeg nl;
      nl.anchor = s.anchor;
      nl.call_id = model_call_for(p, f);
      s.model_call = nl.call_id;
      const bool remote_trunk = !f.conference && g_.at(f.slot).trunk;
      nl.id = open_leg(p, s);
      if (remote_trunk) journal_.set_remote_trunk(nl.id, s.started_at);
      journal_.mark_estimated(nl.id, start_est);
      ConnectionState st = connected ? ConnectionState::connected
                           : s.incoming ? ConnectionState::alerting
                                        : ConnectionState::initiated;
      CallEventType ev = connected ? (f.conference ? CallEventType::conferenced
                                                   : CallEventType::transferred)
                         : s.incoming ? CallEventType::delivered
                                      : CallEventType::originated;
      model_.update(nl.call_id, p.ext, st, ev, s.started_at, s.remote, s.transferred_from,
                    connected ? std::optional<bool>(pbx_hold_for(p)) : std::nullopt);
      p.legs.push_back(std::move(nl));
      leg = &p.legs.back();
    }
  }
  if (connected && !leg->answered) {
    leg->answered = true;
    // Live: the BridgeEnter's time. Otherwise the answer happened unseen: in the gap (`t` is its
    // midpoint), or for a call first seen now somewhere between its start and now (midpoint).
    Timestamp at = t;
    if (resync_new) {
      const model::Leg* jl = journal_.leg(leg->id);
      Timestamp from = jl ? std::max(jl->start.started_at, down_at_.value_or(jl->start.started_at))
                          : p.created_at;
      at = from < t ? from + (t - from) / 2 : from;
    }
    journal_.answered(leg->id, at, mode != RefreshMode::live);
    // The remote may belong to another conversation (a pickup from a different Linkedid).
    if (!f.conference && g_.at(f.slot).conv != p.conv)
      journal_.anchor_answered(g_.at(f.slot).conv, leg->anchor, at);
    // The live call shows whom the party talks to (the parked caller, not the slot it dialed).
    model_.update(leg->call_id, p.ext, ConnectionState::connected, CallEventType::established, at,
                  std::move(adopted_remote), std::nullopt, pbx_hold_for(p));
  }
}

void AmiCallTracker::Impl::give_moved_leg(Slot ns, PartyLeg leg, Slot rs, Timestamp t) {
  Channel& n = g_.at(ns);
  std::optional<std::string> number;
  if (!n.device_number.empty()) number = n.device_number;
  journal_.move_device(leg.id, t, n.uid, std::move(number), n.trunk, n.created_at);
  Channel& r = g_.at(rs);
  if (std::find(r.anchored_by.begin(), r.anchored_by.end(), n.uid) == r.anchored_by.end())
    r.anchored_by.push_back(n.uid);
  n.had_leg = true;
  n.start_unseen = false;
  model_.set_pbx_hold(leg.call_id, n.ext, pbx_hold_for(n));  // on the new device from now on
  n.moved_in = leg.call_id;
  n.legs.push_back(std::move(leg));
  n.move_of.clear();  // done: a later change of remote is an ordinary one
}

bool AmiCallTracker::Impl::take_over_moved_leg(Slot ps, std::string_view anchor, Timestamp t) {
  Channel& p = g_.at(ps);
  Slot rs = g_.find(anchor);
  if (rs == kNoSlot) return false;
  auto it = convs_.find(p.conv);
  if (it == convs_.end()) return false;
  // Asterisk 22 gives the new path the call's Linkedid as it joins the remote's bridge, so the old
  // device's channel is a member of the same conversation by now.
  for (Slot s : it->second) {
    Channel& o = g_.at(s);
    if (s == ps || !o.live || o.kind != ChanKind::party || o.ext != p.ext) continue;
    for (auto l = o.legs.begin(); l != o.legs.end(); ++l) {
      if (l->anchor != anchor || l->call_id != p.move_of || l->pending) continue;
      PartyLeg leg = std::move(*l);
      o.legs.erase(l);
      give_moved_leg(ps, std::move(leg), rs, t);
      return true;
    }
  }
  return false;
}

void AmiCallTracker::Impl::note_mover(const Channel& c) {
  if (movers_.size() >= 1024) movers_.erase(movers_.begin());  // a PBX that never answers them
  movers_.push_back(c.uid);
}

bool AmiCallTracker::Impl::hand_over_moved_leg(const Channel& p, PartyLeg& leg, Timestamp t) {
  if (leg.pending || leg.anchor.empty()) return false;
  Slot rs = g_.find(leg.anchor);
  if (rs == kNoSlot || !g_.at(rs).live) return false;
  for (auto i = movers_.begin(); i != movers_.end();) {
    Slot ns = g_.find(*i);
    if (ns == kNoSlot || !g_.at(ns).live || g_.at(ns).move_of.empty()) {
      i = movers_.erase(i);
      continue;
    }
    const Channel& n = g_.at(ns);
    // Answered (Up): app_bridge is moving the remote to it. A new device still ringing when the
    // old one hangs up is a user who hung up: the call ends as usual.
    if (&n != &p && n.kind == ChanKind::party && n.ext == p.ext && n.move_of == leg.call_id && n.state == 6) {
      give_moved_leg(ns, std::move(leg), rs, t);
      return true;
    }
    ++i;
  }
  return false;
}

void AmiCallTracker::Impl::refresh_conv(const std::string& conv, Timestamp t) {
  auto it = convs_.find(conv);
  if (it == convs_.end()) return;
  // refresh() never adds or removes channels, so the member list is stable while we walk it.
  const std::vector<Slot>& members = it->second;
  for (std::size_t i = 0; i < members.size(); ++i) {
    Slot s = members[i];
    if (g_.at(s).live && g_.at(s).kind == ChanKind::party) refresh(s, t);
  }
}

void AmiCallTracker::Impl::refresh_around(Slot s, Timestamp t) {
  if (s == kNoSlot) return;
  auto& convs = scratch_convs_;
  convs.clear();
  auto add = [&](Slot x) {
    if (x == kNoSlot || !g_.at(x).live) return;
    const std::string* c = &g_.at(x).conv;
    for (const std::string* have : convs) {
      if (*have == *c) return;
    }
    convs.push_back(c);
  };
  const Channel& c = g_.at(s);
  add(s);
  add(c.peer);
  add(c.dial_source);
  for (Slot d : c.dial_targets) add(d);
  if (!c.bridge.empty()) {
    if (Bridge* b = g_.bridge(c.bridge)) {
      for (Slot m : b->members) {
        add(m);
        add(g_.at(m).peer);
      }
    }
  }
  for (std::size_t i = 0; i < convs.size(); ++i) refresh_conv(*convs[i], t);
}

void AmiCallTracker::Impl::end_leg(Channel& p, const PartyLeg& leg, Timestamp t,
                                   std::optional<int> cause,
                                   std::optional<std::string> transferred_to) {
  const model::Leg* jl = journal_.leg(leg.id);
  bool failed = jl && !jl->answered_at &&
                (jl->outcome == model::LegOutcome::busy || jl->outcome == model::LegOutcome::failed);
  journal_.end(leg.id, t);
  // Follow-me: the desk phone stops ringing while the user's device talks (or the other way
  // round); the user's connection in the call stays with the other one.
  if (shares_connection(p, leg.call_id)) return;
  bool transferred = transferred_to.has_value();
  model_.clear(leg.call_id, p.ext, t, cause, failed, std::move(transferred_to), transferred);
}

void AmiCallTracker::Impl::end_legs_anchored_on(Channel& c, Timestamp t, std::optional<int> cause) {
  for (const auto& uid : c.anchored_by) {
    Slot ps = g_.find(uid);
    if (ps == kNoSlot) continue;
    Channel& p = g_.at(ps);
    for (auto it = p.legs.begin(); it != p.legs.end();) {
      if (it->anchor == c.uid) {
        end_leg(p, *it, t, cause);
        it = p.legs.erase(it);
      } else {
        ++it;
      }
    }
  }
  c.anchored_by.clear();
}

void AmiCallTracker::Impl::note_external_answers(const std::string& bridge, Timestamp t) {
  Bridge* b = g_.bridge(bridge);
  if (!b || b->members.size() < 2 || b->conference) return;
  // A remote connected to a non-party (follow-me to a mobile, a trunk-to-trunk forward): parties
  // that rang for it were answered elsewhere. Party legs report their own answers.
  for (Slot m : b->members) {
    const Channel& c = g_.at(m);
    if (c.kind != ChanKind::other) continue;
    Far f = g_.resolve(m);
    if (f.ok && !f.conference && !f.via_dial_backward && !f.via_dial_forward &&
        g_.at(f.slot).kind == ChanKind::other) {
      journal_.anchor_answered(c.conv, c.uid, t);
    }
  }
}

void AmiCallTracker::Impl::hangup(Slot s, Timestamp t, int cause) {
  Channel& c = g_.at(s);
  if (c.kind == ChanKind::party && !movers_.empty()) {
    for (auto it = c.legs.begin(); it != c.legs.end();) {
      if (hand_over_moved_leg(c, *it, t)) it = c.legs.erase(it);
      else ++it;
    }
  }
  if (c.kind == ChanKind::party) {
    for (const auto& leg : c.legs) {
      const model::Leg* jl = journal_.leg(leg.id);
      if (jl && !jl->answered_at) {
        if (jl->start.incoming) {
          if (cause == 17 || cause == 21) journal_.set_outcome(leg.id, model::LegOutcome::rejected);
        } else if (jl->outcome == model::LegOutcome::normal) {
          // A click-to-dial whose own phone declined (486) never reached the destination: the
          // party did not take the call it asked for (no_answer), nobody was busy.
          bool own_phone_declined = c.originated && !c.up_at;
          if (cause == 17 && !own_phone_declined) journal_.set_outcome(leg.id, model::LegOutcome::busy);
          else if (cause == 1 || cause == 3 || cause == 27 || cause == 28 || cause == 34 ||
                   cause == 38 || cause == 41 || cause == 42 || cause == 58 || cause == 88)
            journal_.set_outcome(leg.id, model::LegOutcome::failed);
        }
        if (leg.pending && c.up_at && !c.ever_dialed_out && !c.originated) {
          // Answered by the PBX itself (voicemail, IVR, an application): talking since Up.
          journal_.answered(leg.id, *c.up_at);
        }
      }
      if (leg.pending && c.originated && jl && !jl->start.remote && !jl->answered_at)
        awaiting_.push_back(AwaitOriginate{c.conv, c.anydevice_origin_uid.empty() ? c.uid : c.anydevice_origin_uid,
                                           c.ext, leg.id, t, c.anydevice_origin_name});
      end_leg(c, leg, t, cause);
    }
    c.legs.clear();
  }
  end_legs_anchored_on(c, t, cause);
  std::string conv = c.conv;
  std::vector<Slot> neighbours;
  if (c.peer != kNoSlot) neighbours.push_back(c.peer);
  count_channel(c, -1);
  g_.remove(s);
  auto it = convs_.find(conv);
  if (it != convs_.end()) {
    auto& v = it->second;
    v.erase(std::remove(v.begin(), v.end(), s), v.end());
    if (v.empty()) {
      convs_.erase(it);
      bool held_back = std::any_of(awaiting_.begin(), awaiting_.end(),
                                   [&](const AwaitOriginate& a) { return a.conv == conv; });
      // Before the first resync's lists, another party's restored leg of this conversation may
      // still talk (its channel not met yet): end_restored_gone ends the conversation after them.
      if (!held_back && !restored_waiting(conv)) journal_.conversation_ended(conv, t);
      return;
    }
  }
  refresh_conv(conv, t);
}

void AmiCallTracker::Impl::discard_pending(Channel& c, Timestamp t) {
  for (auto it = c.legs.begin(); it != c.legs.end();) {
    if (!it->pending) {
      ++it;
      continue;
    }
    journal_.discard(it->id);
    model_.clear(it->call_id, c.ext, t);
    it = c.legs.erase(it);
  }
}

void AmiCallTracker::Impl::on_rename(Slot s, std::string_view newname, Timestamp t) {
  if (newname.empty()) return;
  Channel& c = g_.at(s);
  auto [kind, ext] = classify_name(newname, true);
  bool zombie = newname.find("<ZOMBIE>") != std::string_view::npos;
  if (zombie) kind = ChanKind::helper;
  bool identity_changed = kind != c.kind || ext != c.ext;
  if (identity_changed && c.kind == ChanKind::party) {
    // A masquerade (pickup, some transfers) moved another party into this channel: what the old
    // party had here is over; a pending dial of a pickup code is no entry at all.
    discard_pending(c, t);
    for (const auto& leg : c.legs) end_leg(c, leg, t, std::nullopt);
    c.legs.clear();
  }
  c.name = std::string(newname);
  if (identity_changed) {
    count_channel(c, -1);
    c.kind = kind;
    c.trunk = kind == ChanKind::other;
    count_channel(c, +1);
    c.ext = std::string(ext);
    refresh_around(s, t);
  }
}

}  // namespace callbridge::drivers::ami
