#include "drivers/ami/ami_call_tracker.hpp"

#include <algorithm>
#include <charconv>

#include "core/journal_builder.hpp"
#include "drivers/ami/ami_event_fields.hpp"
#include "drivers/ami/channel_graph.hpp"

namespace callbridge::drivers::ami {

using base::Timestamp;
using F = AmiField;
using model::CallEventType;
using model::ConnectionState;

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
  std::string digits;
  bool plus = !raw.empty() && raw.front() == '+';
  for (char c : raw) {
    if (c >= '0' && c <= '9') digits += c;
  }
  if (digits.empty()) return std::string(raw);
  if (plus) return "+" + digits;
  if (digits.rfind("00", 0) == 0) return "+" + digits.substr(2);
  if (digits.rfind("0", 0) == 0) return "+49" + digits.substr(1);
  return digits;  // a local number without area code: leave it as dialed
}

namespace {

bool withheld_number(std::string_view n) {
  return n.empty() || n == "<unknown>" || n == "anonymous" || n == "Anonymous" ||
         n == "unknown" || n == "restricted" || n == "Restricted" || n == "s";
}

std::optional<std::string> clean_name(std::string_view n) {
  if (n.empty() || n == "<unknown>") return std::nullopt;
  return std::string(n);
}

int to_int(std::string_view s, int fallback = 0) {
  int v = fallback;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() ? v : fallback;
}

// "100", "+4989123456@trunk", "PJSIP/101", "PJSIP/101&PJSIP/102", "PJSIP/trunk/sip:+49...@host"
std::string number_from_dial_string(std::string_view d) {
  d = d.substr(0, d.find('&'));
  d = d.substr(0, d.find(','));
  auto slash = d.rfind('/');
  if (slash != std::string_view::npos) d = d.substr(slash + 1);
  if (d.rfind("sip:", 0) == 0 || d.rfind("tel:", 0) == 0) d = d.substr(4);
  d = d.substr(0, d.find('@'));
  d = d.substr(0, d.find(';'));
  return std::string(d);
}

// Seconds from "00:01:05" (CoreShowChannel Duration) or "65" (Status Seconds).
int parse_duration(std::string_view s) {
  if (s.empty()) return 0;
  int total = 0, part = 0;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      part = part * 10 + (c - '0');
    } else if (c == ':') {
      total = total * 60 + part;
      part = 0;
    } else {
      return 0;
    }
  }
  return total * 60 + part;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

class AmiCallTracker::Impl {
 public:
  Impl(TrackerOptions o, TrackerOutputs out)
      : opt_(std::move(o)),
        out_(std::move(out)),
        model_(opt_.tenant, out_.on_event),
        journal_(opt_.tenant, out_.on_journal) {
    if (!opt_.is_internal_number) opt_.is_internal_number = default_is_internal_number;
    if (!opt_.canonical_remote) opt_.canonical_remote = default_canonical_remote;
  }

  void session_start(Timestamp at);
  void session_end(Timestamp at);
  void message(const AmiMessage& m, Timestamp received_at);
  void flush(Timestamp at);

  TrackerOptions opt_;
  TrackerOutputs out_;
  model::CallModel model_;
  core::JournalBuilder journal_;
  ChannelGraph g_;
  SvMap<std::vector<Slot>> convs_;
  TrackerStats stats_;
  Timestamp now_{};
  bool session_has_timestamps_ = false;
  bool resync_active_ = false;
  std::optional<Timestamp> down_at_;
  std::vector<Slot> resync_new_;
  std::vector<const std::string*> scratch_convs_;
  // Conversations held back after their last hangup because an originated (click-to-dial) leg
  // does not know its destination yet: OriginateResponse (Exten) follows the Hangup.
  struct AwaitOriginate {
    std::string conv, uid, ext;
    core::LegId leg = 0;
    Timestamp ended{};
  };
  std::vector<AwaitOriginate> awaiting_;
  static constexpr std::chrono::seconds kOriginateWait{5};
  void expire_awaiting(Timestamp t, bool all);
  void on_originate_response(const AmiFields& f, Timestamp t);

 private:
  // channels
  struct ChanInfo {
    std::string_view uid, name, linkedid, state, cid_num, cid_name, cl_num, cl_name, exten;
  };
  static ChanInfo chan_info(const AmiFields& f);
  static ChanInfo dest_info(const AmiFields& f);
  Slot ensure_channel(const ChanInfo& ci, Timestamp t);
  void update_channel(Slot s, const ChanInfo& ci, Timestamp t);
  void classify(Channel& c) const;
  // Kind and party extension of a channel or device name ("PJSIP/100-0000001f", "PJSIP/100").
  std::pair<ChanKind, std::string_view> classify_name(std::string_view name, bool has_suffix) const;
  void set_conv(Slot s, std::string_view conv);
  void merge_convs(std::string_view from, std::string_view into, Timestamp t);

  // legs
  void refresh(Slot p, Timestamp t, bool resync_estimate = false);
  void refresh_conv(const std::string& conv, Timestamp t);
  void refresh_around(Slot s, Timestamp t);
  void open_pending(Slot p, Timestamp t, std::optional<std::string> remote);
  void describe(const Channel& c, bool incoming, core::LegStart& s) const;
  std::string model_call_for(const Channel& p, const Far& f) const;
  void end_leg(Channel& p, const PartyLeg& leg, Timestamp t, std::optional<int> cause,
               std::optional<std::string> transferred_to = {});
  void end_legs_anchored_on(Channel& c, Timestamp t, std::optional<int> cause = {});
  void note_external_answers(const std::string& bridge, Timestamp t);
  void hangup(Slot s, Timestamp t, int cause);
  void discard_pending(Channel& c, Timestamp t);
  void on_rename(Slot s, std::string_view newname, Timestamp t);
  void finish_resync(Timestamp t);
  std::string number_of(const Channel& c) const;

  // events
  void on_newchannel(const AmiFields& f, Timestamp t);
  void on_dial_begin(const AmiFields& f, Timestamp t);
  void on_dial_end(const AmiFields& f, Timestamp t);
  void on_bridge_enter(const AmiFields& f, Timestamp t);
  void on_bridge_leave(const AmiFields& f, Timestamp t);
  void on_hold(const AmiFields& f, Timestamp t, bool hold);
  void on_blind_transfer(const AmiFields& f, Timestamp t);
  void on_attended_transfer(const AmiFields& f, Timestamp t);
  void on_parked_call(const AmiFields& f, Timestamp t);
  void on_device_state(std::string_view device, std::string_view state, Timestamp t);
  void on_extension_status(const AmiFields& f, Timestamp t);
  void on_list_channel(const AmiFields& f, Timestamp t, bool status_item);
};

// ---------------------------------------------------------------------------------------------
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
  if (c.kind == ChanKind::local) {
    std::string_view n = c.name;
    if (n.size() > 2 && n[n.size() - 2] == ';') n.remove_suffix(2);
    g_.set_local_key(s, std::string(n));
    Slot other = g_.local_partner(g_.at(s).local_key, s);
    if (other != kNoSlot) g_.pair_local(s, other);
  }
  set_conv(s, ci.linkedid.empty() ? ci.uid : ci.linkedid);
  g_.at(s).linkedid = std::string(ci.linkedid);
  update_channel(s, ci, t);
  return s;
}

void AmiCallTracker::Impl::update_channel(Slot s, const ChanInfo& ci, Timestamp t) {
  Channel& c = g_.at(s);
  c.seen = true;
  if (!ci.name.empty() && ci.name != c.name) c.name = std::string(ci.name);
  if (!ci.state.empty()) {
    c.state = to_int(ci.state, c.state);
    if (c.state == 6 && !c.up_at) c.up_at = t;
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
// Legs

std::string AmiCallTracker::Impl::number_of(const Channel& c) const {
  if (c.was_dialed && !c.dialed_number.empty()) return c.dialed_number;
  return c.caller_num;
}

void AmiCallTracker::Impl::describe(const Channel& c, bool incoming, core::LegStart& s) const {
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
  core::LegStart s;
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
  leg.id = journal_.open(s);
  leg.pending = true;
  leg.call_id = model_call_for(p, Far{});
  model_.update(leg.call_id, p.ext, ConnectionState::initiated, CallEventType::originated, t,
                s.remote);
  p.legs.push_back(std::move(leg));
}

void AmiCallTracker::Impl::refresh(Slot ps, Timestamp t, bool resync_estimate) {
  Channel& p = g_.at(ps);
  if (p.kind != ChanKind::party || !p.live) return;
  Far f = g_.resolve(ps);
  if (!f.ok) {
    if (resync_estimate && p.legs.empty() && p.state == 5) {
      // Ringing when we (re)connected, the dial relation is unknown: the connected line says who.
      core::LegStart s;
      s.conversation = p.conv;
      s.party = p.ext;
      s.started_at = t;
      s.incoming = true;
      s.anchor = "resync:" + p.uid;
      Channel tmp;
      tmp.caller_num = p.conn_num;
      tmp.caller_name = p.conn_name;
      describe(tmp, true, s);
      PartyLeg leg;
      leg.id = journal_.open(s);
      leg.anchor = s.anchor;
      leg.call_id = model_call_for(p, f);
      model_.update(leg.call_id, p.ext, ConnectionState::alerting, CallEventType::delivered, t,
                    s.remote);
      p.legs.push_back(std::move(leg));
    }
    return;
  }
  std::string_view anchor = f.conference ? f.conf_key : std::string_view(g_.at(f.slot).uid);
  bool connected = !f.via_dial_forward && !f.via_dial_backward && !p.bridge.empty();
  PartyLeg* leg = nullptr;
  for (auto& l : p.legs) {
    if (l.anchor == anchor) leg = &l;
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
      const core::Leg* jl = journal_.leg(leg->id);
      if (f.conference) {
        if (jl && !jl->start.remote && !f.conf_name.empty())
          journal_.set_remote(leg->id, model::Direction::internal, std::string(f.conf_name), false,
                              {});
      } else {
        Channel& c = g_.at(f.slot);
        c.anchored_by.push_back(p.uid);
        if (connected && !c.was_dialed) {
          // Reached an originator only through bridges: pickup / park retrieval. The party
          // received this call; the code it dialed is no entry of its own.
          core::LegStart s;
          describe(c, true, s);
          journal_.restart(leg->id, t, true);
          journal_.set_remote(leg->id, s.direction, s.remote, s.remote_withheld, s.remote_name);
          if (!c.transferred_by.empty() && c.transferred_by != p.ext)
            journal_.set_transferred_from(leg->id, c.transferred_by);
        } else if (c.kind == ChanKind::party) {
          journal_.set_remote(leg->id, model::Direction::internal, c.ext, false,
                              clean_name(c.caller_name));
        } else if (jl && !jl->start.remote) {
          core::LegStart s;
          describe(c, false, s);
          journal_.set_remote(leg->id, s.direction, s.remote, s.remote_withheld, s.remote_name);
        }
      }
      const core::Leg* now = journal_.leg(leg->id);
      if (!connected)
        model_.update(leg->call_id, p.ext, ConnectionState::initiated, CallEventType::delivered, t,
                      now ? now->start.remote : std::nullopt);
    } else {
      core::LegStart s;
      s.conversation = p.conv;
      s.party = p.ext;
      s.started_at = resync_estimate ? p.created_at : t;
      s.anchor = std::string(anchor);
      if (f.conference) {
        s.incoming = false;
        s.direction = model::Direction::internal;
        if (!f.conf_name.empty()) s.remote = std::string(f.conf_name);
      } else {
        Channel& c = g_.at(f.slot);
        s.incoming = !f.via_dial_forward;
        if (resync_estimate && c.was_dialed && c.kind != ChanKind::party) {
          // Seen first in a resync: the party called out; what it dialed is lost, the connected
          // line (the callee as the PBX shows it to the phone) is the best we have.
          s.incoming = false;
          if (c.dialed_number.empty() && !withheld_number(p.conn_num)) c.dialed_number = p.conn_num;
        }
        describe(c, s.incoming, s);
        if (!c.transferred_by.empty() && c.transferred_by != p.ext)
          s.transferred_from = c.transferred_by;
        c.anchored_by.push_back(p.uid);
      }
      PartyLeg nl;
      nl.anchor = s.anchor;
      nl.call_id = model_call_for(p, f);
      nl.id = journal_.open(s);
      ConnectionState st = connected ? ConnectionState::connected
                           : s.incoming ? ConnectionState::alerting
                                        : ConnectionState::initiated;
      CallEventType ev = connected ? (f.conference ? CallEventType::conferenced
                                                   : CallEventType::transferred)
                         : s.incoming ? CallEventType::delivered
                                      : CallEventType::originated;
      model_.update(nl.call_id, p.ext, st, ev, s.started_at, s.remote, s.transferred_from);
      p.legs.push_back(std::move(nl));
      leg = &p.legs.back();
    }
  }
  if (connected && !leg->answered) {
    leg->answered = true;
    Timestamp at = resync_estimate ? p.created_at : t;
    journal_.answered(leg->id, at);
    // The remote may belong to another conversation (a pickup from a different Linkedid).
    if (!f.conference && g_.at(f.slot).conv != p.conv)
      journal_.anchor_answered(g_.at(f.slot).conv, leg->anchor, at);
    model_.update(leg->call_id, p.ext, ConnectionState::connected, CallEventType::established, at);
  }
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
  const core::Leg* jl = journal_.leg(leg.id);
  bool failed = jl && !jl->answered_at &&
                (jl->outcome == core::LegOutcome::busy || jl->outcome == core::LegOutcome::failed);
  journal_.end(leg.id, t);
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
  if (c.kind == ChanKind::party) {
    for (const auto& leg : c.legs) {
      const core::Leg* jl = journal_.leg(leg.id);
      if (jl && !jl->answered_at) {
        if (jl->start.incoming) {
          if (cause == 17 || cause == 21) journal_.set_outcome(leg.id, core::LegOutcome::rejected);
        } else if (jl->outcome == core::LegOutcome::normal) {
          if (cause == 17) journal_.set_outcome(leg.id, core::LegOutcome::busy);
          else if (cause == 1 || cause == 3 || cause == 27 || cause == 28 || cause == 34 ||
                   cause == 38 || cause == 41 || cause == 42 || cause == 58 || cause == 88)
            journal_.set_outcome(leg.id, core::LegOutcome::failed);
        }
        if (leg.pending && c.up_at && !c.ever_dialed_out && !c.originated) {
          // Answered by the PBX itself (voicemail, IVR, an application): talking since Up.
          journal_.answered(leg.id, *c.up_at);
        }
      }
      if (leg.pending && c.originated && jl && !jl->start.remote && !jl->answered_at)
        awaiting_.push_back(AwaitOriginate{c.conv, c.uid, c.ext, leg.id, t});
      end_leg(c, leg, t, cause);
    }
    c.legs.clear();
  }
  end_legs_anchored_on(c, t, cause);
  std::string conv = c.conv;
  std::vector<Slot> neighbours;
  if (c.peer != kNoSlot) neighbours.push_back(c.peer);
  g_.remove(s);
  auto it = convs_.find(conv);
  if (it != convs_.end()) {
    auto& v = it->second;
    v.erase(std::remove(v.begin(), v.end(), s), v.end());
    if (v.empty()) {
      convs_.erase(it);
      bool held_back = std::any_of(awaiting_.begin(), awaiting_.end(),
                                   [&](const AwaitOriginate& a) { return a.conv == conv; });
      if (!held_back) journal_.conversation_ended(conv, t);
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
    c.kind = kind;
    c.ext = std::string(ext);
    refresh_around(s, t);
  }
}

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
    src = ensure_channel(si, t);
    if (src != kNoSlot) update_channel(src, si, t);
  }
  Channel& d = g_.at(dst);
  d.was_dialed = true;
  std::string num = number_from_dial_string(f[F::dial_string]);
  if (num.empty() && src != kNoSlot) num = g_.at(src).exten;
  if (d.dialed_number.empty()) d.dialed_number = num;
  if (src != kNoSlot) {
    g_.start_dial(src, dst);
    g_.at(src).ever_dialed_out = true;
  } else {
    // AMI Originate: the PBX calls the party's own phone first (click-to-dial).
    d.originated = true;
    if (d.kind == ChanKind::party && d.legs.empty()) open_pending(dst, t, std::nullopt);
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
  g_.end_dial(dst);
  auto mark = [&](Slot s, bool incoming, core::LegOutcome o) {
    if (s == kNoSlot || g_.at(s).kind != ChanKind::party) return;
    for (const auto& l : g_.at(s).legs) {
      const core::Leg* jl = journal_.leg(l.id);
      if (jl && !jl->answered_at && jl->start.incoming == incoming) journal_.set_outcome(l.id, o);
    }
  };
  if (status == "BUSY") {
    mark(dst, true, core::LegOutcome::rejected);
    mark(src, false, core::LegOutcome::busy);
  } else if (status == "CONGESTION" || status == "CHANUNAVAIL") {
    mark(src, false, core::LegOutcome::failed);
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
  } else {
    update_channel(s, ci, t);
  }
  std::string_view bid = f[F::bridge_uniqueid];
  if (bid.empty()) return;
  Bridge& b = g_.ensure_bridge(bid);
  if (f[F::bridge_technology] == "softmix") b.conference = true;
  g_.join_bridge(s, bid);
  note_external_answers(std::string(bid), t);
  refresh_around(s, t);
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

void AmiCallTracker::Impl::on_hold(const AmiFields& f, Timestamp t, bool hold) {
  Slot s = g_.find(f[F::uniqueid]);
  if (s == kNoSlot) {
    ++stats_.unknown_channel;
    return;
  }
  Channel& c = g_.at(s);
  if (c.kind != ChanKind::party) return;
  if (hold) {
    if (c.on_hold) return;
    c.on_hold = true;
    for (auto& l : c.legs) {
      if (!l.answered || l.held) continue;
      l.held = true;
      journal_.hold(l.id, t);
      model_.update(l.call_id, c.ext, ConnectionState::held, CallEventType::held, t);
    }
  } else {
    // A lone Unhold (no Hold before, e.g. a REFER side effect) changes nothing.
    if (!c.on_hold) return;
    c.on_hold = false;
    for (auto& l : c.legs) {
      if (!l.held) continue;
      l.held = false;
      journal_.unhold(l.id, t);
      model_.update(l.call_id, c.ext, ConnectionState::connected, CallEventType::retrieved, t);
    }
  }
}

void AmiCallTracker::Impl::on_blind_transfer(const AmiFields& f, Timestamp t) {
  if (f[F::result] != "Success") return;
  Slot ps = g_.find(f[F::transferer_uniqueid]);
  Slot cs = g_.find(f[F::transferee_uniqueid]);
  std::string_view ext = f[F::extension];
  std::string to = ext.empty() ? std::string()
                   : opt_.is_internal_number(ext) ? std::string(ext)
                                                  : opt_.canonical_remote(ext);
  std::string by;
  if (ps != kNoSlot) {
    Channel& p = g_.at(ps);
    if (p.kind == ChanKind::party) {
      by = p.ext;
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
    core::LegStart s;
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
      }
    }
  }

  std::string by;
  for (Slot p : {p1, p2}) {
    if (p == kNoSlot) continue;
    Channel& c = g_.at(p);
    if (c.kind != ChanKind::party) continue;
    if (by.empty()) by = c.ext;
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
          const core::Leg* jl = journal_.leg(l.id);
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
    for (core::LegId id : c.blind_transfer_legs) journal_.set_transferred_to(id, space);
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

void AmiCallTracker::Impl::on_list_channel(const AmiFields& f, Timestamp t, bool status_item) {
  ChanInfo ci = chan_info(f);
  if (ci.uid.empty()) return;
  Slot s = g_.find(ci.uid);
  std::string_view bridge = f[F::bridge_id];
  if (s == kNoSlot) {
    int age = parse_duration(status_item ? f[F::seconds] : f[F::duration]);
    s = ensure_channel(ci, t - std::chrono::seconds(age));
    if (s == kNoSlot) return;
    Channel& c = g_.at(s);
    c.from_resync = true;
    if (c.state == 6) c.up_at = c.created_at;
    // "AppDial" = the outgoing leg of a Dial(): it was dialed, not calling.
    if (f[F::application] == "AppDial") c.was_dialed = true;
    resync_new_.push_back(s);
  } else {
    update_channel(s, ci, t);
  }
  Channel& c = g_.at(s);
  c.seen = true;
  if (!bridge.empty() && c.bridge != bridge) g_.join_bridge(s, bridge);
  // Listed without a bridge while we had it in one: it left while we were away.
  if (bridge.empty() && bridge.data() != nullptr && !c.bridge.empty()) g_.leave_bridge(s);
}

void AmiCallTracker::Impl::finish_resync(Timestamp t) {
  // CoreShowChannelsComplete ends the channel list of a resync; StatusComplete (a later list)
  // only adds channels that appeared in between.
  if (resync_active_) {
    resync_active_ = false;
    // Channels we knew that the PBX no longer lists ended while the link was down.
    Timestamp end_at = down_at_.value_or(t);
    for (Slot s : g_.all()) {
      if (!g_.at(s).live || g_.at(s).seen) continue;
      ++stats_.closed_by_resync;
      hangup(s, end_at, 0);
    }
    g_.sweep_empty_bridges();
    down_at_.reset();
    // Bridges may have changed while we were away: re-resolve every known party.
    for (Slot s : g_.all()) {
      if (g_.at(s).live && g_.at(s).kind == ChanKind::party && !g_.at(s).from_resync) refresh(s, t);
    }
  }
  // Calls first seen now: estimated start from Duration/Seconds, no separate answer time.
  auto fresh = std::move(resync_new_);
  resync_new_.clear();
  for (Slot s : fresh) {
    if (!g_.at(s).live || g_.at(s).kind != ChanKind::party) continue;
    g_.at(s).from_resync = false;
    refresh(s, g_.at(s).created_at, true);
  }
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

void AmiCallTracker::Impl::message(const AmiMessage& m, Timestamp received_at) {
  ++stats_.messages;
  std::string_view name = m.event();
  if (name.empty()) return;  // responses
  AmiEvent ev = classify_event(name);
  if (ev == AmiEvent::ignored) {
    ++stats_.ignored;
    return;
  }
  if (ev == AmiEvent::other) return;
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

  auto with_channel = [&](auto&& fn) {
    Slot s = g_.find(f[F::uniqueid]);
    if (s == kNoSlot) {
      ++stats_.unknown_channel;
      return;
    }
    update_channel(s, chan_info(f), t);
    fn(s);
  };

  switch (ev) {
    case AmiEvent::newchannel: on_newchannel(f, t); break;
    case AmiEvent::newstate:
    case AmiEvent::new_callerid:
    case AmiEvent::new_connected_line:
      with_channel([](Slot) {});
      break;
    case AmiEvent::rename: {
      Slot s = g_.find(f[F::uniqueid]);
      if (s == kNoSlot) {
        ++stats_.unknown_channel;
        break;
      }
      on_rename(s, f[F::newname], t);
      break;
    }
    case AmiEvent::hangup: {
      Slot s = g_.find(f[F::uniqueid]);
      if (s == kNoSlot) {
        ++stats_.unknown_channel;
        break;
      }
      hangup(s, t, to_int(f[F::cause], 0));
      break;
    }
    case AmiEvent::dial_begin: on_dial_begin(f, t); break;
    case AmiEvent::dial_end: on_dial_end(f, t); break;
    case AmiEvent::bridge_create:
    case AmiEvent::bridge_list_item: {
      std::string_view bid = f[F::bridge_uniqueid];
      if (bid.empty()) break;
      if (g_.bridges() >= opt_.max_channels) g_.sweep_empty_bridges();
      if (g_.bridges() >= opt_.max_channels) {
        ++stats_.dropped_channels;
        break;
      }
      Bridge& b = g_.ensure_bridge(bid);
      if (f[F::bridge_technology] == "softmix") b.conference = true;
      break;
    }
    case AmiEvent::bridge_enter: on_bridge_enter(f, t); break;
    case AmiEvent::bridge_leave: on_bridge_leave(f, t); break;
    case AmiEvent::bridge_destroy: {
      std::string_view bid = f[F::bridge_uniqueid];
      std::vector<Slot> members;
      if (Bridge* b = g_.bridge(bid)) members = b->members;
      g_.destroy_bridge(bid);
      for (Slot m : members) {
        if (g_.at(m).live) refresh_around(m, t);
      }
      break;
    }
    case AmiEvent::bridge_merge: {
      std::string_view into = f[F::to_bridge_uniqueid];
      std::string_view from = f[F::from_bridge_uniqueid];
      if (into.empty() || from.empty()) break;
      g_.ensure_bridge(into);
      g_.merge_bridges(from, into);
      if (Bridge* b = g_.bridge(into)) {
        std::vector<Slot> members = b->members;
        for (Slot m : members) refresh_around(m, t);
      }
      break;
    }
    case AmiEvent::local_bridge: {
      Slot a = g_.find(f[F::local_one_uniqueid]);
      Slot b = g_.find(f[F::local_two_uniqueid]);
      if (a != kNoSlot && b != kNoSlot) {
        g_.pair_local(a, b);
        refresh_around(a, t);
      }
      break;
    }
    case AmiEvent::hold: on_hold(f, t, true); break;
    case AmiEvent::unhold: on_hold(f, t, false); break;
    case AmiEvent::blind_transfer: on_blind_transfer(f, t); break;
    case AmiEvent::attended_transfer: on_attended_transfer(f, t); break;
    case AmiEvent::parked_call: on_parked_call(f, t); break;
    case AmiEvent::pickup: {
      // The picker dialed a pickup code; the call it takes over becomes its entry (through the
      // masquerade/bridge that follows), the code itself is no entry.
      Slot s = g_.find(f[F::uniqueid]);
      if (s != kNoSlot) discard_pending(g_.at(s), t);
      break;
    }
    case AmiEvent::confbridge_start:
    case AmiEvent::confbridge_join: {
      std::string_view bid = f[F::bridge_uniqueid];
      if (bid.empty()) break;
      Bridge& b = g_.ensure_bridge(bid);
      b.conference = true;
      if (!f[F::conference].empty()) b.conf_name = std::string(f[F::conference]);
      std::vector<Slot> members = b.members;
      for (Slot m : members) refresh_around(m, t);
      break;
    }
    case AmiEvent::queue_caller_join: {
      // An internal caller waiting in a queue: CSTA "queued" for its outgoing connection.
      Slot s = g_.find(f[F::uniqueid]);
      if (s == kNoSlot || g_.at(s).kind != ChanKind::party) break;
      Channel& c = g_.at(s);
      for (const auto& l : c.legs) {
        if (l.pending) model_.update(l.call_id, c.ext, ConnectionState::queued, CallEventType::queued, t);
      }
      break;
    }
    case AmiEvent::originate_response: {
      if (!awaiting_.empty()) {
        on_originate_response(f, t);
        break;
      }
      Slot s = g_.find(f[F::uniqueid]);
      std::string_view exten = f[F::exten];
      if (s == kNoSlot || exten.empty()) break;
      Channel& c = g_.at(s);
      for (const auto& l : c.legs) {
        const core::Leg* jl = journal_.leg(l.id);
        if (!l.pending || !jl || jl->start.remote) continue;
        core::LegStart tmp;
        Channel req;
        req.caller_num = std::string(exten);
        describe(req, false, tmp);
        journal_.set_remote(l.id, tmp.direction, tmp.remote, tmp.remote_withheld, std::nullopt);
      }
      break;
    }
    case AmiEvent::device_state_change: on_device_state(f[F::device], f[F::state], t); break;
    case AmiEvent::extension_status: on_extension_status(f, t); break;
    case AmiEvent::presence_state_change: {
      std::string_view who = f[F::presentity];
      auto colon = who.rfind(':');
      if (colon != std::string_view::npos) who = who.substr(colon + 1);
      if (!who.empty()) model_.set_dnd(who, f[F::state] == "dnd", t);
      break;
    }
    case AmiEvent::core_show_channel: on_list_channel(f, t, false); break;
    case AmiEvent::status: on_list_channel(f, t, true); break;
    case AmiEvent::core_show_channels_complete: finish_resync(t); break;
    case AmiEvent::status_complete: finish_resync(t); break;
    case AmiEvent::ignored:
    case AmiEvent::other: break;
  }
}

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

void AmiCallTracker::Impl::on_originate_response(const AmiFields& f, Timestamp t) {
  std::string_view uid = f[F::uniqueid];
  std::string_view exten = f[F::exten];
  auto [kind, ext] = classify_name(f[F::channel], false);  // Originate's Channel: "PJSIP/100"
  auto it = std::find_if(awaiting_.begin(), awaiting_.end(),
                         [&](const AwaitOriginate& a) { return !uid.empty() && a.uid == uid; });
  if (it == awaiting_.end() && kind == ChanKind::party) {
    it = std::find_if(awaiting_.begin(), awaiting_.end(),
                      [&](const AwaitOriginate& a) { return a.ext == ext; });
  }
  if (it == awaiting_.end()) return;
  if (!exten.empty()) {
    core::LegStart tmp;
    Channel req;
    req.caller_num = std::string(exten);
    describe(req, false, tmp);
    journal_.set_remote(it->leg, tmp.direction, tmp.remote, tmp.remote_withheld, std::nullopt);
  }
  it->ended = t - kOriginateWait;  // due now
  expire_awaiting(t, false);
}

void AmiCallTracker::Impl::flush(Timestamp at) {
  expire_awaiting(at, true);
  for (Slot s : g_.all()) {
    Channel& c = g_.at(s);
    for (const auto& l : c.legs) end_leg(c, l, at, std::nullopt);
    c.legs.clear();
  }
  journal_.flush(at);
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
const model::CallModel& AmiCallTracker::model() const { return impl_->model_; }
model::CallModel& AmiCallTracker::model() { return impl_->model_; }
std::size_t AmiCallTracker::live_channels() const { return impl_->g_.live(); }
const TrackerStats& AmiCallTracker::stats() const { return impl_->stats_; }
base::Timestamp AmiCallTracker::last_event_time() const { return impl_->now_; }

std::vector<ChannelSnapshot> AmiCallTracker::channels() const {
  std::vector<ChannelSnapshot> out;
  impl_->g_.for_each([&](Slot, const Channel& c) {
    out.push_back(ChannelSnapshot{c.uid, c.name, c.kind == ChanKind::party ? c.ext : std::string(),
                                  c.bridge, c.state});
  });
  return out;
}

}  // namespace callbridge::drivers::ami
