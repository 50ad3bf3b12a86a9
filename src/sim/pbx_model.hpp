// The simulated Asterisk 22's state: channels, bridges, device/hint/queue-member states, and the
// AMI events every change produces, with Asterisk's field sets and order (channel snapshot
// "Channel..Linkedid", bridge snapshot "BridgeUniqueid..BridgeVideoSourceMode", Dest*/Transferer*
// prefixes, Timestamp/SystemName). Call flows (flows.hpp) drive it; it never schedules anything.
// Not thread-safe: owned by the engine thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <set>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/time.hpp"
#include "sim/sim_message.hpp"

namespace callbridge::sim {

// ast_channel_state values as AMI prints them (ChannelState / ChannelStateDesc).
enum class ChanState { down = 0, ring = 4, ringing = 5, up = 6, busy = 7 };
std::string_view to_string(ChanState s);

struct Phone {
  std::string ext;   // "100": endpoint PJSIP/100, hint 100@ext-hints
  std::string name;  // caller id name, "Anna Alpha"
  // Acts on out-of-dialog NOTIFYs (PJSIPNotify "Event: talk" answers or resumes, "Event: hold"
  // holds) as Yealink and Snom phones do when the server is trusted; false: ignores them.
  bool remote_control = true;
  // The User-Agent it registers with (PJSIPShowContacts, PJSIPShowEndpoint); "": one of a few real
  // phone models by extension (sim_user_agent()).
  std::string user_agent = {};
};

// The phone's User-Agent: its own, else by extension one of "Yealink SIP-T46S 66.86.0.15",
// "snom D785/10.1.54.13", "Grandstream GXP2170 1.0.11.23", "Cisco/SPA504G-7.6.2b",
// "PolycomVVX-VVX_411-UA/5.9.5.0614", "MicroSIP/3.21.3".
std::string sim_user_agent(const Phone& p);
// Where a phone registers from: 127.0.0.1:<5000 + ext> as in the lab (5100..5105), else 5060.
std::string sim_phone_port(const Phone& p);

// The lab PBX of tests/fixtures/asterisk-22/README.md; every name is configurable.
struct LabConfig {
  std::string system_name = "ctilab";
  std::vector<Phone> phones = {{"100", "Anna Alpha"}, {"101", "Ben Bravo"},   {"102", "Clara Charlie"},
                               {"103", "Dan Delta"},  {"104", "Eve Echo"},    {"105", "Frank Foxtrot"}};
  std::string trunk = "trunk";             // endpoint PJSIP/trunk
  std::string company_prefix = "+4930555";  // DID = prefix + ext; main number = prefix + "000"
  std::string queue = "support";
  std::vector<std::string> queue_members = {"101", "102"};
  std::string conference = "800";
  std::string hint_context = "ext-hints";
  std::int64_t login_time = 0;  // QueueMemberStatus LoginTime (epoch s); 0 = model start
  // queues.conf's wrapuptime of the queue (GetConfig answers it): an agent is not rung again
  // before its last queue call ended this many seconds ago (app_queue). The lab's: 0.
  int queue_wrapup_seconds = 0;
  // External numbers called through the trunk on an Originate of a Local channel (a user's
  // mobile, AnyDevice) answer after this long (the lab's carrier: 1 s; a person takes longer).
  std::chrono::microseconds mobile_answer = std::chrono::seconds(3);
  // The lab after docs/dialplan.md's install steps: contrib/asterisk/callbridge.conf included, the
  // extensions dialled through Gosub(callbridge-dial,...) (DND, forwarding and follow-me from
  // AstDB: flows.hpp route_to_extension), ShowDialPlan of [callbridge-version] answered. false:
  // the stock dialplan the captures in tests/fixtures/asterisk-22 were recorded with.
  bool callbridge_dialplan = false;
  // What users dial for an outside line before the number ("0" at many German sites; the
  // tenant's [dialing] outside_prefix): "0" + "0170..." is the national 0170..., not +170...
  std::string outside_prefix;
};

struct Channel {
  std::string name;    // "PJSIP/100-00000001"
  std::string device;  // "PJSIP/100"
  std::string uniqueid, linkedid;
  ChanState state = ChanState::down;
  std::string cid_num, cid_name, conn_num, conn_name;  // empty prints as "<unknown>"
  std::string context, exten;
  int priority = 1;
  std::string app, app_data;  // current application (CoreShowChannels/Status)
  std::string dnid;
  std::string bridge;  // BridgeUniqueid while in a bridge
  bool held = false;   // hears MOH because its peer put it on hold (chan_pjsip -> ONHOLD)
  std::optional<base::Timestamp> holding_since;  // this phone put its peer on hold (Hold .. Unhold)
  bool outgoing = false;  // created by Dial/Originate (AppDial)
  base::Timestamp created;
  // Channel variables set over AMI (Setvar) and by callbridge.conf's [callbridge-hold]
  // (CALLBRIDGE_HOLD_PEER, CALLBRIDGE_HOLD_ARMED); at most kMaxVars.
  static constexpr std::size_t kMaxVars = 64;
  std::map<std::string, std::string, std::less<>> vars;
  // [callbridge-hold]'s hangup handler (callbridge-hold,peer-gone,1) was pushed: it runs when the
  // channel hangs up (HangupHandlerRun) and soft-hangs-up CALLBRIDGE_HOLD_PEER if that is set.
  bool hold_handler = false;
  // Put into a bridge by the AMI Bridge action (ast_bridge_set_after_go_on): when its peer leaves
  // it continues its dialplan at the next priority, in [callbridge-hold] Hangup().
  bool after_bridge_go_on = false;
  // The application a Redirect into [callbridge-hold] interrupted (Asterisk shows it again in the
  // Newexten after the hangup handler ran).
  std::string app_before_hold, app_data_before_hold;
  bool hanging_up = false;  // a hang-up of it is under way (a SoftHangup of it does nothing more)
};

struct Bridge {
  std::string id;
  std::string type = "basic";
  std::string technology = "simple_bridge";
  std::string creator = "<unknown>";
  std::string name = "<unknown>";
  std::vector<std::string> members;  // Uniqueids
};

// AST_DEVICE_* as AMI prints them.
enum class DeviceState { unknown = 0, not_inuse = 1, inuse = 2, busy = 3, unavailable = 5, ringing = 6, onhold = 8 };
std::string_view to_string(DeviceState s);

class PbxModel {
 public:
  using EmitFn = std::function<void(const SimMessage&)>;

  PbxModel(const base::Clock& clock, LabConfig config, EmitFn emit);

  const LabConfig& config() const { return config_; }
  const base::Clock& clock() const { return clock_; }
  const Phone* phone(std::string_view ext) const;

  // --- channels -----------------------------------------------------------------------------
  // Allocates "PJSIP/<endpoint>-%08x" and Uniqueid "<system>-<epoch>.<n>"; emits Newchannel.
  // linked_to: the channel whose Linkedid the new one inherits (nullptr: its own Uniqueid).
  Channel& new_channel(std::string_view endpoint, ChanState state, std::string cid_num, std::string cid_name,
                       std::string context, std::string exten, int priority, const Channel* linked_to);
  // A Local channel pair "Local/<exten>@<context>-%08x;1" / ";2" (chan_local), both with
  // `linked_to`'s Linkedid: ;1 Down, ;2 Ring; emits both Newchannel events.
  std::pair<Channel*, Channel*> new_local_pair(const std::string& exten, const std::string& context,
                                               const Channel& linked_to);
  // A pair that starts a conversation of its own (an Originate of a Local channel): Linkedid = ";1"'s
  // Uniqueid.
  std::pair<Channel*, Channel*> new_local_pair(const std::string& exten, const std::string& context);
  Channel* find(std::string_view uniqueid);
  Channel* find_by_name(std::string_view name);
  const std::list<Channel>& channels() const { return channels_; }

  void set_state(Channel& c, ChanState s);                                  // Newstate
  void set_connected(Channel& c, std::string num, std::string name);        // NewConnectedLine
  void set_callerid(Channel& c, std::string num, std::string name);         // NewCallerid
  void set_dialplan(Channel& c, std::string context, std::string exten, int priority);  // silent

  // Dial() progress; caller nullptr = Originate's outgoing leg (no caller snapshot).
  void dial_begin(const Channel* caller, const Channel& callee, std::string_view dial_string);
  void dial_state(const Channel* caller, const Channel& callee, std::string_view status);
  void dial_end(const Channel* caller, const Channel& callee, std::string_view status);

  // --- bridges ------------------------------------------------------------------------------
  Bridge& bridge_create(std::string type = "basic", std::string technology = "simple_bridge",
                        std::string creator = "<unknown>", std::string name = "<unknown>");
  void bridge_enter(Bridge& b, Channel& c, std::string_view swap_uniqueid = {});
  void bridge_leave(Channel& c);
  void bridge_destroy(std::string_view bridge_id);
  Bridge* find_bridge(std::string_view id);
  const std::list<Bridge>& bridges() const { return bridges_; }
  Fields bridge_snapshot(const Bridge& b, std::string_view prefix = "") const;

  // --- hang-up ------------------------------------------------------------------------------
  void hangup_request(Channel& c, std::optional<int> cause, std::optional<int> tech_cause = std::nullopt);
  void soft_hangup_request(Channel& c, int cause, std::optional<int> tech_cause = std::nullopt);
  // Emits Hangup and forgets the channel (references to it dangle afterwards).
  void hangup(std::string_view uniqueid, int cause, std::optional<int> tech_cause = std::nullopt);

  // --- hold / music on hold -------------------------------------------------------------------
  void hold(Channel& c, std::optional<std::string> music_class);
  void unhold(Channel& c);
  void moh_start(Channel& c, std::string music_class = "default");
  void moh_stop(Channel& c);

  // --- device, hint and queue-member state ----------------------------------------------------
  // Marks a PJSIP device for re-evaluation (Asterisk re-reads a device's state when one of its
  // channels changes state, connected line or hold; not on Newchannel or DialBegin).
  void touch(const Channel& c) { dirty_.insert(c.device); }
  // Recomputes touched PJSIP devices and every Queue/confbridge device, emits DeviceStateChange (+ ExtensionStatus
  // for hints, QueueMemberStatus for queue members) for each that changed, as Asterisk's device
  // state engine does after a channel change.
  void update_devices();
  // A phone's registration (all phones start registered): unregistering emits ContactStatus
  // Removed, registering ContactStatus NonQualified (as Asterisk 22 with qualify off, the
  // register/unregister captures), each with PeerStatus and the device state change (UNAVAILABLE
  // while unregistered and idle). false: no such phone, or no change.
  bool set_registered(const std::string& ext, bool on);
  bool registered(std::string_view ext) const { return !unregistered_.contains(std::string(ext)); }
  // A device outside the computed set (e.g. CBAnn/800 while a ConfBridge announcer exists).
  void announce_device(std::string device, DeviceState s);
  const std::vector<std::pair<std::string, DeviceState>>& devices() const { return devices_; }
  static int hint_status(DeviceState s);  // ExtensionStatus Status: 0 Idle, 1 InUse, 2 Busy, 8 Ringing, 16 OnHold
  static std::string_view hint_status_text(int status);

  // Queue / conference bookkeeping the flows maintain (feeds the Queue:* and confbridge: devices).
  int queue_callers = 0;
  // Global channel variables (AMI Setvar without a Channel); at most Channel::kMaxVars.
  std::map<std::string, std::string> global_vars;
  bool conference_active = false;
  // Atxfer consultations in progress (flows.cpp atxfer_feature), by the channels' Uniqueids, so a
  // hang-up of the consulted side cancels one as Asterisk does (action_hangup).
  struct Consultation {
    std::string transferer, transferee, local1, local2, target;
  };
  std::vector<Consultation> consultations;
  // res_parking's lot "default" (parkext 700, spaces 701..720, parkingtime 45 s as in the lab):
  // the parked channels by space (flows.cpp action_park, start_unpark).
  struct Parked {
    std::string uniqueid;
    std::string parker_dial_string;  // "PJSIP/101": rung back when the time is over
    std::string bridge;              // the parking bridge it waits in
    base::Timestamp since;
    std::uint64_t generation = 0;    // the timeout of an earlier park of the same space does nothing
  };
  std::map<std::string, Parked> parked;  // "701" -> ...
  std::uint64_t park_generation = 0;
  struct MemberStats {
    int calls_taken = 0;
    std::int64_t last_call = 0;
  };
  std::map<std::string, MemberStats> member_stats;  // by ext
  int queue_completed = 0, queue_abandoned = 0;
  // The queue's agents: the configured (static) members, then those QueueAdd logged in (dynamic),
  // each with its pause state (QueuePause). Paused agents are not rung.
  struct QueueAgent {
    std::string ext{};
    std::string name{};
    bool dynamic = false;
    bool paused = false;
    std::string reason{};
    std::int64_t last_pause = 0;
    std::int64_t login_time = 0;
  };
  const std::vector<QueueAgent>& queue_agents() const { return agents_; }
  const QueueAgent* queue_agent(std::string_view ext) const;
  // app_queue's QueueAdd / QueueRemove / QueuePause on `interface` ("PJSIP/103"), with its answers:
  // "" = done (QueueMemberAdded / QueueMemberRemoved / QueueMemberPause emitted), else the error
  // message Asterisk 22 gives (tests/fixtures/asterisk-22/queue_members).
  std::string queue_add(std::string_view queue, std::string_view interface, const std::string& name, bool paused,
                        const std::string& reason);
  std::string queue_remove(std::string_view queue, std::string_view interface);
  std::string queue_pause(std::string_view queue, std::string_view interface, bool paused, const std::string& reason);

  // --- AstDB (res_astdb: DBPut/DBGet/DBDel/DBDelTree/DBGetTree) --------------------------------
  // Entries by "/family/key" (sorted, as Asterisk's SQLite answers DBGetTree); bounded.
  static constexpr std::size_t kMaxAstDbEntries = 10'000;
  static constexpr std::size_t kMaxAstDbText = 256;  // family, key or value longer: refused
  const std::map<std::string, std::string, std::less<>>& astdb() const { return astdb_; }
  std::optional<std::string> db_get(std::string_view family, std::string_view key) const;
  bool db_put(std::string_view family, std::string_view key, std::string_view value);  // false: refused
  bool db_del(std::string_view family, std::string_view key);                          // false: not there
  std::size_t db_del_tree(std::string_view family, std::string_view key);              // entries removed
  // A value callbridge.conf reads (DB(callbridge/<what>/<ext>)), filtered as the dialplan filters
  // it ("+0-9" for destinations, "0-9" for seconds, "a-z" for the mode); "" = not set.
  std::string callbridge_setting(std::string_view what, std::string_view ext) const;

  // --- emission -----------------------------------------------------------------------------
  Fields snapshot(const Channel& c, std::string_view prefix = "") const;
  // "Event, Privilege, Timestamp, SystemName" + body.
  void emit(std::string_view event, std::string_view privilege, const Fields& body);
  std::string timestamp() const;
  std::string new_bridge_id();

 private:
  DeviceState compute(std::string_view device) const;
  void queue_member_status(const std::string& ext, DeviceState s);
  void emit_member(std::string_view event, const QueueAgent& a, DeviceState s);
  std::vector<QueueAgent> agents_;
  std::map<std::string, std::string, std::less<>> astdb_;

  const base::Clock& clock_;
  LabConfig config_;
  EmitFn emit_;
  std::list<Channel> channels_;  // list: flows hold references across insertions
  std::list<Bridge> bridges_;
  std::set<std::string> dirty_;
  std::set<std::string> unregistered_;  // phones (ext) without a registration  // PJSIP devices touched since the last update_devices()
  std::vector<std::pair<std::string, DeviceState>> devices_;
  Channel& add_channel(Channel c);
  std::uint64_t next_uid_ = 0, next_pjsip_ = 0, next_local_ = 0, next_bridge_ = 0;
};

}  // namespace callbridge::sim
