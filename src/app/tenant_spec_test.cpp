// Tenant specs (app/tenant_spec.hpp): the JSON form is read by the TOML file's readers, so the
// same keys mean the same and fail with the same words; defaults, secrets, size limits.
#include "app/tenant_spec.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "app/config.hpp"

namespace callbridge::app {
namespace {

const char* kFull = R"({
  "id": "acme", "display_name": "ACME GmbH",
  "pbx": [{"host": "pbx.acme.example", "port": 5039, "user": "cti", "secret": "s3cret", "auth": "plain",
           "keepalive_s": 0}],
  "dialing": {"country_code": "+49", "area_code": "211", "base_number": "339903", "extension_length": 2,
              "outside_prefix": "0", "region": "DE", "extension_ranges": ["10-99"], "pbx_reports_outside_prefix": true},
  "call_control": {"context": "from-cti", "any_device": {"10": "+491701234567"}},
  "phones": [{"devices": ["1*"], "answer_event": "talk"}],
  "directory": {"ldap": [{"uri": "ldap://ldap.acme", "base_dn": "dc=acme", "bind_password": "pw"}],
                "http": [{"url": "https://crm.acme/lookup?n={e164}", "headers": {"Authorization": "Bearer x"}}]}
})";

// Tables come back in key order (TOML tables are sorted maps), so LDAP number_attributes, which
// default to a hand-written order, are compared sorted.
TenantSpec normalized(TenantSpec s) {
  for (auto& l : s.ldap) std::sort(l.number_attributes.begin(), l.number_attributes.end());
  return s;
}

std::string error_of(std::string_view json, std::optional<std::string_view> id = "acme") {
  auto s = parse_tenant_spec(json, id);
  return s ? std::string("<no error>") : s.error().message();
}

TEST(TenantSpec, ReadsEveryPartWithTheFileReaders) {
  auto s = parse_tenant_spec(kFull, "acme");
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->id, "acme");
  EXPECT_EQ(s->display_name, "ACME GmbH");
  ASSERT_EQ(s->pbx.size(), 1u);
  EXPECT_EQ(s->pbx[0].name, "acme");  // one link: named after the tenant
  EXPECT_EQ(s->pbx[0].tenant, "acme");
  EXPECT_EQ(s->pbx[0].port, 5039);
  EXPECT_EQ(s->pbx[0].auth, AmiAuth::plain);
  EXPECT_EQ(s->pbx[0].keepalive_s, 0);
  EXPECT_EQ(s->settings.dialing.country_code, "49");  // '+' dropped as in the file
  EXPECT_EQ(s->settings.dialing.extension_ranges, std::vector<std::string>{"10-99"});
  EXPECT_TRUE(s->settings.dialing.pbx_reports_outside_prefix);
  EXPECT_EQ(s->settings.call_control.context, "from-cti");
  EXPECT_EQ(s->settings.call_control.any_device.at("10"), "+491701234567");
  ASSERT_EQ(s->settings.phones.size(), 1u);
  ASSERT_EQ(s->ldap.size(), 1u);
  EXPECT_EQ(s->ldap[0].name, "acme-ldap");
  EXPECT_EQ(s->ldap[0].tenant, "acme");
  ASSERT_EQ(s->http.size(), 1u);
  EXPECT_EQ(s->http[0].name, "acme-crm");
  EXPECT_EQ(s->http[0].headers.at(0).second, "Bearer x");

  // The same tenant written as TOML gives the same structs.
  auto file = parse_config(R"toml(
[[pbx]]
name = "acme"
tenant = "acme"
host = "pbx.acme.example"
port = 5039
user = "cti"
secret = "s3cret"
auth = "plain"
keepalive_s = 0
[tenant.acme.dialing]
country_code = "+49"
area_code = "211"
base_number = "339903"
extension_length = 2
outside_prefix = "0"
region = "DE"
extension_ranges = ["10-99"]
pbx_reports_outside_prefix = true
[tenant.acme.call_control]
context = "from-cti"
any_device = { "10" = "+491701234567" }
[[tenant.acme.phones]]
devices = ["1*"]
answer_event = "talk"
[[directory.ldap]]
name = "acme-ldap"
tenant = "acme"
uri = "ldap://ldap.acme"
base_dn = "dc=acme"
bind_password = "pw"
[[directory.http]]
name = "acme-crm"
tenant = "acme"
url = "https://crm.acme/lookup?n={e164}"
headers = { Authorization = "Bearer x" }
)toml", "t.toml");
  ASSERT_TRUE(file) << file.error().message();
  EXPECT_EQ(tenant_config_of(*s), [&] {
    Config c;
    c.pbx = file->pbx;
    c.tenants = file->tenants;
    c.directory.ldap = file->directory.ldap;
    c.directory.http = file->directory.http;
    return c;
  }());
}

TEST(TenantSpec, RoundTripsThroughJson) {
  // Every part set, and the defaults only (what `callbridge tenant set` sends back after a GET).
  for (const char* text : {kFull, R"({"pbx": [{"host": "h", "user": "u", "secret": "s"}],
                                      "directory": {"ldap": [{"uri": "ldap://l", "base_dn": "dc=x"}],
                                                    "http": [{"url": "https://c/{e164}"}]},
                                      "phones": [{"devices": ["*"]}]})", "{}"}) {
    auto s = parse_tenant_spec(text, "acme");
    ASSERT_TRUE(s) << s.error().message();
    auto again = parse_tenant_spec(tenant_spec_json(*s, true), "acme");
    ASSERT_TRUE(again) << again.error().message() << "\n" << tenant_spec_json(*s, true);
    EXPECT_EQ(normalized(*again), normalized(*s));
  }
}

TEST(TenantSpec, ErrorsNameTheKeyAsTheFileDoes) {
  EXPECT_EQ(error_of(R"({"pbx": [{"host": "h", "user": "u", "secret": "s", "port": 0}]})"),
            "pbx[0].port: expected a port number 1..65535, got 0");
  EXPECT_EQ(error_of(R"({"dialing": {"country_code": "4x"}})"),
            "dialing.country_code: expected a string of digits (e.g. \"49\"), got \"4x\"");
  EXPECT_EQ(error_of(R"({"dialing": {"contry_code": "49"}})"),
            "dialing.contry_code: unknown key (did you mean \"country_code\"?)");
  EXPECT_EQ(error_of(R"({"pbx": [{"host": "h", "user": "u"}]})"), "pbx.secret: required (or --ami-secret)");
  EXPECT_EQ(error_of(R"({"colour": "red"})"), "colour: unknown key");
  EXPECT_EQ(error_of(R"({"pbx": [{"host": "h", "user": "u", "secret": "s", "tenant": "other"}]})"),
            "pbx[0].tenant: not accepted in a tenant spec (the spec is the tenant)");
  EXPECT_NE(error_of(R"({"pbx": [{"host": "h", "user": "u", "secret": "s", "record_dir": "/tmp"}]})")
                .find("pbx[0].record_dir: not accepted"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"directory": {"store": {"memory_index": false}}})").find("directory.store: not accepted"),
            std::string::npos);
  EXPECT_EQ(error_of(R"({"pbx": {"host": "h"}})"), "pbx: expected an array of objects, got a table");
  EXPECT_EQ(error_of(R"({"directory": {"http": [{"url": "https://a/{e164}", "name": "store"}]}})"),
            "directory.http[0].name: \"store\" is the built-in contact store's name; choose another");
  // Links of one tenant need distinct names.
  EXPECT_EQ(error_of(R"({"pbx": [{"name": "a", "host": "h", "user": "u", "secret": "s"},
                                 {"name": "a", "host": "h2", "user": "u", "secret": "s"}]})"),
            "pbx[1].name: \"a\" is used by two links");
  // A plan the numbering library rejects fails as the file's would (without the file's prefix).
  EXPECT_NE(error_of(R"({"dialing": {"country_code": "999"}})"), "<no error>");
}

TEST(TenantSpec, IdsAreCheckedAndTheOperatorsIsReserved) {
  EXPECT_EQ(error_of(R"({"id": "other"})"), "id: \"other\" differs from the tenant of the URL, \"acme\"");
  EXPECT_EQ(error_of("{}", "a b"), "id: expected a tenant id (1..64 letters, digits, '-' and '_'), got \"a b\"");
  EXPECT_EQ(error_of("{}", "_operator"), "id: \"_operator\" is reserved for the operator's users");
  EXPECT_EQ(error_of("{}", std::string(65, 'a')).substr(0, 24), "id: expected a tenant id");
  EXPECT_EQ(error_of("{}", std::nullopt), "id: required (a tenant id: letters, digits, '-' and '_')");
  auto s = parse_tenant_spec(R"({"id": "beta"})", std::nullopt);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->id, "beta");
  EXPECT_TRUE(s->pbx.empty());
  // The file cannot take the operator's id either.
  auto c = parse_config("[tenant._operator.dialing]\ncountry_code = \"49\"\n", "t.toml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("reserved"), std::string::npos);
  c = parse_config("[[pbx]]\nhost = \"h\"\nuser = \"u\"\nsecret = \"s\"\ntenant = \"_operator\"\n", "t.toml");
  ASSERT_FALSE(c);
}

TEST(TenantSpec, BadJsonAndLimits) {
  EXPECT_EQ(error_of("[1]"), "tenant spec: expected a JSON object");
  EXPECT_NE(error_of("{\"id\": ").find("invalid JSON"), std::string::npos);
  EXPECT_NE(error_of(std::string(2 * kMaxTenantSpecBytes + 1, ' ')).find("larger than"), std::string::npos);
  std::string deep(40, '[');
  EXPECT_NE(error_of("{\"x\": " + deep + "}").find("invalid JSON"), std::string::npos);
  std::string many = R"({"pbx": [)";
  for (std::size_t i = 0; i <= kMaxTenantLinks; ++i)
    many += (i ? "," : "") + std::string(R"({"host": "h", "user": "u", "secret": "s"})");
  EXPECT_EQ(error_of(many + "]}"), "pbx: at most 16 entries");
  EXPECT_EQ(error_of(R"({"pbx": [{"host": "h", "user": "u", "secret": "s", "port": 18446744073709551615}]})"),
            "pbx[0].port: number out of range");
}

TEST(TenantSpec, SecretsAreWriteOnlyAndKeptWhenLeftOut) {
  auto s = parse_tenant_spec(kFull, "acme");
  ASSERT_TRUE(s);
  auto shown = tenant_spec_json(*s, false);
  EXPECT_EQ(shown.find("s3cret"), std::string::npos) << shown;
  EXPECT_EQ(shown.find("\"pw\""), std::string::npos) << shown;
  EXPECT_EQ(shown.find("Bearer"), std::string::npos) << shown;
  // What GET shows, sent back with a change: the stored secrets stay.
  auto merged = keep_stored_secrets(shown, *s);
  auto again = parse_tenant_spec(merged, "acme");
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(normalized(*again), normalized(*s));
  // A new secret replaces the stored one; a link with a new name gets none (and must bring one).
  auto changed = parse_tenant_spec(
      keep_stored_secrets(R"({"pbx": [{"host": "h", "user": "u", "secret": "new"}]})", *s), "acme");
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->pbx[0].secret, "new");
  EXPECT_EQ(error_of(keep_stored_secrets(R"({"pbx": [{"name": "other", "host": "h", "user": "u"}]})", *s)),
            "pbx.secret: required (or --ami-secret)");
  EXPECT_EQ(keep_stored_secrets("not json", *s), "not json");
}

TEST(TenantSpec, FileTenantsAreTheOnesTheFileNames) {
  auto c = parse_config(R"toml(
[[pbx]]
host = "h"
user = "u"
secret = "s"
[tenant.beta.dialing]
country_code = "43"
[[directory.http]]
tenant = "gamma"
url = "https://crm/{e164}"
)toml", "t.toml");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(file_tenants(*c), (std::vector<std::string>{"beta", "default", "gamma"}));
  EXPECT_TRUE(file_tenants(Config{}).empty());
}

}  // namespace
}  // namespace callbridge::app
