#include "drivers/ami/ami_event_fields.hpp"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

namespace callbridge::drivers::ami {
namespace {

constexpr std::size_t kMaxLen = 40;

// Length-bucketed tables: a lookup compares only names of the same length.
template <typename T>
struct Table {
  std::array<std::vector<std::pair<std::string_view, T>>, kMaxLen + 1> by_len;
  void add(std::string_view name, T v) {
    if (name.size() <= kMaxLen) by_len[name.size()].emplace_back(name, v);
  }
};

const Table<AmiEvent>& event_table() {
  static const Table<AmiEvent> t = [] {
    Table<AmiEvent> t;
    for (auto n : {"VarSet", "Newexten", "CEL", "Cdr", "RTCPSent", "RTCPReceived", "DTMFBegin",
                   "DTMFEnd", "SuccessfulAuth", "ChallengeSent", "ChallengeResponseFailed",
                   "InvalidPassword", "InvalidAccountID", "FailedACL", "RequestBadFormat",
                   "DialState", "NewAccountCode", "HangupRequest", "SoftHangupRequest",
                   "MusicOnHoldStart", "MusicOnHoldStop", "AgentCalled", "AgentConnect",
                   "AgentComplete", "AgentRingNoAnswer", "AgentDump", "QueueMemberStatus",
                   "LocalOptimizationBegin", "LocalOptimizationEnd", "ContactStatus", "PeerStatus",
                   "Registry", "FullyBooted", "AorDetail", "AuthDetail", "EndpointList",
                   "ContactList", "EndpointListComplete", "ContactListComplete", "QueueParams",
                   "QueueMember", "QueueEntry", "QueueStatusComplete", "ConfbridgeLeave",
                   "ConfbridgeEnd", "ConfbridgeTalking", "QueueCallerLeave",
                   "QueueCallerAbandon", "DeviceStateListComplete",
                   "ExtensionStateListComplete", "BridgeListComplete",
                   "BridgeInfoChannel", "BridgeInfoComplete", "Reload", "Shutdown",
                   "ChanSpyStart", "ChanSpyStop", "MixMonitorStart", "MixMonitorStop",
                   "UserEvent", "AOC-D", "AOC-E", "AOC-S", "MessageWaiting", "MWIGet"})
      t.add(n, AmiEvent::ignored);
    const std::pair<const char*, AmiEvent> real[] = {
        {"Newchannel", AmiEvent::newchannel},
        {"Newstate", AmiEvent::newstate},
        {"NewCallerid", AmiEvent::new_callerid},
        {"NewConnectedLine", AmiEvent::new_connected_line},
        {"Rename", AmiEvent::rename},
        {"Hangup", AmiEvent::hangup},
        {"DialBegin", AmiEvent::dial_begin},
        {"DialEnd", AmiEvent::dial_end},
        {"BridgeCreate", AmiEvent::bridge_create},
        {"BridgeEnter", AmiEvent::bridge_enter},
        {"BridgeLeave", AmiEvent::bridge_leave},
        {"BridgeDestroy", AmiEvent::bridge_destroy},
        {"BridgeMerge", AmiEvent::bridge_merge},
        {"LocalBridge", AmiEvent::local_bridge},
        {"Hold", AmiEvent::hold},
        {"Unhold", AmiEvent::unhold},
        {"BlindTransfer", AmiEvent::blind_transfer},
        {"AttendedTransfer", AmiEvent::attended_transfer},
        {"ParkedCall", AmiEvent::parked_call},
        {"Pickup", AmiEvent::pickup},
        {"ConfbridgeStart", AmiEvent::confbridge_start},
        {"ConfbridgeJoin", AmiEvent::confbridge_join},
        {"QueueCallerJoin", AmiEvent::queue_caller_join},
        {"OriginateResponse", AmiEvent::originate_response},
        {"DeviceStateChange", AmiEvent::device_state_change},
        {"ExtensionStatus", AmiEvent::extension_status},
        {"PresenceStateChange", AmiEvent::presence_state_change},
        {"CoreShowChannel", AmiEvent::core_show_channel},
        {"CoreShowChannelsComplete", AmiEvent::core_show_channels_complete},
        {"Status", AmiEvent::status},
        {"StatusComplete", AmiEvent::status_complete},
        {"BridgeListItem", AmiEvent::bridge_list_item},
    };
    for (const auto& [n, e] : real) t.add(n, e);
    return t;
  }();
  return t;
}

const Table<AmiField>& field_table() {
  static const Table<AmiField> t = [] {
    Table<AmiField> t;
    const std::pair<const char*, AmiField> f[] = {
        {"event", AmiField::event},
        {"timestamp", AmiField::timestamp},
        {"actionid", AmiField::action_id},
        {"channel", AmiField::channel},
        {"uniqueid", AmiField::uniqueid},
        {"linkedid", AmiField::linkedid},
        {"channelstate", AmiField::channel_state},
        {"calleridnum", AmiField::caller_id_num},
        {"calleridname", AmiField::caller_id_name},
        {"connectedlinenum", AmiField::connected_line_num},
        {"connectedlinename", AmiField::connected_line_name},
        {"exten", AmiField::exten},
        {"context", AmiField::context},
        {"destchannel", AmiField::dest_channel},
        {"destuniqueid", AmiField::dest_uniqueid},
        {"destlinkedid", AmiField::dest_linkedid},
        {"destchannelstate", AmiField::dest_channel_state},
        {"destcalleridnum", AmiField::dest_caller_id_num},
        {"destcalleridname", AmiField::dest_caller_id_name},
        {"destconnectedlinenum", AmiField::dest_connected_line_num},
        {"destconnectedlinename", AmiField::dest_connected_line_name},
        {"destexten", AmiField::dest_exten},
        {"dialstring", AmiField::dial_string},
        {"dialstatus", AmiField::dial_status},
        {"bridgeuniqueid", AmiField::bridge_uniqueid},
        {"bridgetype", AmiField::bridge_type},
        {"bridgetechnology", AmiField::bridge_technology},
        {"tobridgeuniqueid", AmiField::to_bridge_uniqueid},
        {"frombridgeuniqueid", AmiField::from_bridge_uniqueid},
        {"localoneuniqueid", AmiField::local_one_uniqueid},
        {"localtwouniqueid", AmiField::local_two_uniqueid},
        {"cause", AmiField::cause},
        {"result", AmiField::result},
        {"transfereruniqueid", AmiField::transferer_uniqueid},
        {"transfereeuniqueid", AmiField::transferee_uniqueid},
        {"extension", AmiField::extension},
        {"origtransfereruniqueid", AmiField::orig_transferer_uniqueid},
        {"secondtransfereruniqueid", AmiField::second_transferer_uniqueid},
        {"transfertargetuniqueid", AmiField::transfer_target_uniqueid},
        {"desttype", AmiField::dest_type},
        {"parkeeuniqueid", AmiField::parkee_uniqueid},
        {"parkingspace", AmiField::parking_space},
        {"parkerdialstring", AmiField::parker_dial_string},
        {"conference", AmiField::conference},
        {"response", AmiField::response},
        {"device", AmiField::device},
        {"state", AmiField::state},
        {"status", AmiField::status},
        {"statustext", AmiField::status_text},
        {"presentity", AmiField::presentity},
        {"duration", AmiField::duration},
        {"seconds", AmiField::seconds},
        {"bridgeid", AmiField::bridge_id},
        {"newname", AmiField::newname},
        {"application", AmiField::application},
    };
    for (const auto& [n, e] : f) t.add(n, e);
    return t;
  }();
  return t;
}

}  // namespace

namespace {

// Machine-word compares (see the field index below): a name as little-endian words at fixed
// offsets, compared with the bytes of the input at the same offsets.
inline std::uint64_t load(const char* p, std::size_t n) {
  std::uint64_t v = 0;
  std::memcpy(&v, p, n);
  return v;
}

template <typename Fn>
inline void for_words(std::size_t len, Fn&& fn) {
  if (len >= 8) {
    std::size_t i = 0, k = 0;
    for (; i + 8 < len; i += 8) fn(k++, i, std::size_t{8});
    fn(k, len - 8, std::size_t{8});
  } else if (len >= 4) {
    fn(0, 0, std::size_t{4});
    fn(1, len - 4, std::size_t{4});
  } else {
    for (std::size_t i = 0; i < len; ++i) fn(i, i, std::size_t{1});
  }
}

constexpr std::size_t kMaxWordLen = 32;  // four words

// Event names: [length][first byte & 31] -> a run of candidates, compared exactly (AMI event
// names are case-sensitive, as before: memcmp).
struct EventCandidate {
  std::array<std::uint64_t, 4> w{};
  AmiEvent event{};
};
struct EventIndex {
  struct Run {
    std::uint8_t start = 0, count = 0;
  };
  std::array<std::array<Run, 32>, kMaxWordLen + 1> runs{};
  std::vector<EventCandidate> cands;
};

const EventIndex& event_index() {
  static const EventIndex idx = [] {
    EventIndex x;
    for (std::size_t len = 1; len <= kMaxWordLen; ++len) {
      for (std::size_t b = 0; b < 32; ++b) {
        std::size_t start = x.cands.size();
        for (const auto& [n, e] : event_table().by_len[len]) {
          if ((static_cast<unsigned char>(n[0]) & 31u) != b) continue;
          EventCandidate c;
          c.event = e;
          for_words(len, [&](std::size_t k, std::size_t at, std::size_t bytes) { c.w[k] = load(n.data() + at, bytes); });
          x.cands.push_back(c);
        }
        if (x.cands.size() > start)
          x.runs[len][b] = {static_cast<std::uint8_t>(start), static_cast<std::uint8_t>(x.cands.size() - start)};
      }
    }
    return x;
  }();
  return idx;
}

inline bool same_words(const std::array<std::uint64_t, 4>& w, const char* key, std::size_t len, std::uint64_t fold) {
  if (len >= 8) {
    std::size_t i = 0, k = 0;
    for (; i + 8 < len; i += 8, ++k) {
      if ((load(key + i, 8) | fold) != w[k]) return false;
    }
    return (load(key + len - 8, 8) | fold) == w[k];
  }
  if (len >= 4) {
    const std::uint64_t f4 = fold & 0xFFFFFFFFULL;
    return (load(key, 4) | f4) == w[0] && (load(key + len - 4, 4) | f4) == w[1];
  }
  for (std::size_t i = 0; i < len; ++i) {
    if ((static_cast<std::uint64_t>(static_cast<unsigned char>(key[i])) | (fold & 0xFF)) != w[i]) return false;
  }
  return true;
}

}  // namespace

AmiEvent classify_event(std::string_view name) {
  if (name.empty() || name.size() > kMaxWordLen) return AmiEvent::other;
  const EventIndex& idx = event_index();
  const auto run = idx.runs[name.size()][static_cast<unsigned char>(name[0]) & 31u];
  for (std::uint8_t i = 0; i < run.count; ++i) {
    const EventCandidate& c = idx.cands[run.start + i];
    if (same_words(c.w, name.data(), name.size(), 0)) return c.event;
  }
  return AmiEvent::other;
}

namespace {

// Field lookup index: [length][first letter] -> a run of candidates in one flat array (2 KiB of
// index, so it stays in L1). A candidate is compared a machine word at a time: its lower-case name
// as words, against the key's bytes with 0x20 OR-ed into each byte. For a name made of letters
// only this is exactly the ASCII case-insensitive compare: `c | 0x20` is a lower-case letter only
// when c is a letter.
struct Candidate {
  std::array<std::uint64_t, 4> w{};  // words at for_words(len) offsets (len <= 32)
  AmiField field{};
};

constexpr std::size_t kMaxFieldLen = kMaxWordLen;

struct FieldIndex {
  struct Run {
    std::uint8_t start = 0, count = 0;
  };
  std::array<std::array<Run, 26>, kMaxFieldLen + 1> runs{};
  std::vector<Candidate> cands;
  std::vector<std::pair<std::string_view, AmiField>> overflow;  // names the index cannot hold
};

const FieldIndex& field_index() {
  static const FieldIndex idx = [] {
    FieldIndex x;
    for (std::size_t len = 0; len <= kMaxLen; ++len) {
      for (std::size_t letter = 0; letter < 26; ++letter) {
        std::size_t start = x.cands.size();
        for (const auto& [n, f] : field_table().by_len[len]) {
          bool letters = std::all_of(n.begin(), n.end(), [](char c) { return c >= 'a' && c <= 'z'; });
          if (static_cast<std::size_t>(n[0] - 'a') != letter) continue;
          if (len > kMaxFieldLen || !letters || x.cands.size() >= 255) {
            x.overflow.emplace_back(n, f);
            continue;
          }
          Candidate c;
          c.field = f;
          for_words(len, [&](std::size_t k, std::size_t at, std::size_t n_bytes) { c.w[k] = load(n.data() + at, n_bytes); });
          x.cands.push_back(c);
        }
        if (len <= kMaxFieldLen && x.cands.size() > start)
          x.runs[len][letter] = {static_cast<std::uint8_t>(start), static_cast<std::uint8_t>(x.cands.size() - start)};
      }
    }
    return x;
  }();
  return idx;
}

inline bool matches(const Candidate& c, const char* key, std::size_t len) {
  return same_words(c.w, key, len, 0x2020202020202020ULL);
}

}  // namespace

AmiFields::AmiFields(const AmiMessage& m) {
  const FieldIndex& idx = field_index();
  for (const auto& h : m.headers()) {
    std::size_t len = h.key.size();
    if (len == 0 || len > kMaxFieldLen) continue;
    unsigned first = static_cast<unsigned char>(h.key[0]) | 0x20u;
    if (first < 'a' || first > 'z') continue;
    const auto run = idx.runs[len][first - 'a'];
    for (std::uint8_t i = 0; i < run.count; ++i) {
      const Candidate& c = idx.cands[run.start + i];
      if (matches(c, h.key.data(), len)) {
        auto& slot = v_[static_cast<std::size_t>(c.field)];
        if (slot.data() == nullptr) slot = h.value;  // first occurrence wins, as AmiMessage::get
        break;
      }
    }
  }
  for (const auto& [n, f] : idx.overflow) {  // empty with today's field list
    auto& slot = v_[static_cast<std::size_t>(f)];
    if (slot.data() == nullptr) slot = m.get(n);
  }
}

}  // namespace callbridge::drivers::ami
