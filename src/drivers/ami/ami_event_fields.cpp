#include "drivers/ami/ami_event_fields.hpp"

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

inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool iequals(std::string_view a, std::string_view b) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i] && lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

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

AmiEvent classify_event(std::string_view name) {
  if (name.empty() || name.size() > kMaxLen) return AmiEvent::other;
  for (const auto& [n, e] : event_table().by_len[name.size()]) {
    if (std::memcmp(n.data(), name.data(), name.size()) == 0) return e;
  }
  return AmiEvent::other;
}

namespace {

// Field lookup index: [length][first letter] -> up to kPerBucket candidates. Almost every header
// key of a call event is rejected after one length+letter probe.
constexpr std::size_t kPerBucket = 4;
struct FieldIndex {
  struct Bucket {
    std::uint8_t n = 0;
    std::array<std::pair<std::string_view, AmiField>, kPerBucket> c{};
  };
  std::array<std::array<Bucket, 26>, kMaxLen + 1> b{};
  std::vector<std::pair<std::string_view, AmiField>> overflow;
};

const FieldIndex& field_index() {
  static const FieldIndex idx = [] {
    FieldIndex x;
    for (std::size_t len = 0; len <= kMaxLen; ++len) {
      for (const auto& [n, f] : field_table().by_len[len]) {
        char first = n[0];
        auto& bucket = x.b[len][static_cast<std::size_t>(first - 'a')];
        if (bucket.n < kPerBucket) bucket.c[bucket.n++] = {n, f};
        else x.overflow.emplace_back(n, f);
      }
    }
    return x;
  }();
  return idx;
}

}  // namespace

AmiFields::AmiFields(const AmiMessage& m) {
  const FieldIndex& idx = field_index();
  for (const auto& h : m.headers()) {
    std::size_t len = h.key.size();
    if (len == 0 || len > kMaxLen) continue;
    char first = lower(h.key[0]);
    if (first < 'a' || first > 'z') continue;
    const auto& bucket = idx.b[len][static_cast<std::size_t>(first - 'a')];
    for (std::uint8_t i = 0; i < bucket.n; ++i) {
      if (iequals(h.key, bucket.c[i].first)) {
        auto& slot = v_[static_cast<std::size_t>(bucket.c[i].second)];
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
