// EventHub: the live event stream of every tenant (docs/api.md "Event stream"). Gives each message a
// per-tenant monotonically increasing `seq`, serializes it ONCE and hands the same shared bytes to
// every matching subscriber; keeps a bounded ring of recent messages so a reconnecting client gets
// exactly what it missed, or a `resync` marker plus a fresh snapshot when it is too far behind.
// Snapshots come from the tenant's CallModels (calls + line states). I/O-free; the WebSocket layer
// (api/ws_event_stream) subscribes. Model (io) thread only, not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/call_model.hpp"
#include "model/device_registry.hpp"
#include "model/journal_entry.hpp"
#include "model/parking_state.hpp"
#include "model/queue_state.hpp"
#include "core/remote_info_view.hpp"
#include "core/visibility.hpp"
#include "ports/call_trace.hpp"
#include "ports/event_log.hpp"

namespace callbridge::core {

// EventScope and EventFilter (what one subscriber sees) come from the visibility policy
// (core/visibility.hpp, event_filter()); the hub applies them to every message.

// One published message, shared by every subscriber and by the retention ring.
struct HubMessage {
  enum class Kind : std::uint8_t {
    call, line, journal, command, device, status, queue, user_devices, features, parking,
    calls_resynced,  // cluster mode: the calls a link's owner found after a resync (on_calls_resynced)
  };
  std::uint64_t seq = 0;
  Kind kind = Kind::call;
  std::vector<std::string> devices;          // the devices it concerns (filtering; line and status: as presence)
  std::string user;                          // non-empty: only for this user's subscriptions (any scope)
  std::shared_ptr<const std::string> frame;  // encoded once (EventHubOptions::encode)
  // calls_resynced (cluster mode): the link, the calls its owner listed and the calls the mirror
  // dropped for it, each with its connections' devices as the mirror knew them (empty: unknown).
  // `frame` lists them all (scope tenant); a subscription of scope own or team gets a copy of its
  // own that lists only the calls it may see (EventHub::message_for).
  struct ResyncedCall {
    std::string id;
    std::vector<std::string> devices;
  };
  struct Resynced {
    std::string pbx;
    std::vector<ResyncedCall> listed, ended;
  };
  std::shared_ptr<const Resynced> resynced;
};

class EventSubscriber {
 public:
  // Called synchronously from a publish; must not block. A subscriber that wants to go away must
  // not call unsubscribe() re-entrantly for another subscriber's sake; its own is fine.
  virtual void on_message(const HubMessage& m) = 0;

 protected:
  ~EventSubscriber() = default;
};

// Sees the model's call events of one tenant as they are (not as JSON): front ends that speak
// another protocol (the CSTA server, src/csta_server) map them themselves. Called on the io thread
// after the event went to the WebSocket subscribers; must not block. It may unwatch itself or
// other watchers of the tenant during the call.
class CallWatcher {
 public:
  virtual void on_call_event(const model::CallEvent& e, const model::CallModel& m) = 0;

 protected:
  ~CallWatcher() = default;
};

// A published message as JSON text, before encoding, for a tap (EventHub::set_tap). Valid during
// the call only.
struct TappedMessage {
  const base::TenantId& tenant;
  HubMessage::Kind kind;
  std::string_view json;
  // A call event after which the call is gone from its model (its last connection cleared).
  bool call_gone = false;
};

struct EventHubOptions {
  std::size_t retention = 4096;  // messages kept per tenant for `since` resumes
  // JSON text -> the bytes subscribers send (the WebSocket layer frames it). Identity when unset.
  std::function<std::string(std::string_view json)> encode{};
};

class EventHub {
 public:
  struct Stats {
    std::uint64_t published = 0;
    std::uint64_t deliveries = 0;
    std::uint64_t resumes = 0;
    std::uint64_t resyncs = 0;
    std::uint64_t snapshots = 0;
    std::size_t subscribers = 0;
    // Cluster mode (set_event_log): messages handed to the log, records applied from it, records
    // ignored as already applied, gaps (records gone from the log before this node read them: the
    // resume window starts again after them), records that did not decode.
    std::uint64_t logged = 0;
    std::uint64_t applied = 0;
    std::uint64_t log_duplicates = 0;
    std::uint64_t log_gaps = 0;
    std::uint64_t log_undecodable = 0;
    // Cluster mode, the mirror: records of a link's earlier ownership term that came after a later
    // term's (an old owner's late publishes), left out of the mirror; calls the mirror dropped
    // because their link's owner did not list them after its resync (on_calls_resynced).
    std::uint64_t log_stale = 0;
    std::uint64_t mirror_dropped = 0;
  };
  struct Attach {
    std::uint64_t id = 0;  // for unsubscribe()
    // In order: [resync,] snapshot — or the missed messages of a resume. Already encoded.
    std::vector<std::shared_ptr<const std::string>> initial;
    bool resumed = false;
  };

  explicit EventHub(EventHubOptions options = {});

  // Snapshot sources. The model must outlive its registration. `link`: the PBX link (ports::PbxDriver
  // name) whose calls `m` holds, and `term` the ownership term its driver acts in (cluster mode:
  // ports::PbxDriver::term()); the logged call messages of `m` name both, so that every node's
  // mirror knows each call's link (on_calls_resynced).
  void add_model(const base::TenantId& tenant, const model::CallModel* m, std::string link = {},
                 std::uint64_t term = 0);
  void remove_model(const model::CallModel* m);

  // Publishing. `on_call_event` also publishes line changes of the devices in the event.
  void on_call_event(const model::CallEvent& e, const model::CallModel& m);
  // Cluster mode: `m`'s driver resynchronized its link from the PBX (ports::PbxEventSink::
  // on_calls_resynced), so `m` holds exactly the link's calls in progress. Logs the list; when a
  // node applies it, its mirror drops the calls of that link that are not listed (calls that ended
  // while no node owned the link, a failover, or listened to the PBX) and it delivers
  // {"type":"calls_resynced","seq":N,"pbx":"<link>","calls":["<id>",...],"ended":["<id>",...]}:
  // `calls` the listed ones, `ended` the dropped ones; scope tenant gets them all, scopes own and
  // team only the calls with a connection on one of their own devices (as their call messages and
  // snapshots), and nothing when none is. Local mode: nothing (snapshots come from the models).
  void on_calls_resynced(const base::TenantId& tenant, const model::CallModel& m);
  // Publishes line events for devices whose state changed (after PBX device/extension state events).
  void sync_lines(const base::TenantId& tenant, const model::CallModel& m);
  // `id`: the store's id of the entry (PATCH /api/v1/journal/{id}), put first in "entry".
  // `resolved`: the ids of the party's missed entries this entry marked done (ports::StoredEntry),
  // sent as "resolves" so clients update their rows and missed-call counter without asking.
  void on_journal(const model::JournalEntry& e, std::optional<std::int64_t> id = std::nullopt,
                  std::span<const std::int64_t> resolved = {});
  // The call's data changed without a CSTA event (e.g. a contact lookup finished):
  // {"type":"call","seq":N,"event":"<event>","call":{...}} to subscribers who see one of its devices.
  void on_call_update(const base::TenantId& tenant, std::string_view event, const model::Call& c,
                      const model::CallModel& m);
  // Adds "remote_info" to every connection of every call this hub renders (events, snapshots).
  // Null: none (the default). Must outlive the hub or be reset first.
  void set_remote_info(const RemoteInfoView* view) { remote_info_ = view; }
  // Sees every published message after the subscribers (app: the webhooks' delivery engine), except
  // the messages for one user (publish_to_user) other than Kind::user_devices. Called on the io
  // thread; must not block. Unset: none (the default).
  void set_tap(std::function<void(const TappedMessage&)> tap) { tap_ = std::move(tap); }
  // The tenant's explain trace (core::CallTraceLog of its runtime): every call event notes who got
  // it and why the others did not (scope, devices, no connected client, a client that left).
  // Null: none. Must outlive its registration.
  void set_trace(const base::TenantId& tenant, ports::CallTrace* trace);
  // The device registry's changes (docs/devices.md): {"type":"device","seq":N,"event":"changed",
  // "device":{...}} for each id still in `registry`, {"type":"device","seq":N,"event":"removed",
  // "id":"..."} for the others; seen by the tenant's admins only.
  void on_devices(const base::TenantId& tenant, const model::DeviceRegistry& registry,
                  std::span<const std::string> ids);
  // The queues' changes (docs/queues.md): {"type":"queue","seq":N,"event":"changed","queue":{...}}
  // for each name still in `state`, {"type":"queue","seq":N,"event":"removed","pbx":..,"name":..}
  // for the others; seen by the subscriptions that see one of the queue's agents' devices, and by
  // scope tenant. `now`: the waiting times' reference.
  void on_queues(const base::TenantId& tenant, const model::QueueState& state, std::span<const std::string> names,
                 base::Timestamp now);
  // The parked calls' changes (docs/parking.md), one message per change in PBX order:
  // {"type":"parking","seq":N,"event":"parked"|"changed"|"left","reason":..,"by":..,
  // "parked_call":{...}}; seen by every subscription of the tenant (parking lots are shared: any
  // phone of the tenant may retrieve a parked call by dialing its space).
  void on_parking(const base::TenantId& tenant, const model::ParkingState& state,
                  std::span<const model::ParkingChange> changes, base::Timestamp now);
  // Any JSON object with the given kind/devices; `json_tail` is the object after `"seq":N` and must
  // start with ',' or be '}' (tests, benchmarks, future kinds).
  void publish_raw(const base::TenantId& tenant, HubMessage::Kind kind, std::vector<std::string> devices,
                   std::string_view type, std::string_view json_tail);
  // A message for one user of the tenant only (e.g. {"type":"command",...}, the outcome of their
  // call control command): delivered to and replayed for subscriptions whose filter.user is `user`.
  // `kind`: command (the calls capability's outcomes) or user_devices (AnyDevice: the user's devices changed).
  void publish_to_user(const base::TenantId& tenant, const std::string& user, std::string_view type,
                       std::string_view json_tail, HubMessage::Kind kind = HubMessage::Kind::command);

  // Cluster mode (docs/cluster.md "Call events on every node"): every message this hub produces goes
  // to `log` instead of its subscribers, without a seq; the log numbers it in the tenant's one
  // sequence of the cluster and hands it back, on every node, to apply_logged(), which delivers it
  // with that seq. Snapshots then show what the logged call and line messages said (the mirror),
  // not this node's call models, which exist only for the links this node owns: every node shows
  // the same calls and lines at the same seq. Null: local mode (the default). Set before anything
  // is published; must outlive the hub or be reset first.
  void set_event_log(ports::EventLog* log) { log_ = log; }
  // Cluster mode: called with the tenant and user of each user_devices record another node logged
  // (apply_logged with own == false), after its delivery: that user's devices changed in the shared
  // identity store, and this node's copy of their active device (core::ActiveDevices) and, where it
  // owns the link, the PBX's follow-me must follow (app: rest_wiring). The node that logged it did
  // that itself. Io thread; must not block. Unset: none (the default).
  void set_on_remote_user_devices(std::function<void(const base::TenantId&, const std::string& user)> f) {
    on_remote_user_devices_ = std::move(f);
  }
  bool logged_mode() const { return log_ != nullptr; }
  // Cluster mode: the tenant's calls as the log's call messages last described them (the mirror
  // every node's snapshots show), in the order they were created: `f(id, devices, json)` with the
  // call's connection devices and its JSON object as the events carry it. Io thread.
  // Cluster mode: the tenant's line states as the log's line messages last described them (every
  // node's snapshots show them), by device. Io thread.
  void for_each_mirror_line(const base::TenantId& tenant,
                            const std::function<void(const std::string& device, model::DeviceState s)>& f) const;
  void for_each_mirror_call(const base::TenantId& tenant,
                            const std::function<void(std::string_view id, const std::vector<std::string>& devices,
                                                     std::string_view json)>& f) const;
  // A `since` ahead of this node by at most the retention (a client that moved from a node a few
  // messages ahead) resumes at once without a snapshot; the messages up to `since` are not sent
  // again when they arrive here.
  // One record of the tenant's log with its seq, in the log's order. `own`: this node appended it;
  // the tap (webhooks) sees own records only, so each message reaches it once in the cluster. A seq
  // at or below the last applied one is ignored; a seq beyond the next one (records this node never
  // read) restarts the resume window. False when the record does not decode (its seq is used up).
  bool apply_logged(const base::TenantId& tenant, std::uint64_t seq, std::string_view record, bool own);

  Attach subscribe(const base::TenantId& tenant, EventFilter filter, std::optional<std::uint64_t> since,
                   EventSubscriber* sink);
  void unsubscribe(const base::TenantId& tenant, std::uint64_t id);

  // Call events of `tenant` to `w` (CallWatcher above) until unwatch_calls(id).
  std::uint64_t watch_calls(const base::TenantId& tenant, CallWatcher* w);
  void unwatch_calls(const base::TenantId& tenant, std::uint64_t id);

  std::uint64_t last_seq(const base::TenantId& tenant) const;
  // {"type":"heartbeat","seq":N}, encoded.
  std::string heartbeat(const base::TenantId& tenant) const;
  std::string encode(std::string_view json) const;
  Stats stats() const;

 private:
  // Subscribers with equal filters (every tab of a user, every supervisor) share one interned
  // filter; a publish decides visibility once per filter, not once per subscriber.
  struct SharedFilter {
    EventFilter filter;
    std::string key;          // its key in Tenant::filters
    std::size_t refs = 0;
    std::uint64_t seen_seq = 0;  // seq of the last message decided, and the decision
    bool sees = false;
    std::shared_ptr<const HubMessage> copy;  // that message as this filter gets it (message_for), if not the shared one
  };
  struct Sub {  // 32 bytes per subscriber
    std::uint64_t id;
    SharedFilter* filter;
    EventSubscriber* sink;  // null while being removed during a publish
    // Logged mode: a client resuming at a seq this node has not applied yet (it came from a node
    // that was a few messages ahead): messages up to it are skipped, it has seen them.
    std::uint64_t skip_to = 0;
  };
  // What a call message carries for the mirror of logged mode: the call object's place in the JSON.
  struct CallPart {
    std::string id;
    std::string created_at;  // RFC 3339 (ms), sorts the snapshot
    std::size_t at = 0, len = 0;
    std::string replaced;  // a call merged into this one (CallModel::merge), gone now
  };
  // A model's PBX link and its driver's ownership term (add_model).
  struct ModelLink {
    std::string name;
    std::uint64_t term = 0;
  };
  // A call of the mirror (logged mode): its JSON as the last message showed it, and the link and
  // term that message named (empty link: a record of an older node that did not name it).
  struct MirrorCall {
    std::string created_at;
    std::vector<std::string> devices;
    std::string json;
    std::string link;
    std::uint64_t term = 0;
  };

  struct Tenant {
    const base::TenantId* id = nullptr;  // the key of this entry in tenants_ (stable: node-based map)
    std::uint64_t seq = 0;
    std::deque<std::shared_ptr<const HubMessage>> ring;
    std::vector<Sub> subs;
    std::unordered_map<std::string, std::unique_ptr<SharedFilter>> filters;
    std::vector<const model::CallModel*> models;
    std::unordered_map<const model::CallModel*, ModelLink> model_links;
    std::unordered_map<std::string, model::DeviceState> lines;  // last published
    // sync_lines diffs only the devices the model changed since its last sync (line_version), as
    // long as every line above came from that one model; lines from two models: full diff.
    const model::CallModel* lines_from = nullptr;
    bool lines_mixed = false;
    std::uint64_t lines_synced = 0;  // lines_from's line_version() at the last sync_lines
    ports::CallTrace* trace = nullptr;
    // The last clients that left (explain trace: "anna's client disconnected at ..."), newest last.
    struct Gone {
      std::string user;
      std::vector<std::string> own;
      base::Timestamp at;
    };
    std::deque<Gone> gone;
    std::vector<std::pair<std::uint64_t, CallWatcher*>> watchers;  // watch_calls(), in order
    // Logged mode: the calls in progress and the lines as the applied messages showed them.
    std::unordered_map<std::string, MirrorCall> mirror_calls;
    std::map<std::string, std::string> mirror_lines;  // device -> line state name
    // Logged mode: the latest ownership term each link's records named, in the log's order; the
    // mirror ignores a link's records of earlier terms.
    std::unordered_map<std::string, std::uint64_t> link_terms;
  };
  static constexpr std::size_t kGoneKept = 64;
  void trace_delivery(Tenant& t, const model::CallEvent& e, const std::vector<std::string>& devices);
  void note_lines_from(Tenant& t, const model::CallModel& m);

  Tenant& tenant(const base::TenantId& name);
  std::uint64_t next_seq(Tenant& t) { return log_ ? 0 : ++t.seq; }
  // Local mode: delivers; logged mode: hands the message to the log (apply_logged delivers it).
  void publish(Tenant& t, HubMessage::Kind kind, std::vector<std::string> devices, std::string json,
               std::string user = {}, bool call_gone = false, const CallPart* call = nullptr,
               const ModelLink* link = nullptr, std::vector<std::string> call_ids = {});
  const ModelLink* link_of(const Tenant& t, const model::CallModel& m) const;
  // Logged mode: false when a record naming `link` and `term` is of an earlier term than one
  // applied before (counted); notes `term` as the link's latest otherwise.
  bool current_term(Tenant& t, const std::string& link, std::uint64_t term);
  void deliver(Tenant& t, HubMessage::Kind kind, std::vector<std::string> devices, const std::string& json,
               std::string user, bool call_gone, bool tap,
               std::shared_ptr<const HubMessage::Resynced> resynced = nullptr);
  // The message as subscribers with filter `f` get it: `m` itself, null when they do not see it,
  // or (calls_resynced, scopes own and team) a copy listing only the calls they may see.
  std::shared_ptr<const HubMessage> message_for(const EventFilter& f, const std::shared_ptr<const HubMessage>& m) const;
  std::string mirror_snapshot_json(const Tenant& t, const EventFilter& f) const;
  // `link`: the model the state comes from (logged mode: its link and term go into the record).
  void publish_line(Tenant& t, const std::string& device, model::DeviceState s, const ModelLink* link = nullptr);
  std::string snapshot_json(const Tenant& t, const base::TenantId& tenant, const EventFilter& f) const;
  void remove_now(Tenant& t, std::uint64_t id);

  EventHubOptions options_;
  ports::EventLog* log_ = nullptr;
  const RemoteInfoView* remote_info_ = nullptr;
  std::function<void(const TappedMessage&)> tap_;
  std::function<void(const base::TenantId&, const std::string&)> on_remote_user_devices_;
  std::unordered_map<base::TenantId, Tenant> tenants_;
  std::vector<std::pair<Tenant*, std::uint64_t>> removed_while_publishing_;
  std::size_t subscribers_ = 0;
  std::uint64_t next_id_ = 1;
  int publishing_ = 0;
  Stats stats_;
};

// API names of line states (idle, ringing, busy, held, offline, dnd).
std::string_view line_state_name(model::DeviceState s);
// The state an API name stands for (offline: unavailable); nullopt for any other text.
std::optional<model::DeviceState> line_state_from_name(std::string_view name);
// A registry device as the API shows it (docs/devices.md, GET /api/v1/devices).
std::string device_json(const model::RegisteredDevice& d);
// A queue as the API shows it (docs/queues.md, GET /api/v1/queues): waiting callers with their
// wait at `now` and, with `remotes`, the caller's remote_info; agents with their state.
std::string queue_json(const model::Queue& q, std::string_view pbx, const base::TenantId& tenant,
                       base::Timestamp now, const RemoteInfoView* remotes);
// A parked call as the API shows it (docs/parking.md, GET /api/v1/parking): lot, space, the
// parked caller (with `remotes`, its remote_info), who parked it, since, how long at `now`, when it
// times out.
std::string parked_call_json(const model::ParkedCall& c, std::string_view pbx, const base::TenantId& tenant,
                             base::Timestamp now, const RemoteInfoView* remotes);
// The call as the API shows it (docs/api.md "Calls"), from the model; with `remotes`, every
// connection also carries "remote_info".
std::string call_json(const model::Call& c, const base::TenantId& tenant, const model::CallModel& m,
                      const RemoteInfoView* remotes = nullptr);

}  // namespace callbridge::core
