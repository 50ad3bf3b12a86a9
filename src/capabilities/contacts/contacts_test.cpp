// The contacts capability alone (its routes on the API's own): CRUD and lookup through the real
// SQLite contact store, tenant separation; and its service (display names, E.164 without a plan).
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "core/lookup_service.hpp"

#include "capabilities/contacts/contacts_routes.hpp"
#include "capabilities/contacts/contacts_service.hpp"
#include "support/rest_fixture.hpp"

namespace callbridge::capabilities::contacts {
namespace {

namespace json = boost::json;
using api::testsupport::kA;
using api::testsupport::kB;

class ContactsRoutes : public api::testsupport::RestFixture {
 protected:
  void add_capabilities(CapabilityContext& c) override { register_contacts(c); }
};

TEST_F(ContactsRoutes, CrudAndLookup) {
  auto user = add_user(kA, "anna", "user", {"100"});
  auto c = call("POST", "/api/v1/contacts", user,
                R"({"given_name":"Max","family_name":"Muster","company":"ACME","numbers":[{"label":"work","number":"+49 211 339903-12"}]})");
  ASSERT_EQ(c.status, 201) << c.body;
  auto cj = json::parse(c.body);
  EXPECT_EQ(cj.at("display_name").as_string(), "Max Muster");
  std::string id(cj.at("id").as_string());
  auto l = json::parse(call("GET", "/api/v1/contacts/lookup?number=%2B4921133990312", user).body);
  ASSERT_EQ(l.at("matches").as_array().size(), 1u);
  EXPECT_EQ(l.at("matches").as_array()[0].at("name").as_string(), "Max Muster");
  auto p = call("PATCH", "/api/v1/contacts/" + id, user, R"({"note":"VIP"})");
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(json::parse(p.body).at("note").as_string(), "VIP");
  EXPECT_EQ(json::parse(p.body).at("numbers").as_array().size(), 1u);
  EXPECT_EQ(call("DELETE", "/api/v1/contacts/" + id, user).status, 204);
  EXPECT_EQ(call("GET", "/api/v1/contacts/" + id, user).status, 404);
}


TEST_F(ContactsRoutes, AnotherTenantsContactsLookAbsent) {
  auto a = add_user(kA, "anna", "user", {"100"});
  auto b = add_user(kB, "bob", "user", {"100"});
  auto c = call("POST", "/api/v1/contacts", a, R"({"company":"ACME","kind":"company","numbers":[{"number":"+4921133990312"}]})");
  ASSERT_EQ(c.status, 201) << c.body;
  std::string id(json::parse(c.body).at("id").as_string());
  EXPECT_EQ(json::parse(c.body).at("display_name").as_string(), "ACME");
  EXPECT_EQ(call("GET", "/api/v1/contacts/" + id, b).status, 404);
  EXPECT_EQ(call("PATCH", "/api/v1/contacts/" + id, b, R"({"note":"x"})").status, 404);
  EXPECT_TRUE(json::parse(call("GET", "/api/v1/contacts", b).body).at("contacts").as_array().empty());
  auto l = json::parse(call("GET", "/api/v1/contacts/lookup?number=%2B4921133990312", b).body);
  EXPECT_TRUE(l.at("matches").as_array().empty());
  EXPECT_EQ(call("POST", "/api/v1/contacts", a, R"({"note":"no name"})").status, 400);
}

// A CRM that only answers whole numbers (as the HTTP source does), and a directory that searches
// text but never answers in time.
struct NumberOnlyCrm final : ports::ContactSource {
  std::string name_ = "crm";
  const std::string& name() const override { return name_; }
  int priority() const override { return 30; }
  base::Result<std::vector<ports::ContactMatch>> lookup(const ports::LookupQuery& q) override {
    std::vector<ports::ContactMatch> out;
    if (q.e164 == "+4989123456")
      out.push_back({.source = "crm", .priority = 30, .contact_id = "crm-7", .display_name = "Carla CRM",
                     .company = "Globex", .matched_number = q.e164, .label = "main"});
    return out;
  }
};
struct SilentDirectory final : ports::ContactSource {
  std::string name_ = "slow";
  const std::string& name() const override { return name_; }
  int priority() const override { return 40; }
  base::Result<std::vector<ports::ContactMatch>> lookup(const ports::LookupQuery&) override {
    return std::vector<ports::ContactMatch>{};
  }
  bool searches_text() const override { return true; }
  base::Result<std::vector<ports::ContactHit>> search(const ports::SearchQuery& q) override {
    // A directory that gives up only at its deadline (nothing ever wakes it earlier).
    std::mutex m;
    std::condition_variable never;
    std::unique_lock lock(m);
    while (std::chrono::steady_clock::now() < q.deadline) never.wait_until(lock, q.deadline);
    return base::fail(base::Error::timeout("slow: no answer"));
  }
};

class ContactsSearch : public ContactsRoutes {
 protected:
  void extend_deps(api::RestDeps& d) override {
    // The fixture's store is a shared_ptr-less unique_ptr: wrap it without owning it.
    std::shared_ptr<ports::ContactSource> store(std::shared_ptr<void>(), contacts_.get());
    std::vector<core::LookupSourceConfig> sources{
        {.source = store, .kind = "store"},
        {.source = std::make_shared<NumberOnlyCrm>(), .kind = "http"},
        {.source = std::make_shared<SilentDirectory>(), .timeout = std::chrono::milliseconds(150), .tenants = {kA.name},
         .kind = "ldap"}};
    engine_ = std::make_shared<core::LookupService>(std::move(sources), core::LookupOptions{}, clock_);
    d.lookup = [this](const base::TenantId&) { return engine_; };
  }
  std::shared_ptr<core::LookupService> engine_;
};

// Issue 13: the dial box searches every directory by name and number.
TEST_F(ContactsSearch, FindsContactsOfEveryDirectoryByNameAndNumber) {
  auto anna = add_user(kA, "anna", "user", {"100"});
  auto bob = add_user(kB, "bob", "user", {"100"});
  ASSERT_EQ(call("POST", "/api/v1/contacts", anna,
                 R"({"given_name":"Max","family_name":"Muster","company":"ACME","numbers":[{"label":"work","number":"+49 211 339903-12"},{"label":"mobile","number":"+49 171 5550101"}]})")
                .status, 201);
  ASSERT_EQ(call("POST", "/api/v1/contacts", anna, R"({"company":"Musterhaus","kind":"company","numbers":[{"number":"+4989123456"}]})")
                .status, 201);
  auto r = call("GET", "/api/v1/contacts/search?q=muster", anna);
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = json::parse(r.body);
  auto hits = v.at("contacts").as_array();
  ASSERT_EQ(hits.size(), 2u) << r.body;
  EXPECT_EQ(hits[0].at("name").as_string(), "Max Muster");
  EXPECT_EQ(hits[0].at("source").as_string(), "store");
  EXPECT_TRUE(hits[0].at("editable").as_bool());
  EXPECT_EQ(hits[0].at("numbers").as_array().size(), 2u);
  EXPECT_EQ(hits[0].at("numbers").as_array()[0].at("e164").as_string(), "+4921133990312");
  EXPECT_TRUE(v.at("e164").is_null());
  // The silent directory is reported, not waited for beyond its timeout.
  auto sources = v.at("sources").as_array();
  ASSERT_EQ(sources.size(), 2u) << "the CRM searches no text";
  EXPECT_EQ(sources[0].at("name").as_string(), "store");
  EXPECT_EQ(sources[0].at("state").as_string(), "ok");
  EXPECT_EQ(sources[1].at("name").as_string(), "slow");
  EXPECT_EQ(sources[1].at("state").as_string(), "timeout");
  // A number: the store by its digits, and the lookup reaches the CRM too.
  v = json::parse(call("GET", "/api/v1/contacts/search?q=%2B4989123456", anna).body);
  EXPECT_EQ(v.at("e164").as_string(), "+4989123456");
  hits = v.at("contacts").as_array();
  ASSERT_EQ(hits.size(), 2u) << json::serialize(v);
  EXPECT_EQ(hits[0].at("name").as_string(), "Musterhaus");
  EXPECT_EQ(hits[1].at("name").as_string(), "Carla CRM");
  EXPECT_EQ(hits[1].at("source").as_string(), "crm");
  EXPECT_FALSE(hits[1].at("editable").as_bool());
  EXPECT_EQ(hits[1].at("numbers").as_array()[0].at("label").as_string(), "main");
  // Digits of a number inside a contact's number.
  EXPECT_EQ(json::parse(call("GET", "/api/v1/contacts/search?q=5550101", anna).body).at("contacts").as_array().size(), 1u);
  EXPECT_EQ(json::parse(call("GET", "/api/v1/contacts/search?q=muster&limit=1", anna).body).at("contacts").as_array().size(), 1u);
  // Another tenant finds none of it (and its lookups never ask the tenant-bound directory).
  auto other = json::parse(call("GET", "/api/v1/contacts/search?q=muster", bob).body);
  EXPECT_TRUE(other.at("contacts").as_array().empty());
  EXPECT_EQ(other.at("sources").as_array().size(), 1u);
  // Bad input.
  for (const char* bad : {"/api/v1/contacts/search", "/api/v1/contacts/search?q=", "/api/v1/contacts/search?q=%20%20",
                          "/api/v1/contacts/search?q=x&limit=0", "/api/v1/contacts/search?q=x&limit=101",
                          "/api/v1/contacts/search?q=x&source=ldap"})
    EXPECT_EQ(call("GET", bad, anna).status, 400) << bad;
  EXPECT_EQ(call("GET", "/api/v1/contacts/search?q=" + std::string(101, 'x'), anna).status, 400);
  EXPECT_EQ(call("GET", "/api/v1/contacts/search?q=muster").status, 401);
}

TEST_F(ContactsRoutes, ChangesToContactsAreAudited) {
  auto anna = add_user(kA, "anna", "user", {"100"});
  auto c = call("POST", "/api/v1/contacts", anna, R"({"display_name":"Max","note":"secret"})");
  ASSERT_EQ(c.status, 201);
  const std::string id(json::parse(c.body).at("id").as_string());
  ASSERT_EQ(call("PATCH", "/api/v1/contacts/" + id, anna, R"({"note":"other secret"})").status, 200);
  ASSERT_EQ(call("DELETE", "/api/v1/contacts/" + id, anna).status, 204);
  ports::AuditQuery q;
  q.tenant = base::TenantId(kA.name);
  q.kind = "contact";
  auto r = audit_->query(q);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].record.action, "contact.remove");
  EXPECT_EQ((*r)[1].record.action, "contact.change");
  EXPECT_EQ((*r)[1].record.target, "contact:" + id);
  EXPECT_EQ((*r)[1].record.details_json, R"({"keys":["note"]})") << "keys, never the contact's data";
  EXPECT_EQ((*r)[2].record.action, "contact.create");
}

TEST(ContactsService, CompleteDerivesTheDisplayName) {
  ports::Contact person{.tenant = base::TenantId("ta")};
  person.given_name = "Max";
  person.family_name = "Muster";
  EXPECT_EQ(complete(person), std::nullopt);
  EXPECT_EQ(person.display_name, "Max Muster");
  ports::Contact company{.tenant = base::TenantId("ta")};
  company.kind = ports::ContactKind::company;
  company.company = "ACME";
  EXPECT_EQ(complete(company), std::nullopt);
  EXPECT_EQ(company.display_name, "ACME");
  ports::Contact nameless{.tenant = base::TenantId("ta")};
  EXPECT_NE(complete(nameless), std::nullopt);
}

TEST(ContactsService, WithoutADialingPlanOnlyPlusNumbersAreExternal) {
  const base::TenantId t("ta");
  EXPECT_EQ(to_e164({}, t, "+49 211 339903-12"), "+4921133990312");
  EXPECT_EQ(to_e164({}, t, "0211 339903"), std::nullopt);
  EXPECT_EQ(to_e164({}, t, "+1"), std::nullopt);
  ToE164 plan = [](const base::TenantId&, std::string_view raw) -> std::optional<std::string> {
    return raw == "12" ? std::optional<std::string>("+4921133990312") : std::nullopt;
  };
  EXPECT_EQ(to_e164(plan, t, "12"), "+4921133990312");
  EXPECT_EQ(lookup(nullptr, nullptr, t, "+4921133990312").error().code(), base::Errc::unavailable);
}

}  // namespace
}  // namespace callbridge::capabilities::contacts
