// The AMI-level picture of the PBX: channels by Uniqueid (slots, reused), Local ;1/;2 pairs,
// bridges with their members, dial relations; and resolve(), which walks from an internal party's
// channel through bridges, Local pairs and pending dials to the party's remote end.
// Owned by AmiCallTracker; model thread; not thread-safe.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/time.hpp"
#include "model/journal_builder.hpp"

namespace callbridge::drivers::ami {

// Keys are Uniqueids ("ctilab-1795382753.12"), bridge UUIDs and channel names: short, differing
// in their last bytes. A word-at-a-time multiply-xorshift mix is several times cheaper than
// std::hash's byte-wise murmur and spreads such keys as well (profile: std::hash was a sixth of
// the tracker's time). Nothing iterates these maps in an order that reaches the journal.
struct SvHash {
  using is_transparent = void;
  static std::uint64_t mix(std::uint64_t h, std::uint64_t w) noexcept {
    h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
    return h ^ (h >> 31);
  }
  std::size_t operator()(std::string_view s) const noexcept {
    const char* p = s.data();
    std::size_t n = s.size();
    std::uint64_t h = 0x9e3779b97f4a7c15ULL ^ (n * 0x94d049bb133111ebULL);
    for (; n >= 8; p += 8, n -= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      h = mix(h, w);
    }
    if (n > 0) {
      std::uint64_t w = 0;
      std::memcpy(&w, p, n);
      h = mix(h, w ^ 0xff);
    }
    h = (h ^ (h >> 29)) * 0x94d049bb133111ebULL;
    return static_cast<std::size_t>(h ^ (h >> 32));
  }
};
template <typename V>
using SvMap = std::unordered_map<std::string, V, SvHash, std::equal_to<>>;

using Slot = std::int32_t;
constexpr Slot kNoSlot = -1;

enum class ChanKind : std::uint8_t { party, local, helper, other };

// One journal leg of an internal party channel: the party towards one remote (`anchor`).
struct PartyLeg {
  model::LegId id = 0;
  std::string anchor;   // remote channel Uniqueid or conference bridge id; empty while pending
  std::string call_id;  // model call id
  bool pending = false; // outgoing, remote end not known yet
  bool answered = false;
  bool held = false;
};

struct Channel {
  bool live = false;
  std::string uid, name, linkedid, conv;
  ChanKind kind = ChanKind::other;
  // A channel to the outside (channel accounting): classified `other` when created (a carrier's
  // trunk channel); stays a trunk channel when it becomes a user's external device (a party).
  bool trunk = false;
  std::string ext;        // party: the extension (endpoint name)
  std::string local_key;  // local: name without ";1"/";2"
  Slot peer = kNoSlot;    // local: the other half
  int state = 0;          // AMI ChannelState (0 down, 4 ring, 5 ringing, 6 up)
  std::string caller_num, caller_name, conn_num, conn_name, exten;
  std::string bridge;
  Slot dial_source = kNoSlot;  // who is dialing this channel right now
  std::vector<Slot> dial_targets;
  bool was_dialed = false;     // created as a dial target
  std::string dialed_number;   // what was dialed to reach it
  bool originated = false;     // AMI Originate (DialBegin without a calling channel)
  bool pickup_app = false;     // originated into PickupChan (OriginateResponse Application)
  bool initiated = false;      // the phone started this call (Newchannel in state Ring)
  bool ever_dialed_out = false;
  bool on_hold = false;
  bool pbx_held = false;       // waits in [callbridge-hold]: the PBX holds its calls
  bool seen = true;            // listed during the current resync
  bool from_resync = false;
  bool start_unseen = false;   // first listed by a resync and no leg opened yet: its start is unknown
  bool had_leg = false;        // a leg was opened for this channel (party) at some point
  bool created_unseen = false; // first met in a live event during a resync: created_at is that
                               // event's time until a resync list says how old it is
  std::string app;             // dialplan application, from a resync list (e.g. "Dial", "AppDial")
  bool handed_over = false;    // a transferer: its calls went to others, it gets no new legs
  std::optional<base::Timestamp> up_at;
  base::Timestamp created_at{};
  std::string transferred_by;  // party extension of the last transferer of this channel
  // The line whose PBX forwarding this (calling) channel carries out (callbridge.conf's
  // [callbridge-forward], seen in Newexten): the party it dials next gets transferred_from = it
  // (DialBegin moves it to transferred_by; DialEnd forgets it).
  std::string forwarded_by;
  // AnyDevice (ami_call_tracker.hpp): a Local half that reaches extension `anydevice_ext`'s
  // external device (its ";2" dials it), and the Uniqueid/name ("Local/+49...@ctx") of the
  // originated ";1" when callbridge's make call started it. On the device's own channel (a party
  // of that extension from its DialBegin on): the number it was dialled with.
  std::string anydevice_ext;
  std::string anydevice_origin_uid, anydevice_origin_name;
  std::string device_number;
  // Moving a call (kMoveCallVariable): the model call id this channel (a Local half on the way to
  // the new device, or the new device's own channel) is to take over, and the external device's
  // E.164 number from the request (kMoveDeviceVariable; "" for the desk phone).
  std::string move_of, move_device;
  std::string moved_in;  // the model call id of the moved leg this channel took over (kept)
  std::optional<base::Timestamp> transferred_at;
  std::vector<PartyLeg> legs;
  std::vector<std::string> anchored_by;  // Uniqueids of party channels with legs anchored here
  std::vector<model::LegId> blind_transfer_legs;  // legs ended by the last BlindTransfer of it
};

struct Bridge {
  std::vector<Slot> members;
  bool conference = false;
  std::string conf_name;
};

// Result of resolve(): the remote end as seen from a party channel.
struct Far {
  bool ok = false;
  Slot slot = kNoSlot;     // the remote channel (never a Local half)
  bool conference = false; // a conference (ConfBridge/softmix or a bridge with 3+ members)
  std::string_view conf_key;   // the conference's bridge id (views into the graph: valid until
  std::string_view conf_name;  // the graph changes)
  bool via_dial_forward = false;   // the party side is dialing towards the remote
  bool via_dial_backward = false;  // the remote side is dialing the party (it rings)
};

class ChannelGraph {
 public:
  Slot find(std::string_view uid) const;
  Slot add(std::string_view uid);  // kNoSlot if `uid` exists
  void remove(Slot s);             // detaches from bridge, dials and Local peer
  Channel& at(Slot s) { return chans_[static_cast<std::size_t>(s)]; }
  const Channel& at(Slot s) const { return chans_[static_cast<std::size_t>(s)]; }
  std::size_t live() const { return by_uid_.size(); }
  template <typename F>
  void for_each(F&& f) const {
    for (const auto& [uid, s] : by_uid_) f(s, at(s));
  }
  std::vector<Slot> all() const;

  Bridge* bridge(std::string_view id);
  Bridge& ensure_bridge(std::string_view id);
  void join_bridge(Slot c, std::string_view id);
  void leave_bridge(Slot c);
  void destroy_bridge(std::string_view id);
  // Forgets bridges without members (their BridgeDestroy was lost, e.g. while disconnected).
  std::size_t sweep_empty_bridges();
  std::size_t bridges() const { return bridges_.size(); }

  void set_local_key(Slot s, std::string key);
  void pair_local(Slot a, Slot b);
  // Finds the other half of a Local channel by name key.
  Slot local_partner(std::string_view key, Slot self) const;

  void start_dial(Slot source, Slot target);
  void end_dial(Slot target);

  Far resolve(Slot party) const;

 private:
  std::vector<Channel> chans_;
  std::vector<Slot> free_;
  SvMap<Slot> by_uid_;
  SvMap<Bridge> bridges_;
  SvMap<std::vector<Slot>> locals_;  // local_key -> halves
};

}  // namespace callbridge::drivers::ami
