// Config -> AMI driver wiring: the new [tenant.X.dialing] keys, the tenant dialing plan as the
// tracker's number hooks, and [[pbx]] -> AmiLinkOptions.
#include "app/ami_wiring.hpp"

#include <gtest/gtest.h>

namespace callbridge::app {
namespace {

Config parse(std::string_view toml) {
  auto c = parse_config(toml, "test.toml");
  EXPECT_TRUE(c) << c.error().message();
  return c ? *c : Config{};
}

std::string error_of(std::string_view toml) {
  auto c = parse_config(toml, "test.toml");
  return c ? std::string("<no error>") : c.error().message();
}

TEST(AmiWiring, DialingKeysForThePlanAreReadAndChecked) {
  Config c = parse(R"(
[tenant.acme.dialing]
country_code = "49"
region = "DE"
area_code = "211"
base_number = "339903"
extension_ranges = ["100-199", "20-29"]
pbx_reports_outside_prefix = true
)");
  const DialingConfig& d = c.tenants.at("acme").dialing;
  EXPECT_EQ(d.region, "DE");
  EXPECT_EQ(d.extension_ranges, (std::vector<std::string>{"100-199", "20-29"}));
  EXPECT_TRUE(d.pbx_reports_outside_prefix);
  auto o = dialing_plan_options(d);
  ASSERT_EQ(o.extension_ranges.size(), 2u);
  EXPECT_EQ(o.extension_ranges[0].first, "100");
  EXPECT_EQ(o.extension_ranges[0].last, "199");
  EXPECT_TRUE(o.pbx_reports_outside_prefix);
  EXPECT_EQ(o.national_prefix, "0");

  EXPECT_NE(error_of("[tenant.a.dialing]\ncountry_code = \"49\"\nregion = \"de\"\n")
                .find("tenant.a.dialing.region: expected a two-letter upper-case region code"),
            std::string::npos);
  EXPECT_NE(error_of("[tenant.a.dialing]\ncountry_code = \"49\"\nextension_ranges = [\"100-19\"]\n")
                .find("tenant.a.dialing.extension_ranges[0]: expected \"FIRST-LAST\""),
            std::string::npos);
  EXPECT_NE(error_of("[tenant.a.dialing]\ncountry_code = \"49\"\nextension_ranges = [\"200-100\"]\n")
                .find("extension_ranges[0]"),
            std::string::npos);
}

TEST(AmiWiring, WithoutADialingSectionTheTrackerDefaultsApply) {
  auto o = tracker_options(Config{}, "default");
  ASSERT_TRUE(o) << o.error().message();
  EXPECT_EQ(o->tenant, "default");
  // No plan, no invented country: national numbers stay as the PBX reported them.
  EXPECT_EQ(o->canonical_remote("089123456"), "089123456");
  EXPECT_EQ(o->canonical_remote("+49 89 123456"), "+4989123456");
  EXPECT_TRUE(o->is_internal_number("100"));
  EXPECT_FALSE(o->is_internal_number("089123456"));
}

TEST(AmiWiring, TheTenantPlanDecidesInternalNumbersAndE164) {
  Config c = parse(R"(
[tenant.ch.dialing]
country_code = "41"
area_code = "44"
base_number = "6681"
extension_length = 3
outside_prefix = "0"
)");
  auto o = tracker_options(c, "ch");
  ASSERT_TRUE(o) << o.error().message();
  EXPECT_EQ(o->tenant, "ch");
  EXPECT_TRUE(o->is_internal_number("800"));
  EXPECT_FALSE(o->is_internal_number("80"));       // not an extension length of this plan
  EXPECT_TRUE(o->is_internal_number("*8"));        // feature codes stay internal
  EXPECT_EQ(o->canonical_remote("0446681800"), "+41446681800");  // a Swiss national number
  EXPECT_EQ(o->canonical_remote("+49 89 123456"), "+4989123456");
  EXPECT_EQ(o->canonical_remote("sip:someone"), "sip:someone");  // not a number: kept

  // A tenant without a section falls back to the defaults; an invalid plan is an error naming it.
  EXPECT_TRUE(tracker_options(c, "other"));
  Config bad = parse("[tenant.x.dialing]\ncountry_code = \"999\"\n");
  auto e = tracker_options(bad, "x");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message().rfind("tenant.x.dialing: ", 0), 0u) << e.error().message();
}

TEST(AmiWiring, PbxEntryMapsToLinkOptions) {
  PbxConfig p;
  p.name = "main";
  p.host = "10.0.0.5";
  p.port = 5039;
  p.user = "cti";
  p.secret = "s";
  p.auth = AmiAuth::plain;
  p.keepalive_s = 0;
  p.connect_timeout_s = 3;
  p.reconnect_min_ms = 100;
  p.reconnect_max_ms = 9000;
  p.record_dir = "/tmp/rec";
  auto o = ami_link_options(p);
  EXPECT_EQ(o.session.host, "10.0.0.5");
  EXPECT_EQ(o.session.port, 5039);
  EXPECT_EQ(o.session.connect_timeout, std::chrono::seconds(3));
  EXPECT_EQ(o.protocol.login_timeout, std::chrono::seconds(3));
  EXPECT_EQ(o.protocol.username, "cti");
  EXPECT_EQ(o.protocol.secret, "s");
  EXPECT_EQ(o.protocol.auth, drivers::ami::AmiAuth::plain);
  EXPECT_EQ(o.protocol.ping_interval.count(), 0);  // keepalive off
  EXPECT_EQ(o.backoff.initial, std::chrono::milliseconds(100));
  EXPECT_EQ(o.backoff.max, std::chrono::milliseconds(9000));
  ASSERT_TRUE(o.record_dir);
  EXPECT_EQ(*o.record_dir, std::filesystem::path("/tmp/rec"));
  EXPECT_EQ(o.record_prefix, "main");

  p.auth = AmiAuth::md5;
  p.keepalive_s = 30;
  p.record_dir.clear();
  o = ami_link_options(p);
  EXPECT_EQ(o.protocol.auth, drivers::ami::AmiAuth::md5);
  EXPECT_EQ(o.protocol.ping_interval, std::chrono::seconds(30));
  EXPECT_EQ(o.protocol.ping_timeout, std::chrono::seconds(10));
  EXPECT_FALSE(o.record_dir);
}

}  // namespace
}  // namespace callbridge::app

namespace callbridge::app {
namespace {

// A tenant that only has phones (or call control) and no [tenant.X.dialing]: the defaults apply
// (it used to stop callbridged with "country code must be 1-3 digits, got ''").
TEST(AmiWiring, TenantWithPhonesButNoDialingSectionGetsTheDefaultPlan) {
  Config c = parse(R"(
[[tenant.acme.phones]]
devices = ["1*"]
answer_event = "talk"
)");
  ASSERT_TRUE(c.tenants.contains("acme"));
  EXPECT_TRUE(c.tenants.at("acme").dialing.country_code.empty());
  auto o = tracker_options(c, "acme");
  ASSERT_TRUE(o) << o.error().message();
  auto d = tracker_options(Config{}, "acme");  // what a tenant without any section gets
  ASSERT_TRUE(d);
  for (std::string_view n : {"100", "+4989123456", "089123456", "anonymous"}) {
    EXPECT_EQ(o->canonical_remote(n), d->canonical_remote(n)) << n;
    EXPECT_EQ(o->is_internal_number(n), d->is_internal_number(n)) << n;
  }
}

}  // namespace
}  // namespace callbridge::app
