#include "core/command_log.hpp"

#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>

namespace callbridge::core {

std::string_view to_string(CommandState s) {
  switch (s) {
    case CommandState::accepted: return "accepted";
    case CommandState::done: return "done";
    case CommandState::failed: return "failed";
  }
  return "accepted";
}

CommandLog::CommandLog(CommandLogOptions options, const base::Clock& clock, std::function<std::string()> new_id)
    : options_(options), clock_(clock), new_id_(std::move(new_id)) {
  if (options_.max_per_tenant == 0) options_.max_per_tenant = 1;
  if (!new_id_) {
    // Ids need not be secret (records are only shown to their user), just unique: a random
    // 64-bit start, then counting.
    std::random_device rd;
    auto next = std::make_shared<std::uint64_t>((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
    new_id_ = [next] {
      char buf[32];
      std::snprintf(buf, sizeof buf, "cmd-%016llx", static_cast<unsigned long long>((*next)++));
      return std::string(buf);
    };
  }
}

void CommandLog::expire(Tenant& t) {
  const base::Timestamp cutoff = clock_.now() - options_.ttl;
  while (!t.order.empty()) {
    auto it = t.by_id.find(t.order.front());
    if (it != t.by_id.end() && it->second.created_at > cutoff) break;
    if (it != t.by_id.end()) t.by_id.erase(it);
    t.order.pop_front();
  }
}

const CommandRecord& CommandLog::add(const base::TenantId& tenant, const std::string& user, std::string action,
                                     CommandState state, std::optional<std::string> call_id,
                                     std::optional<std::string> request_id) {
  Tenant& t = tenants_.try_emplace(tenant).first->second;
  expire(t);
  while (t.by_id.size() >= options_.max_per_tenant && !t.order.empty()) {
    t.by_id.erase(t.order.front());
    t.order.pop_front();
  }
  CommandRecord r{.tenant = tenant};
  do r.id = new_id_();
  while (t.by_id.contains(r.id));
  r.user = user;
  r.action = std::move(action);
  r.state = state;
  r.call_id = std::move(call_id);
  r.request_id = std::move(request_id);
  r.created_at = r.updated_at = clock_.now();
  t.order.push_back(r.id);
  auto [it, ok] = t.by_id.emplace(r.id, std::move(r));
  return it->second;
}

bool CommandLog::finish(const base::TenantId& tenant, const std::string& id, CommandState state, std::string reason,
                        std::optional<std::string> call_id, std::optional<std::string> space) {
  CommandRecord* r = lookup(tenant, id);
  if (!r || r->state != CommandState::accepted || state == CommandState::accepted) return false;
  r->state = state;
  r->reason = std::move(reason);
  if (call_id) r->call_id = std::move(call_id);
  if (space) r->space = std::move(space);
  r->updated_at = clock_.now();
  if (listener_) listener_(*r);
  return true;
}

const CommandRecord* CommandLog::find(const base::TenantId& tenant, const std::string& id) {
  return lookup(tenant, id);
}

CommandRecord* CommandLog::lookup(const base::TenantId& tenant, const std::string& id) {
  auto t = tenants_.find(tenant);
  if (t == tenants_.end()) return nullptr;
  expire(t->second);
  auto it = t->second.by_id.find(id);
  return it == t->second.by_id.end() ? nullptr : &it->second;
}

std::size_t CommandLog::size(const base::TenantId& tenant) const {
  auto t = tenants_.find(tenant);
  return t == tenants_.end() ? 0 : t->second.by_id.size();
}

}  // namespace callbridge::core
