// The visibility policy (docs/api.md "Identity and tenants"): what one viewer — an authenticated
// person of exactly one tenant, with a role, extensions and a team — may see and act on: live
// calls, lines (presence), journal entries, contacts, command records, identity administration
// and the event-stream filter. The only place these rules are written: api/ (every REST route, the
// WebSocket upgrade) and core/ call control ask it; api/principal converts a Principal. Plain
// values and pure functions (the journal helpers block on the store): any thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.hpp"
#include "base/tenant_id.hpp"
#include "core/viewer.hpp"
#include "model/call_model.hpp"
#include "model/journal_entry.hpp"
#include "model/queue_state.hpp"
#include "ports/audit_log.hpp"
#include "ports/contact_source.hpp"
#include "ports/identity_store.hpp"
#include "ports/journal_store.hpp"

namespace callbridge::core {

// ---- live calls ----
// GET /api/v1/calls(/{id}): a call of the viewer's tenant (the model's) with a connection on one of
// the viewer's extensions; supervisors and admins see every call of their tenant.
bool may_see(const Viewer& v, const model::CallModel& m, const model::Call& c);
// Call control acts through the viewer's own extensions, whatever the role (supervisors watch other
// people's calls but do not take them over): `device` must be one of them.
bool may_act_from(const Viewer& v, std::string_view device);
// ... and the call must be of the viewer's tenant with a connection on one of those extensions;
// anything else is answered like a call that does not exist.
bool may_act_on(const Viewer& v, const model::CallModel& m, const model::Call& c);
// POST /api/v1/journal/{id}/callback: the device the callback is placed from (the entry's party),
// nullopt when the viewer may not see the entry. Supervisors and admins may call back from any
// party of their tenant; the returned viewer acts as that line.
std::optional<Viewer> callback_caller(const Viewer& v, const model::JournalEntry& e);

// ---- lines (presence) ----
// Which lines (devices) a viewer sees: own extensions and every extension of the users of the same
// team; supervisors and admins every line of their tenant.
class LineScope {
 public:
  bool whole_tenant() const { return whole_; }
  bool sees(std::string_view device) const;
  const std::vector<std::string>& own() const { return own_; }    // sorted
  const std::vector<std::string>& team() const { return team_; }  // sorted; own ones excluded
  // A scope made elsewhere, carried as data (a command relayed to another node: core/call_commands).
  static LineScope of(bool whole_tenant, std::vector<std::string> own, std::vector<std::string> team) {
    LineScope s;
    s.whole_ = whole_tenant;
    s.own_ = std::move(own);
    s.team_ = std::move(team);
    std::sort(s.own_.begin(), s.own_.end());
    std::sort(s.team_.begin(), s.team_.end());
    return s;
  }

 private:
  friend LineScope line_scope(const Viewer&, std::span<const ports::User>);
  bool whole_ = false;
  std::vector<std::string> own_, team_;
};
// `users`: the users of the viewer's tenant (others are ignored).
LineScope line_scope(const Viewer& v, std::span<const ports::User> users);
// The extensions of the viewer's team mates (sorted, own ones included when shared); empty without
// a team.
std::vector<std::string> team_extensions(const Viewer& v, std::span<const ports::User> users);

// ---- journal ----
bool may_see(const Viewer& v, const model::JournalEntry& e);
// The store queries that together return exactly what `v` may see of `q`: the tenant is the
// viewer's whatever `q` said; a user's query runs once per extension (or once for the `party` asked,
// which must be theirs). unexpected(reason): a user asked for a party that is not theirs (403).
// An empty vector: the viewer sees no entries (a user without extensions).
std::expected<std::vector<ports::JournalQuery>, std::string> journal_queries(const Viewer& v,
                                                                             ports::JournalQuery q);
// Runs the queries of journal_queries() and merges their answers newest first (started_at, then
// id, descending, as the stores order them; ids are unique),
// at most `limit` entries. Blocks on the store.
base::Result<std::vector<ports::StoredEntry>> run_journal_queries(ports::JournalStore& store,
                                                                  std::span<const ports::JournalQuery> queries,
                                                                  std::size_t limit);
// Entry `id` when it exists in the viewer's tenant and the viewer may see it, else nullopt
// (PATCH /api/v1/journal/{id}, the callback). Blocks on the store.
base::Result<std::optional<ports::StoredEntry>> find_journal_entry(ports::JournalStore& store, const Viewer& v,
                                                                   std::int64_t id);

// ---- contacts ----
// Any user of a tenant may read and edit the tenant's contacts (docs/api.md "Contacts").
bool may_see(const Viewer& v, const ports::Contact& c);
bool may_edit(const Viewer& v, const ports::Contact& c);

// ---- call-control command records ----
// GET /api/v1/commands/{id}: the issuing user of the tenant, and the tenant's admins.
bool may_see_command(const Viewer& v, const base::TenantId& tenant, std::string_view issued_by);

// ---- queues (docs/queues.md) ----
// GET /api/v1/queues: a user sees the queues one of their extensions is an agent of; supervisors
// and admins every queue of their tenant (the caller passes only the tenant's queues).
bool may_see_queue(const Viewer& v, const model::Queue& q);
// Logging an agent in or out, pausing, unpausing: a user only their own extensions; a supervisor
// also the extensions of their team (`team` = team_extensions()); an admin any line of the tenant.
bool may_change_agent(const Viewer& v, std::string_view device, std::span<const std::string> team);

// ---- the event stream (GET /api/v1/events) ----
enum class EventScope { own, team, tenant };

// What one subscription sees, built by event_filter() and applied by core::EventHub to every
// message. `own`: calls, lines and journal of `own` devices. `team`: that, plus the presence (line
// events) of `team` devices — never their calls or journal. `tenant`: everything of the tenant.
// Messages addressed to one user (command outcomes) reach only that user's subscriptions.
struct EventFilter {
  EventScope scope = EventScope::own;
  std::vector<std::string> own{};   // sorted
  std::vector<std::string> team{};  // sorted
  std::string user{};
  bool admin = false;  // the tenant's admins also get the device registry's events, in any scope

  bool sees_device(std::string_view device) const;  // calls and journal
  bool sees_line(std::string_view device) const;    // presence
  bool sees_call(const model::Call& c) const;       // a connection on a device it sees
};
// The filter of a subscription that asks for `scope`; `team` = team_extensions() (read for scope
// team only). unexpected(reason): scope tenant without the supervisor or admin role (403). Never
// wider than may_see() and line_scope().
std::expected<EventFilter, std::string> event_filter(const Viewer& v, EventScope scope,
                                                     std::vector<std::string> team = {});

// ---- identity and tenant settings ----
// Users, tokens, the tenant's UI settings (write), diagnostics: the tenant's admins.
bool may_administer(const Viewer& v);

// ---- the audit log (GET /api/v1/audit, docs/api.md "Audit") ----
// The query `v` may run, `q.tenant` being the tenant asked for (nullopt: none named).
// A tenant's admins read their own tenant's records: nullopt or their tenant becomes their tenant;
// another tenant is refused (403, never an empty answer). The operator reads any tenant's: the one
// named, or with nullopt every tenant's (the operator's own "_operator" records included).
// unexpected(reason): any other role, or an admin naming another tenant (403).
std::expected<ports::AuditQuery, std::string> audit_query(const Viewer& v, ports::AuditQuery q);

}  // namespace callbridge::core
