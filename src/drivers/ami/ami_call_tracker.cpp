// AmiCallTracker: public API, event dispatch, sessions and resync, number defaults.
// See ami_call_tracker.hpp.
#include "drivers/ami/ami_call_tracker_impl.hpp"

namespace callbridge::drivers::ami {

// ---------------------------------------------------------------------------------------------
// Number helpers

bool default_is_internal_number(std::string_view n) {
  if (n.size() < 2 || n.size() > 6) return false;
  if (n.front() == '0' || n.front() == '+') return false;
  for (char c : n) {
    if (!((c >= '0' && c <= '9') || c == '*' || c == '#')) return false;
  }
  return true;
}

std::string default_canonical_remote(std::string_view raw) {
  // Without a dialing plan there is no country to assume: only a number the PBX already reported
  // in international form is written as E.164 ("+49 89 123456" -> "+4989123456"); anything else
  // ("089123456", "0041...", "123456", a SIP URI) stays exactly as reported.
  if (raw.empty() || raw.front() != '+') return std::string(raw);
  std::string e164 = "+";
  for (char c : raw.substr(1)) {
    if (c >= '0' && c <= '9') {
      e164 += c;
    } else if (c != ' ' && c != '-' && c != '(' && c != ')' && c != '.' && c != '/') {
      return std::string(raw);  // not a plain number
    }
  }
  return e164.size() > 1 ? e164 : std::string(raw);
}

bool valid_move_call_id(std::string_view v) {
  if (v.empty() || v.size() > 160) return false;
  return std::all_of(v.begin(), v.end(), [](char ch) {
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '.' ||
           ch == '-' || ch == '_' || ch == '~' || ch == ':' || ch == '@' || ch == '/' || ch == ';';
  });
}

bool valid_e164(std::string_view v) {
  if (v.size() < 3 || v.size() > 20 || v.front() != '+') return false;
  return std::all_of(v.begin() + 1, v.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
}

// Channels

AmiCallTracker::Impl::ChanInfo AmiCallTracker::Impl::chan_info(const AmiFields& f) {
  return {f[F::uniqueid],      f[F::channel],         f[F::linkedid],
          f[F::channel_state], f[F::caller_id_num],   f[F::caller_id_name],
          f[F::connected_line_num], f[F::connected_line_name], f[F::exten]};
}

AmiCallTracker::Impl::ChanInfo AmiCallTracker::Impl::dest_info(const AmiFields& f) {
  return {f[F::dest_uniqueid],      f[F::dest_channel],       f[F::dest_linkedid],
          f[F::dest_channel_state], f[F::dest_caller_id_num], f[F::dest_caller_id_name],
          f[F::dest_connected_line_num], f[F::dest_connected_line_name], f[F::dest_exten]};
}

std::pair<ChanKind, std::string_view> AmiCallTracker::Impl::classify_name(std::string_view name,
                                                                        bool has_suffix) const {
  auto slash = name.find('/');
  if (slash == std::string_view::npos) return {ChanKind::other, {}};
  std::string_view tech = name.substr(0, slash);
  std::string_view rest = name.substr(slash + 1);
  if (tech == "Local") return {ChanKind::local, {}};
  if (tech == "CBAnn" || tech == "CBRec" || tech == "Announcer" || tech == "Snoop" ||
      tech == "Recorder" || tech == "Message" || tech == "Multicast")
    return {ChanKind::helper, {}};
  std::string_view endpoint = rest;
  if (has_suffix) {
    auto dash = rest.rfind('-');
    if (dash != std::string_view::npos) endpoint = rest.substr(0, dash);
  }
  bool tech_ok = std::find(opt_.party_techs.begin(), opt_.party_techs.end(), tech) !=
                 opt_.party_techs.end();
  if (!tech_ok) return {ChanKind::other, {}};
  bool digits = endpoint.size() >= opt_.party_min_len && endpoint.size() <= opt_.party_max_len &&
                std::all_of(endpoint.begin(), endpoint.end(),
                            [](char ch) { return ch >= '0' && ch <= '9'; });
  if (digits || std::find(opt_.party_endpoints.begin(), opt_.party_endpoints.end(), endpoint) !=
                    opt_.party_endpoints.end())
    return {ChanKind::party, endpoint};
  return {ChanKind::other, {}};
}

void AmiCallTracker::Impl::classify(Channel& c) const {
  auto [kind, ext] = classify_name(c.name, true);
  c.kind = kind;
  c.ext = std::string(ext);
}

Slot AmiCallTracker::Impl::ensure_channel(const ChanInfo& ci, Timestamp t) {
  if (ci.uid.empty()) return kNoSlot;
  Slot s = g_.find(ci.uid);
  if (s != kNoSlot) return s;
  if (g_.live() >= opt_.max_channels) {
    ++stats_.dropped_channels;
    return kNoSlot;
  }
  s = g_.add(ci.uid);
  Channel& c = g_.at(s);
  c.name = std::string(ci.name);
  c.created_at = t;
  classify(c);
  c.trunk = c.kind == ChanKind::other;
  count_channel(c, +1);
  if (c.kind == ChanKind::local) {
    std::string_view n = c.name;
    if (n.size() > 2 && n[n.size() - 2] == ';') n.remove_suffix(2);
    g_.set_local_key(s, std::string(n));
    Slot other = g_.local_partner(g_.at(s).local_key, s);
    if (other != kNoSlot) g_.pair_local(s, other);
  }
  if (c.kind == ChanKind::local) {
    // The include's follow-me leg (Local/EXT@callbridge-followme): EXT's external device.
    if (auto ext = followme_ext(g_.at(s).name)) mark_anydevice(s, *ext, {}, {});
  }
  set_conv(s, ci.linkedid.empty() ? ci.uid : ci.linkedid);
  g_.at(s).linkedid = std::string(ci.linkedid);
  update_channel(s, ci, t);
  // `t` of a listed channel is its creation (Duration ago); what attaching publishes happens now.
  if (!restored_.empty()) adopt_restored(s, std::max(t, now_));
  return s;
}

void AmiCallTracker::Impl::count_channel(const Channel& c, int delta) {
  auto bump = [delta](std::uint32_t& n, std::uint32_t& peak) {
    if (delta > 0) {
      ++n;
      peak = std::max(peak, n);
    } else if (n > 0) {
      --n;
    }
  };
  if (c.trunk && delta < 0 && now_ > c.created_at && c.created_at != Timestamp{})
    usage_.trunk_seconds += static_cast<double>(base::to_micros(now_) - base::to_micros(c.created_at)) / 1e6;
  if (c.trunk) bump(usage_.trunk, usage_.trunk_peak);
  else if (c.kind == ChanKind::party) bump(usage_.internal, usage_.internal_peak);
}

model::ChannelUsage AmiCallTracker::Impl::conv_usage(std::string_view conv) const {
  model::ChannelUsage u;
  auto it = convs_.find(conv);
  if (it == convs_.end()) return u;
  for (Slot s : it->second) {
    const Channel& c = g_.at(s);
    if (!c.live) continue;
    if (c.trunk) ++u.trunk;
    else if (c.kind == ChanKind::party) ++u.internal;
  }
  return u;
}

void AmiCallTracker::Impl::mark_anydevice(Slot s, std::string_view ext, const std::string& origin_uid,
                                          const std::string& origin_name) {
  for (Slot x : {s, g_.at(s).peer}) {
    if (x == kNoSlot) continue;
    Channel& c = g_.at(x);
    if (c.kind != ChanKind::local) continue;
    c.anydevice_ext = std::string(ext);
    if (!origin_uid.empty()) {
      c.anydevice_origin_uid = origin_uid;
      c.anydevice_origin_name = origin_name;
    }
  }
}

void AmiCallTracker::Impl::note_device_dial(Slot src, Slot dst, std::string_view number, Timestamp t) {
  const Channel& from = g_.at(src);
  if (from.kind != ChanKind::local || from.anydevice_ext.empty() || !from.name.ends_with(";2")) return;
  std::string ext = from.anydevice_ext;
  std::string origin_uid = from.anydevice_origin_uid, origin_name = from.anydevice_origin_name;
  if (origin_uid.empty() && from.peer != kNoSlot && g_.at(from.peer).originated) {
    // callbridge's make call: the Originate started this pair's ";1" (it dials the destination
    // once the device answered). Its OriginateResponse names it: "Local/+49...@ctx".
    const Channel& one = g_.at(from.peer);
    origin_uid = one.uid;
    std::string_view key = one.local_key;
    auto dash = key.rfind('-');
    origin_name = std::string(dash == std::string_view::npos ? key : key.substr(0, dash));
  }
  Channel& d = g_.at(dst);
  const std::string move_of = from.move_of, move_device = from.move_device;
  if (d.kind == ChanKind::local) {
    // CALLBRIDGE_EXTERNAL = Local/{number}@...: the next pair's ";2" dials the device.
    mark_anydevice(dst, ext, origin_uid, origin_name);
    for (Slot x : {dst, d.peer}) {
      if (x == kNoSlot || move_of.empty()) continue;
      g_.at(x).move_of = move_of;
      g_.at(x).move_device = move_device;
    }
    return;
  }
  // Only a channel to the outside becomes the device (a phone of the tenant stays itself).
  if (d.kind != ChanKind::other || !d.legs.empty() || number.empty()) return;
  d.kind = ChanKind::party;
  d.ext = std::move(ext);
  if (!move_of.empty()) {
    // Moving a call to this device: it rings without a leg; once it talks to the call's remote
    // it takes over the party's leg (take_over_moved_leg). Its number is the request's.
    d.move_of = move_of;
    d.move_device = move_device;
    d.device_number = move_device.empty() ? opt_.canonical_remote(number) : move_device;
    note_mover(d);
    return;
  }
  d.device_number = opt_.canonical_remote(number);
  if (!origin_uid.empty()) {
    // The first leg of a make call: like a desk phone's click-to-dial, an outgoing call of the
    // party from now on, whose destination is dialled once the device answered.
    d.originated = true;
    d.anydevice_origin_uid = std::move(origin_uid);
    d.anydevice_origin_name = std::move(origin_name);
    open_pending(dst, t, std::nullopt);
  }
}

bool AmiCallTracker::Impl::shares_connection(const Channel& p, std::string_view call_id) const {
  auto it = convs_.find(p.conv);
  if (it == convs_.end()) return false;
  for (Slot s : it->second) {
    const Channel& c = g_.at(s);
    if (&c == &p || !c.live || c.kind != ChanKind::party || c.ext != p.ext) continue;
    for (const auto& l : c.legs)
      if (l.call_id == call_id) return true;
  }
  return false;
}

void AmiCallTracker::Impl::note_unseen_creation(Slot s) {
  // Found with the kill campaign's recordings: events that arrive after the login, before the
  // lists (the answer of a call that began to ring in the gap) opened the party's leg at the
  // answer with nothing estimated. Outside a resync an unknown channel keeps today's behaviour.
  Channel& c = g_.at(s);
  if (!resync_active_ || c.had_leg) return;
  c.start_unseen = true;
  c.created_unseen = true;
}

void AmiCallTracker::Impl::update_channel(Slot s, const ChanInfo& ci, Timestamp t) {
  Channel& c = g_.at(s);
  c.seen = true;
  if (!ci.name.empty() && ci.name != c.name) c.name = std::string(ci.name);
  if (!ci.state.empty()) {
    c.state = to_int(ci.state, c.state);
    if (c.state == 6 && !c.up_at) c.up_at = t;
    // Not Up any more (a channel listed Up in a resync, then announced again ringing): its old
    // Up time must not become the answer of a call that starts now (found by fuzz_ami_tracker).
    if (c.state != 6) c.up_at.reset();
  }
  auto set = [](std::string& dst, std::string_view v) {
    if (v.data() && dst != v) dst.assign(v);
  };
  set(c.caller_num, ci.cid_num);
  set(c.caller_name, ci.cid_name);
  set(c.conn_num, ci.cl_num);
  set(c.conn_name, ci.cl_name);
  if (!ci.exten.empty()) set(c.exten, ci.exten);
  if (!ci.linkedid.empty() && ci.linkedid != c.linkedid) {
    // Linkedid changed (older Asterisk propagates it on bridging): the conversations merge.
    std::string old_conv = c.conv;
    c.linkedid = std::string(ci.linkedid);
    if (!old_conv.empty() && old_conv != c.linkedid) merge_convs(old_conv, c.linkedid, t);
  }
}

void AmiCallTracker::Impl::set_conv(Slot s, std::string_view conv) {
  Channel& c = g_.at(s);
  if (c.conv == conv) return;
  if (!c.conv.empty()) {
    auto it = convs_.find(c.conv);
    if (it != convs_.end()) {
      auto& v = it->second;
      v.erase(std::remove(v.begin(), v.end(), s), v.end());
    }
  }
  c.conv = std::string(conv);
  auto it = convs_.find(conv);
  if (it == convs_.end()) it = convs_.emplace(std::string(conv), std::vector<Slot>{}).first;
  it->second.push_back(s);
}

void AmiCallTracker::Impl::merge_convs(std::string_view from_v, std::string_view into_v,
                                       Timestamp t) {
  if (from_v == into_v) return;
  std::string from(from_v), into(into_v);
  auto it = convs_.find(from);
  if (it == convs_.end()) return;
  std::vector<Slot> members = std::move(it->second);
  convs_.erase(it);
  auto& dst = convs_[into];
  for (Slot s : members) {
    Channel& c = g_.at(s);
    c.conv = into;
    dst.push_back(s);
  }
  journal_.merge_conversations(from, into);
}

// ---------------------------------------------------------------------------------------------

void AmiCallTracker::Impl::session_start(Timestamp at) {
  session_has_timestamps_ = false;
  ++stats_.resyncs;
  resync_active_ = true;
  resync_new_.clear();
  for (Slot s : g_.all()) g_.at(s).seen = false;
  if (now_ < at && now_ == Timestamp{}) now_ = at;
}

void AmiCallTracker::Impl::session_end(Timestamp at) {
  down_at_ = now_ == Timestamp{} ? at : now_;
  resync_active_ = false;
}

// docs/dialplan.md: a call forwarded by callbridge.conf enters [callbridge-forward] at the
// forwarding line's extension before it dials the destination; that destination's entry then says
// where the call came from (transferred_from). Newexten is otherwise ignored (the most frequent
// event): only its Context is looked at.
void AmiCallTracker::Impl::note_forwarding(const AmiMessage& m) {
  if (m.get("Context") != "callbridge-forward" || m.get("Priority") != "1") return;
  std::string_view line = m.get("Extension");
  if (line.empty()) line = m.get("Exten");
  if (line.empty() || line.size() > 32) return;
  Slot s = g_.find(m.get("Uniqueid"));
  if (s != kNoSlot) g_.at(s).forwarded_by = std::string(line);
}

// AnyDevice: callbridge's Originate of a first leg to an external device sets
// kAnyDevicePartyVariable; Asterisk reports it as VarSet on both Local halves (verified against
// the lab's Asterisk 22: tests/fixtures/asterisk-22/live_make_call_from_mobile). A move's Originate
// sets kMoveCallVariable (and kMoveDeviceVariable for an external device) likewise, on the new
// device's channel or its Local halves, before that channel is dialled
// (tests/fixtures/asterisk-22/live_move_call_desk_mobile_desk). VarSet is otherwise ignored (the
// most frequent event after Newexten): only its Variable's prefix is compared.
void AmiCallTracker::Impl::note_callbridge_variable(const AmiMessage& m) {
  std::string_view var = m.get("Variable");
  if (!var.starts_with("CALLBRIDGE_")) return;
  Slot s = g_.find(m.get("Uniqueid"));
  if (s == kNoSlot) return;
  std::string_view value = m.get("Value");
  Channel& c = g_.at(s);
  if (var == kAnyDevicePartyVariable) {
    if (c.kind != ChanKind::local || !valid_anydevice_ext(value)) return;
    mark_anydevice(s, value, {}, {});
    return;
  }
  const bool move = var == kMoveCallVariable;
  if (!move && var != kMoveDeviceVariable) return;
  if (move ? !valid_move_call_id(value) : !valid_e164(value)) return;
  // The new device's own channel (a desk phone), or both halves of the Local pair towards it.
  if (c.kind != ChanKind::local && c.kind != ChanKind::party) return;
  for (Slot x : {s, c.kind == ChanKind::local ? c.peer : kNoSlot}) {
    if (x == kNoSlot) continue;
    Channel& h = g_.at(x);
    (move ? h.move_of : h.move_device) = std::string(value);
  }
  if (move && c.kind == ChanKind::party) note_mover(c);  // the desk phone the call moves back to
}

void AmiCallTracker::Impl::message(const AmiMessage& m, Timestamp received_at) {
  ++stats_.messages;
  std::string_view name = m.event();
  if (name.empty()) return;  // responses
  AmiEvent ev = classify_event(name);
  if (ev == AmiEvent::ignored && name == "Newexten") {
    note_forwarding(m);
    // PBX hold of a call on an external device: the device's channel enters [callbridge-hold].
    if (m.get("Context") == kHoldContext && m.get("Priority") == "1" && m.get("Extension") == kHoldDeviceExten)
      ev = AmiEvent::pbx_hold;
  }
  if (ev == AmiEvent::ignored && name == "VarSet") note_callbridge_variable(m);
  if (ev == AmiEvent::ignored || ev == AmiEvent::other) {
    if (ev == AmiEvent::ignored) ++stats_.ignored;
    // Still proof that the PBX was heard until then (VarSet, Newexten, RTCP... keep coming
    // during a long talk): the heartbeat row may move on.
    if (state_put_) {
      if (auto p = base::parse_epoch_seconds(m.get("Timestamp"));
          p && *p >= seen_written_ + std::chrono::seconds(1))
        heartbeat(*p);
    }
    return;
  }
  AmiFields f(m);
  Timestamp t;
  if (auto ts = f[F::timestamp]; !ts.empty()) {
    if (auto p = base::parse_epoch_seconds(ts)) {
      t = *p;
      session_has_timestamps_ = true;
    } else {
      t = now_;
    }
  } else {
    t = session_has_timestamps_ || received_at < now_ ? now_ : received_at;
  }
  if (t > now_) now_ = t;
  ++stats_.handled;
  if (!awaiting_.empty()) expire_awaiting(t, false);

  // A live event that names the channel of a leg restored from the previous run before the
  // resync lists do (its hangup, hold, answer...): the channel and its leg are known from now on.
  if (!restored_.empty() && ev != AmiEvent::core_show_channel && ev != AmiEvent::status) {
    for (const ChanInfo& ci : {chan_info(f), dest_info(f)}) {
      if (!ci.uid.empty() && g_.find(ci.uid) == kNoSlot && restored_party(ci.uid)) ensure_channel(ci, t);
    }
  }
  // One handler per event kind (event_handlers()); Ignored/other have none.
  if (EventHandler h = event_handlers()[static_cast<std::size_t>(ev)]) (this->*h)(f, t);
  journal_.sync_state();
  if (state_put_ && now_ >= seen_written_ + std::chrono::seconds(1)) heartbeat(now_);
}

void AmiCallTracker::Impl::heartbeat(Timestamp at) {
  seen_written_ = at;
  state_put_(std::string(kSeenKey), "seen=" + std::to_string(base::to_micros(at)) + "\n");
}

const std::array<AmiCallTracker::Impl::EventHandler, AmiCallTracker::Impl::kEventKinds>&
AmiCallTracker::Impl::event_handlers() {
  static const auto table = [] {
    std::array<EventHandler, kEventKinds> t{};
    auto set = [&t](AmiEvent e, EventHandler h) { t[static_cast<std::size_t>(e)] = h; };
    set(AmiEvent::newchannel, &Impl::on_newchannel);
    set(AmiEvent::newstate, &Impl::on_channel_update);
    set(AmiEvent::new_callerid, &Impl::on_channel_update);
    set(AmiEvent::new_connected_line, &Impl::on_channel_update);
    set(AmiEvent::rename, &Impl::on_rename_event);
    set(AmiEvent::hangup, &Impl::on_hangup);
    set(AmiEvent::dial_begin, &Impl::on_dial_begin);
    set(AmiEvent::dial_end, &Impl::on_dial_end);
    set(AmiEvent::bridge_create, &Impl::on_bridge_create);
    set(AmiEvent::bridge_list_item, &Impl::on_bridge_create);
    set(AmiEvent::bridge_enter, &Impl::on_bridge_enter);
    set(AmiEvent::bridge_leave, &Impl::on_bridge_leave);
    set(AmiEvent::bridge_destroy, &Impl::on_bridge_destroy);
    set(AmiEvent::bridge_merge, &Impl::on_bridge_merge);
    set(AmiEvent::local_bridge, &Impl::on_local_bridge);
    set(AmiEvent::hold, &Impl::on_hold_event);
    set(AmiEvent::unhold, &Impl::on_unhold_event);
    set(AmiEvent::blind_transfer, &Impl::on_blind_transfer);
    set(AmiEvent::attended_transfer, &Impl::on_attended_transfer);
    set(AmiEvent::parked_call, &Impl::on_parked_call);
    set(AmiEvent::pickup, &Impl::on_pickup);
    set(AmiEvent::pbx_hold, &Impl::on_pbx_hold);
    set(AmiEvent::confbridge_start, &Impl::on_confbridge);
    set(AmiEvent::confbridge_join, &Impl::on_confbridge);
    set(AmiEvent::queue_caller_join, &Impl::on_queue_caller_join);
    set(AmiEvent::originate_response, &Impl::on_originate_response_event);
    set(AmiEvent::device_state_change, &Impl::on_device_state_change);
    set(AmiEvent::extension_status, &Impl::on_extension_status);
    set(AmiEvent::presence_state_change, &Impl::on_presence_state_change);
    set(AmiEvent::core_show_channel, &Impl::on_core_show_channel);
    set(AmiEvent::status, &Impl::on_status_item);
    set(AmiEvent::core_show_channels_complete, &Impl::on_list_complete);
    set(AmiEvent::status_complete, &Impl::on_list_complete);
    return t;
  }();
  return table;
}

void AmiCallTracker::Impl::on_channel_update(const AmiFields& f, Timestamp t) {
  Slot s = g_.find(f[F::uniqueid]);
  if (s == kNoSlot) {
    ++stats_.unknown_channel;
    return;
  }
  update_channel(s, chan_info(f), t);
}

void AmiCallTracker::Impl::on_rename_event(const AmiFields& f, Timestamp t) {
  Slot s = g_.find(f[F::uniqueid]);
  if (s == kNoSlot) {
    ++stats_.unknown_channel;
    return;
  }
  on_rename(s, f[F::newname], t);
}

void AmiCallTracker::Impl::on_hangup(const AmiFields& f, Timestamp t) {
  Slot s = g_.find(f[F::uniqueid]);
  if (s == kNoSlot) {
    ++stats_.unknown_channel;
    return;
  }
  if (g_.at(s).pickup_app) discard_pending(g_.at(s), t);  // PickupChan found nothing to take
  hangup(s, t, to_int(f[F::cause], 0));
}

void AmiCallTracker::Impl::on_bridge_create(const AmiFields& f, Timestamp) {
  std::string_view bid = f[F::bridge_uniqueid];
  if (bid.empty()) return;
  if (g_.bridges() >= opt_.max_channels) g_.sweep_empty_bridges();
  if (g_.bridges() >= opt_.max_channels) {
    ++stats_.dropped_channels;
    return;
  }
  Bridge& b = g_.ensure_bridge(bid);
  if (conference_room(f)) b.conference = true;
}

void AmiCallTracker::Impl::on_bridge_destroy(const AmiFields& f, Timestamp t) {
  std::string_view bid = f[F::bridge_uniqueid];
  std::vector<Slot> members;
  if (Bridge* b = g_.bridge(bid)) members = b->members;
  g_.destroy_bridge(bid);
  for (Slot m : members) {
    if (g_.at(m).live) refresh_around(m, t);
  }
}

void AmiCallTracker::Impl::on_bridge_merge(const AmiFields& f, Timestamp) {
  // Announces a merge; who actually moves follows as BridgeLeave (from) + BridgeEnter (into)
  // per channel. Channels Asterisk kicks out instead (the transferer of an attended transfer
  // completed while it is still in the consultation bridge) only get a BridgeLeave, often
  // after AttendedTransfer. Moving every member here put the transferer into the caller's
  // bridge for a moment: a 3-party "conference" and two entries with no remote.
  std::string_view into = f[F::to_bridge_uniqueid];
  if (!into.empty()) g_.ensure_bridge(into);
}

void AmiCallTracker::Impl::on_local_bridge(const AmiFields& f, Timestamp t) {
  Slot a = g_.find(f[F::local_one_uniqueid]);
  Slot b = g_.find(f[F::local_two_uniqueid]);
  if (a != kNoSlot && b != kNoSlot) {
    g_.pair_local(a, b);
    refresh_around(a, t);
  }
}

void AmiCallTracker::Impl::on_hold_event(const AmiFields& f, Timestamp t) { on_hold(f, t, true); }
void AmiCallTracker::Impl::on_unhold_event(const AmiFields& f, Timestamp t) { on_hold(f, t, false); }

void AmiCallTracker::Impl::on_pickup(const AmiFields& f, Timestamp t) {
  // The picker dialed a pickup code; the call it takes over becomes its entry (through the
  // masquerade/bridge that follows), the code itself is no entry.
  Slot s = g_.find(f[F::uniqueid]);
  if (s != kNoSlot) discard_pending(g_.at(s), t);
}

void AmiCallTracker::Impl::on_confbridge(const AmiFields& f, Timestamp t) {
  std::string_view bid = f[F::bridge_uniqueid];
  if (bid.empty()) return;
  Bridge& b = g_.ensure_bridge(bid);
  b.conference = true;
  if (!f[F::conference].empty()) b.conf_name = std::string(f[F::conference]);
  std::vector<Slot> members = b.members;
  for (Slot m : members) refresh_around(m, t);
}

void AmiCallTracker::Impl::on_queue_caller_join(const AmiFields& f, Timestamp t) {
  // An internal caller waiting in a queue: CSTA "queued" for its outgoing connection.
  Slot s = g_.find(f[F::uniqueid]);
  if (s == kNoSlot || g_.at(s).kind != ChanKind::party) return;
  Channel& c = g_.at(s);
  for (const auto& l : c.legs) {
    if (l.pending) model_.update(l.call_id, c.ext, ConnectionState::queued, CallEventType::queued, t);
  }
}

void AmiCallTracker::Impl::on_originate_response_event(const AmiFields& f, Timestamp t) {
  // Directed pickup through the API (Originate into PickupChan): the picker's leg is no call of
  // its own. Found a ringing channel: the Pickup event hands it the caller; found none: the leg
  // ends at its Hangup without an entry (tests/live pickup_too_late).
  if (f[F::application] == "PickupChan") {
    if (Slot s = g_.find(f[F::uniqueid]); s != kNoSlot) g_.at(s).pickup_app = true;
  }
  if (on_originate_response(f, t)) return;
  // The party's channel is still up. A failed Originate (own phone not answered, rejected,
  // hung up while ringing) reports `Uniqueid: <unknown>` and the bare device
  // (`Channel: PJSIP/101`), and may come before that channel's Hangup: then it is the
  // device's live originated channel whose outgoing leg has no destination yet.
  std::string_view exten = f[F::exten];
  if (exten.empty()) return;
  Slot s = g_.find(f[F::uniqueid]);
  if (f[F::channel].starts_with("Local/")) {
    // AnyDevice: the Originate's Local ";1" (or, failed, `Uniqueid: <unknown>` and the bare
    // "Local/+49...@ctx") stands for the device's channel, the party of the call.
    std::string_view uid = f[F::uniqueid], name = f[F::channel];
    s = kNoSlot;
    for (Slot o : g_.all()) {
      const Channel& c = g_.at(o);
      if (c.kind == ChanKind::party && c.originated && !c.anydevice_origin_uid.empty() &&
          (c.anydevice_origin_uid == uid || c.anydevice_origin_name == name))
        s = o;
    }
    if (s == kNoSlot) return;
  } else if (s == kNoSlot) {
    auto [kind, ext] = classify_name(f[F::channel], false);
    if (kind != ChanKind::party) return;
    for (Slot o : g_.all()) {
      const Channel& c = g_.at(o);
      if (c.kind != ChanKind::party || !c.originated || c.ext != ext) continue;
      bool open = std::any_of(c.legs.begin(), c.legs.end(), [&](const PartyLeg& l) {
        const model::Leg* jl = journal_.leg(l.id);
        return l.pending && jl && !jl->start.remote;
      });
      if (open && (s == kNoSlot || g_.at(s).created_at < c.created_at)) s = o;  // the newest one
    }
    if (s == kNoSlot) return;
  }
  Channel& c = g_.at(s);
  for (const auto& l : c.legs) {
    const model::Leg* jl = journal_.leg(l.id);
    if (!l.pending || !jl || jl->start.remote) continue;
    model::LegStart tmp;
    Channel req;
    req.caller_num = std::string(exten);
    describe(req, false, tmp);
    journal_.set_remote(l.id, tmp.direction, tmp.remote, tmp.remote_withheld, std::nullopt);
  }
}

void AmiCallTracker::Impl::on_device_state_change(const AmiFields& f, Timestamp t) {
  on_device_state(f[F::device], f[F::state], t);
}

void AmiCallTracker::Impl::on_presence_state_change(const AmiFields& f, Timestamp t) {
  std::string_view who = f[F::presentity];
  auto colon = who.rfind(':');
  if (colon != std::string_view::npos) who = who.substr(colon + 1);
  if (!who.empty()) model_.set_dnd(who, f[F::state] == "dnd", t);
}

void AmiCallTracker::Impl::on_core_show_channel(const AmiFields& f, Timestamp t) { on_list_channel(f, t, false); }
void AmiCallTracker::Impl::on_status_item(const AmiFields& f, Timestamp t) { on_list_channel(f, t, true); }
void AmiCallTracker::Impl::on_list_complete(const AmiFields&, Timestamp t) { finish_resync(t); }

void AmiCallTracker::Impl::expire_awaiting(Timestamp t, bool all) {
  for (auto it = awaiting_.begin(); it != awaiting_.end();) {
    if (!all && it->ended + kOriginateWait > t) {
      ++it;
      continue;
    }
    std::string conv = it->conv;
    Timestamp ended = it->ended;
    it = awaiting_.erase(it);
    bool more = std::any_of(awaiting_.begin(), awaiting_.end(),
                            [&](const AwaitOriginate& a) { return a.conv == conv; });
    if (!more && convs_.find(conv) == convs_.end()) journal_.conversation_ended(conv, ended);
  }
}

bool AmiCallTracker::Impl::on_originate_response(const AmiFields& f, Timestamp t) {
  if (awaiting_.empty()) return false;
  std::string_view uid = f[F::uniqueid];
  std::string_view exten = f[F::exten];
  auto [kind, ext] = classify_name(f[F::channel], false);  // Originate's Channel: "PJSIP/100"
  auto it = std::find_if(awaiting_.begin(), awaiting_.end(), [&](const AwaitOriginate& a) {
    return (!uid.empty() && a.uid == uid) || (!a.origin_name.empty() && a.origin_name == f[F::channel]);
  });
  if (it == awaiting_.end() && kind == ChanKind::party) {
    it = std::find_if(awaiting_.begin(), awaiting_.end(),
                      [&](const AwaitOriginate& a) { return a.ext == ext; });
  }
  if (it == awaiting_.end()) return false;
  if (!exten.empty()) {
    model::LegStart tmp;
    Channel req;
    req.caller_num = std::string(exten);
    describe(req, false, tmp);
    journal_.set_remote(it->leg, tmp.direction, tmp.remote, tmp.remote_withheld, std::nullopt);
  }
  it->ended = t - kOriginateWait;  // due now
  expire_awaiting(t, false);
  return true;
}

void AmiCallTracker::Impl::flush(Timestamp at) {
  expire_awaiting(at, true);
  for (Slot s : g_.all()) {
    Channel& c = g_.at(s);
    for (const auto& l : c.legs) end_leg(c, l, at, std::nullopt);
    c.legs.clear();
  }
  journal_.flush(at);
  journal_.sync_state();
}

// ---------------------------------------------------------------------------------------------

AmiCallTracker::AmiCallTracker(TrackerOptions options, TrackerOutputs outputs)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(outputs))) {}
AmiCallTracker::~AmiCallTracker() = default;

void AmiCallTracker::on_session_start(base::Timestamp at) { impl_->session_start(at); }
void AmiCallTracker::on_message(const AmiMessage& m, base::Timestamp received_at) {
  impl_->message(m, received_at);
}
void AmiCallTracker::on_session_end(base::Timestamp at, const base::Error&) {
  impl_->session_end(at);
}
void AmiCallTracker::flush(base::Timestamp at) { impl_->flush(at); }
void AmiCallTracker::enable_state(std::string scope, StatePut put) {
  // Keys are "<party channel Uniqueid>#<run>.<n>": unique across runs without reading the rows.
  impl_->state_prefix_ =
      std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count()) +
      ".";
  impl_->state_put_ = put;
  impl_->journal_.set_state_sink(std::move(scope), std::move(put));
}
void AmiCallTracker::restore_state(const std::vector<std::string>& rows) {
  impl_->restore_state(rows);
}
void AmiCallTracker::set_pbx_hold(bool available) { impl_->pbx_hold_ = available; }
bool AmiCallTracker::pbx_hold() const { return impl_->pbx_hold_; }
const model::CallModel& AmiCallTracker::model() const { return impl_->model_; }
model::CallModel& AmiCallTracker::model() { return impl_->model_; }
std::size_t AmiCallTracker::live_channels() const { return impl_->g_.live(); }
model::ChannelUsage AmiCallTracker::channel_usage() const { return impl_->usage_; }
std::optional<model::ChannelUsage> AmiCallTracker::call_channel_usage(std::string_view call_id) const {
  // Model call ids are the conversation ("<Linkedid>"), or "<conversation>~<channel>" for a second
  // call of a party in it (a consultation): the conversation's channels are the call's.
  return impl_->model_.channel_usage(call_id);
}
const TrackerStats& AmiCallTracker::stats() const { return impl_->stats_; }
base::Timestamp AmiCallTracker::last_event_time() const { return impl_->now_; }

std::vector<ChannelSnapshot> AmiCallTracker::channels() const {
  std::vector<ChannelSnapshot> out;
  impl_->g_.for_each([&](Slot, const Channel& c) {
    out.push_back(ChannelSnapshot{c.uid, c.name, c.kind == ChanKind::party ? c.ext : std::string(),
                                  c.bridge, c.state, c.device_number, c.trunk});
  });
  return out;
}

std::optional<AmiCallTracker::CallChannels> AmiCallTracker::call_channels(std::string_view call_id,
                                                                          std::string_view device) const {
  const ChannelGraph& g = impl_->g_;
  auto snap = [&](const Channel& c) {
    return ChannelSnapshot{c.uid, c.name, c.kind == ChanKind::party ? c.ext : std::string(), c.bridge,
                           c.state, c.kind == ChanKind::party ? c.device_number : std::string(), c.trunk};
  };
  std::optional<CallChannels> out;
  g.for_each([&](Slot s, const Channel& c) {
    if (out || !c.live || c.kind != ChanKind::party || c.ext != device) return;
    bool carries = std::any_of(c.legs.begin(), c.legs.end(),
                               [&](const PartyLeg& l) { return l.call_id == call_id; });
    if (!carries) return;
    out.emplace();
    out->party = snap(c);
    out->shared = std::any_of(c.legs.begin(), c.legs.end(), [&](const PartyLeg& l) { return l.call_id != call_id; });
    // The leg's anchor is the remote this call is about (a channel may carry two calls during a
    // consultation); else whatever the graph resolves now.
    for (const auto& l : c.legs) {
      if (l.call_id != call_id || l.anchor.empty()) continue;
      Slot r = g.find(l.anchor);
      if (r != kNoSlot) out->remote = snap(g.at(r));
      return;
    }
    Far f = g.resolve(s);
    if (f.ok && !f.conference && f.slot != kNoSlot) out->remote = snap(g.at(f.slot));
  });
  return out;
}

}  // namespace callbridge::drivers::ami
