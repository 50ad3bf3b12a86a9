// Internal to the AMI call tracker: the Impl class shared by ami_call_tracker.cpp (dispatch,
// sessions, resync), ami_call_legs.cpp (who talks to whom -> journal legs and CSTA events) and
// ami_call_events.cpp (per-event handlers). Not a public header. Model thread; not thread-safe.
#pragma once

#include <cstdint>
#include <algorithm>
#include <array>
#include <limits>
#include <type_traits>
#include <charconv>
#include <chrono>

#include "model/journal_builder.hpp"
#include "drivers/ami/ami_call_tracker.hpp"
#include "drivers/ami/ami_event_fields.hpp"
#include "drivers/ami/channel_graph.hpp"

namespace callbridge::drivers::ami {

using base::Timestamp;
using F = AmiField;
using model::CallEventType;
using model::ConnectionState;

namespace detail {


// A dialplan extension that is a number someone dialed ("+4989123456", "089123456", "*81101"),
// not a pattern or a name ("s", "_X.", "support").
inline bool dialable_number(std::string_view n) {
  if (n.empty() || n.size() > 40) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    char ch = n[i];
    bool ok = (ch >= '0' && ch <= '9') || ch == '*' || ch == '#' || (ch == '+' && i == 0);
    if (!ok) return false;
  }
  return n != "+";
}

inline bool withheld_number(std::string_view n) {
  return n.empty() || n == "<unknown>" || n == "anonymous" || n == "Anonymous" ||
         n == "unknown" || n == "restricted" || n == "Restricted" || n == "s";
}

inline std::optional<std::string> clean_name(std::string_view n) {
  if (n.empty() || n == "<unknown>") return std::nullopt;
  return std::string(n);
}

inline int to_int(std::string_view s, int fallback = 0) {
  int v = fallback;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() ? v : fallback;
}

// "100", "+4989123456@trunk", "PJSIP/101", "PJSIP/101&PJSIP/102", "PJSIP/trunk/sip:+49...@host"
inline std::string number_from_dial_string(std::string_view d) {
  d = d.substr(0, d.find('&'));
  d = d.substr(0, d.find(','));
  auto slash = d.rfind('/');
  if (slash != std::string_view::npos) d = d.substr(slash + 1);
  if (d.rfind("sip:", 0) == 0 || d.rfind("tel:", 0) == 0) d = d.substr(4);
  d = d.substr(0, d.find('@'));
  d = d.substr(0, d.find(';'));
  return std::string(d);
}

// Seconds from "00:01:05" (CoreShowChannel Duration) or "65" (Status Seconds). 0 (age unknown)
// for text that is not a duration and for ages beyond kMaxListedAge: a channel up for years is a
// broken or hostile peer, and the digits would overflow (found by fuzz_ami_replay: UB).
inline constexpr int kMaxListedAge = 400 * 24 * 3600;
inline int parse_duration(std::string_view s) {
  if (s.empty()) return 0;
  std::int64_t total = 0, part = 0;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      part = part * 10 + (c - '0');
    } else if (c == ':') {
      total = total * 60 + part;
      part = 0;
    } else {
      return 0;
    }
    if (part > kMaxListedAge || total > kMaxListedAge) return 0;
  }
  total = total * 60 + part;
  return total > kMaxListedAge ? 0 : static_cast<int>(total);
}


// AnyDevice: an extension named by kAnyDevicePartyVariable or a follow-me Local channel.
inline bool valid_anydevice_ext(std::string_view e) {
  if (e.empty() || e.size() > 32) return false;
  return std::all_of(e.begin(), e.end(), [](char ch) {
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
  });
}

// "Local/103@callbridge-followme-00000005;1" -> "103" (the include's follow-me leg of 103).
inline std::optional<std::string_view> followme_ext(std::string_view name) {
  if (!name.starts_with("Local/")) return std::nullopt;
  name.remove_prefix(6);
  auto at = name.find('@');
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view ext = name.substr(0, at), rest = name.substr(at + 1);
  auto dash = rest.rfind('-');
  if (dash == std::string_view::npos || rest.substr(0, dash) != kFollowMeContext) return std::nullopt;
  if (!valid_anydevice_ext(ext)) return std::nullopt;
  return ext;
}

}  // namespace detail

using detail::clean_name;
using detail::number_from_dial_string;
using detail::parse_duration;
using detail::to_int;
using detail::withheld_number;
using detail::dialable_number;
using detail::followme_ext;
using detail::valid_anydevice_ext;


// A conference room (ConfBridge mixes its bridge, type "base"); a basic bridge that Asterisk mixes
// because three or more share it (a three-way, atxferthreeway: softmix too) is none: its parties
// talk to each other (AmiCallTracker::Impl::talks_within).
inline bool conference_room(const AmiFields& f) {
  return f[F::bridge_technology] == "softmix" && f[F::bridge_type] != "basic";
}

// Anchor of a ringing leg opened from a resync list before its caller is known.
inline constexpr std::string_view kResyncAnchor = "resync:";

class AmiCallTracker::Impl {
 public:
  Impl(TrackerOptions o, TrackerOutputs out)
      : opt_(std::move(o)),
        out_(std::move(out)),
        model_(opt_.tenant, out_.on_event),
        journal_(opt_.tenant, out_.on_journal) {
    if (!opt_.is_internal_number) opt_.is_internal_number = default_is_internal_number;
    if (!opt_.canonical_remote) opt_.canonical_remote = default_canonical_remote;
    // Channel accounting of one live call (GET /api/v1/calls "channels"): its conversation's.
    model_.set_channel_usage_resolver([this](std::string_view call_id) -> std::optional<model::ChannelUsage> {
      std::string_view conv = call_id.substr(0, call_id.find('~'));
      if (convs_.find(conv) == convs_.end()) return std::nullopt;
      return conv_usage(conv);
    });
  }

  // How refresh() dates what it finds (JOURNAL.md times; docs/journal.md "Estimated values").
  enum class RefreshMode {
    live,          // an event just happened at `t`
    resync_known,  // a channel known before the link went down: what changed happened in the
                   // gap; `t` is the gap's midpoint, marked as an estimate
    resync_new,    // a channel first seen in a resync list: it started at its creation time
                   // (Duration/Seconds, whole seconds), an answer in [creation, `t`]
  };

  void session_start(Timestamp at);
  void session_end(Timestamp at);
  void message(const AmiMessage& m, Timestamp received_at);
  void note_forwarding(const AmiMessage& m);
  // VarSet of callbridge's variables: kAnyDevicePartyVariable on a Local half (AnyDevice),
  // kMoveCallVariable / kMoveDeviceVariable on a moved call's new channel or its Local halves.
  void note_callbridge_variable(const AmiMessage& m);
  void flush(Timestamp at);

  TrackerOptions opt_;
  TrackerOutputs out_;
  model::CallModel model_;
  model::JournalBuilder journal_;
  ChannelGraph g_;
  SvMap<std::vector<Slot>> convs_;
  TrackerStats stats_;
  // Channel accounting: live trunk / internal channels (Channel::trunk; parties that are not),
  // and the most at once.
  model::ChannelUsage usage_{};
  void count_channel(const Channel& c, int delta);
  model::ChannelUsage conv_usage(std::string_view conv) const;
  Timestamp now_{};
  bool session_has_timestamps_ = false;
  bool resync_active_ = false;
  bool resync_hangups_ = false;  // finish_resync() is ending channels gone in the gap
  bool pbx_hold_ = false;        // set_pbx_hold()
  std::optional<Timestamp> down_at_;
  std::vector<Slot> resync_new_;
  // Open-call state (enable_state / restore_state): legs of a previous run waiting for the first
  // resync to find their channels again, and the latest time that run is known to have seen.
  // Every second of PBX time a row "~seen" says how far this run got: after a kill -9 the
  // next run ends the calls that ended unseen there, not at their last change (a long talk).
  static constexpr std::string_view kSeenKey = "~seen";
  std::function<void(const std::string&, std::string)> state_put_;
  Timestamp seen_written_{};
  void heartbeat(Timestamp at);
  std::string state_prefix_;
  std::uint64_t leg_seq_ = 0;  // unique per run: "<party uid>#<prefix><leg id>" keys never collide
  // A restored leg is attached to its party channel as soon as this run knows the channel (a
  // resync list or a live event, whichever comes first): live events that arrive before the
  // lists (an answer) then act on it instead of opening a second leg for the party.
  struct RestoredLeg {
    model::LegId id = 0;
    bool attached = false;
  };
  std::vector<RestoredLeg> restored_;
  std::optional<Timestamp> restored_seen_until_;
  void restore_state(const std::vector<std::string>& rows);
  // A channel this run just created: restored legs of its party, and restored legs anchored on it.
  void adopt_restored(Slot s, Timestamp t);
  // `uid` is the party channel of a restored leg not attached yet.
  bool restored_party(std::string_view uid) const;
  // A restored leg of `conv` waits for its channel: the conversation is not over yet.
  bool restored_waiting(std::string_view conv) const;
  void attach_restored(RestoredLeg& r, Slot ps, Timestamp t);
  void end_restored_gone(Timestamp end_at);
  std::vector<const std::string*> scratch_convs_;
  // Conversations held back after their last hangup because an originated (click-to-dial) leg
  // does not know its destination yet: OriginateResponse (Exten) follows the Hangup.
  struct AwaitOriginate {
    std::string conv, uid, ext;
    model::LegId leg = 0;
    Timestamp ended{};
    std::string origin_name{};  // AnyDevice: the Originate's Channel ("Local/+49...@ctx")
  };
  std::vector<AwaitOriginate> awaiting_;
  static constexpr std::chrono::seconds kOriginateWait{5};
  void expire_awaiting(Timestamp t, bool all);
  // Completes a held-back conversation with the response's Exten; false when none waits for it.
  bool on_originate_response(const AmiFields& f, Timestamp t);

 private:
  // channels
  struct ChanInfo {
    std::string_view uid, name, linkedid, state, cid_num, cid_name, cl_num, cl_name, exten;
  };
  static ChanInfo chan_info(const AmiFields& f);
  static ChanInfo dest_info(const AmiFields& f);
  Slot ensure_channel(const ChanInfo& ci, Timestamp t);
  // A channel just created from a live event other than Newchannel: during a resync its
  // Newchannel was in the gap, so its start is unknown until the lists give its age.
  void note_unseen_creation(Slot s);
  // AnyDevice: marks Local half `s` (and its partner) as reaching `ext`'s external device.
  void mark_anydevice(Slot s, std::string_view ext, const std::string& origin_uid, const std::string& origin_name);
  // AnyDevice: `src` dials `dst`; when `src` is the device side of a marked Local pair, `dst` is
  // the device (a party of the extension) or the next Local pair towards it.
  void note_device_dial(Slot src, Slot dst, std::string_view number, Timestamp t);
  // Another live channel of `p`'s extension (follow-me: the desk phone and the device) has an
  // open leg in model call `call_id`: that connection stays when one of them leaves.
  bool shares_connection(const Channel& p, std::string_view call_id) const;
  // Moving a call: party channel `ps` (the new device, move_of set) now talks to `anchor`: it
  // takes over the leg of call move_of that another live channel of its extension has with that
  // remote. False when there is none (the call ended meanwhile, or it is not that remote).
  bool take_over_moved_leg(Slot ps, std::string_view anchor, Timestamp t);
  // Moving a call, the other order (live_move_call_desk_mobile_desk_early_hangup): the old device's
  // channel hangs up after app_bridge took the remote out of its bridge but before the new path
  // joined it. When a channel of the same extension moving `leg`'s call has answered, it gets the
  // leg now (the connection and the entry go on); false otherwise (the leg ends as usual).
  bool hand_over_moved_leg(const Channel& p, PartyLeg& leg, Timestamp t);
  // Gives `leg` (with remote `rs`) to the new device's channel `ns`.
  void give_moved_leg(Slot ns, PartyLeg leg, Slot rs, Timestamp t);
  // Party channels waiting to take over a moved call (move_of set), by Uniqueid; pruned on use.
  std::vector<std::string> movers_;
  void note_mover(const Channel& c);
  void update_channel(Slot s, const ChanInfo& ci, Timestamp t);
  void classify(Channel& c) const;
  // Kind and party extension of a channel or device name ("PJSIP/100-0000001f", "PJSIP/100").
  std::pair<ChanKind, std::string_view> classify_name(std::string_view name, bool has_suffix) const;
  void set_conv(Slot s, std::string_view conv);
  void merge_convs(std::string_view from, std::string_view into, Timestamp t);

  // legs
  void refresh(Slot p, Timestamp t, RefreshMode mode = RefreshMode::live);
  void refresh_conv(const std::string& conv, Timestamp t);
  void refresh_around(Slot s, Timestamp t);
  void open_pending(Slot p, Timestamp t, std::optional<std::string> remote);
  void describe(const Channel& c, bool incoming, model::LegStart& s) const;
  std::string model_call_for(const Channel& p, const Far& f) const;
  void end_leg(Channel& p, const PartyLeg& leg, Timestamp t, std::optional<int> cause,
               std::optional<std::string> transferred_to = {});
  void end_legs_anchored_on(Channel& c, Timestamp t, std::optional<int> cause = {});
  // Marks the legs a channel's unseen hangup ends (its own and those anchored on it).
  void mark_unseen_end(const Channel& c);
  model::LegId open_leg(Channel& p, model::LegStart s);
  void note_external_answers(const std::string& bridge, Timestamp t);
  void hangup(Slot s, Timestamp t, int cause);
  void discard_pending(Channel& c, Timestamp t);
  void on_rename(Slot s, std::string_view newname, Timestamp t);
  void finish_resync(Timestamp t);
  void process_fresh(Timestamp t);
  struct Handover {
    model::LegId leg;   // the leg of the party that left in the gap
    std::string from;   // its extension
    std::string anchor; // its remote, still live
  };
  void note_handovers(const std::vector<Handover>& handovers);
  void infer_lost_dials();
  std::string number_of(const Channel& c) const;

  // events: one handler per AmiEvent, found through event_handlers() (a table indexed by the
  // event kind; null = nothing to do) instead of a switch in message().
  using EventHandler = void (Impl::*)(const AmiFields& f, Timestamp t);
  // Every value of AmiEvent's underlying type, so an event kind added later indexes inside.
  static constexpr std::size_t kEventKinds = std::size_t{std::numeric_limits<std::underlying_type_t<AmiEvent>>::max()} + 1;
  static const std::array<EventHandler, kEventKinds>& event_handlers();
  void on_newchannel(const AmiFields& f, Timestamp t);
  void on_channel_update(const AmiFields& f, Timestamp t);  // Newstate, NewCallerid, NewConnectedLine
  void on_rename_event(const AmiFields& f, Timestamp t);
  void on_hangup(const AmiFields& f, Timestamp t);
  void on_bridge_create(const AmiFields& f, Timestamp t);   // BridgeCreate, BridgeListItem
  void on_bridge_destroy(const AmiFields& f, Timestamp t);
  void on_bridge_merge(const AmiFields& f, Timestamp t);
  void on_local_bridge(const AmiFields& f, Timestamp t);
  void on_hold_event(const AmiFields& f, Timestamp t);
  void on_unhold_event(const AmiFields& f, Timestamp t);
  void on_pickup(const AmiFields& f, Timestamp t);
  void on_pbx_hold(const AmiFields& f, Timestamp t);
  // The PBX holds a call of this party channel (a user's external device) while it waits in
  // [callbridge-hold]; resumed when it enters a bridge again.
  void pbx_unhold(Channel& c, Timestamp t);
  void set_legs_held(Channel& c, bool held, Timestamp t);
  void set_leg_held(Channel& c, PartyLeg& l, bool held, Timestamp t);
  // An attended transfer's swap: party `s` entered the bridge of one of its answered calls; that
  // one talks now, the others wait.
  void follow_swap(Slot s, Timestamp t);
  static std::size_t answered_legs(const Channel& c);
  // An answered leg of party `p` is anchored on a member of ad-hoc bridge `bridge_id` (three or
  // more channels, not a conference room), seen through Local pairs.
  bool talks_within(const Channel& p, std::string_view bridge_id);
  // `s`, or when it is a Local half, the channel behind its pair (ChannelGraph::resolve from its peer).
  Slot behind_local(Slot s) const;
  // Connection::pbx_hold for a leg of party channel `c`: the PBX can hold calls on it.
  bool pbx_hold_for(const Channel& c) const { return pbx_hold_ && c.trunk; }
  void on_confbridge(const AmiFields& f, Timestamp t);      // ConfbridgeStart, ConfbridgeJoin
  void on_queue_caller_join(const AmiFields& f, Timestamp t);
  void on_originate_response_event(const AmiFields& f, Timestamp t);
  void on_device_state_change(const AmiFields& f, Timestamp t);
  void on_presence_state_change(const AmiFields& f, Timestamp t);
  void on_core_show_channel(const AmiFields& f, Timestamp t);
  void on_status_item(const AmiFields& f, Timestamp t);
  void on_list_complete(const AmiFields& f, Timestamp t);  // CoreShowChannelsComplete, StatusComplete
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

}  // namespace callbridge::drivers::ami
