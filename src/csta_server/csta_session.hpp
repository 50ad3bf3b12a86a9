// CstaSession: one CSTA client connection, sans I/O (docs/csta.md "Server"): bytes in (framing
// detected per connection: 8-byte header or bare XML documents), the session start (ECMA-354
// StartApplicationSession, or the OpenScape Voice style SystemStatus / SystemStatusResponse /
// SystemRegister) with a login (a user's API token, or a [[csta.client]]), then the services of
// ECMA-269 over the tenant's call models and call control, answered in the client's ECMA-323
// edition; device monitors get the tenant's call events as CSTA events. Every request gets an
// answer: a response or a CSTAErrorCode; only broken framing or an oversized frame closes the
// connection (after an error message). Owned by CstaServer; io thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "csta_server/csta_server.hpp"
#include "csta_server/device_ids.hpp"
#include "protocols/csta/codec.hpp"
#include "protocols/csta/framing.hpp"

namespace callbridge::csta_server {

class CstaSession : public std::enable_shared_from_this<CstaSession> {
 public:
  enum class State { starting, authenticating, active, closed };

  CstaSession(CstaServer& server, CstaServer::Transport transport, std::string remote);
  ~CstaSession();

  void on_bytes(std::string_view bytes);
  // The client said nothing for a moment after connecting: an OpenScape-style client waits for
  // the switch's SystemStatus (the listener calls this once, ~300 ms after the connection).
  void on_quiet();
  // The session did not start in time (the listener's timer): error and close.
  void on_start_timeout();
  void on_closed();  // the socket is gone: monitors end

  // A tenant call event (TenantFeed): CSTA events to the monitors of the event's devices.
  void on_call_event(FeedEvent& fe, TenantFeed& feed);
  // TenantFeed: true the first time for each event stamp (a session monitoring two devices of a
  // call is handed the event once).
  // A monitored line's DND or forwarding changed (TenantFeed): DoNotDisturbEvent / ForwardingEvent
  // to its monitors for what differs from what each monitor saw last.
  void on_line_features(const std::string& line, const ports::LineFeatures& now);
  bool take_stamp(std::uint64_t stamp) {
    if (stamp_ == stamp) return false;
    stamp_ = stamp;
    return true;
  }

  State state() const { return state_; }
  CstaClientInfo info() const;
  const std::optional<ClientIdentity>& identity() const { return identity_; }

 private:
  struct Monitor {
    std::string device;  // model device
    protocols::csta::MonitorFilter filter;
    // Per call, the Delivered/Established already sent (call, kind, subject): the model reports a
    // ringing or an answer once per connection (caller and callee), CSTA once per call. A monitor
    // has a handful of calls at once: a flat list, reused (no allocation per event).
    struct Sent {
      std::string call;
      bool established = false;  // else delivered
      std::string subject;
    };
    std::vector<Sent> sent;
    // False when (call, kind, subject) was noted before; else notes it.
    bool note(const std::string& call, bool established, const std::string& subject) {
      for (const auto& x : sent)
        if (x.established == established && x.call == call && x.subject == subject) return false;
      sent.push_back({call, established, subject});
      return true;
    }
    void forget(const std::string& call) {
      std::erase_if(sent, [&](const Sent& x) { return x.call == call; });
    }
    // The line's DND and forwarding as this monitor last reported them (taken when it started, if
    // the PBX's features were readable then; else all off).
    std::optional<ports::LineFeatures> features;
  };
  using Message = protocols::csta::Message;

  void handle(const protocols::csta::Frame& f);
  void dispatch(Message& m, int invoke, protocols::csta::Edition ed);
  void start_ecma354(const protocols::csta::StartApplicationSession& r, int invoke);
  void start_osv(const protocols::csta::SystemRegister& r, int invoke);
  void login(std::string user, std::string password, std::function<void(bool ok, std::string why)> done);
  bool active_or_refuse(int invoke, protocols::csta::Edition ed);
  bool rate_ok();

  // Services.
  void monitor_start(const protocols::csta::MonitorStart& r, int invoke, protocols::csta::Edition ed);
  void monitor_stop(const protocols::csta::MonitorStop& r, int invoke, protocols::csta::Edition ed);
  void snapshot_device(const protocols::csta::SnapshotDevice& r, int invoke, protocols::csta::Edition ed);
  void snapshot_call(const protocols::csta::SnapshotCall& r, int invoke, protocols::csta::Edition ed);
  void switching_function_devices(const protocols::csta::GetSwitchingFunctionDevices& r, int invoke,
                                  protocols::csta::Edition ed);
  void features(int invoke, protocols::csta::Edition ed);
  void make_call(const protocols::csta::MakeCall& r, int invoke, protocols::csta::Edition ed);
  // AnswerCall, ClearConnection, HoldCall, ... on one connection of the client's.
  void command(core::CallCommand c, const protocols::csta::ConnectionId& conn, std::optional<std::string> to,
               int invoke, protocols::csta::Edition ed, Message positive, bool reserve_new_call = false);
  void clear_call(const protocols::csta::ConnectionId& conn, int invoke, protocols::csta::Edition ed);
  // SetDoNotDisturb/GetDoNotDisturb, SetForwarding/GetForwarding over the PBX's line features
  // (ports::PbxFeatures: the PBX carries them out, docs/dialplan.md).
  void line_features(Message& m, int invoke, protocols::csta::Edition ed);
  void set_features(const std::string& device, ports::LineFeatures f, std::string action, std::string details,
                    Message positive, int invoke, protocols::csta::Edition ed);

  // Helpers.
  core::TenantRuntime* runtime() const;
  DeviceIds device_ids() const;
  void learn_style(std::string_view id);
  std::string wire(std::string_view device) const;  // model device/number -> client's device id
  // A client device id -> an internal device the client may see; else the error to answer.
  std::expected<std::string, protocols::csta::ErrorCode> own_device(std::string_view id, bool act) const;
  // A client ConnectionID -> (model call id, model device) of a call the client may see.
  std::expected<std::pair<std::string, std::string>, protocols::csta::ErrorCode> connection(
      const protocols::csta::ConnectionId& c) const;
  const model::Call* find_call(const std::string& call_id, const model::CallModel** model = nullptr) const;
  bool sees_device(std::string_view device) const;
  core::CommandCaller caller_for(std::string_view device) const;
  std::string csta_call_id(const std::string& model_call, std::string_view device = {});
  void audit(std::string action, std::string target, std::string outcome, std::string details_json) const;

  void send(const Message& m, int invoke, protocols::csta::Edition ed);
  // A frame ready to go (maybe shared with other sessions); `event`: counts as an event sent.
  void send_frame(std::shared_ptr<const std::string> frame, bool event);
  protocols::csta::Framing out_framing() const;
  // One mapped event as this session's monitor `ref` gets it, framed; null when it cannot be framed.
  std::shared_ptr<const std::string> encode_event(const MappedEvent& ev, const std::string& ref,
                                                  protocols::csta::Framing framing, TenantFeed& feed);
  // Monitors: monitors_ and by_device_ together, and the feed's index.
  void add_monitor(const std::string& ref, Monitor m);
  bool remove_monitor(const std::string& ref);
  void leave_feed();
  void send_error(protocols::csta::ErrorCategory cat, std::string_view value, int invoke, protocols::csta::Edition ed);
  void fail_and_close(std::string_view why);
  protocols::csta::Edition answer_edition(protocols::csta::Edition request) const;
  int next_server_invoke();

  CstaServer& server_;
  CstaServer::Transport transport_;
  std::string remote_;
  protocols::csta::FrameReader reader_;
  State state_ = State::starting;
  std::string style_;  // "ecma354" | "osv"
  protocols::csta::Edition edition_ = protocols::csta::Edition::none;
  bool edition_known_ = false;
  bool said_something_ = false;
  bool status_sent_ = false;
  std::optional<ClientIdentity> identity_;
  DeviceStyle device_style_;
  bool device_style_known_ = false;
  std::map<std::string, Monitor> monitors_;  // cross ref id -> monitor
  std::unordered_map<std::string, std::vector<std::string>> by_device_;  // model device -> cross ref ids
  std::uint64_t stamp_ = 0;  // take_stamp()
  struct Target {  // on_call_event: a monitor of one of the event's devices
    const std::string* ref;
    Monitor* mon;
    std::size_t device;  // index in FeedEvent::devices
  };
  std::vector<Target> targets_;  // reused by on_call_event
  std::string key_;              // reused by on_call_event
  std::uint64_t next_monitor_ = 1;
  int server_invoke_ = 0;
  TenantFeed* feed_ = nullptr;
  // Token bucket of the request rate limit.
  double tokens_ = 0;
  std::chrono::steady_clock::time_point refilled_{};
  std::uint64_t in_ = 0, out_ = 0, errors_ = 0;
  base::Timestamp connected_at_{};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace callbridge::csta_server
