#include "csta_server/call_mapper.hpp"

#include <algorithm>

namespace callbridge::csta_server {

using model::CallEventType;
using model::ConnectionState;

std::string_view to_string(EventKind k) {
  switch (k) {
    case EventKind::service_initiated: return "ServiceInitiated";
    case EventKind::originated: return "Originated";
    case EventKind::delivered: return "Delivered";
    case EventKind::established: return "Established";
    case EventKind::held: return "Held";
    case EventKind::retrieved: return "Retrieved";
    case EventKind::connection_cleared: return "ConnectionCleared";
    case EventKind::call_cleared: return "CallCleared";
    case EventKind::transferred: return "Transferred";
    case EventKind::conferenced: return "Conferenced";
    case EventKind::diverted: return "Diverted";
    case EventKind::failed: return "Failed";
    case EventKind::queued: return "Queued";
  }
  return "?";
}

std::string_view to_string(LocalState s) {
  switch (s) {
    case LocalState::null: return "null";
    case LocalState::initiated: return "initiated";
    case LocalState::alerting: return "alerting";
    case LocalState::connected: return "connected";
    case LocalState::hold: return "hold";
    case LocalState::queued: return "queued";
    case LocalState::fail: return "fail";
  }
  return "null";
}

LocalState local_state(ConnectionState s) {
  switch (s) {
    case ConnectionState::null: return LocalState::null;
    case ConnectionState::initiated: return LocalState::initiated;
    case ConnectionState::alerting: return LocalState::alerting;
    case ConnectionState::connected: return LocalState::connected;
    case ConnectionState::held: return LocalState::hold;
    case ConnectionState::queued: return LocalState::queued;
    case ConnectionState::failed: return LocalState::fail;
  }
  return LocalState::null;
}

std::string_view clearing_cause(std::optional<int> q850, bool failed) {
  // Q.850 (ITU-T) as Asterisk reports it in Hangup's Cause; ECMA-269 12.2.13 EventCause.
  if (q850) switch (*q850) {
      case 1: return "numberUnallocated";
      case 3: return "destNotObtainable";
      case 17: return "busy";
      case 18:
      case 19: return "callNotAnswered";
      case 21: return "callCancelled";
      case 27: return "destOutOfOrder";
      case 28: return "invalidNumberFormat";
      case 34:
      case 38:
      case 41:
      case 42: return "networkCongestion";
      case 16:
      case 31: return failed ? "destNotObtainable" : "normalClearing";
      default: break;
    }
  return failed ? "destNotObtainable" : "normalClearing";
}

void CallMapper::observe(const model::CallEvent& e) {
  auto [it, fresh] = calls_.try_emplace(e.call_id);
  Parties& p = it->second;
  if (fresh) {
    auto mc = make_calls_.find(e.device);
    if (mc != make_calls_.end()) {
      p.by_make_call = true;
      p.calling = e.device;
      p.called = e.remote.value_or(mc->second);
      make_calls_.erase(mc);
    }
  }
  if (e.type == CallEventType::transferred && e.detail && *e.detail != e.call_id) {
    // CallModel::merge names the call the connections came from: this call inherits its parties.
    auto from = calls_.find(*e.detail);
    if (from != calls_.end()) {
      if (p.calling.empty()) p = from->second;
      merged_.insert(*e.detail);
      calls_.erase(from);
    }
  }
  const std::string remote = e.remote.value_or("");
  if (!p.calling.empty()) {
    // Whom a call was for may show only once it rings there (a click-to-dial's first event has
    // no destination yet).
    if (p.called.empty() && e.type == CallEventType::delivered) {
      if (e.state == ConnectionState::initiated && e.device == p.calling && !remote.empty()) p.called = remote;
      else if (e.state == ConnectionState::alerting && e.device != p.calling) p.called = e.device;
    }
    return;
  }
  if (e.type == CallEventType::originated || (e.type == CallEventType::delivered && e.state == ConnectionState::initiated)) {
    p.calling = e.device;  // it dialed
    p.called = remote;
  } else if (e.type == CallEventType::delivered || e.type == CallEventType::queued) {
    p.calling = remote;  // it is rung
    p.called = e.device;
  }
}

const CallMapper::Parties* CallMapper::parties(std::string_view call) const {
  auto it = calls_.find(std::string(call));
  return it == calls_.end() ? nullptr : &it->second;
}

std::vector<MappedEvent> CallMapper::map(const model::CallEvent& e, std::string_view device, bool gone) const {
  std::vector<MappedEvent> out;
  bool in_call = e.device == device;
  LocalState local = LocalState::null;
  for (const auto& [d, st] : e.connections)
    if (d == device) in_call = true, local = local_state(st);
  if (!in_call) return out;

  const Parties* p = parties(e.call_id);
  const std::string remote = e.remote.value_or("");
  MappedEvent m;
  m.connection = {e.call_id, e.device};
  m.subject = e.device;
  m.local = local;
  if (p && !p->calling.empty()) m.calling = p->calling;
  if (p && !p->called.empty()) m.called = p->called;
  const std::string first_cause = p && p->by_make_call ? "makeCall" : "newCall";

  switch (e.type) {
    case CallEventType::originated: {
      if (e.device == device) {  // the device went off-hook for this call (ECMA-269 17.2.16)
        MappedEvent si = m;
        si.kind = EventKind::service_initiated;
        si.calling.reset();
        si.called.reset();
        si.cause = first_cause;
        out.push_back(std::move(si));
      }
      m.kind = EventKind::originated;
      m.calling = e.device;
      if (!remote.empty()) m.called = remote;  // else what the memory knows (a MakeCall's destination)
      m.cause = first_cause;
      break;
    }
    case CallEventType::delivered:
      m.kind = EventKind::delivered;
      m.cause = first_cause;
      if (e.state == ConnectionState::initiated) {
        // The device dialed and the far side rings: the alerting device is the remote.
        m.subject = !remote.empty() ? remote : m.called.value_or(e.device);
        m.connection = {e.call_id, m.subject};
      }
      break;
    case CallEventType::established:
      m.kind = EventKind::established;
      m.cause = first_cause;
      if (p && p->calling == e.device && !p->called.empty() && p->called != e.device) {
        // The caller's connection became connected: the far side answered.
        m.subject = !remote.empty() ? remote : p->called;
        m.connection = {e.call_id, m.subject};
      }
      break;
    case CallEventType::held:
      m.kind = EventKind::held;
      m.cause = "normal";
      break;
    case CallEventType::retrieved:
      m.kind = EventKind::retrieved;
      m.cause = "normal";
      break;
    case CallEventType::diverted:
      m.kind = EventKind::diverted;
      m.cause = "redirected";
      if (e.detail) m.other = e.detail;
      else if (!remote.empty()) m.other = remote;
      break;
    case CallEventType::transferred:
      m.kind = EventKind::transferred;
      m.cause = "transfer";
      if (e.detail && merged_.count(*e.detail)) m.merged_from = e.detail;  // CallModel::merge
      else if (e.detail) m.other = e.detail;  // the transferring device
      for (const auto& [d, st] : e.connections) m.connections.push_back({e.call_id, d});
      if (e.state == ConnectionState::null && e.detail) {
        // clear(transferred): the device handed its remote to e.detail and left.
        m.subject = e.device;
        m.other = e.detail;
      }
      break;
    case CallEventType::conferenced:
      m.kind = EventKind::conferenced;
      m.cause = "conference";
      m.other = e.device;  // the party added
      m.subject = e.detail.value_or(e.device);
      for (const auto& [d, st] : e.connections) m.connections.push_back({e.call_id, d});
      break;
    case CallEventType::queued:
      m.kind = EventKind::queued;
      m.cause = "enteringDistribution";
      break;
    case CallEventType::connection_cleared:
      m.kind = EventKind::connection_cleared;
      m.cause = std::string(clearing_cause(e.cause, false));
      break;
    case CallEventType::failed:
      m.kind = EventKind::failed;
      m.cause = std::string(clearing_cause(e.cause, true));
      break;
  }
  // A transfer that took the device out of the call is its connection's end as well.
  bool left = e.state == ConnectionState::null && e.type == CallEventType::transferred;
  out.push_back(std::move(m));
  if (left && e.device == device) {
    MappedEvent cc;
    cc.kind = EventKind::connection_cleared;
    cc.connection = {e.call_id, e.device};
    cc.subject = e.device;
    cc.local = LocalState::null;
    cc.cause = "transfer";
    out.push_back(std::move(cc));
  }
  if (gone) {  // ECMA-269 17.2.2: the last connection went, the call is over
    MappedEvent cc;
    cc.kind = EventKind::call_cleared;
    cc.connection = {e.call_id, ""};
    cc.local = LocalState::null;
    cc.cause = out.back().kind == EventKind::failed ? out.back().cause : std::string("normalClearing");
    out.push_back(std::move(cc));
  }
  return out;
}

}  // namespace callbridge::csta_server
