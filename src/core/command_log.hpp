// CommandLog: what became of each call control command after its 202 (docs/api.md "Command
// outcomes"). One record per accepted command, per tenant, under a random id; bounded (the oldest
// of a tenant goes first) and expiring (ttl after creation). A record moves once from `accepted`
// to `done` or `failed` (with the PBX's reason); the listener hears every such change (the app
// publishes it on the issuing user's event stream). One per tenant, owned by its
// core::TenantRuntime; filled by the command routes of capabilities/calls. io thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/tenant_id.hpp"
#include "base/time.hpp"

namespace callbridge::core {

enum class CommandState { accepted, done, failed };
std::string_view to_string(CommandState s);

struct CommandRecord {
  std::string id{};      // "cmd-<16 hex>"
  base::TenantId tenant;
  std::string user{};    // who issued it (only they and admins may read it)
  std::string action{};  // "make_call", "hangup", "transfer", ...
  CommandState state = CommandState::accepted;
  std::string reason{};                      // failed: why (the PBX's words); else ""
  std::optional<std::string> call_id{};      // the call it acts on / the call it made, once known
  std::optional<std::string> request_id{};   // make_call: the PBX correlation id ("c2d-0001")
  std::optional<std::string> space{};        // park: the parking space the call went to ("701"), once known
  base::Timestamp created_at{};
  base::Timestamp updated_at{};
};

struct CommandLogOptions {
  std::size_t max_per_tenant = 1000;
  std::chrono::seconds ttl{3600};
};

class CommandLog {
 public:
  using Listener = std::function<void(const CommandRecord&)>;

  // `clock` must outlive the log. `new_id` makes ids (tests); default: "cmd-" + 16 random hex.
  CommandLog(CommandLogOptions options, const base::Clock& clock, std::function<std::string()> new_id = {});

  void set_listener(Listener l) { listener_ = std::move(l); }

  // A new record in state `state` (accepted, or done when the PBX already confirmed a command
  // that has no later outcome). No listener call: the creator answers with it.
  const CommandRecord& add(const base::TenantId& tenant, const std::string& user, std::string action,
                           CommandState state, std::optional<std::string> call_id,
                           std::optional<std::string> request_id);
  // accepted -> done/failed; `call_id` (when set) replaces the record's. The listener runs on
  // the change. false (nothing happens) when the record is unknown, expired or already final.
  bool finish(const base::TenantId& tenant, const std::string& id, CommandState state, std::string reason,
              std::optional<std::string> call_id = std::nullopt, std::optional<std::string> space = std::nullopt);
  // nullptr when unknown or expired.
  const CommandRecord* find(const base::TenantId& tenant, const std::string& id);
  std::size_t size(const base::TenantId& tenant) const;

 private:
  struct Tenant {
    std::unordered_map<std::string, CommandRecord> by_id;
    std::deque<std::string> order;  // creation order
  };
  void expire(Tenant& t);
  CommandRecord* lookup(const base::TenantId& tenant, const std::string& id);

  CommandLogOptions options_;
  const base::Clock& clock_;
  std::function<std::string()> new_id_;
  Listener listener_;
  std::unordered_map<base::TenantId, Tenant> tenants_;
};

}  // namespace callbridge::core
