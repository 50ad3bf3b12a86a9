// After a reconnect (or a restart of callbridged): the resync lists (CoreShowChannel, Status),
// calls that ended, were answered or started while we were not listening, and open-call state of a
// previous run (restore_state) re-attached to the channels the PBX still lists. What happened
// unseen gets estimated times, marked in JournalEntry::estimated (docs/journal.md).
// Part of AmiCallTracker (see ami_call_tracker_impl.hpp); model thread.
#include <spdlog/spdlog.h>

#include "drivers/ami/ami_call_tracker_impl.hpp"

namespace callbridge::drivers::ami {

void AmiCallTracker::Impl::on_list_channel(const AmiFields& f, Timestamp t, bool status_item) {
  ChanInfo ci = chan_info(f);
  if (ci.uid.empty()) return;
  Slot s = g_.find(ci.uid);
  std::string_view bridge = f[F::bridge_id];
  // Created this long ago (whole seconds, as Asterisk prints Duration/Seconds).
  const Timestamp created = t - std::chrono::seconds(parse_duration(status_item ? f[F::seconds] : f[F::duration]));
  if (s == kNoSlot) {
    // A later list (Status, after CoreShowChannelsComplete ended the resync) naming a channel the
    // first list did not: it was created since, while this session was up, so its own events
    // (Newchannel, DialBegin, ...) are on their way; an action's response can overtake events
    // Asterisk has queued, and the simulator does the same. Opened from the list, the picker's
    // channel of a directed pickup (Originate into PickupChan) became a ringing inbound call with
    // an estimated start before its Newchannel came, and a missed call when PickupChan found
    // nothing (AmiDriverOverSimulator.PickupThatFindsTheCallAnswered..., 1 run in 12 under load).
    if (status_item && !resync_active_) {
      ++stats_.unknown_channel;
      return;
    }
    s = ensure_channel(ci, created);
    if (s == kNoSlot) return;
    Channel& c = g_.at(s);
    c.from_resync = true;
    c.start_unseen = !c.had_leg;  // a leg restored from the previous run says when it started
    if (c.state == 6) c.up_at = c.created_at;
    resync_new_.push_back(s);
  } else {
    update_channel(s, ci, t);
    Channel& c = g_.at(s);
    if (c.created_unseen) {
      // First met in a live event before this list (note_unseen_creation): the list says when
      // it was created; a leg that started at that event with its start estimated starts then.
      c.created_unseen = false;
      if (created < c.created_at) {
        for (const auto& l : c.legs) {
          const model::Leg* jl = journal_.leg(l.id);
          if (jl && (jl->estimated & model::kEstimatedStart) && jl->start.started_at == c.created_at)
            journal_.restart(l.id, created, jl->start.incoming);
        }
        c.created_at = created;
      }
    }
  }
  Channel& c = g_.at(s);
  c.seen = true;
  if (auto app = f[F::application]; !app.empty()) {
    c.app = std::string(app);
    // Outgoing channels of Dial show AppDial, a queue's members AppQueue (found by tests/faults:
    // a queue call first seen in a resync lost its caller-member relation).
    if (app == "AppDial" || app == "AppQueue") c.was_dialed = true;
  }
  if (!bridge.empty() && c.bridge != bridge) g_.join_bridge(s, bridge);
  // Listed without a bridge while we had it in one: it left while we were away.
  if (bridge.empty() && bridge.data() != nullptr && !c.bridge.empty()) g_.leave_bridge(s);
}

void AmiCallTracker::Impl::mark_unseen_end(const Channel& c) {
  auto mark = [&](const PartyLeg& l) {
    const model::Leg* jl = journal_.leg(l.id);
    if (!jl || !jl->open()) return;
    std::uint8_t bits = model::kEstimatedEnd;
    if (!jl->answered_at) bits |= model::kEstimatedDisposition;  // it may have been answered
    journal_.mark_estimated(l.id, bits);
  };
  for (const auto& l : c.legs) mark(l);
  for (const auto& uid : c.anchored_by) {
    Slot ps = g_.find(uid);
    if (ps == kNoSlot) continue;
    for (const auto& l : g_.at(ps).legs) {
      if (l.anchor == c.uid) mark(l);
    }
  }
}

void AmiCallTracker::Impl::finish_resync(Timestamp t) {
  // CoreShowChannelsComplete ends the channel list of a resync; StatusComplete (a later list)
  // only adds channels that appeared in between.
  if (resync_active_) {
    resync_active_ = false;
    ++stats_.resyncs_done;
    // The gap: from the last event before the link went down (or the last moment the previous
    // run is known to have seen, after a restart) to now. Changes in it get its midpoint.
    if (!down_at_ && restored_seen_until_) down_at_ = restored_seen_until_;
    Timestamp from = down_at_.value_or(t);
    if (from > t) from = t;
    // An end in the gap lies anywhere in it: its midpoint is off by at most half the gap.
    Timestamp mid = from + (t - from) / 2;
    Timestamp end_at = mid;
    // Channels we knew that the PBX no longer lists ended while the link was down.
    // A party gone in the gap whose remote is still there may have handed the call over
    // (a transfer in the gap): noted here, judged once the resync has placed every party.
    std::vector<Handover> handovers;
    for (Slot s : g_.all()) {
      const Channel& c = g_.at(s);
      if (!c.live || c.seen || c.kind != ChanKind::party) continue;
      for (const auto& l : c.legs) {
        const model::Leg* jl = journal_.leg(l.id);
        if (!jl || !jl->answered_at || jl->transferred_to || l.anchor.empty()) continue;
        Slot a = g_.find(l.anchor);
        if (a != kNoSlot && g_.at(a).live && g_.at(a).seen) handovers.push_back({l.id, c.ext, l.anchor});
      }
    }
    // Their hangups refresh the channels around them: whatever that finds (an answer) happened
    // in the gap too, so it is marked estimated like the rest of the resync (resync_hangups_).
    resync_hangups_ = true;
    // First out of their bridges, all of them: the lists put the channels still there into the
    // bridges they are in now, next to the gone ones. A hangup below refreshes its neighbours,
    // which would otherwise see e.g. the transferee, the target and the gone transferer in one
    // bridge of three - a conference - and open a leg with no remote for each (found by
    // tests/faults: an attended transfer completed in the gap gave two such phantom entries).
    for (Slot s : g_.all()) {
      if (g_.at(s).live && !g_.at(s).seen && !g_.at(s).bridge.empty()) g_.leave_bridge(s);
    }
    for (Slot s : g_.all()) {
      if (!g_.at(s).live || g_.at(s).seen) continue;
      ++stats_.closed_by_resync;
      mark_unseen_end(g_.at(s));
      hangup(s, end_at, 0);
    }
    resync_hangups_ = false;
    g_.sweep_empty_bridges();
    infer_lost_dials();
    // Restored legs whose channel the lists (or live events) named were attached when this run
    // created it (adopt_restored); the rest ended unseen (end_restored_gone below).
    // Bridges may have changed while we were away: re-resolve every known party.
    for (Slot s : g_.all()) {
      if (g_.at(s).live && g_.at(s).kind == ChanKind::party && !g_.at(s).from_resync)
        refresh(s, mid, RefreshMode::resync_known);
    }
    process_fresh(t);
    note_handovers(handovers);
    if (!restored_.empty()) end_restored_gone(end_at);
    down_at_.reset();
    restored_seen_until_.reset();
    journal_.sync_state();
    if (out_.on_resynced) out_.on_resynced();  // the model is the PBX's calls now
    return;
  }
  process_fresh(t);
  journal_.sync_state();
}

void AmiCallTracker::Impl::note_handovers(const std::vector<Handover>& handovers) {
  // The remote of a party that left in the gap now talks to another party whose leg with it
  // starts in this resync (estimated start): the call was transferred in the gap (blind or
  // attended; the events that would say which are lost). Found by tests/faults.
  for (const auto& h : handovers) {
    Slot a = g_.find(h.anchor);
    if (a == kNoSlot || !g_.at(a).live) continue;
    bool done = false;
    for (const auto& uid : g_.at(a).anchored_by) {
      Slot qs = g_.find(uid);
      if (qs == kNoSlot || done) continue;
      const Channel& q = g_.at(qs);
      if (!q.live || q.kind != ChanKind::party || q.ext == h.from) continue;
      for (const auto& l : q.legs) {
        const model::Leg* jl = journal_.leg(l.id);
        if (l.anchor != h.anchor || !jl || !jl->answered_at || !(jl->estimated & model::kEstimatedStart) ||
            jl->start.transferred_from)
          continue;
        journal_.set_transferred_to(h.leg, q.ext);
        journal_.set_transferred_from(l.id, h.from);
        done = true;
        break;
      }
    }
  }
}

void AmiCallTracker::Impl::infer_lost_dials() {
  // A channel dialed ("AppDial"/"AppQueue" in the list) and not bridged still rings; its DialBegin was lost.
  // Its caller is the one channel of its conversation that is neither dialed nor bridged (the one
  // running Dial/Queue/FollowMe); when that is ambiguous a ringing party gets a leg that waits
  // for the graph to name its remote (kResyncAnchor in refresh()).
  for (Slot s : g_.all()) {
    Channel& d = g_.at(s);
    if (!d.live || !d.was_dialed || d.dial_source != kNoSlot || !d.bridge.empty()) continue;
    auto it = convs_.find(d.conv);
    if (it == convs_.end()) continue;
    Slot src = kNoSlot;
    int candidates = 0;
    for (Slot x : it->second) {
      const Channel& c = g_.at(x);
      if (x == s || !c.live || c.was_dialed || !c.bridge.empty() || c.app == "AppDial" || c.app == "AppQueue")
        continue;
      ++candidates;
      src = x;
    }
    if (candidates == 1) {
      g_.start_dial(src, s);
      g_.at(src).ever_dialed_out = true;
    }
  }
}

void AmiCallTracker::Impl::process_fresh(Timestamp t) {
  // Calls first seen now: start from Duration/Seconds, answer estimated (refresh, resync_new).
  auto fresh = std::move(resync_new_);
  resync_new_.clear();
  infer_lost_dials();  // over every channel, the fresh ones included
  for (Slot s : fresh) {
    if (!g_.at(s).live) continue;
    g_.at(s).from_resync = false;
    if (g_.at(s).kind == ChanKind::party) refresh(s, t, RefreshMode::resync_new);
  }
}

// ---------------------------------------------------------------------------------------------
// Open-call state of a previous run

void AmiCallTracker::Impl::restore_state(const std::vector<std::string>& rows) {
  for (const auto& text : rows) {
    if (text.starts_with("seen=")) {  // heartbeat(): how far the previous run got
      std::int64_t us = 0;
      auto v = std::string_view(text).substr(5);
      auto r = std::from_chars(v.data(), v.data() + v.size(), us);
      if (r.ec == std::errc()) {
        Timestamp at = base::from_micros(us);
        if (!restored_seen_until_ || at > *restored_seen_until_) restored_seen_until_ = at;
      }
      continue;
    }
    auto leg = model::decode_leg_state(text);
    if (!leg) {
      spdlog::warn("AMI tracker: ignoring an open-call state row that is not a leg ({} bytes)",
                   text.size());
      continue;
    }
    for (auto at : {std::optional(leg->start.started_at), leg->answered_at, leg->ended_at,
                    leg->hold_since}) {
      if (at && (!restored_seen_until_ || *at > *restored_seen_until_)) restored_seen_until_ = at;
    }
    restored_.push_back({journal_.restore(std::move(*leg))});
  }
}

void AmiCallTracker::Impl::adopt_restored(Slot s, Timestamp t) {
  // Found by the kill campaign: after a restart, live events that came before the resync lists
  // (Newstate Up, BridgeEnter of a party the previous run saw ringing) created the party's
  // channel while its restored leg waited for CoreShowChannelsComplete, so refresh() opened a
  // second leg starting at the answer beside it. Attaching here, when the channel is created,
  // covers every order of lists and live events.
  const std::string& uid = g_.at(s).uid;
  for (auto& r : restored_) {
    const model::Leg* jl = journal_.leg(r.id);
    if (!jl) continue;
    if (!jl->open()) {
      // The previous run saw this party transfer its call away (BlindTransfer, AttendedTransfer)
      // and was killed before the party left the bridge: it takes no new leg there (found by
      // RestartResync.EveryKillPointOfEveryCapture...: a second entry for the transferer).
      if (jl->transferred_to && jl->start.party_channel == uid) g_.at(s).handed_over = true;
      continue;
    }
    if (!r.attached && jl->start.party_channel == uid) {
      attach_restored(r, s, t);
    } else if (r.attached && jl->start.anchor == uid) {
      // Its remote's channel appears after the party's: it must know who is anchored on it
      // (its hangup ends their legs, a transfer or park hands them over).
      Slot ps = g_.find(jl->start.party_channel);
      if (ps == kNoSlot) continue;
      auto& by = g_.at(s).anchored_by;
      if (std::find(by.begin(), by.end(), g_.at(ps).uid) == by.end()) by.push_back(g_.at(ps).uid);
    }
  }
}

bool AmiCallTracker::Impl::restored_party(std::string_view uid) const {
  return std::any_of(restored_.begin(), restored_.end(), [&](const RestoredLeg& r) {
    const model::Leg* jl = journal_.leg(r.id);
    return !r.attached && jl && jl->open() && jl->start.party_channel == uid;
  });
}

bool AmiCallTracker::Impl::restored_waiting(std::string_view conv) const {
  return std::any_of(restored_.begin(), restored_.end(), [&](const RestoredLeg& r) {
    const model::Leg* jl = journal_.leg(r.id);
    return !r.attached && jl && jl->open() && jl->start.conversation == conv;
  });
}

void AmiCallTracker::Impl::attach_restored(RestoredLeg& r, Slot ps, Timestamp t) {
  const model::LegId id = r.id;
  const model::Leg* jl = journal_.leg(id);
  if (!jl || !jl->open() || !g_.at(ps).live) return;
  // The party's external device (AnyDevice): the previous run made this trunk channel the
  // party's from its Local pair (CALLBRIDGE_PARTY, callbridge-followme), which Asterisk optimized
  // away before this run started; the restored leg names the channel and the device.
  if (g_.at(ps).kind == ChanKind::other && g_.at(ps).trunk && jl->start.device_number && !jl->start.party.empty()) {
    g_.at(ps).kind = ChanKind::party;
    g_.at(ps).ext = jl->start.party;
    g_.at(ps).device_number = *jl->start.device_number;
  }
  if (g_.at(ps).kind != ChanKind::party) return;
  r.attached = true;
  Channel& p = g_.at(ps);
  if (jl->start.conversation != p.conv) journal_.merge_conversations(jl->start.conversation, p.conv);
  jl = journal_.leg(id);
  PartyLeg leg;
  leg.id = id;
  leg.anchor = jl->start.anchor;
  leg.call_id = jl->start.model_call.empty() ? p.conv : jl->start.model_call;
  leg.answered = jl->answered_at.has_value();
  leg.held = jl->hold_since.has_value();
  leg.pending = leg.anchor.empty();
  if (leg.held) p.on_hold = true;
  if (!jl->start.incoming) p.initiated = true;
  p.had_leg = true;  // its start is the restored leg's, not unknown
  p.start_unseen = false;
  Slot a = g_.find(leg.anchor);
  if (a != kNoSlot) g_.at(a).anchored_by.push_back(p.uid);
  ConnectionState st = leg.held       ? ConnectionState::held
                       : leg.answered ? ConnectionState::connected
                       : jl->start.incoming ? ConnectionState::alerting
                                            : ConnectionState::initiated;
  CallEventType ev = leg.answered ? CallEventType::established
                     : jl->start.incoming ? CallEventType::delivered
                                          : CallEventType::originated;
  model_.update(leg.call_id, p.ext, st, ev, t, jl->start.remote, jl->start.transferred_from);
  p.legs.push_back(std::move(leg));
}

void AmiCallTracker::Impl::end_restored_gone(Timestamp end_at) {
  std::vector<std::string> convs;
  for (const RestoredLeg& r : restored_) {
    const model::LegId id = r.id;
    const model::Leg* jl = journal_.leg(id);
    if (!jl) continue;  // already emitted
    convs.push_back(jl->start.conversation);
    if (!jl->open()) continue;
    Slot ps = g_.find(jl->start.party_channel);
    Channel* p = ps != kNoSlot && g_.at(ps).live ? &g_.at(ps) : nullptr;
    auto it = p ? std::find_if(p->legs.begin(), p->legs.end(),
                               [&](const PartyLeg& l) { return l.id == id; })
                : std::vector<PartyLeg>::iterator{};
    bool attached = p && it != p->legs.end();
    // Attached, and its remote is still there (a channel, a conference, a ringing resync leg).
    if (attached && (it->anchor.empty() || it->anchor.starts_with(kResyncAnchor) ||
                     g_.find(it->anchor) != kNoSlot || g_.bridge(it->anchor) != nullptr))
      continue;
    std::uint8_t bits = model::kEstimatedEnd;
    if (!jl->answered_at) bits |= model::kEstimatedDisposition;
    journal_.mark_estimated(id, bits);
    if (attached) {
      end_leg(*p, *it, end_at, std::nullopt);
      p->legs.erase(it);
    } else {
      journal_.end(id, end_at);
    }
  }
  restored_.clear();
  restored_seen_until_.reset();
  std::sort(convs.begin(), convs.end());
  convs.erase(std::unique(convs.begin(), convs.end()), convs.end());
  // Conversations of the previous run with no channel left: their entries are final now.
  for (const auto& conv : convs) {
    if (convs_.find(conv) == convs_.end())
      journal_.conversation_ended(conv, end_at,
                                   model::kEstimatedEnd | model::kEstimatedDisposition);
  }
}

}  // namespace callbridge::drivers::ami
