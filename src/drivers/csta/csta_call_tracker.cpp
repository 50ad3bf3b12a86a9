#include "drivers/csta/csta_call_tracker.hpp"

#include <variant>

namespace callbridge::drivers::csta {

using model::CallEventType;
using model::ConnectionState;
using wire::LocalConnectionState;

namespace {

std::string id_of(const wire::EventDevice& d) {
  return d.status == wire::EventDevice::Status::known ? d.id : std::string();
}

ConnectionState state_of(LocalConnectionState s) {
  switch (s) {
    case LocalConnectionState::null: return ConnectionState::null;
    case LocalConnectionState::initiated: return ConnectionState::initiated;
    case LocalConnectionState::alerting: return ConnectionState::alerting;
    case LocalConnectionState::connected: return ConnectionState::connected;
    case LocalConnectionState::hold: return ConnectionState::held;
    case LocalConnectionState::queued: return ConnectionState::queued;
    case LocalConnectionState::fail: return ConnectionState::failed;
  }
  return ConnectionState::null;
}

std::optional<std::string> opt(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional<std::string>(s);
}

}  // namespace

std::optional<int> q850_of(std::string_view cause) {
  if (cause == "busy") return 17;
  if (cause == "callNotAnswered") return 19;
  if (cause == "callCancelled") return 21;
  if (cause == "numberUnallocated") return 1;
  if (cause == "destNotObtainable") return 3;
  if (cause == "destOutOfOrder") return 27;
  if (cause == "invalidNumberFormat") return 28;
  if (cause == "networkCongestion") return 34;
  if (cause == "normalClearing" || cause == "normal") return 16;
  return std::nullopt;
}

CstaCallTracker::CstaCallTracker(base::TenantId tenant, EventSink on_event, JournalSink on_journal,
                                 std::function<bool(std::string_view)> internal)
    : tenant_(tenant),
      internal_(std::move(internal)),
      model_(tenant, std::move(on_event)),
      journal_(tenant, std::move(on_journal)) {}

// A remote is internal when it is one of the company's lines (the driver's monitored devices);
// without that knowledge, when the switch does not name it in E.164.
model::Direction CstaCallTracker::direction_of(std::string_view remote, bool incoming) const {
  const bool internal = internal_ ? (!remote.empty() && internal_(remote)) : (!remote.empty() && remote.front() != '+');
  if (internal) return model::Direction::internal;
  return incoming ? model::Direction::inbound : model::Direction::outbound;
}

CstaCallTracker::LegInfo* CstaCallTracker::leg(const std::string& call, const std::string& device) {
  auto it = legs_.find({call, device});
  return it == legs_.end() ? nullptr : &it->second;
}

CstaCallTracker::LegInfo& CstaCallTracker::open_leg(const std::string& call, const std::string& device,
                                                    std::string remote, bool incoming, base::Timestamp at,
                                                    std::optional<model::Direction> direction) {
  if (LegInfo* l = leg(call, device)) return *l;
  LegInfo info;
  info.remote = std::move(remote);
  info.incoming = incoming;
  info.direction = direction.value_or(direction_of(info.remote, incoming));
  model::LegStart s;
  s.conversation = call;
  s.party = device;
  s.direction = info.direction;
  s.remote = opt(info.remote);
  s.started_at = at;
  s.incoming = incoming;
  s.anchor = info.remote;
  s.model_call = call;
  info.id = journal_.open(std::move(s));
  conv_[call].insert(device);
  // A call handed to this device a moment ago (blind transfer: the PBX rings it in a new call).
  auto h = transfer_hints_.find(device);
  if (h != transfer_hints_.end()) {
    if (h->second.remote == info.remote && at - h->second.at < std::chrono::seconds(60))
      journal_.set_transferred_from(info.id, h->second.from);
    transfer_hints_.erase(h);
  }
  return legs_.emplace(Key{call, device}, info).first->second;
}

void CstaCallTracker::set_remote(const std::string& call, const std::string& device, const std::string& remote) {
  LegInfo* l = leg(call, device);
  if (!l || remote.empty() || l->remote == remote) return;
  l->remote = remote;
  l->direction = direction_of(remote, l->incoming);
  journal_.set_remote(l->id, l->direction, remote, false, std::nullopt);
  journal_.set_anchor(l->id, remote);
}

void CstaCallTracker::answer_leg(const std::string& call, const std::string& device, base::Timestamp at) {
  LegInfo* l = leg(call, device);
  if (!l || l->answered) return;
  l->answered = true;
  journal_.answered(l->id, at);
}

void CstaCallTracker::end_leg(const std::string& call, const std::string& device, base::Timestamp at,
                              std::string_view cause, std::uint8_t estimated) {
  auto it = legs_.find({call, device});
  if (it == legs_.end()) return;
  const LegInfo& l = it->second;
  if (!l.answered && cause == "busy") journal_.set_outcome(l.id, l.incoming ? model::LegOutcome::rejected : model::LegOutcome::busy);
  if (estimated) journal_.mark_estimated(l.id, estimated);
  journal_.end(l.id, at);
  legs_.erase(it);
}

void CstaCallTracker::maybe_end_conversation(const std::string& call, base::Timestamp at, bool cleared,
                                             std::uint8_t estimated) {
  auto c = conv_.find(call);
  if (c == conv_.end()) return;
  for (const auto& d : c->second)
    if (legs_.count({call, d})) {
      if (!cleared) return;
      end_leg(call, d, at, {}, estimated);
    }
  if (!cleared && model_.find_call(call)) return;
  conv_.erase(c);
  journal_.conversation_ended(call, at, estimated);
}

void CstaCallTracker::transferred(const std::string& call, const std::string& from, const std::string& to,
                                  base::Timestamp at) {
  LegInfo* l = leg(call, from);
  if (!l) return;
  const std::string remote = l->remote;
  const bool incoming = l->incoming;
  const auto direction = l->direction;
  if (!to.empty()) journal_.set_transferred_to(l->id, to);
  end_leg(call, from, at);
  if (to.empty()) return;
  // The transferring device's consultation with the target ends with the transfer too.
  std::vector<std::string> consultations;
  for (const auto& [k, other] : legs_)
    if (k.second == from && other.remote == to) consultations.push_back(k.first);
  for (const auto& c : consultations) {
    end_leg(c, from, at);
    maybe_end_conversation(c, at, false);
  }
  // The device the call went to: a leg it already has with the same remote (the PBX rang it
  // before it reported the transfer) was handed over; a consultation with the transferring device
  // ends and a new leg with the remote begins (attended transfer); otherwise the next leg with
  // this remote is the handed-over call (blind transfer).
  for (auto& [k, other] : legs_) {
    if (k.second != to) continue;
    if (other.remote == remote && !remote.empty()) {
      journal_.set_transferred_from(other.id, from);
      return;
    }
  }
  for (auto it = legs_.begin(); it != legs_.end(); ++it) {
    if (it->first.second != to || it->second.remote != from) continue;
    const std::string consult_call = it->first.first;
    end_leg(consult_call, to, at);
    maybe_end_conversation(consult_call, at, false);
    auto m = merged_into_.find(to);
    const std::string into = m != merged_into_.end() ? m->second : call;
    LegInfo& n = open_leg(into, to, remote, incoming, at, direction);
    n.answered = true;
    journal_.answered(n.id, at);
    journal_.set_transferred_from(n.id, from);
    return;
  }
  transfer_hints_[to] = Hint{from, remote, at};
}

void CstaCallTracker::on_monitored(std::string_view device, base::Timestamp at) {
  model_.set_pbx_device_state(device, model::DeviceState::idle, at);
}

void CstaCallTracker::on_link_down(base::Timestamp) {
  // Calls and lines stay as last seen: the snapshots after the reconnect correct them. Transfer
  // hints do not survive a gap.
  transfer_hints_.clear();
}

void CstaCallTracker::on_snapshot(std::string_view device_v, const std::vector<wire::SnapshotDeviceItem>& items,
                                  base::Timestamp at) {
  const std::string device(device_v);
  std::set<std::string> now;
  for (const auto& it : items)
    if (!it.connection.call_id.empty()) now.insert(it.connection.call_id);
  // Calls that ended while the link was down.
  std::vector<std::string> gone;
  for (const auto& [id, call] : model_.calls())
    for (const auto& c : call.connections)
      if (c.device == device && !now.count(id)) gone.push_back(id);
  constexpr std::uint8_t kUnseenEnd = model::kEstimatedEnd;
  for (const auto& id : gone) {
    model_.clear(id, device, at);
    if (LegInfo* l = leg(id, device); l && !l->answered) journal_.mark_estimated(l->id, model::kEstimatedDisposition);
    end_leg(id, device, at, {}, kUnseenEnd);
    maybe_end_conversation(id, at, false, kUnseenEnd);
  }
  // Calls that began while it was down.
  for (const auto& it : items) {
    const std::string& call = it.connection.call_id;
    if (call.empty() || !it.state) continue;
    const auto st = state_of(*it.state);
    if (st == ConnectionState::null) continue;
    const auto* c = model_.find_call(call);
    bool known = false;
    if (c)
      for (const auto& x : c->connections) known = known || x.device == device;
    const auto type = st == ConnectionState::alerting ? CallEventType::delivered
                      : st == ConnectionState::held  ? CallEventType::held
                      : st == ConnectionState::initiated ? CallEventType::originated
                                                      : CallEventType::established;
    model_.update(call, device, st, type, at);
    if (!known && !leg(call, device)) {
      LegInfo& l = open_leg(call, device, "", st == ConnectionState::alerting, at);
      journal_.mark_estimated(l.id, model::kEstimatedStart);
      if (st == ConnectionState::connected || st == ConnectionState::held) {
        l.answered = true;
        journal_.answered(l.id, at, true);
      }
    }
  }
  on_monitored(device, at);
}

void CstaCallTracker::flush(base::Timestamp at) {
  std::vector<std::string> calls;
  for (const auto& [id, devs] : conv_) calls.push_back(id);
  for (const auto& id : calls) maybe_end_conversation(id, at, true);
  journal_.flush(at);
}

void CstaCallTracker::on_event(std::string_view device_v, const wire::Message& m, base::Timestamp at) {
  const std::string d(device_v);
  auto local = [](const std::optional<LocalConnectionState>& l, ConnectionState fallback) {
    return l ? state_of(*l) : fallback;
  };
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, wire::OriginatedEvent>) {
          const std::string& call = e.originated_connection.call_id;
          if (id_of(e.calling_device) != d && e.originated_connection.device_id != d) return;
          const std::string called = id_of(e.called_device);
          model_.update(call, d, ConnectionState::initiated, CallEventType::originated, at, opt(called));
          open_leg(call, d, called, false, at);
        } else if constexpr (std::is_same_v<T, wire::DeliveredEvent>) {
          const std::string& call = e.connection.call_id;
          const std::string alerting = id_of(e.alerting_device);
          if (alerting == d) {
            const std::string calling = id_of(e.calling_device);
            model_.update(call, d, ConnectionState::alerting, CallEventType::delivered, at, opt(calling));
            LegInfo& l = open_leg(call, d, calling, true, at);
            if (e.calling_device.status == wire::EventDevice::Status::restricted && l.remote.empty())
              journal_.set_remote(l.id, l.direction, std::nullopt, true, std::nullopt);
          } else if (e.local_connection_info == LocalConnectionState::initiated && leg(call, d)) {
            // The device dialed and the far side rings.
            model_.update(call, d, ConnectionState::initiated, CallEventType::delivered, at, opt(alerting));
            set_remote(call, d, alerting);
          }
        } else if constexpr (std::is_same_v<T, wire::EstablishedEvent>) {
          const std::string& call = e.established_connection.call_id;
          const std::string answering = id_of(e.answering_device);
          if (answering == d) {
            const std::string calling = id_of(e.calling_device);
            const std::string remote = calling != d ? calling : std::string();
            model_.update(call, d, ConnectionState::connected, CallEventType::established, at, opt(remote));
            if (!leg(call, d)) open_leg(call, d, remote, true, at);
            answer_leg(call, d, at);
          } else if (local(e.local_connection_info, ConnectionState::connected) == ConnectionState::connected &&
                     leg(call, d)) {
            // The far end answered the device's call.
            model_.update(call, d, ConnectionState::connected, CallEventType::established, at, opt(answering));
            set_remote(call, d, answering);
            answer_leg(call, d, at);
          }
        } else if constexpr (std::is_same_v<T, wire::HeldEvent>) {
          if (id_of(e.holding_device) != d) return;
          const std::string& call = e.held_connection.call_id;
          model_.update(call, d, ConnectionState::held, CallEventType::held, at);
          if (LegInfo* l = leg(call, d)) journal_.hold(l->id, at);
        } else if constexpr (std::is_same_v<T, wire::RetrievedEvent>) {
          if (id_of(e.retrieving_device) != d) return;
          const std::string& call = e.retrieved_connection.call_id;
          model_.update(call, d, ConnectionState::connected, CallEventType::retrieved, at);
          if (LegInfo* l = leg(call, d)) journal_.unhold(l->id, at);
        } else if constexpr (std::is_same_v<T, wire::ConnectionClearedEvent>) {
          if (id_of(e.releasing_device) != d) return;
          const std::string& call = e.dropped_connection.call_id;
          if (e.cause != "transfer") model_.clear(call, d, at, q850_of(e.cause));
          end_leg(call, d, at, e.cause);
          maybe_end_conversation(call, at, false);
        } else if constexpr (std::is_same_v<T, wire::FailedEvent>) {
          if (id_of(e.failing_device) != d) return;
          const std::string& call = e.failed_connection.call_id;
          model_.clear(call, d, at, q850_of(e.cause), true);
          if (LegInfo* l = leg(call, d); l && !l->answered)
            journal_.set_outcome(l->id, e.cause == "busy" ? (l->incoming ? model::LegOutcome::rejected
                                                                         : model::LegOutcome::busy)
                                                          : model::LegOutcome::failed);
          end_leg(call, d, at);
          maybe_end_conversation(call, at, false);
        } else if constexpr (std::is_same_v<T, wire::CallClearedEvent>) {
          const std::string& call = e.cleared_call.call_id;
          if (const auto* c = model_.find_call(call)) {
            std::vector<std::string> left;
            for (const auto& x : c->connections) left.push_back(x.device);
            for (const auto& x : left) model_.clear(call, x, at, q850_of(e.cause));
          }
          maybe_end_conversation(call, at, true);
        } else if constexpr (std::is_same_v<T, wire::QueuedEvent>) {
          if (id_of(e.queue) != d) return;
          const std::string& call = e.queued_connection.call_id;
          const std::string calling = id_of(e.calling_device);
          model_.update(call, d, ConnectionState::queued, CallEventType::queued, at, opt(calling));
          open_leg(call, d, calling, true, at);
        } else if constexpr (std::is_same_v<T, wire::DivertedEvent>) {
          if (id_of(e.diverting_device) != d) return;
          const std::string& call = e.connection.call_id;
          const auto st = local(e.local_connection_info, ConnectionState::null);
          if (st == ConnectionState::null) {
            model_.clear(call, d, at, std::nullopt, false, opt(id_of(e.new_destination)));
            end_leg(call, d, at);
            maybe_end_conversation(call, at, false);
          } else {
            model_.update(call, d, st, CallEventType::diverted, at, std::nullopt, opt(id_of(e.new_destination)));
          }
        } else if constexpr (std::is_same_v<T, wire::TransferredEvent>) {
          if (id_of(e.transferring_device) != d) return;
          const std::string& call = e.primary_old_call.call_id;
          const auto st = local(e.local_connection_info, ConnectionState::null);
          const std::string to = id_of(e.transferred_to_device);
          if (st == ConnectionState::null) {
            // The device handed its call on and left it.
            model_.clear(call, d, at, std::nullopt, false, opt(to), true);
            transferred(call, d, to, at);
            maybe_end_conversation(call, at, false);
          } else {
            // The device's connection moved into this call (the transfer joined two calls).
            std::optional<std::string> from;
            if (e.secondary_old_call) from = opt(e.secondary_old_call->call_id);
            model_.update(call, d, st, CallEventType::transferred, at, std::nullopt, from);
            merged_into_[d] = call;
          }
        } else if constexpr (std::is_same_v<T, wire::ConferencedEvent>) {
          if (id_of(e.added_party) != d) return;
          const std::string& call = e.primary_old_call.call_id;
          model_.update(call, d, local(e.local_connection_info, ConnectionState::connected), CallEventType::conferenced,
                        at, std::nullopt, opt(id_of(e.conferencing_device)));
          if (!leg(call, d)) open_leg(call, d, "", false, at);
        }
      },
      m);
}

}  // namespace callbridge::drivers::csta
