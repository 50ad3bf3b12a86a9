// The contacts capability alone (its routes on the API's own): CRUD and lookup through the real
// SQLite contact store, tenant separation; and its service (display names, E.164 without a plan).
#include <gtest/gtest.h>

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
