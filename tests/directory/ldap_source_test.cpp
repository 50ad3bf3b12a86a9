// LdapContactSource against a real slapd (label "ldap").
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/lookup_service.hpp"
#include "directory/ldap/ldap_contact_source.hpp"
#include "directory/slapd_server.hpp"
#include "directory/store/sqlite_contact_store.hpp"

namespace callbridge::directory {
namespace {

using namespace std::chrono_literals;
using testing::SlapdServer;

constexpr const char* kLdif = R"(dn: ou=people,dc=example,dc=com
objectClass: organizationalUnit
ou: people

dn: uid=anna,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: anna
cn: Anna Schmidt
sn: Schmidt
givenName: Anna
displayName: Anna Schmidt
o: ACME GmbH
telephoneNumber: +49 211 339903-45
mobile: +49 171 5550101

dn: uid=juergen,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: juergen
cn:: SsO8cmdlbiBNw7xsbGVy
sn: Mueller
o: Baeckerei Mueller
telephoneNumber: +49 30 1234567
homePhone: +49 30 7654321

dn: uid=shared1,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: shared1
cn: Front Desk One
sn: One
telephoneNumber: +49 89 111222

dn: uid=shared2,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: shared2
cn: Front Desk Two
sn: Two
telephoneNumber: +49-89-111222

dn: ou=companies,dc=example,dc=com
objectClass: organizationalUnit
ou: companies

dn: o=Globex AG,ou=companies,dc=example,dc=com
objectClass: organization
o: Globex AG
telephoneNumber: +49 221 4455660

)";

class LdapSourceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto s = SlapdServer::start(kLdif);
    ASSERT_TRUE(s) << s.error().to_string();
    server_ = std::move(*s);
  }
  static void TearDownTestSuite() { server_.reset(); }

  static LdapSourceOptions options() {
    LdapSourceOptions o;
    o.uri = server_->uri();
    o.base_dn = SlapdServer::kSuffix;
    o.filter_template =
        "(&(|(objectClass=inetOrgPerson)(objectClass=organization))"
        "(|(telephoneNumber={e164})(mobile={e164})(homePhone={e164})))";
    return o;
  }
  static std::unique_ptr<LdapContactSource> source(LdapSourceOptions o = options()) {
    auto s = LdapContactSource::create(std::move(o));
    EXPECT_TRUE(s) << s.error().to_string();
    return std::move(*s);
  }
  static ports::LookupQuery query(std::vector<std::string> cands, std::chrono::milliseconds t = 5000ms) {
    ports::LookupQuery q{.tenant = base::TenantId("default")};
    q.e164 = cands[0];
    q.candidates = std::move(cands);
    q.deadline = std::chrono::steady_clock::now() + t;
    return q;
  }

  static std::unique_ptr<SlapdServer> server_;
};
std::unique_ptr<SlapdServer> LdapSourceTest::server_;

TEST_F(LdapSourceTest, FindsPersonByFormattedStoredNumber) {
  auto src = source();
  auto r = src->lookup(query({"+4921133990345"}));
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->size(), 1u);
  const auto& m = (*r)[0];
  EXPECT_EQ(m.display_name, "Anna Schmidt");
  EXPECT_EQ(m.company, "ACME GmbH");
  EXPECT_EQ(m.contact_id, "uid=anna,ou=people,dc=example,dc=com");
  EXPECT_EQ(m.matched_number, "+4921133990345");
  EXPECT_EQ(m.label, "work");
  EXPECT_EQ(m.source, "ldap");
  EXPECT_EQ(m.priority, 20);
  EXPECT_EQ(m.kind, ports::ContactKind::person);
}

TEST_F(LdapSourceTest, MobileAndHomeLabelsAndUtf8Names) {
  auto src = source();
  auto mob = src->lookup(query({"+491715550101"}));
  ASSERT_TRUE(mob);
  ASSERT_EQ(mob->size(), 1u);
  EXPECT_EQ((*mob)[0].label, "mobile");
  auto home = src->lookup(query({"+49307654321"}));
  ASSERT_TRUE(home);
  ASSERT_EQ(home->size(), 1u);
  EXPECT_EQ((*home)[0].display_name, "J\xC3\xBCrgen M\xC3\xBCller");
  EXPECT_EQ((*home)[0].label, "home");
}

TEST_F(LdapSourceTest, ReturnsEveryEntryWithTheNumber) {
  auto r = source()->lookup(query({"+4989111222"}));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 2u);
  std::set<std::string> names{(*r)[0].display_name, (*r)[1].display_name};
  EXPECT_EQ(names, (std::set<std::string>{"Front Desk One", "Front Desk Two"}));
}

TEST_F(LdapSourceTest, CandidatesFindCompanyEntries) {
  auto r = source()->lookup(query({"+492214455667", "+49221445566", "+492214455660"}));
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].display_name, "Globex AG");
  EXPECT_EQ((*r)[0].kind, ports::ContactKind::company);
  EXPECT_EQ((*r)[0].matched_number, "+492214455660");
}

TEST_F(LdapSourceTest, NoMatchIsEmptyNotError) {
  auto r = source()->lookup(query({"+4940999999"}));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());
}

TEST_F(LdapSourceTest, CustomTemplateAndAttributeMapping) {
  auto o = options();
  o.filter_template = "(&(objectClass=inetOrgPerson)(uid=anna)(telephoneNumber={e164}))";
  o.name_attributes = {"uid"};
  o.company_attribute = "";
  o.number_attributes = {{"telephoneNumber", "office"}};
  auto r = source(o)->lookup(query({"+4921133990345"}));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].display_name, "anna");
  EXPECT_EQ((*r)[0].company, "");
  EXPECT_EQ((*r)[0].label, "office");
}

TEST_F(LdapSourceTest, AuthenticatedBindAndWrongPassword) {
  auto o = options();
  o.bind_dn = SlapdServer::kRootDn;
  o.bind_password = SlapdServer::kRootPw;
  auto ok = source(o)->lookup(query({"+4921133990345"}));
  ASSERT_TRUE(ok) << ok.error().to_string();
  EXPECT_EQ(ok->size(), 1u);
  o.bind_password = "wrong";
  auto bad = source(o)->lookup(query({"+4921133990345"}));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("invalid credentials"), std::string::npos) << bad.error().to_string();
}

TEST_F(LdapSourceTest, FilterEscapingAndValidation) {
  EXPECT_EQ(ldap_filter_escape("a*b(c)d\\e"), "a\\2ab\\28c\\29d\\5ce");
  auto o = options();
  o.filter_template = "(telephoneNumber={e164})";
  auto src = source(o);
  EXPECT_EQ(src->build_filter({"+491"}), "(telephoneNumber=+491)");
  EXPECT_EQ(src->build_filter({"+491", "+49"}), "(|(telephoneNumber=+491)(telephoneNumber=+49))");
  o.filter_template = "(telephoneNumber=*)";
  EXPECT_FALSE(LdapContactSource::create(o));
  o.filter_template = "(telephoneNumber={e164})";
  o.uri = "http://x";
  EXPECT_FALSE(LdapContactSource::create(o));
}

TEST_F(LdapSourceTest, ReconnectsAfterServerRestart) {
  auto src = source();
  ASSERT_TRUE(src->lookup(query({"+4921133990345"})));
  server_->stop();
  auto down = src->lookup(query({"+4921133990345"}, 2000ms));
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code(), base::Errc::unavailable) << down.error().to_string();
  auto restarted = server_->restart();
  ASSERT_TRUE(restarted) << restarted.error().to_string();
  auto up = src->lookup(query({"+4921133990345"}));
  ASSERT_TRUE(up) << up.error().to_string();
  EXPECT_EQ(up->size(), 1u);
}

// A peer that accepts TCP but never answers: the lookup must end by its deadline.
TEST(LdapSourceDeadline, SilentServerTimesOutByDeadline) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(s, 8), 0);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  LdapSourceOptions o;
  o.uri = "ldap://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/";
  o.base_dn = "dc=example,dc=com";
  o.bind_dn = "cn=admin,dc=example,dc=com";  // a bind needs an answer: it waits
  o.bind_password = "x";
  auto src = std::move(*LdapContactSource::create(o));
  ports::LookupQuery q{.tenant = base::TenantId("default")};
  q.e164 = "+4921133990345";
  q.candidates = {q.e164};
  auto t0 = std::chrono::steady_clock::now();
  q.deadline = t0 + 300ms;
  auto r = src->lookup(q);
  auto took = std::chrono::steady_clock::now() - t0;
  close(s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), base::Errc::timeout) << r.error().to_string();
  EXPECT_LT(took, 2s);
}

// The whole engine: built-in store + LDAP, company fallback found in LDAP.
// Issue 13: the dial box and the contacts page search every directory by name and number.
TEST_F(LdapSourceTest, TextSearchFindsPeopleAndCompaniesByNameCompanyOrNumber) {
  auto src = LdapContactSource::create(options());
  ASSERT_TRUE(src) << src.error().to_string();
  auto search = [&](std::string text, std::size_t limit = 20) {
    ports::SearchQuery q{.tenant = base::TenantId("default")};
    q.text = std::move(text);
    q.limit = limit;
    q.deadline = std::chrono::steady_clock::now() + 5s;
    auto r = (*src)->search(q);
    EXPECT_TRUE(r) << r.error().to_string();
    return r ? *r : std::vector<ports::ContactHit>{};
  };
  EXPECT_TRUE((*src)->searches_text());
  auto anna = search("schmi");
  ASSERT_EQ(anna.size(), 1u);
  EXPECT_EQ(anna[0].display_name, "Anna Schmidt");
  EXPECT_EQ(anna[0].company, "ACME GmbH");
  EXPECT_EQ(anna[0].source, "ldap");
  EXPECT_EQ(anna[0].contact_id, "uid=anna,ou=people,dc=example,dc=com");
  ASSERT_EQ(anna[0].numbers.size(), 2u);
  EXPECT_EQ(anna[0].numbers[0].label, "work");
  EXPECT_EQ(anna[0].numbers[0].raw, "+49 211 339903-45");
  EXPECT_EQ(anna[0].numbers[0].e164, "+4921133990345");
  EXPECT_EQ(anna[0].numbers[1].label, "mobile");
  auto by_number = search("1234567");
  ASSERT_EQ(by_number.size(), 1u);
  EXPECT_EQ(by_number[0].company, "Baeckerei Mueller");
  auto by_company = search("globex");
  ASSERT_EQ(by_company.size(), 1u);
  EXPECT_EQ(by_company[0].kind, ports::ContactKind::company);
  EXPECT_EQ(search("front desk").size(), 2u);
  EXPECT_EQ(search("front desk", 1).size(), 1u) << "the limit is the server's size limit";
  EXPECT_TRUE(search("a").empty()) << "one character finds nothing yet";
  EXPECT_TRUE(search("*)(uid=*").empty()) << "filter characters are escaped";
  EXPECT_EQ((*src)->build_search_filter("a*b").find("a*b"), std::string::npos);
}

TEST_F(LdapSourceTest, LookupServiceMergesStoreAndLdap) {
  directory::SqliteContactStoreOptions so;
  so.path = ":memory:";
  std::shared_ptr<SqliteContactStore> store = std::move(*SqliteContactStore::open(so));
  ports::Contact c{.tenant = base::TenantId("default")};
  c.display_name = "Anna (store)";
  c.numbers = {{"work", "+4921133990345", "+4921133990345"}};
  ASSERT_TRUE(store->create(c));
  std::shared_ptr<LdapContactSource> ldap = source();
  base::ManualClock clock(base::from_micros(0));
  core::LookupService svc({{store, 1000ms}, {ldap, 2000ms}}, {}, clock);
  auto exact = svc.lookup("default", "+4921133990345");
  ASSERT_EQ(exact.matches.size(), 2u);
  EXPECT_EQ(exact.matches[0].contact.display_name, "Anna (store)");
  EXPECT_EQ(exact.matches[1].contact.display_name, "Anna Schmidt");
  EXPECT_TRUE(exact.complete());
  auto company = svc.lookup("default", "+4922144556677");
  ASSERT_EQ(company.matches.size(), 1u) << "direct dial -77 of Globex finds the -0 switchboard";
  EXPECT_EQ(company.matches[0].contact.display_name, "Globex AG");
  EXPECT_EQ(company.matches[0].kind, core::MatchKind::company);
}

}  // namespace
}  // namespace callbridge::directory
