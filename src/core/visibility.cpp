#include "core/visibility.hpp"

#include <algorithm>

namespace callbridge::core {

namespace {

bool sorted_has(const std::vector<std::string>& v, std::string_view d) {
  return std::binary_search(v.begin(), v.end(), d, std::less<>());
}

void sort_unique(std::vector<std::string>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

bool has_connection_of(const Viewer& v, const model::Call& c) {
  return std::any_of(c.connections.begin(), c.connections.end(),
                     [&](const model::Connection& conn) { return v.owns(conn.device); });
}

}  // namespace

std::string_view to_string(Role r) {
  switch (r) {
    case Role::operator_: return "operator";
    case Role::admin: return "admin";
    case Role::supervisor: return "supervisor";
    case Role::user: return "user";
  }
  return "user";
}

std::optional<Role> parse_role(std::string_view s) {
  if (s == "operator") return Role::operator_;
  if (s == "admin") return Role::admin;
  if (s == "supervisor") return Role::supervisor;
  if (s == "user") return Role::user;
  return std::nullopt;
}

bool Viewer::owns(std::string_view device) const {
  return !device.empty() && std::find(extensions.begin(), extensions.end(), device) != extensions.end();
}

// ---- live calls ----

bool may_see(const Viewer& v, const model::CallModel& m, const model::Call& c) {
  if (m.tenant() != v.tenant) return false;
  return v.sees_whole_tenant() || has_connection_of(v, c);
}

bool may_act_from(const Viewer& v, std::string_view device) { return v.owns(device); }

bool may_act_on(const Viewer& v, const model::CallModel& m, const model::Call& c) {
  return m.tenant() == v.tenant && has_connection_of(v, c);
}

std::optional<Viewer> callback_caller(const Viewer& v, const model::JournalEntry& e) {
  if (!may_see(v, e)) return std::nullopt;
  if (v.owns(e.party)) return v;
  Viewer as_line = v;  // a supervisor or admin calls back from the entry's line
  as_line.extensions = {e.party};
  return as_line;
}

// ---- lines ----

bool LineScope::sees(std::string_view device) const {
  return whole_ || sorted_has(own_, device) || sorted_has(team_, device);
}

std::vector<std::string> team_extensions(const Viewer& v, std::span<const ports::User> users) {
  std::vector<std::string> out;
  if (v.team.empty()) return out;
  for (const auto& u : users)
    if (u.tenant == v.tenant && u.team == v.team) out.insert(out.end(), u.extensions.begin(), u.extensions.end());
  sort_unique(out);
  return out;
}

LineScope line_scope(const Viewer& v, std::span<const ports::User> users) {
  LineScope s;
  s.whole_ = v.sees_whole_tenant();
  s.own_ = v.extensions;
  sort_unique(s.own_);
  if (!s.whole_) {
    for (auto& d : team_extensions(v, users))
      if (!sorted_has(s.own_, d)) s.team_.push_back(std::move(d));
  }
  return s;
}

// ---- journal ----

bool may_see(const Viewer& v, const model::JournalEntry& e) {
  return e.tenant == v.tenant && (v.sees_whole_tenant() || v.owns(e.party));
}

std::expected<std::vector<ports::JournalQuery>, std::string> journal_queries(const Viewer& v,
                                                                             ports::JournalQuery q) {
  q.tenant = v.tenant;
  std::vector<ports::JournalQuery> out;
  if (v.sees_whole_tenant()) {
    out.push_back(std::move(q));
    return out;
  }
  if (q.party) {
    if (!v.owns(*q.party)) return std::unexpected("party " + *q.party + " is not one of your extensions");
    out.push_back(std::move(q));
    return out;
  }
  std::vector<std::string> own = v.extensions;
  sort_unique(own);
  for (auto& d : own) {
    if (d.empty()) continue;
    auto qq = q;
    qq.party = std::move(d);
    out.push_back(std::move(qq));
  }
  return out;
}

base::Result<std::vector<ports::StoredEntry>> run_journal_queries(ports::JournalStore& store,
                                                                  std::span<const ports::JournalQuery> queries,
                                                                  std::size_t limit) {
  if (queries.size() == 1) return store.query(queries.front());
  std::vector<ports::StoredEntry> all;
  for (const auto& q : queries) {
    auto r = store.query(q);
    if (!r) return r;
    for (auto& e : *r) all.push_back(std::move(e));
  }
  // The stores' order: newest start first, then the higher id (ports::JournalQuery).
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    if (a.entry.started_at != b.entry.started_at) return a.entry.started_at > b.entry.started_at;
    return a.id > b.id;
  });
  all.erase(std::unique(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.id == b.id; }), all.end());
  if (all.size() > limit) all.erase(all.begin() + static_cast<std::ptrdiff_t>(limit), all.end());
  return all;
}

base::Result<std::optional<ports::StoredEntry>> find_journal_entry(ports::JournalStore& store, const Viewer& v,
                                                                   std::int64_t id) {
  // Entry `id` of the viewer's tenant; whether the viewer may see it is then the entry's own
  // question (one query whatever the role).
  ports::JournalQuery q{.tenant = v.tenant};
  q.id = id;
  q.limit = 1;
  auto r = store.query(q);
  if (!r) return base::fail(r.error());
  if (r->empty() || r->front().id != id || !may_see(v, r->front().entry)) return std::optional<ports::StoredEntry>();
  return std::optional<ports::StoredEntry>(std::move(r->front()));
}

// ---- contacts, commands, administration ----

bool may_see(const Viewer& v, const ports::Contact& c) { return c.tenant == v.tenant; }
bool may_edit(const Viewer& v, const ports::Contact& c) { return c.tenant == v.tenant; }

bool may_see_command(const Viewer& v, const base::TenantId& tenant, std::string_view issued_by) {
  return tenant == v.tenant && (issued_by == v.user || v.is_admin());
}

bool may_administer(const Viewer& v) { return v.is_admin(); }

std::expected<ports::AuditQuery, std::string> audit_query(const Viewer& v, ports::AuditQuery q) {
  if (v.role == Role::operator_) return q;  // any tenant, or all of them
  if (!v.is_admin()) return std::unexpected(std::string("the audit log is for the tenant's admins"));
  if (q.tenant && *q.tenant != v.tenant)
    return std::unexpected(std::string("the audit log of another tenant is not yours to read"));
  q.tenant = v.tenant;
  return q;
}

// ---- event stream ----

bool EventFilter::sees_device(std::string_view device) const {
  return scope == EventScope::tenant || sorted_has(own, device);
}

bool EventFilter::sees_line(std::string_view device) const {
  if (scope == EventScope::tenant || sorted_has(own, device)) return true;
  return scope == EventScope::team && sorted_has(team, device);
}

bool EventFilter::sees_call(const model::Call& c) const {
  if (scope == EventScope::tenant) return true;
  return std::any_of(c.connections.begin(), c.connections.end(),
                     [&](const model::Connection& conn) { return sees_device(conn.device); });
}

std::expected<EventFilter, std::string> event_filter(const Viewer& v, EventScope scope, std::vector<std::string> team) {
  if (scope == EventScope::tenant && !v.sees_whole_tenant())
    return std::unexpected("scope=tenant needs the supervisor or admin role");
  EventFilter f;
  f.scope = scope;
  f.own = v.extensions;
  sort_unique(f.own);
  if (scope == EventScope::team && !v.team.empty()) {
    f.team = std::move(team);
    sort_unique(f.team);
  }
  f.user = v.user;
  f.admin = v.is_admin();
  return f;
}

bool may_see_queue(const Viewer& v, const model::Queue& q) {
  if (v.sees_whole_tenant()) return true;
  for (const auto& m : q.members)
    if (!m.device.empty() && v.owns(m.device)) return true;
  return false;
}

bool may_change_agent(const Viewer& v, std::string_view device, std::span<const std::string> team) {
  if (device.empty()) return false;
  if (v.is_admin() || v.owns(device)) return true;
  if (v.role != Role::supervisor || v.team.empty()) return false;
  return std::find(team.begin(), team.end(), device) != team.end();
}

}  // namespace callbridge::core
