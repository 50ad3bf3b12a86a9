// The journal capability alone (its routes on the API's own): filters, paging, CSV, notes, each as
// the visibility policy allows; and its service's CSV export. Real SQLite stores (support/rest_fixture).
#include <gtest/gtest.h>

#include "capabilities/journal/journal_routes.hpp"
#include "capabilities/journal/journal_service.hpp"
#include "support/rest_fixture.hpp"

namespace callbridge::capabilities::journal {
namespace {

namespace json = boost::json;
using api::testsupport::kA;
using api::testsupport::kB;

class JournalRoutes : public api::testsupport::RestFixture {
 protected:
  void add_capabilities(CapabilityContext& c) override { register_journal(c); }
};

TEST_F(JournalRoutes, AreFilteredByRoleAndExtension) {
  auto user = add_user(kA, "anna", "user", {"100"});
  auto sup = add_user(kA, "sup", "supervisor", {});
  for (int i = 0; i < 30; ++i) add_journal(kA, i % 2 ? "100" : "101", i);
  ASSERT_TRUE(journal_->flush());
  auto r = json::parse(call("GET", "/api/v1/journal?limit=500", user).body);
  EXPECT_EQ(r.at("entries").as_array().size(), 15u);
  for (const auto& e : r.at("entries").as_array()) EXPECT_EQ(e.at("party").as_string(), "100");
  EXPECT_EQ(call("GET", "/api/v1/journal?party=101", user).status, 403);
  auto all = json::parse(call("GET", "/api/v1/journal?limit=10", sup).body);
  ASSERT_EQ(all.at("entries").as_array().size(), 10u);
  auto next = all.at("next_before").as_int64();
  auto page2 = json::parse(call("GET", "/api/v1/journal?limit=100&before=" + std::to_string(next), sup).body);
  EXPECT_EQ(page2.at("entries").as_array().size(), 20u);
  EXPECT_TRUE(page2.at("next_before").is_null());
  auto missed = json::parse(call("GET", "/api/v1/journal?disposition=missed&limit=500", sup).body);
  EXPECT_EQ(missed.at("entries").as_array().size(), 10u);
  auto csv = call("GET", "/api/v1/journal.csv?party=100", user);
  ASSERT_EQ(csv.status, 200);
  EXPECT_EQ(csv.content_type, "text/csv; charset=utf-8");
  EXPECT_EQ(std::count(csv.body.begin(), csv.body.end(), '\n'), 16);
  // Notes: the user may annotate own entries only.
  std::int64_t own = r.at("entries").as_array()[0].at("id").as_int64();
  auto p = call("PATCH", "/api/v1/journal/" + std::to_string(own), user, R"({"note":"call back =1+1"})");
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(json::parse(p.body).at("note").as_string(), "call back =1+1");
  auto other = json::parse(call("GET", "/api/v1/journal?party=101&limit=1", sup).body).at("entries").as_array()[0].at("id").as_int64();
  EXPECT_EQ(call("PATCH", "/api/v1/journal/" + std::to_string(other), user, R"({"note":"x"})").status, 404);
  EXPECT_EQ(call("PATCH", "/api/v1/journal/" + std::to_string(other), sup, R"({"note":"x"})").status, 200);
}


TEST_F(JournalRoutes, AnotherTenantsEntriesLookAbsent) {
  auto admin_a = add_user(kA, "adm", "admin", {});
  auto admin_b = add_user(kB, "adm", "admin", {});
  add_journal(kA, "100", 1);
  add_journal(kB, "100", 2);
  ASSERT_TRUE(journal_->flush());
  auto a = json::parse(call("GET", "/api/v1/journal", admin_a).body).at("entries").as_array();
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].at("call_id").as_string(), "ta-call-j1");
  auto b = json::parse(call("GET", "/api/v1/journal", admin_b).body).at("entries").as_array();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(call("PATCH", "/api/v1/journal/" + std::to_string(a[0].at("id").as_int64()), admin_b, R"({"note":"x"})").status,
            404);
  EXPECT_EQ(call("GET", "/api/v1/contacts", admin_a).status, 404) << "only the journal is registered";
}

// Issue 13: a missed call is done after a successful callback; the counter of open missed calls;
// the mark and the chosen contact through PATCH; the search finds the chosen contact.
TEST_F(JournalRoutes, MissedCallsAreCountedUntilCalledBackOrMarkedDone) {
  auto anna = add_user(kA, "anna", "user", {"100"});
  auto ben = add_user(kA, "ben", "user", {"101"});
  auto sup = add_user(kA, "sup", "supervisor", {"109"});
  auto entry = [&](const std::string& party, const std::string& remote, model::Disposition d, int at_s) {
    model::JournalEntry e{.tenant = base::TenantId(kA.name)};
    e.call_id = "c" + std::to_string(at_s);
    e.party = party;
    e.remote = remote;
    e.direction = d == model::Disposition::answered ? model::Direction::outbound : model::Direction::inbound;
    e.disposition = d;
    e.started_at = api::testsupport::t0() + std::chrono::seconds(at_s);
    if (d == model::Disposition::answered) e.answered_at = e.started_at + std::chrono::seconds(3);
    e.ended_at = e.started_at + std::chrono::seconds(20);
    journal_->append(e);
  };
  entry("100", "+491100555", model::Disposition::missed, 1);
  entry("100", "+491100666", model::Disposition::missed, 2);
  entry("101", "+491100555", model::Disposition::missed, 3);
  ASSERT_TRUE(journal_->flush());
  auto count = [&](const std::string& token) {
    auto r = call("GET", "/api/v1/journal/missed-count", token);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body).at("missed").as_int64();
  };
  EXPECT_EQ(count(anna), 2);
  EXPECT_EQ(count(ben), 1);
  EXPECT_EQ(count(sup), 0) << "the counter is about the caller's own extensions";
  EXPECT_EQ(call("GET", "/api/v1/journal/missed-count").status, 401);
  EXPECT_EQ(call("GET", "/api/v1/journal/missed-count?since=yesterday", anna).status, 400);
  EXPECT_EQ(call("GET", "/api/v1/journal/missed-count?party=101", anna).status, 400);
  // Anna calls +491100555 back and talks: her missed call from there is done, Ben's is not.
  entry("100", "+491100555", model::Disposition::answered, 10);
  ASSERT_TRUE(journal_->flush());
  EXPECT_EQ(count(anna), 1);
  EXPECT_EQ(count(ben), 1);
  auto open = json::parse(call("GET", "/api/v1/journal?disposition=missed&done=false", anna).body).at("entries").as_array();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].at("remote").as_string(), "+491100666");
  EXPECT_EQ(open[0].at("done").as_bool(), false);
  auto done = json::parse(call("GET", "/api/v1/journal?done=true", anna).body).at("entries").as_array();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].at("remote").as_string(), "+491100555");
  EXPECT_EQ(call("GET", "/api/v1/journal?done=maybe", anna).status, 400);

  // By hand: done, and the contact chosen in the pop (the store's name and company win).
  ports::Contact c{.tenant = base::TenantId(kA.name)};
  c.display_name = "Erika Mustermann";
  c.company = "Muster GmbH";
  auto cid = contacts_->create(c);
  ASSERT_TRUE(cid);
  const auto id = std::to_string(open[0].at("id").as_int64());
  auto p = call("PATCH", "/api/v1/journal/" + id, anna,
                R"({"done":true,"contact":{"id":")" + std::to_string(*cid) + R"(","source":"store","name":"spoofed"}})");
  ASSERT_EQ(p.status, 200) << p.body;
  auto patched = json::parse(p.body);
  EXPECT_TRUE(patched.at("done").as_bool());
  EXPECT_EQ(patched.at("contact").at("name").as_string(), "Erika Mustermann");
  EXPECT_EQ(patched.at("contact").at("company").as_string(), "Muster GmbH");
  EXPECT_EQ(count(anna), 0);
  auto found = json::parse(call("GET", "/api/v1/journal?q=mustermann", anna).body).at("entries").as_array();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(std::to_string(found[0].at("id").as_int64()), id);
  EXPECT_TRUE(json::parse(call("GET", "/api/v1/journal?q=mustermann", ben).body).at("entries").as_array().empty());
  // A contact of another directory keeps the name the client saw; clearing it.
  p = call("PATCH", "/api/v1/journal/" + id, anna, R"({"contact":{"id":"cn=x","source":"ldap","name":"X Ldap"}})");
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(json::parse(p.body).at("contact").at("source").as_string(), "ldap");
  p = call("PATCH", "/api/v1/journal/" + id, anna, R"({"contact":null,"done":false})");
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_FALSE(json::parse(p.body).as_object().contains("contact"));
  EXPECT_EQ(count(anna), 1);
  // Bad input: named, 400; another user's entry: 404.
  for (const char* bad : {R"({})", R"({"done":"yes"})", R"({"colour":"red"})", R"({"contact":{"id":"1"}})",
                          R"({"contact":{"id":"999999","source":"store"}})", R"({"contact":{"id":"x","source":"ldap"}})",
                          R"({"contact":{"id":"x","source":"a b","name":"n"}})", R"({"contact":7})"}) {
    auto r = call("PATCH", "/api/v1/journal/" + id, anna, bad);
    EXPECT_EQ(r.status, 400) << bad << " " << r.body;
  }
  EXPECT_EQ(call("PATCH", "/api/v1/journal/" + id, ben, R"({"done":true})").status, 404);
}

TEST(JournalService, CsvIsFormulaSafeAndMarksEstimates) {
  ports::StoredEntry se{.id = 7, .entry = model::JournalEntry{.tenant = base::TenantId("ta")}};
  auto& e = se.entry;
  e.call_id = "c1";
  e.party = "100";
  e.direction = model::Direction::inbound;
  e.remote = "+4921155555";
  e.remote_name = "=HYPERLINK(\"x\")";
  e.disposition = model::Disposition::answered;
  e.started_at = api::testsupport::t0();
  e.answered_at = e.started_at + std::chrono::seconds(3);
  e.ended_at = e.started_at + std::chrono::seconds(63);
  e.note = "a, \"b\"";
  e.device_number = "+491701234567";  // AnyDevice: carried by the user's mobile
  e.device_name = "mobile";
  e.private_device = true;
  e.trunk_channel_s = 121.5;  // the mobile's and the remote's channels
  auto csv = to_csv({se});
  auto nl = csv.find("\r\n");
  ASSERT_NE(nl, std::string::npos);
  EXPECT_TRUE(csv.starts_with("id,call_id,party,direction,remote,"));
  std::string row = csv.substr(nl + 2);
  EXPECT_TRUE(row.starts_with("7,c1,100,inbound,+4921155555,")) << row;
  EXPECT_EQ(row.find(",=HYPERLINK"), std::string::npos) << "a formula must not start a cell: " << row;
  EXPECT_NE(row.find(",3.0,60.0,"), std::string::npos) << row;
  EXPECT_NE(row.find("\"a, \"\"b\"\"\""), std::string::npos) << row;
  EXPECT_TRUE(row.ends_with(",mobile,+491701234567,true,121.5\r\n")) << row;
  EXPECT_NE(csv.find(",done,device,device_number,private_device,trunk_channel_s\r\n"), std::string::npos);
}

}  // namespace
}  // namespace callbridge::capabilities::journal
