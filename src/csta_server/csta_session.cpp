#include "csta_server/csta_session.hpp"

#include <algorithm>
#include <cctype>
#include <array>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "base/json_text.hpp"
#include "core/line_features.hpp"
#include "core/visibility.hpp"
#include "ports/pbx_features.hpp"

namespace callbridge::csta_server {

namespace csta = protocols::csta;
using csta::Edition;
using csta::ErrorCategory;

namespace {

constexpr std::string_view kStateError = "invalidObjectState";

std::string edition_name(Edition e) {
  return e == Edition::none ? std::string("none") : "ed" + std::to_string(static_cast<int>(e));
}

std::string upper(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return o;
}

csta::LocalConnectionState wire_state(model::ConnectionState s) {
  return static_cast<csta::LocalConnectionState>(local_state(s));
}

csta::EventKind wire_kind(EventKind k) {
  switch (k) {
    case EventKind::service_initiated: return csta::EventKind::service_initiated;
    case EventKind::originated: return csta::EventKind::originated;
    case EventKind::delivered: return csta::EventKind::delivered;
    case EventKind::established: return csta::EventKind::established;
    case EventKind::held: return csta::EventKind::held;
    case EventKind::retrieved: return csta::EventKind::retrieved;
    case EventKind::connection_cleared: return csta::EventKind::connection_cleared;
    case EventKind::call_cleared: return csta::EventKind::call_cleared;
    case EventKind::transferred: return csta::EventKind::transferred;
    case EventKind::conferenced: return csta::EventKind::conferenced;
    case EventKind::diverted: return csta::EventKind::diverted;
    case EventKind::failed: return csta::EventKind::failed;
    case EventKind::queued: return csta::EventKind::queued;
  }
  return csta::EventKind::delivered;
}

// The CSTA error of a refused call control command (core::CommandFailure::Kind).
csta::ErrorCode command_error(const core::CommandFailure& f, core::CallCommand c, bool phone_cannot) {
  using K = core::CommandFailure::Kind;
  switch (f.kind) {
    case K::bad_request: return {ErrorCategory::operation, "invalidParameterValue"};
    case K::invalid_number: return {ErrorCategory::operation, "invalidDestination"};
    case K::forbidden: return {ErrorCategory::operation, "privilegeViolationSpecifiedDevice"};
    case K::not_found: return {ErrorCategory::operation, "invalidConnectionID"};
    case K::action_not_allowed:
      // The phone cannot be controlled remotely (no remote answer/hold): the request does not fit
      // the device; otherwise the call is in the wrong state for it.
      if (phone_cannot) return {ErrorCategory::operation, "requestIncompatibleWithObject"};
      switch (c) {
        case core::CallCommand::answer: return {ErrorCategory::state_incompatibility, "noCallToAnswer"};
        case core::CallCommand::hold: return {ErrorCategory::state_incompatibility, "noActiveCall"};
        case core::CallCommand::retrieve: return {ErrorCategory::state_incompatibility, "noHeldCall"};
        case core::CallCommand::transfer:
        case core::CallCommand::conference: return {ErrorCategory::state_incompatibility, "noCallToComplete"};
        default: return {ErrorCategory::state_incompatibility, std::string(kStateError)};
      }
    case K::conflict: return {ErrorCategory::state_incompatibility, std::string(kStateError)};
    case K::pbx_unavailable: return {ErrorCategory::system_resource_availability, "resourceOutOfService"};
    case K::timeout: return {ErrorCategory::system_resource_availability, "serviceBusy"};
    case K::no_trunk_capacity: return {ErrorCategory::system_resource_availability, "networkBusy"};
    case K::internal: break;
  }
  return {ErrorCategory::unspecified, "generic"};
}

model::Action action_of(core::CallCommand c) {
  switch (c) {
    case core::CallCommand::answer: return model::Action::answer;
    case core::CallCommand::hangup: return model::Action::hangup;
    case core::CallCommand::hold: return model::Action::hold;
    case core::CallCommand::retrieve: return model::Action::retrieve;
    case core::CallCommand::consult: return model::Action::consult;
    case core::CallCommand::alternate: return model::Action::alternate;
    case core::CallCommand::transfer: return model::Action::transfer;
    case core::CallCommand::conference: return model::Action::conference;
    case core::CallCommand::deflect: return model::Action::deflect;
    case core::CallCommand::pickup: return model::Action::pickup;
    case core::CallCommand::park: return model::Action::park;
  }
  return model::Action::hangup;
}

std::string json_details(std::initializer_list<std::pair<std::string_view, std::string>> kv) {
  std::string o = "{\"via\":\"csta\"";
  for (const auto& [k, v] : kv) {
    if (v.empty()) continue;
    o += ',';
    base::append_json_string(o, k);
    o += ':';
    base::append_json_string(o, v);
  }
  return o + "}";
}

}  // namespace

CstaSession::CstaSession(CstaServer& server, CstaServer::Transport transport, std::string remote)
    : server_(server),
      transport_(std::move(transport)),
      remote_(std::move(remote)),
      reader_(csta::FrameLimits{.max_frame_bytes = server.options().max_frame_bytes}) {
  tokens_ = server_.options().requests_per_second;
  refilled_ = server_.deps().steady_now ? server_.deps().steady_now() : std::chrono::steady_clock::now();
  connected_at_ = server_.now();
}

CstaSession::~CstaSession() { *alive_ = false; }

// ---- bytes in ----------------------------------------------------------------------------------

void CstaSession::on_bytes(std::string_view bytes) {
  if (state_ == State::closed) return;
  said_something_ = true;
  reader_.feed(bytes);
  while (state_ != State::closed) {
    csta::Frame f;
    auto r = reader_.next(f);
    if (!r) {
      // Framing is broken or a frame is too large: nothing after it can be trusted. Say why, close.
      ++server_.mutable_stats().protocol_errors;
      spdlog::warn("csta: {} {}: {}", remote_, identity_ ? identity_->name : std::string("(not logged in)"),
                   r.error().message());
      const bool too_large = r.error().message().find("limit") != std::string::npos;  // max_frame_bytes
      send_error(too_large ? ErrorCategory::operation : ErrorCategory::unspecified,
                 too_large ? "valueOutOfRange" : "generic", csta::kUnsolicitedInvokeId, edition_);
      fail_and_close(r.error().message());
      return;
    }
    if (!*r) return;
    handle(f);
  }
}

void CstaSession::handle(const csta::Frame& f) {
  ++in_;
  ++server_.mutable_stats().messages_in;
  const int invoke = f.invoke_id.value_or(1);
  auto d = csta::decode(f.xml, csta::DecodeLimits{.max_document_bytes = server_.options().max_frame_bytes});
  if (!d) {
    // A malformed or unreadable request still gets an answer (ECMA-323 9.3), the session goes on.
    auto e = d.error().suggested_error();
    spdlog::info("csta: {}: {} ({})", remote_, d.error().message, d.error().service);
    send_error(e.category, e.value, invoke, edition_);
    return;
  }
  if (d->edition != Edition::none && !edition_known_) {
    edition_ = d->edition;
    edition_known_ = true;
  }
  switch (csta::message_class(d->message)) {
    case csta::MessageClass::response:
    case csta::MessageClass::error:
    case csta::MessageClass::event:
      // Answers to what the server asked (SystemStatus, SwitchingFunctionDevices): nothing to do.
      return;
    case csta::MessageClass::request:
    case csta::MessageClass::unknown:
      dispatch(d->message, invoke, answer_edition(d->edition));
      return;
  }
}

Edition CstaSession::answer_edition(Edition request) const { return request != Edition::none ? request : edition_; }

bool CstaSession::rate_ok() {
  const auto& o = server_.options();
  auto now = server_.deps().steady_now ? server_.deps().steady_now() : std::chrono::steady_clock::now();
  const double secs = std::chrono::duration<double>(now - refilled_).count();
  refilled_ = now;
  tokens_ = std::min<double>(o.requests_per_second, tokens_ + secs * o.requests_per_second);
  if (tokens_ < 1.0) {
    ++server_.mutable_stats().rate_limited;
    return false;
  }
  tokens_ -= 1.0;
  return true;
}

bool CstaSession::active_or_refuse(int invoke, Edition ed) {
  if (state_ == State::active) return true;
  // ECMA-354: services need an application session first.
  send_error(ErrorCategory::state_incompatibility, kStateError, invoke, ed);
  return false;
}

void CstaSession::dispatch(Message& m, int invoke, Edition ed) {
  if (auto* r = std::get_if<csta::StartApplicationSession>(&m)) return start_ecma354(*r, invoke);
  if (auto* r = std::get_if<csta::SystemRegister>(&m)) return start_osv(*r, invoke);
  // Every other request counts against the rate limit, before and after the login.
  if (!rate_ok()) {
    return send_error(ErrorCategory::performance_management, "performanceLimitExceeded", invoke, ed);
  }
  if (std::holds_alternative<csta::SystemStatus>(m)) {
    // A client's own status report (ECMA-269 12.3): acknowledged whatever the session state.
    return send(csta::SystemStatusResponse{}, invoke, ed);
  }
  if (auto* u = std::get_if<csta::UnknownService>(&m)) {
    if (!active_or_refuse(invoke, ed)) return;
    spdlog::debug("csta: {}: unknown service {}", remote_, u->name);
    return send_error(ErrorCategory::operation, "serviceNotSupported", invoke, ed);
  }
  if (!active_or_refuse(invoke, ed)) return;

  if (auto* r = std::get_if<csta::StopApplicationSession>(&m)) {
    (void)r;
    send(csta::StopApplicationSessionPosResponse{}, invoke, ed);
    fail_and_close("the client stopped its session");
    return;
  }
  if (auto* r = std::get_if<csta::ResetApplicationSessionTimer>(&m))
    return send(csta::ResetApplicationSessionTimerPosResponse{r->requested_session_duration}, invoke, ed);
  if (std::holds_alternative<csta::RequestSystemStatus>(m)) {
    auto* rt = runtime();
    bool up = false;
    if (rt)
      for (const auto& d : rt->drivers()) up |= d->status().connected;
    return send(csta::RequestSystemStatusResponse{up ? csta::SystemStatusValue::normal : csta::SystemStatusValue::disabled},
                invoke, ed);
  }
  if (auto* r = std::get_if<csta::MonitorStart>(&m)) return monitor_start(*r, invoke, ed);
  if (auto* r = std::get_if<csta::MonitorStop>(&m)) return monitor_stop(*r, invoke, ed);
  if (auto* r = std::get_if<csta::SnapshotDevice>(&m)) return snapshot_device(*r, invoke, ed);
  if (auto* r = std::get_if<csta::SnapshotCall>(&m)) return snapshot_call(*r, invoke, ed);
  if (auto* r = std::get_if<csta::GetSwitchingFunctionDevices>(&m)) return switching_function_devices(*r, invoke, ed);
  if (std::holds_alternative<csta::GetCstaFeatures>(m)) return features(invoke, ed);
  if (auto* r = std::get_if<csta::MakeCall>(&m)) return make_call(*r, invoke, ed);
  using C = core::CallCommand;
  if (auto* r = std::get_if<csta::AnswerCall>(&m)) return command(C::answer, r->call, {}, invoke, ed, csta::AnswerCallResponse{});
  if (auto* r = std::get_if<csta::ClearConnection>(&m))
    return command(C::hangup, r->connection, {}, invoke, ed, csta::ClearConnectionResponse{});
  if (auto* r = std::get_if<csta::ClearCall>(&m)) return clear_call(r->call, invoke, ed);
  if (auto* r = std::get_if<csta::HoldCall>(&m)) return command(C::hold, r->call, {}, invoke, ed, csta::HoldCallResponse{});
  if (auto* r = std::get_if<csta::RetrieveCall>(&m))
    return command(C::retrieve, r->call, {}, invoke, ed, csta::RetrieveCallResponse{});
  if (auto* r = std::get_if<csta::ConsultationCall>(&m))
    return command(C::consult, r->existing_call, r->consulted_device, invoke, ed, csta::ConsultationCallResponse{}, true);
  if (auto* r = std::get_if<csta::AlternateCall>(&m))
    return command(C::alternate, r->active_call, {}, invoke, ed, csta::AlternateCallResponse{});
  if (auto* r = std::get_if<csta::TransferCall>(&m))
    return command(C::transfer, r->active_call, {}, invoke, ed, csta::TransferCallResponse{});
  if (auto* r = std::get_if<csta::SingleStepTransferCall>(&m))
    return command(C::transfer, r->active_call, r->transferred_to, invoke, ed, csta::SingleStepTransferCallResponse{});
  if (auto* r = std::get_if<csta::ConferenceCall>(&m))
    return command(C::conference, r->active_call, {}, invoke, ed, csta::ConferenceCallResponse{});
  if (auto* r = std::get_if<csta::DeflectCall>(&m))
    return command(C::deflect, r->call, r->new_destination, invoke, ed, csta::DeflectCallResponse{});
  if (std::holds_alternative<csta::SetDoNotDisturb>(m) || std::holds_alternative<csta::GetDoNotDisturb>(m) ||
      std::holds_alternative<csta::SetForwarding>(m) || std::holds_alternative<csta::GetForwarding>(m))
    return line_features(m, invoke, ed);
  // Anything else known to the codec but not served here: not offered by GetCSTAFeatures either.
  send_error(ErrorCategory::operation, "serviceNotSupported", invoke, ed);
}

// ---- session start ----------------------------------------------------------------------------

void CstaSession::start_ecma354(const csta::StartApplicationSession& r, int invoke) {
  const auto& o = server_.options();
  if (state_ != State::starting || !o.accept_ecma354) {
    if (state_ == State::starting) ++server_.mutable_stats().logins_refused;
    send(csta::StartApplicationSessionNegResponse{state_ == State::starting ? "invalidApplicationInfo" : "sessionAlreadyStarted"},
         invoke, Edition::none);
    if (state_ == State::starting) fail_and_close("ECMA-354 session start is not accepted ([csta] start_styles)");
    return;
  }
  // The edition: the first of the client's protocol versions that is ECMA-323 ed3..ed6.
  std::optional<Edition> chosen;
  std::string chosen_uri;
  for (const auto& v : r.protocol_versions)
    if (auto e = csta::edition_from_uri(v)) {
      chosen = e;
      chosen_uri = v;
      break;
    }
  if (!r.protocol_versions.empty() && !chosen) {
    ++server_.mutable_stats().logins_refused;
    send(csta::StartApplicationSessionNegResponse{"requestedProtocolVersionNotSupported"}, invoke, Edition::none);
    fail_and_close("no supported ECMA-323 protocol version requested");
    return;
  }
  if (!chosen) chosen = edition_known_ ? edition_ : Edition::ed5;
  edition_ = *chosen;
  edition_known_ = true;
  if (chosen_uri.empty()) chosen_uri = std::string(csta::namespace_uri(edition_));
  style_ = "ecma354";
  state_ = State::authenticating;
  const int duration = std::clamp(r.requested_session_duration.value_or(180), 10, 3600);
  std::weak_ptr<CstaSession> weak = weak_from_this();
  login(r.user_id, r.password, [weak, invoke, chosen_uri, duration](bool ok, std::string why) {
    auto s = weak.lock();
    if (!s || s->state_ == State::closed) return;
    if (!ok) {
      s->send(csta::StartApplicationSessionNegResponse{"invalidApplicationInfo"}, invoke, Edition::none);
      s->fail_and_close("login refused: " + why);
      return;
    }
    s->send(csta::StartApplicationSessionPosResponse{fmt::format("{:016X}", reinterpret_cast<std::uintptr_t>(s.get())),
                                                     chosen_uri, duration},
            invoke, Edition::none);
  });
}

void CstaSession::on_quiet() {
  // OpenScape Voice style: the switch speaks first with its SystemStatus.
  if (state_ != State::starting || said_something_ || status_sent_ || !server_.options().accept_osv) return;
  status_sent_ = true;
  send(csta::SystemStatus{csta::SystemStatusValue::normal}, next_server_invoke(), edition_known_ ? edition_ : Edition::ed3);
}

void CstaSession::start_osv(const csta::SystemRegister& r, int invoke) {
  const auto& o = server_.options();
  const Edition ed = edition_known_ ? edition_ : Edition::ed3;
  if (state_ != State::starting || !o.accept_osv) {
    if (state_ == State::starting) ++server_.mutable_stats().logins_refused;
    send_error(ErrorCategory::state_incompatibility, kStateError, invoke, ed);
    if (state_ == State::starting) fail_and_close("OpenScape-style session start is not accepted ([csta] start_styles)");
    return;
  }
  // The login rides in SystemRegister's private data (OpenScape Voice itself trusts addresses).
  style_ = "osv";
  state_ = State::authenticating;
  if (!edition_known_) {
    edition_ = Edition::ed3;
    edition_known_ = true;
  }
  std::weak_ptr<CstaSession> weak = weak_from_this();
  login(r.user_id, r.password, [weak, invoke](bool ok, std::string why) {
    auto s = weak.lock();
    if (!s || s->state_ == State::closed) return;
    if (!ok) {
      s->send_error(ErrorCategory::security, "securityViolation", invoke, s->edition_);
      s->fail_and_close("login refused: " + why);
      return;
    }
    s->send(csta::SystemRegisterResponse{"1"}, invoke, s->edition_);
  });
}

void CstaSession::login(std::string user, std::string password, std::function<void(bool, std::string)> done) {
  auto finish = [this, done](std::optional<ClientIdentity> id, std::string why) {
    if (!id) {
      ++server_.mutable_stats().logins_refused;
      state_ = State::starting;
      return done(false, why);
    }
    if (server_.deps().runtime && !server_.deps().runtime(id->viewer.tenant)) {
      ++server_.mutable_stats().logins_refused;
      state_ = State::starting;
      return done(false, "tenant " + id->viewer.tenant.str() + " is not running");
    }
    identity_ = std::move(*id);
    state_ = State::active;
    ++server_.mutable_stats().sessions_started;
    feed_ = &server_.feed(identity_->viewer.tenant, this);
    spdlog::info("csta: {} logged in as {} (tenant {}, {} style, {})", remote_, identity_->name,
                 identity_->viewer.tenant.str(), style_, edition_name(edition_));
    done(true, "");
  };
  if (password.starts_with("cbt_")) {
    if (!server_.deps().check_token) return finish(std::nullopt, "API tokens are not accepted here");
    std::weak_ptr<bool> alive = alive_;
    server_.deps().check_token(password, remote_,
                               [alive, finish](std::expected<core::Viewer, std::string> v) {
                                 if (alive.expired()) return;
                                 if (!v) return finish(std::nullopt, v.error());
                                 ClientIdentity id{.viewer = *v, .whole_tenant = false, .name = v->user};
                                 finish(std::move(id), "");
                               });
    return;
  }
  auto id = server_.check_client(user, password);
  if (!id) return finish(std::nullopt, user.empty() ? "no credentials" : "unknown client or wrong secret for " + user);
  finish(std::move(id), "");
}

void CstaSession::on_start_timeout() {
  if (state_ == State::active || state_ == State::closed) return;
  send_error(ErrorCategory::state_incompatibility, kStateError, csta::kUnsolicitedInvokeId, edition_);
  fail_and_close("no session started in time");
}

void CstaSession::leave_feed() {
  if (feed_ && identity_) server_.leave_feed(identity_->viewer.tenant, this);  // also its watches
  feed_ = nullptr;
  monitors_.clear();
  by_device_.clear();
}

void CstaSession::on_closed() {
  leave_feed();
  state_ = State::closed;
}

void CstaSession::fail_and_close(std::string_view why) {
  if (state_ == State::closed) return;
  spdlog::info("csta: closing {} ({}): {}", remote_, identity_ ? identity_->name : std::string("not logged in"), why);
  leave_feed();
  state_ = State::closed;
  if (transport_.close) transport_.close();
}

// ---- sending ------------------------------------------------------------------------------------

int CstaSession::next_server_invoke() {
  server_invoke_ = server_invoke_ % 9000 + 1;  // 1..9000: below the events' 9999
  return server_invoke_;
}

csta::Framing CstaSession::out_framing() const {
  return reader_.framing() == csta::Framing::headerless ? csta::Framing::headerless : csta::Framing::header;
}

void CstaSession::send(const Message& m, int invoke, Edition ed) {
  if (state_ == State::closed) return;
  std::string xml;
  csta::encode(m, ed, xml);
  auto frame = std::make_shared<std::string>();
  if (auto st = csta::append_frame(*frame, out_framing(), invoke, xml); !st) {
    spdlog::warn("csta: {}: {} not sent: {}", remote_, csta::root_name(m), st.error().message());
    return;
  }
  send_frame(std::move(frame), csta::message_class(m) == csta::MessageClass::event);
}

void CstaSession::send_frame(std::shared_ptr<const std::string> frame, bool event) {
  if (state_ == State::closed) return;
  ++out_;
  ++server_.mutable_stats().messages_out;
  if (event) ++server_.mutable_stats().events_sent;
  if (transport_.send) transport_.send(std::move(frame));
}

void CstaSession::send_error(ErrorCategory cat, std::string_view value, int invoke, Edition ed) {
  ++errors_;
  ++server_.mutable_stats().errors_sent;
  send(csta::CstaErrorCode{csta::ErrorCode{cat, std::string(value)}}, invoke, ed);
}

// ---- devices and calls ---------------------------------------------------------------------------

core::TenantRuntime* CstaSession::runtime() const {
  if (!identity_ || !server_.deps().runtime) return nullptr;
  return server_.deps().runtime(identity_->viewer.tenant);
}

DeviceIds CstaSession::device_ids() const {
  auto* rt = runtime();
  const core::DialingPlan* plan = rt ? rt->plan() : nullptr;
  // Known devices: the call models' devices and the users' extensions.
  auto known = [this, rt](std::string_view d) {
    if (identity_ && identity_->viewer.owns(d)) return true;
    bool found = false;
    if (rt)
      rt->for_each_model([&](const model::CallModel& m) {
        if (found) return;
        for (const auto& dev : m.devices()) found |= dev == d;
      });
    return found;
  };
  return DeviceIds(plan, known);
}

void CstaSession::learn_style(std::string_view id) {
  if (device_style_known_) return;
  if (auto s = DeviceIds::style_of(id)) {
    device_style_ = *s;
    device_style_known_ = true;
  }
}

std::string CstaSession::wire(std::string_view device) const { return device_ids().present(device, device_style_); }

bool CstaSession::sees_device(std::string_view device) const {
  if (!identity_) return false;
  if (identity_->whole_tenant) return true;
  const auto& v = identity_->viewer;
  // The visibility policy's event filter: a user their own lines' calls, supervisors and admins
  // every call of their tenant (core/visibility.hpp).
  auto f = core::event_filter(v, v.sees_whole_tenant() ? core::EventScope::tenant : core::EventScope::own);
  return f && f->sees_device(device);
}

std::expected<std::string, csta::ErrorCode> CstaSession::own_device(std::string_view id, bool act) const {
  auto r = device_ids().resolve(id);
  if (!r) return std::unexpected(csta::ErrorCode{ErrorCategory::operation, "invalidDeviceID"});
  if (!r->internal) return std::unexpected(csta::ErrorCode{ErrorCategory::operation, "invalidDeviceID"});
  if (!sees_device(r->device) || (act && !identity_->whole_tenant && !identity_->viewer.owns(r->device)))
    return std::unexpected(csta::ErrorCode{ErrorCategory::operation, "privilegeViolationSpecifiedDevice"});
  return r->device;
}

const model::Call* CstaSession::find_call(const std::string& call_id, const model::CallModel** model) const {
  const model::Call* found = nullptr;
  if (auto* rt = runtime())
    rt->for_each_model([&](const model::CallModel& m) {
      if (found) return;
      if (const auto* c = m.find_call(call_id)) {
        found = c;
        if (model) *model = &m;
      }
    });
  return found;
}

std::expected<std::pair<std::string, std::string>, csta::ErrorCode> CstaSession::connection(
    const csta::ConnectionId& c) const {
  if (!feed_) return std::unexpected(csta::ErrorCode{ErrorCategory::operation, "invalidConnectionID"});
  auto call = feed_->ids().call_of(upper(c.call_id));
  if (!call) return std::unexpected(csta::ErrorCode{ErrorCategory::operation, "invalidCallID"});
  const model::CallModel* m = nullptr;
  const model::Call* found = find_call(*call, &m);
  if (!found) return std::unexpected(csta::ErrorCode{ErrorCategory::operation, "invalidCallID"});
  std::string device;
  if (!c.device_id.empty()) {
    auto r = device_ids().resolve(c.device_id);
    if (!r) return std::unexpected(csta::ErrorCode{ErrorCategory::operation, "invalidConnectionID"});
    device = r->device;
  } else {
    // No device named: the client's own connection in the call.
    for (const auto& conn : found->connections)
      if (sees_device(conn.device) && (identity_->whole_tenant || identity_->viewer.owns(conn.device))) {
        device = conn.device;
        break;
      }
  }
  bool in_call = false;
  for (const auto& conn : found->connections) in_call |= conn.device == device;
  if (!in_call) return std::unexpected(csta::ErrorCode{ErrorCategory::operation, "invalidConnectionID"});
  if (!sees_device(device)) return std::unexpected(csta::ErrorCode{ErrorCategory::operation, "invalidCallID"});
  return std::pair{*call, device};
}

std::string CstaSession::csta_call_id(const std::string& model_call, std::string_view device) {
  return feed_ ? feed_->ids().of(model_call, device) : std::string();
}

core::CommandCaller CstaSession::caller_for(std::string_view device) const {
  core::CommandCaller c = identity_->viewer;
  // A [[csta.client]] acts for the whole tenant: through whichever line it names.
  if (identity_->whole_tenant) c.extensions = {std::string(device)};
  return c;
}

void CstaSession::audit(std::string action, std::string target, std::string outcome, std::string details) const {
  auto* log = server_.deps().audit;
  if (!log || !identity_) return;
  ports::AuditRecord r{.at = server_.now(), .tenant = identity_->viewer.tenant};
  r.actor = identity_->name;
  r.source = remote_;
  r.action = std::move(action);
  r.target = std::move(target);
  r.outcome = std::move(outcome);
  r.details_json = std::move(details);
  log->append(std::move(r));
}

// ---- monitoring and snapshots ------------------------------------------------------------------------

void CstaSession::monitor_start(const csta::MonitorStart& r, int invoke, Edition ed) {
  if (r.device_object.empty() || r.call_object)  // call-type monitors: not offered (GetCSTAFeatures)
    return send_error(ErrorCategory::operation, "invalidMonitorObject", invoke, ed);
  learn_style(r.device_object);
  auto dev = own_device(r.device_object, false);
  if (!dev) return send_error(dev.error().category, dev.error().value, invoke, ed);
  if (monitors_.size() >= server_.options().max_monitors_per_session)
    return send_error(ErrorCategory::subscribed_resource_availability, "objectMonitorLimitExceeded", invoke, ed);
  std::string id = std::to_string(next_monitor_++);
  Monitor mon{*dev, r.filter.value_or(csta::MonitorFilter{}), {}, std::nullopt};
  // Forwarding and DoNotDisturb events come where the PBX carries the lines' features
  // (ports::PbxFeatures); elsewhere there are none: the actual filter says so.
  auto* rt = runtime();
  ports::PbxFeatures* pbx = rt ? rt->features() : nullptr;
  if (!pbx) {
    mon.filter.suppress(csta::EventKind::forwarding);
    mon.filter.suppress(csta::EventKind::do_not_disturb);
  } else if (pbx->ready()) {
    mon.features = pbx->line(*dev);
  }
  const auto filter = mon.filter;
  add_monitor(id, std::move(mon));
  send(csta::MonitorStartResponse{id, filter}, invoke, ed);
}

void CstaSession::monitor_stop(const csta::MonitorStop& r, int invoke, Edition ed) {
  if (!remove_monitor(r.monitor_cross_ref_id))
    return send_error(ErrorCategory::operation, "invalidMonitorCrossRefID", invoke, ed);
  send(csta::MonitorStopResponse{}, invoke, ed);
}

void CstaSession::add_monitor(const std::string& ref, Monitor m) {
  auto& refs = by_device_[m.device];
  refs.push_back(ref);
  if (refs.size() == 1 && feed_) feed_->watch(m.device, this);
  monitors_.emplace(ref, std::move(m));
}

bool CstaSession::remove_monitor(const std::string& ref) {
  auto it = monitors_.find(ref);
  if (it == monitors_.end()) return false;
  const std::string device = it->second.device;
  monitors_.erase(it);
  auto d = by_device_.find(device);
  if (d != by_device_.end()) {
    std::erase(d->second, ref);
    if (d->second.empty()) {
      by_device_.erase(d);
      if (feed_) feed_->unwatch(device, this);
    }
  }
  return true;
}

void CstaSession::snapshot_device(const csta::SnapshotDevice& r, int invoke, Edition ed) {
  learn_style(r.device);
  auto dev = own_device(r.device, false);
  if (!dev) return send_error(dev.error().category, dev.error().value, invoke, ed);
  csta::SnapshotDeviceResponse resp;
  std::vector<std::pair<std::string, model::ConnectionState>> calls;
  if (auto* rt = runtime())
    rt->for_each_model([&](const model::CallModel& m) {
      for (const auto& [id, c] : m.calls())
        for (const auto& conn : c.connections)
          if (conn.device == *dev) calls.emplace_back(id, conn.state);
    });
  std::sort(calls.begin(), calls.end());
  for (const auto& [id, st] : calls)
    resp.items.push_back({csta::ConnectionId{csta_call_id(id), wire(*dev)}, wire_state(st)});
  send(resp, invoke, ed);
}

void CstaSession::snapshot_call(const csta::SnapshotCall& r, int invoke, Edition ed) {
  if (!feed_) return send_error(ErrorCategory::operation, "invalidCallID", invoke, ed);
  auto call = feed_->ids().call_of(upper(r.call.call_id));
  const model::CallModel* m = nullptr;
  const model::Call* c = call ? find_call(*call, &m) : nullptr;
  bool visible = false;
  if (c)
    for (const auto& conn : c->connections) visible |= sees_device(conn.device);
  if (!c || !visible) return send_error(ErrorCategory::operation, "invalidCallID", invoke, ed);
  csta::SnapshotCallResponse resp;
  const std::string cid = csta_call_id(*call);
  for (const auto& conn : c->connections)
    resp.items.push_back({csta::EventDevice::of(wire(conn.device)), csta::ConnectionId{cid, wire(conn.device)},
                          wire_state(conn.state)});
  send(resp, invoke, ed);
}

void CstaSession::switching_function_devices(const csta::GetSwitchingFunctionDevices& r, int invoke, Edition ed) {
  // The tenant's extensions the client may see: its users' extensions and the lines its PBX
  // reported; a user's token only their own.
  std::set<std::string> devs;
  const auto& v = identity_->viewer;
  if (identity_->whole_tenant || v.sees_whole_tenant()) {
    if (server_.deps().users)
      for (const auto& u : server_.deps().users(v.tenant))
        for (const auto& e : u.extensions) devs.insert(e);
    if (auto* rt = runtime()) {
      rt->for_each_device_registry([&](const model::DeviceRegistry& reg) {
        for (const auto& [ep, d] : reg.devices())
          if (!d.extension.empty()) devs.insert(d.extension);
      });
    }
  } else {
    devs.insert(v.extensions.begin(), v.extensions.end());
  }
  if (!r.requested_device_id.empty()) {
    auto one = device_ids().resolve(r.requested_device_id);
    std::set<std::string> only;
    if (one && devs.count(one->device)) only.insert(one->device);
    devs = std::move(only);
  }
  const std::string ref = std::to_string(invoke);
  send(csta::GetSwitchingFunctionDevicesResponse{ref}, invoke, ed);
  csta::SwitchingFunctionDevices list{.service_cross_ref_id = ref, .segment_id = 1, .last_segment = true, .devices = {}};
  for (const auto& d : devs) list.devices.push_back({wire(d), "station"});
  send(list, next_server_invoke(), ed);
}

void CstaSession::features(int invoke, Edition ed) {
  // Only what works (docs/csta.md "Services"): no call monitors; DND and forwarding where the PBX has them.
  csta::GetCstaFeaturesResponse f;
  f.services = {
      {"capExchangeServ", {"getCSTAFeatures", "getSwitchingFunctionDevices"}},
      {"systemServ", {"requestSystemStatus", "systemStatus", "systemRegister"}},
      {"monitoringServ", {"monitorStart", "monitorStop"}},
      {"snapshotServ", {"snapshotCall", "snapshotDevice"}},
      {"callControlServ",
       {"alternateCall", "answerCall", "clearCall", "clearConnection", "conferenceCall", "consultationCall",
        "deflectCall", "holdCall", "makeCall", "retrieveCall", "singleStepTransferCall", "transferCall"}},
  };
  // DND and forwarding only where the PBX carries them now (ports::PbxFeatures: callbridge's
  // dialplan is in, the link is up).
  if (auto* rt = runtime(); rt && rt->features() && rt->features()->ready())
    f.services.push_back({"logicalDeviceServ", {"getDoNotDisturb", "getForwarding", "setDoNotDisturb", "setForwarding"}});
  f.events = {
      {"callControlEvents",
       {"callCleared", "conferenced", "connectionCleared", "delivered", "diverted", "established", "failed", "held",
        "originated", "queued", "retrieved", "serviceInitiated", "transferred"}},
  };
  // Forwarding and DoNotDisturb events where the PBX carries the lines' features.
  if (auto* rt = runtime(); rt && rt->features())
    f.events.push_back({"logicalDeviceFeatureEvents", {"doNotDisturb", "forwarding"}});
  send(f, invoke, ed);
}

// ---- call control -----------------------------------------------------------------------------

void CstaSession::make_call(const csta::MakeCall& r, int invoke, Edition ed) {
  learn_style(r.calling_device);
  auto from = own_device(r.calling_device, true);
  if (!from) return send_error(ErrorCategory::operation, "invalidCallingDeviceID", invoke, ed);
  auto* rt = runtime();
  auto* svc = rt ? rt->call_control() : nullptr;
  if (!svc) return send_error(ErrorCategory::system_resource_availability, "resourceOutOfService", invoke, ed);
  auto to = device_ids().resolve(r.called_directory_number);
  if (!to) return send_error(ErrorCategory::operation, "invalidCalledDeviceID", invoke, ed);
  const std::string from_dev = *from;
  const std::string reserved = feed_->ids().reserve(from_dev);
  feed_->mapper().expect_make_call(from_dev, to->device);
  std::weak_ptr<CstaSession> weak = weak_from_this();
  auto log = rt->shared_commands();
  const base::TenantId tenant = identity_->viewer.tenant;
  const std::string user = identity_->name;
  auto record = std::make_shared<std::string>();  // the command log's id once accepted
  svc->make_call(
      caller_for(from_dev), to->device, from_dev,
      [weak, invoke, ed, reserved, from_dev, to = to->device, log, tenant, user, record](core::CommandOutcome o) {
        auto s = weak.lock();
        if (!o) {
          if (s && s->state_ != State::closed) {
            if (s->feed_) {
              s->feed_->ids().cancel(from_dev);
              s->feed_->mapper().cancel_make_call(from_dev);
            }
            auto e = command_error(o.error(), core::CallCommand::hangup, false);
            if (o.error().kind == core::CommandFailure::Kind::invalid_number) e.value = "invalidCalledDeviceID";
            s->send_error(e.category, e.value, invoke, ed);
            s->audit("call.make_call", "number:" + to, "rejected",
                     json_details({{"device", from_dev}, {"reason", o.error().detail}}));
          }
          return;
        }
        *record = log->add(tenant, user, "make_call", core::CommandState::accepted, std::nullopt, o->request_id).id;
        if (!s || s->state_ == State::closed) return;
        s->send(csta::MakeCallResponse{csta::ConnectionId{reserved, s->wire(from_dev)}}, invoke, ed);
        s->audit("call.make_call", "number:" + to, "accepted",
                 json_details({{"device", from_dev}, {"request_id", o->request_id.value_or("")}}));
      },
      [log, tenant, record](core::CommandOutcome o) {
        if (record->empty()) return;
        if (o) log->finish(tenant, *record, core::CommandState::done, "", o->call_id);
        else log->finish(tenant, *record, core::CommandState::failed, o.error().detail);
      });
}

void CstaSession::command(core::CallCommand c, const csta::ConnectionId& conn, std::optional<std::string> to,
                          int invoke, Edition ed, Message positive, bool reserve_new_call) {
  if (!conn.device_id.empty()) learn_style(conn.device_id);
  auto target = connection(conn);
  if (!target) return send_error(target.error().category, target.error().value, invoke, ed);
  const auto [call_id, device] = *target;
  if (!identity_->whole_tenant && !identity_->viewer.owns(device))
    return send_error(ErrorCategory::operation, "privilegeViolationSpecifiedDevice", invoke, ed);
  auto* rt = runtime();
  auto* svc = rt ? rt->call_control() : nullptr;
  if (!svc) return send_error(ErrorCategory::system_resource_availability, "resourceOutOfService", invoke, ed);
  std::optional<std::string> dest;
  if (to) {
    auto r = device_ids().resolve(*to);
    if (!r) return send_error(ErrorCategory::operation, "invalidDestination", invoke, ed);
    dest = r->device;
  }
  // Whether the phone itself cannot do it (no remote answer/hold): a different error than a call
  // in the wrong state.
  bool phone_cannot = false;
  const model::CallModel* m = nullptr;
  if (const auto* call = find_call(call_id, &m); call && m)
    for (const auto& [a, why] : m->unavailable_actions(*call, device)) phone_cannot |= a == action_of(c);
  std::string reserved;
  if (reserve_new_call) reserved = feed_->ids().reserve(device);
  const std::string action = "call." + std::string(core::to_string(c));
  const std::string cid = csta_call_id(call_id);
  std::weak_ptr<CstaSession> weak = weak_from_this();
  auto log = rt->shared_commands();
  const base::TenantId tenant = identity_->viewer.tenant;
  const std::string user = identity_->name;
  auto answered = std::make_shared<bool>(false);
  svc->execute(caller_for(device), c, call_id, device, dest,
               [weak, invoke, ed, positive = std::move(positive), c, phone_cannot, call_id, device, dest, reserved, cid,
                action, log, tenant, user, answered](core::CommandOutcome o) mutable {
                 if (*answered) return;  // one answer per request
                 *answered = true;
                 if (o) log->add(tenant, user, std::string(core::to_string(c)), core::CommandState::done, call_id, std::nullopt);
                 auto s = weak.lock();
                 if (!s || s->state_ == State::closed) return;
                 if (!o) {
                   if (!reserved.empty() && s->feed_) s->feed_->ids().cancel(device);
                   auto e = command_error(o.error(), c, phone_cannot);
                   s->send_error(e.category, e.value, invoke, ed);
                   s->audit(action, "call:" + call_id, "rejected",
                            json_details({{"device", device}, {"to", dest.value_or("")}, {"reason", o.error().detail}}));
                   return;
                 }
                 const csta::ConnectionId here{cid, s->wire(device)};
                 if (auto* p = std::get_if<csta::ConsultationCallResponse>(&positive))
                   p->initiated_call = csta::ConnectionId{reserved, s->wire(device)};
                 else if (auto* p = std::get_if<csta::TransferCallResponse>(&positive)) p->transferred_call = here;
                 else if (auto* p = std::get_if<csta::SingleStepTransferCallResponse>(&positive)) p->transferred_call = here;
                 else if (auto* p = std::get_if<csta::ConferenceCallResponse>(&positive)) p->conference_call = here;
                 s->send(positive, invoke, ed);
                 s->audit(action, "call:" + call_id, "accepted", json_details({{"device", device}, {"to", dest.value_or("")}}));
               });
}

void CstaSession::clear_call(const csta::ConnectionId& conn, int invoke, Edition ed) {
  if (!feed_) return send_error(ErrorCategory::operation, "invalidCallID", invoke, ed);
  auto call = feed_->ids().call_of(upper(conn.call_id));
  const model::Call* c = call ? find_call(*call) : nullptr;
  if (!c) return send_error(ErrorCategory::operation, "invalidCallID", invoke, ed);
  // ClearCall ends every connection: hang up each of the call's lines the client may act on (one
  // suffices for a two-party call; the PBX clears the rest).
  std::string mine;
  for (const auto& x : c->connections)
    if (identity_->whole_tenant || identity_->viewer.owns(x.device)) {
      mine = x.device;
      break;
    }
  if (mine.empty()) return send_error(ErrorCategory::operation, "invalidCallID", invoke, ed);
  command(core::CallCommand::hangup, csta::ConnectionId{conn.call_id, wire(mine)}, std::nullopt, invoke, ed,
          csta::ClearCallResponse{});
}

// ---- logical device features (ECMA-269 22: DND, forwarding) ----------------------------------------

void CstaSession::line_features(Message& m, int invoke, Edition ed) {
  auto* rt = runtime();
  ports::PbxFeatures* pbx = rt ? rt->features() : nullptr;
  if (!pbx) return send_error(ErrorCategory::operation, "serviceNotSupported", invoke, ed);
  std::string raw_device;
  if (auto* r = std::get_if<csta::SetDoNotDisturb>(&m)) raw_device = r->device;
  else if (auto* r = std::get_if<csta::GetDoNotDisturb>(&m)) raw_device = r->device;
  else if (auto* r = std::get_if<csta::SetForwarding>(&m)) raw_device = r->device;
  else if (auto* r = std::get_if<csta::GetForwarding>(&m)) raw_device = r->device;
  learn_style(raw_device);
  const bool setting = std::holds_alternative<csta::SetDoNotDisturb>(m) || std::holds_alternative<csta::SetForwarding>(m);
  // Reading needs the line visible; changing it, the client's own line (as REST: a user's features).
  auto dev = own_device(raw_device, setting);
  if (!dev) return send_error(dev.error().category, dev.error().value, invoke, ed);
  if (!ports::valid_feature_line(*dev)) return send_error(ErrorCategory::operation, "invalidDeviceID", invoke, ed);
  if (auto st = pbx->ready(); !st)
    return send_error(ErrorCategory::system_resource_availability, "resourceOutOfService", invoke, ed);
  ports::LineFeatures f = pbx->line(*dev);

  if (std::holds_alternative<csta::GetDoNotDisturb>(m)) return send(csta::GetDoNotDisturbResponse{f.dnd}, invoke, ed);
  if (std::holds_alternative<csta::GetForwarding>(m)) {
    csta::GetForwardingResponse resp;
    auto item = [&](csta::ForwardingType t, const std::optional<std::string>& to, std::optional<int> rings) {
      resp.items.push_back({t, to.has_value(), to ? wire(*to) : std::string(), rings});
    };
    item(csta::ForwardingType::immediate, f.unconditional, std::nullopt);
    item(csta::ForwardingType::busy, f.busy, std::nullopt);
    // ECMA-269 counts rings; the PBX waits seconds (a ring is about 5 s).
    item(csta::ForwardingType::no_answer, f.no_answer, std::max(1, f.no_answer_seconds / 5));
    return send(resp, invoke, ed);
  }
  if (auto* r = std::get_if<csta::SetDoNotDisturb>(&m)) {
    f.dnd = r->on;
    return set_features(*dev, f, "dnd.set", json_details({{"device", *dev}, {"dnd", r->on ? "on" : "off"}}),
                        csta::SetDoNotDisturbResponse{}, invoke, ed);
  }
  auto& r = std::get<csta::SetForwarding>(m);
  std::optional<ports::ForwardKind> kind;
  switch (r.type) {
    case csta::ForwardingType::immediate: kind = ports::ForwardKind::unconditional; break;
    case csta::ForwardingType::busy: kind = ports::ForwardKind::busy; break;
    case csta::ForwardingType::no_answer: kind = ports::ForwardKind::no_answer; break;
    default: break;  // internal/external variants, forward on DND: the PBX has no such keys
  }
  if (!kind) return send_error(ErrorCategory::operation, "invalidForwardingType", invoke, ed);
  if (r.activate) {
    // The destination as the REST forwarding routes take it: an extension, or an external number
    // the tenant's number policy allows; never the line itself.
    auto ids = device_ids();
    std::vector<std::string> own = identity_->whole_tenant ? std::vector<std::string>{*dev} : identity_->viewer.extensions;
    auto policy = server_.deps().forward_policy ? server_.deps().forward_policy(identity_->viewer.tenant) : core::AnyDevicePolicy{};
    std::string raw = r.forward_dn;
    if (auto parsed = ids.resolve(r.forward_dn)) raw = parsed->device;
    auto dest = core::resolve_destination(
        raw, [&](std::string_view d) { auto x = ids.resolve(d); return x && x->internal; },
        [&](std::string_view d) -> std::optional<std::string> { return rt->to_e164(d); }, policy, own);
    if (!dest || !ports::dialable_destination(*dest))
      return send_error(ErrorCategory::operation, "invalidForwardingDestination", invoke, ed);
    f.forward(*kind) = *dest;
    if (*kind == ports::ForwardKind::no_answer && r.ring_count)
      f.no_answer_seconds = std::clamp(*r.ring_count * 5, ports::LineFeatures::kMinNoAnswerSeconds,
                                       ports::LineFeatures::kMaxNoAnswerSeconds);
  } else {
    f.forward(*kind).reset();
  }
  set_features(*dev, f, "forwarding.set",
               json_details({{"device", *dev}, {"type", std::string(ports::to_string(*kind))},
                             {"to", f.forward(*kind).value_or("")}}),
               csta::SetForwardingResponse{}, invoke, ed);
}

void CstaSession::set_features(const std::string& device, ports::LineFeatures f, std::string action, std::string details,
                               Message positive, int invoke, Edition ed) {
  auto* rt = runtime();
  ports::PbxFeatures* pbx = rt ? rt->features() : nullptr;
  if (!pbx) return send_error(ErrorCategory::operation, "serviceNotSupported", invoke, ed);
  std::weak_ptr<CstaSession> weak = weak_from_this();
  pbx->set_line(device, f, [weak, invoke, ed, positive = std::move(positive), action, details, device](base::Status st) {
    auto s = weak.lock();
    if (!s || s->state_ == State::closed) return;
    if (!st) {
      const auto code = st.error().code();
      csta::ErrorCode e{ErrorCategory::state_incompatibility, std::string(kStateError)};
      if (code == base::Errc::invalid_argument) e = {ErrorCategory::operation, "invalidForwardingDestination"};
      else if (code == base::Errc::unavailable) e = {ErrorCategory::system_resource_availability, "resourceOutOfService"};
      else if (code == base::Errc::timeout) e = {ErrorCategory::system_resource_availability, "serviceBusy"};
      s->send_error(e.category, e.value, invoke, ed);
      s->audit(action, "line:" + device, "rejected", details);
      return;
    }
    s->send(positive, invoke, ed);
    s->audit(action, "line:" + device, "accepted", details);
  });
}

// ---- events -----------------------------------------------------------------------------------------

void CstaSession::on_call_event(FeedEvent& fe, TenantFeed& feed) {
  if (state_ != State::active || monitors_.empty()) return;
  // This session's monitors of the event's devices, in the order of their cross reference ids
  // (as one client gets them), with the events their device sees.
  auto& targets = targets_;  // reused: no allocation per event
  targets.clear();
  for (std::size_t i = 0; i < fe.devices.size(); ++i) {
    auto d = by_device_.find(fe.devices[i].first);
    if (d == by_device_.end()) continue;
    for (const auto& ref : d->second) {
      auto m = monitors_.find(ref);
      if (m != monitors_.end()) targets.push_back({&m->first, &m->second, i});
    }
  }
  std::sort(targets.begin(), targets.end(), [](const Target& a, const Target& b) { return *a.ref < *b.ref; });
  const auto framing = out_framing();
  // What else decides the bytes: the edition, how the client writes device ids, the framing.
  char tail[8];
  tail[0] = static_cast<char>('0' + static_cast<int>(edition_));
  tail[1] = device_style_.openscape ? 'N' : '-';
  tail[2] = device_style_.e164 ? '+' : '-';
  tail[3] = framing == csta::Framing::headerless ? 'b' : 'h';
  std::string& key = key_;
  for (const auto& t : targets) {
    const std::string& ref = *t.ref;
    Monitor& mon = *t.mon;
    const auto& mapped = fe.devices[t.device].second;
    for (std::size_t n = 0; n < mapped.size(); ++n) {
      const auto& ev = mapped[n];
      if (ev.kind == EventKind::delivered || ev.kind == EventKind::established) {
        if (!mon.note(ev.connection.call, ev.kind == EventKind::established, ev.subject)) continue;
      } else if (ev.kind == EventKind::call_cleared ||
                 (ev.kind == EventKind::connection_cleared && ev.subject == mon.device)) {
        mon.forget(ev.connection.call);
      }
      if (mon.filter.suppresses(wire_kind(ev.kind))) continue;
      // The bytes depend on the event, the cross reference id, the edition, how the client writes
      // device ids and the framing: equal for many monitors, encoded once for them.
      key.clear();
      key.append(std::to_string(t.device)).push_back('|');
      key.append(std::to_string(n)).push_back('|');
      key.append(ref).push_back('|');
      key.append(tail, 4).append(device_style_.noa);
      auto& frame = fe.frames[key];
      if (!frame) frame = encode_event(ev, ref, framing, feed);
      if (!frame) continue;
      send_frame(frame, true);
      if (state_ == State::closed) return;
    }
  }
}

std::shared_ptr<const std::string> CstaSession::encode_event(const MappedEvent& ev, const std::string& ref,
                                                             csta::Framing framing, TenantFeed& feed) {
  const std::string cid = feed.ids().of(ev.connection.call, ev.connection.device);
  auto conn = [&](const ConnectionRef& c) { return csta::ConnectionId{feed.ids().of(c.call), wire(c.device)}; };
  auto dev = [&](const std::optional<std::string>& d) {
    return d && !d->empty() ? csta::EventDevice::of(wire(*d))
                            : csta::EventDevice{csta::EventDevice::Status::not_known, ""};
  };
  const csta::ConnectionId c{cid, ev.connection.device.empty() ? std::string() : wire(ev.connection.device)};
  const auto subject = dev(ev.subject);
  const auto local = static_cast<csta::LocalConnectionState>(ev.local);
  Message out;
  switch (ev.kind) {
    case EventKind::service_initiated:
      out = csta::ServiceInitiatedEvent{ref, c, subject, local, ev.cause};
      break;
    case EventKind::originated:
      out = csta::OriginatedEvent{ref, c, dev(ev.calling), dev(ev.called), local, ev.cause};
      break;
    case EventKind::delivered:
      out = csta::DeliveredEvent{ref, c, subject, dev(ev.calling), dev(ev.called), std::nullopt, local, ev.cause};
      break;
    case EventKind::established:
      out = csta::EstablishedEvent{ref, c, subject, dev(ev.calling), dev(ev.called), std::nullopt, local, ev.cause};
      break;
    case EventKind::held: out = csta::HeldEvent{ref, c, subject, local, ev.cause}; break;
    case EventKind::retrieved: out = csta::RetrievedEvent{ref, c, subject, local, ev.cause}; break;
    case EventKind::connection_cleared: out = csta::ConnectionClearedEvent{ref, c, subject, local, ev.cause}; break;
    case EventKind::call_cleared:
      out = csta::CallClearedEvent{ref, csta::ConnectionId{cid, ""}, local, ev.cause};
      break;
    case EventKind::transferred: {
      csta::TransferredEvent t{ref, c, std::nullopt, subject, dev(ev.other), {}, local, ev.cause};
      if (ev.merged_from) t.secondary_old_call = csta::ConnectionId{feed.ids().of(*ev.merged_from), ""};
      for (const auto& x : ev.connections) t.transferred_connections.push_back({conn(x), std::nullopt, wire(x.device)});
      out = std::move(t);
      break;
    }
    case EventKind::conferenced: {
      csta::ConferencedEvent t{ref, c, std::nullopt, subject, dev(ev.other), {}, local, ev.cause};
      for (const auto& x : ev.connections) t.conference_connections.push_back({conn(x), std::nullopt, wire(x.device)});
      out = std::move(t);
      break;
    }
    case EventKind::diverted:
      out = csta::DivertedEvent{ref, c, subject, dev(ev.other), dev(ev.calling), dev(ev.called), std::nullopt, local, ev.cause};
      break;
    case EventKind::failed:
      out = csta::FailedEvent{ref, c, subject, dev(ev.called), dev(ev.calling), std::nullopt, local, ev.cause};
      break;
    case EventKind::queued:
      out = csta::QueuedEvent{ref, c, subject, dev(ev.calling), dev(ev.called), std::nullopt, std::nullopt, local, ev.cause};
      break;
  }
  std::string xml;
  csta::encode(out, edition_, xml);
  auto frame = std::make_shared<std::string>();
  if (auto st = csta::append_frame(*frame, framing, csta::kUnsolicitedInvokeId, xml); !st) {
    spdlog::warn("csta: {}: {} not sent: {}", remote_, csta::root_name(out), st.error().message());
    return nullptr;
  }
  return frame;
}

void CstaSession::on_line_features(const std::string& line, const ports::LineFeatures& now) {
  if (state_ != State::active) return;
  auto d = by_device_.find(line);
  if (d == by_device_.end()) return;
  auto refs = d->second;  // sending may close the session
  std::sort(refs.begin(), refs.end());
  static constexpr std::array kKinds{std::pair{ports::ForwardKind::unconditional, csta::ForwardingType::immediate},
                                     std::pair{ports::ForwardKind::busy, csta::ForwardingType::busy},
                                     std::pair{ports::ForwardKind::no_answer, csta::ForwardingType::no_answer}};
  for (const auto& ref : refs) {
    auto it = monitors_.find(ref);
    if (it == monitors_.end()) continue;
    Monitor& mon = it->second;
    const ports::LineFeatures before = mon.features.value_or(ports::LineFeatures{});
    mon.features = now;
    const auto device = csta::EventDevice::of(wire(line));
    if (before.dnd != now.dnd && !mon.filter.suppresses(csta::EventKind::do_not_disturb)) {
      send(csta::DoNotDisturbEvent{ref, device, now.dnd}, csta::kUnsolicitedInvokeId, edition_);
      if (state_ == State::closed) return;
    }
    if (mon.filter.suppresses(csta::EventKind::forwarding)) continue;
    for (const auto& [kind, type] : kKinds) {
      const auto& was = before.forward(kind);
      const auto& is = now.forward(kind);
      const bool no_answer = kind == ports::ForwardKind::no_answer;
      if (was == is && !(no_answer && is && before.no_answer_seconds != now.no_answer_seconds)) continue;
      // ECMA-269 counts rings; the PBX waits seconds (a ring is about 5 s), as GetForwarding says.
      std::optional<int> rings;
      if (no_answer && is) rings = std::max(1, now.no_answer_seconds / 5);
      send(csta::ForwardingEvent{ref, device, type, is.has_value(), is ? wire(*is) : std::string(), rings},
           csta::kUnsolicitedInvokeId, edition_);
      if (state_ == State::closed) return;
    }
  }
}

CstaClientInfo CstaSession::info() const {
  CstaClientInfo i;
  i.remote = remote_;
  if (identity_) {
    i.tenant = identity_->viewer.tenant.str();
    i.user = identity_->name;
  }
  i.state = state_ == State::active ? "active" : state_ == State::closed ? "closed" : "starting";
  i.style = style_;
  i.edition = edition_name(edition_);
  i.framing = reader_.framing() == csta::Framing::header       ? "header"
              : reader_.framing() == csta::Framing::headerless ? "headerless"
                                                               : "detect";
  i.monitors = monitors_.size();
  i.messages_in = in_;
  i.messages_out = out_;
  i.errors = errors_;
  i.connected_at = connected_at_;
  return i;
}

}  // namespace callbridge::csta_server
