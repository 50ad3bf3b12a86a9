#include "model/queue_state.hpp"

#include <algorithm>

namespace callbridge::model {

std::string_view to_string(AgentState s) {
  switch (s) {
    case AgentState::available: return "available";
    case AgentState::ringing: return "ringing";
    case AgentState::busy: return "busy";
    case AgentState::wrap_up: return "wrap_up";
    case AgentState::paused: return "paused";
    case AgentState::unavailable: return "unavailable";
  }
  return "available";
}

const QueueMember* Queue::member(std::string_view interface) const {
  for (const auto& m : members)
    if (m.interface == interface) return &m;
  return nullptr;
}

const QueueMember* Queue::member_by_device(std::string_view device) const {
  for (const auto& m : members)
    if (!m.device.empty() && m.device == device) return &m;
  return nullptr;
}

int Queue::wrapup_for(const QueueMember& m) const {
  if (m.wrapup_seconds > 0) return m.wrapup_seconds;
  return wrapup_seconds.value_or(0);
}

std::optional<base::Timestamp> Queue::wrapup_until(const QueueMember& m) const {
  const int w = wrapup_for(m);
  if (w <= 0 || !m.last_call) return std::nullopt;
  return *m.last_call + std::chrono::seconds(w);
}

AgentState Queue::state(const QueueMember& m, base::Timestamp now) const {
  if (m.paused) return AgentState::paused;
  // AST_DEVICE_INVALID (4), AST_DEVICE_UNAVAILABLE (5): the phone is not reachable.
  if (m.status == 4 || m.status == 5) return AgentState::unavailable;
  // AST_DEVICE_RINGING (6), AST_DEVICE_RINGINUSE (7).
  if (m.ringing || m.status == 6 || m.status == 7) return AgentState::ringing;
  // AST_DEVICE_INUSE (2), AST_DEVICE_BUSY (3), AST_DEVICE_ONHOLD (8).
  if (m.in_call || m.status == 2 || m.status == 3 || m.status == 8) return AgentState::busy;
  if (auto until = wrapup_until(m); until && now < *until) return AgentState::wrap_up;
  return AgentState::available;
}

std::int64_t Queue::longest_wait(base::Timestamp now) const {
  std::int64_t best = 0;
  for (const auto& c : callers)
    best = std::max<std::int64_t>(best, std::chrono::duration_cast<std::chrono::seconds>(now - c.joined).count());
  return best;
}

const Queue* QueueState::find(std::string_view name) const {
  auto it = queues_.find(name);
  return it == queues_.end() ? nullptr : &it->second;
}

void QueueState::put(Queue q) {
  auto it = queues_.find(q.name);
  if (it != queues_.end() && it->second == q) return;
  changed_.push_back(q.name);
  if (it != queues_.end()) it->second = std::move(q);
  else {
    std::string key = q.name;
    queues_.emplace(std::move(key), std::move(q));
  }
}

bool QueueState::erase(std::string_view name) {
  auto it = queues_.find(name);
  if (it == queues_.end()) return false;
  changed_.push_back(it->first);
  queues_.erase(it);
  return true;
}

std::vector<std::string> QueueState::take_changed() {
  std::vector<std::string> out = std::move(changed_);
  changed_.clear();
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace callbridge::model
