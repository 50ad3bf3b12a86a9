// core::visibility: every rule for each role (user, supervisor, admin) in both of two tenants that
// use the same user names, extensions and teams, so that only the tenant tells them apart.
#include "core/visibility.hpp"

#include <gtest/gtest.h>

#include <map>
#include <type_traits>

namespace callbridge::core {
namespace {

using model::ConnectionState;

static_assert(!std::is_default_constructible_v<Viewer>, "a viewer without a tenant must not compile");

base::Timestamp t0() { return base::from_micros(1'795'000'000'000'000LL); }

// In-memory journal: tenant, party, before_id and limit, newest first (what the policy relies on).
struct MemJournal final : ports::JournalStore {
  std::vector<ports::StoredEntry> rows;
  int queries = 0;
  void append(model::JournalEntry e) override {
    rows.push_back({static_cast<std::int64_t>(rows.size() + 1), std::move(e)});
  }
  base::Status flush() override { return {}; }
  base::Result<std::vector<ports::StoredEntry>> query(const ports::JournalQuery& q) override {
    ++queries;
    std::vector<ports::StoredEntry> out;
    for (auto it = rows.rbegin(); it != rows.rend() && out.size() < q.limit; ++it) {
      if (it->entry.tenant != q.tenant) continue;
      if (q.party && it->entry.party != *q.party) continue;
      if (q.before_id && it->id >= *q.before_id) continue;
      if (q.id && it->id != *q.id) continue;
      out.push_back(*it);
    }
    return out;
  }
  base::Status set_note(const std::string&, std::int64_t, const std::string&) override { return {}; }
  base::Result<std::size_t> purge_before(base::Timestamp) override { return std::size_t{0}; }
};

model::JournalEntry entry(const base::TenantId& t, const std::string& party) {
  model::JournalEntry e{.tenant = t};
  e.call_id = std::string(t) + "-" + party;
  e.party = party;
  e.started_at = e.ended_at = t0();
  return e;
}

// Each viewer owns extension 100 and is in team "sales" with ben (102); cid (101) is in "support";
// 103 belongs to nobody. The other tenant has the same people.
Viewer viewer(const base::TenantId& t, Role r) {
  return Viewer{.tenant = t, .user = "anna", .role = r, .extensions = {"100"}, .team = "sales"};
}

std::vector<ports::User> users_of_both() {
  std::vector<ports::User> out;
  for (base::TenantId t : {base::TenantId("ta"), base::TenantId("tb")}) {
    out.push_back({.tenant = t, .name = "anna", .role = "user", .display_name = "", .extensions = {"100"}, .team = "sales"});
    out.push_back({.tenant = t, .name = "ben", .role = "user", .display_name = "", .extensions = {"102"}, .team = "sales"});
    out.push_back({.tenant = t, .name = "cid", .role = "user", .display_name = "", .extensions = {"101"}, .team = "support"});
  }
  // A "sales" user of tb with an extension only tb has: never part of ta's team.
  out.push_back({.tenant = "tb", .name = "dora", .role = "user", .display_name = "", .extensions = {"104"}, .team = "sales"});
  return out;
}

struct Case {
  const char* tenant;
  const char* other;
  Role role;
};

class VisibilityByRole : public ::testing::TestWithParam<Case> {
 protected:
  base::TenantId t() const { return base::TenantId(std::string_view(GetParam().tenant)); }
  base::TenantId o() const { return base::TenantId(std::string_view(GetParam().other)); }
  Role role() const { return GetParam().role; }
  bool whole() const { return role() != Role::user; }
};

TEST_P(VisibilityByRole, CallsSeenAndActedOn) {
  model::CallModel own(t()), other(o());
  for (auto* m : {&own, &other}) {
    m->update("c100", "100", ConnectionState::alerting, model::CallEventType::delivered, t0(), "+491");
    m->update("c101", "101", ConnectionState::alerting, model::CallEventType::delivered, t0(), "+492");
    m->update("c102", "102", ConnectionState::connected, model::CallEventType::established, t0(), "+493");
  }
  const Viewer v = viewer(t(), role());
  EXPECT_TRUE(may_see(v, own, *own.find_call("c100")));
  EXPECT_EQ(may_see(v, own, *own.find_call("c101")), whole());
  EXPECT_EQ(may_see(v, own, *own.find_call("c102")), whole());  // a team mate's call: presence only
  for (const char* id : {"c100", "c101", "c102"}) {
    EXPECT_FALSE(may_see(v, other, *other.find_call(id))) << id;  // same extension, other tenant
    EXPECT_FALSE(may_act_on(v, other, *other.find_call(id))) << id;
  }
  // Acting needs one's own extension in the call, whatever the role.
  EXPECT_TRUE(may_act_on(v, own, *own.find_call("c100")));
  EXPECT_FALSE(may_act_on(v, own, *own.find_call("c101")));
  EXPECT_TRUE(may_act_from(v, "100"));
  EXPECT_FALSE(may_act_from(v, "101"));
  EXPECT_FALSE(may_act_from(v, ""));
}

TEST_P(VisibilityByRole, LinesOwnTeamOrWholeTenant) {
  const Viewer v = viewer(t(), role());
  const auto users = users_of_both();
  const LineScope s = line_scope(v, users);
  EXPECT_EQ(s.whole_tenant(), whole());
  EXPECT_TRUE(s.sees("100"));
  EXPECT_TRUE(s.sees("102"));                 // ben, same team
  EXPECT_EQ(s.sees("101"), whole());          // cid, other team
  EXPECT_EQ(s.sees("103"), whole());          // nobody's line
  // dora is "sales" in tb only: her line is ta's team presence for nobody.
  EXPECT_EQ(s.sees("104"), whole() || std::string_view(GetParam().tenant) == "tb");
  EXPECT_EQ(team_extensions(v, users),
            (std::string_view(GetParam().tenant) == "ta" ? std::vector<std::string>{"100", "102"}
                                                         : std::vector<std::string>{"100", "102", "104"}));
  Viewer loner = v;
  loner.team.clear();
  EXPECT_TRUE(team_extensions(loner, users).empty());
  EXPECT_EQ(line_scope(loner, users).sees("102"), whole());
}

TEST_P(VisibilityByRole, JournalEntriesQueriesAndLookups) {
  MemJournal store;
  for (base::TenantId tn : {t(), o()})
    for (const char* party : {"100", "101", "102"}) store.append(entry(tn, party));
  const Viewer v = viewer(t(), role());
  EXPECT_TRUE(may_see(v, entry(t(), "100")));
  EXPECT_EQ(may_see(v, entry(t(), "101")), whole());
  EXPECT_FALSE(may_see(v, entry(o(), "100")));

  // The tenant is the viewer's even when the query named another.
  ports::JournalQuery q{.tenant = o()};
  q.limit = 50;
  auto qs = journal_queries(v, q);
  ASSERT_TRUE(qs);
  ASSERT_EQ(qs->size(), 1u);
  EXPECT_EQ((*qs)[0].tenant, t());
  EXPECT_EQ((*qs)[0].party, whole() ? std::nullopt : std::optional<std::string>("100"));
  auto r = run_journal_queries(store, *qs, q.limit);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), whole() ? 3u : 1u);
  for (const auto& e : *r) EXPECT_TRUE(may_see(v, e.entry));

  q.party = "101";
  auto forbidden = journal_queries(v, q);
  EXPECT_EQ(forbidden.has_value(), whole());
  if (!whole()) {
    EXPECT_EQ(forbidden.error(), "party 101 is not one of your extensions");
  }

  // By id: 1..3 are the viewer's tenant's entries, 4..6 the other tenant's (same parties).
  const std::int64_t base_own = 0, base_other = 3;
  auto own100 = find_journal_entry(store, v, base_own + 1);
  ASSERT_TRUE(own100);
  ASSERT_TRUE(*own100);
  EXPECT_EQ((*own100)->entry.party, "100");
  auto own101 = find_journal_entry(store, v, base_own + 2);
  ASSERT_TRUE(own101);
  EXPECT_EQ(own101->has_value(), whole());
  for (std::int64_t id = base_other + 1; id <= base_other + 3; ++id) {
    auto x = find_journal_entry(store, v, id);
    ASSERT_TRUE(x);
    EXPECT_FALSE(*x) << id;
  }
  auto none = find_journal_entry(store, v, 99);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);

  // Callback: from the entry's party; a supervisor or admin acts as that line.
  auto cb = callback_caller(v, entry(t(), "101"));
  EXPECT_EQ(cb.has_value(), whole());
  if (cb) {
    EXPECT_EQ(cb->extensions, std::vector<std::string>{"101"});
  }
  auto mine = callback_caller(v, entry(t(), "100"));
  ASSERT_TRUE(mine);
  EXPECT_EQ(mine->extensions, v.extensions);
  EXPECT_FALSE(callback_caller(v, entry(o(), "100")));
}

TEST_P(VisibilityByRole, ContactsCommandsAdministration) {
  const Viewer v = viewer(t(), role());
  EXPECT_TRUE(may_see(v, ports::Contact{.tenant = t()}));
  EXPECT_TRUE(may_edit(v, ports::Contact{.tenant = t()}));
  EXPECT_FALSE(may_see(v, ports::Contact{.tenant = o()}));
  EXPECT_FALSE(may_edit(v, ports::Contact{.tenant = o()}));

  EXPECT_TRUE(may_see_command(v, t(), "anna"));
  EXPECT_EQ(may_see_command(v, t(), "ben"), role() == Role::admin);  // not supervisors (docs/api.md)
  EXPECT_FALSE(may_see_command(v, o(), "anna"));                      // the same name elsewhere
  EXPECT_FALSE(may_see_command(v, o(), "ben"));

  EXPECT_EQ(may_administer(v), role() == Role::admin);
}

TEST_P(VisibilityByRole, AuditLogIsTheTenantAdminsAndAlwaysTheirTenant) {
  const Viewer v = viewer(t(), role());
  // No tenant named, or their own: an admin reads their own; other roles nothing.
  for (std::optional<base::TenantId> asked : {std::optional<base::TenantId>(t()), std::optional<base::TenantId>()}) {
    auto q = audit_query(v, ports::AuditQuery{.tenant = asked, .actor = "anna", .limit = 7});
    ASSERT_EQ(q.has_value(), role() == Role::admin);
    if (!q) {
      EXPECT_EQ(q.error(), "the audit log is for the tenant's admins");
      continue;
    }
    ASSERT_TRUE(q->tenant);
    EXPECT_EQ(*q->tenant, t());
    EXPECT_EQ(q->actor, "anna");
    EXPECT_EQ(q->limit, 7u);
  }
  // Another tenant, or the operator's records, named: refused (403), never read as one's own.
  for (const base::TenantId& other : {o(), base::TenantId(ports::kUnattributedAuditTenant)}) {
    auto q = audit_query(v, ports::AuditQuery{.tenant = other});
    ASSERT_FALSE(q.has_value()) << other.str();
    EXPECT_EQ(q.error(), role() == Role::admin ? "the audit log of another tenant is not yours to read"
                                               : "the audit log is for the tenant's admins");
  }
}

// The operator (above the tenants' admins) reads the tenant named, any of them, or every tenant.
TEST(Visibility, TheOperatorReadsTheAuditLogOfAnyTenantOrAll) {
  const Viewer op{.tenant = base::TenantId(ports::kUnattributedAuditTenant), .user = "ops", .role = Role::operator_};
  for (const char* name : {"ta", "tb", "_operator"}) {
    auto q = audit_query(op, ports::AuditQuery{.tenant = base::TenantId(std::string_view(name)), .kind = "call"});
    ASSERT_TRUE(q) << name;
    ASSERT_TRUE(q->tenant);
    EXPECT_EQ(*q->tenant, std::string_view(name));
    EXPECT_EQ(q->kind, "call");
  }
  auto all = audit_query(op, ports::AuditQuery{.tenant = std::nullopt, .limit = 9});
  ASSERT_TRUE(all);
  EXPECT_FALSE(all->tenant.has_value());  // every tenant's records
  EXPECT_EQ(all->limit, 9u);
}

TEST_P(VisibilityByRole, EventFilterNeverWiderThanThePolicy) {
  const Viewer v = viewer(t(), role());
  auto team = team_extensions(v, users_of_both());
  auto tenant = event_filter(v, EventScope::tenant, team);
  ASSERT_EQ(tenant.has_value(), whole());
  if (!whole()) {
    EXPECT_EQ(tenant.error(), "scope=tenant needs the supervisor or admin role");
  } else {
    EXPECT_TRUE(tenant->sees_line("101") && tenant->sees_device("101"));
  }

  auto own = event_filter(v, EventScope::own, team);
  ASSERT_TRUE(own);
  EXPECT_EQ(own->user, "anna");
  EXPECT_TRUE(own->sees_device("100"));
  EXPECT_FALSE(own->sees_device("102"));
  EXPECT_FALSE(own->sees_line("102"));  // own scope: no team presence
  EXPECT_TRUE(own->team.empty());

  auto t_scope = event_filter(v, EventScope::team, team);
  ASSERT_TRUE(t_scope);
  EXPECT_TRUE(t_scope->sees_line("102"));
  EXPECT_FALSE(t_scope->sees_device("102"));  // never a team mate's calls or journal
  EXPECT_FALSE(t_scope->sees_line("101"));

  // Whatever the scope, a filter sees no call, line or entry the policy hides.
  model::CallModel m(t());
  const auto users = users_of_both();
  const LineScope lines = line_scope(v, users);
  for (int d = 100; d <= 104; ++d)
    m.update("c" + std::to_string(d), std::to_string(d), ConnectionState::alerting, model::CallEventType::delivered, t0(), "+49");
  for (auto scope : {EventScope::own, EventScope::team, EventScope::tenant}) {
    auto f = event_filter(v, scope, team);
    if (!f) continue;
    for (const auto& [id, c] : m.calls()) {
      const std::string& d = c.connections[0].device;
      EXPECT_TRUE(!f->sees_call(c) || may_see(v, m, c)) << id;
      EXPECT_TRUE(!f->sees_device(d) || may_see(v, entry(t(), d))) << d;
      EXPECT_TRUE(!f->sees_line(d) || lines.sees(d)) << d;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(BothTenantsEveryRole, VisibilityByRole,
                         ::testing::Values(Case{"ta", "tb", Role::user}, Case{"ta", "tb", Role::supervisor},
                                           Case{"ta", "tb", Role::admin}, Case{"tb", "ta", Role::user},
                                           Case{"tb", "ta", Role::supervisor}, Case{"tb", "ta", Role::admin}),
                         [](const auto& info) {
                           return std::string(info.param.tenant) + "_" + std::string(to_string(info.param.role));
                         });

TEST(Visibility, UserWithSeveralExtensionsGetsOneQueryEachMergedNewestFirst) {
  MemJournal store;
  for (int i = 0; i < 30; ++i) store.append(entry("ta", std::to_string(100 + i % 3)));
  Viewer v{.tenant = "ta", .user = "u", .role = Role::user, .extensions = {"101", "100", "101"}, .team = ""};
  ports::JournalQuery q{.tenant = "ta"};
  q.limit = 12;
  auto qs = journal_queries(v, q);
  ASSERT_TRUE(qs);
  ASSERT_EQ(qs->size(), 2u);  // duplicates folded
  auto r = run_journal_queries(store, *qs, q.limit);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 12u);
  for (std::size_t i = 1; i < r->size(); ++i) EXPECT_GT((*r)[i - 1].id, (*r)[i].id);
  for (const auto& e : *r) EXPECT_NE(e.entry.party, "102");
  Viewer none{.tenant = "ta", .user = "x", .role = Role::user, .extensions = {}, .team = ""};
  auto nq = journal_queries(none, q);
  ASSERT_TRUE(nq);
  EXPECT_TRUE(nq->empty());
  auto nr = run_journal_queries(store, *nq, q.limit);
  ASSERT_TRUE(nr);
  EXPECT_TRUE(nr->empty());
}

TEST(Visibility, RolesParseAndPrint) {
  for (Role r : {Role::user, Role::supervisor, Role::admin}) EXPECT_EQ(parse_role(to_string(r)), r);
  EXPECT_FALSE(parse_role("root"));
  EXPECT_FALSE(parse_role(""));
}

}  // namespace
}  // namespace callbridge::core
