// [tenant.X.any_device] (app/config.hpp): the AnyDevice number policy read from the file and from an
// operator's tenant spec, canonical patterns, errors that name the key, and what the daemon makes of
// it (any_device_settings, call_control_options). ctest label `anydevice`.
#include <gtest/gtest.h>

#include "app/config.hpp"
#include "app/tenant_setup.hpp"
#include "app/tenant_spec.hpp"

namespace callbridge::app {
namespace {

TEST(AnyDeviceConfig, ParsesPatternsAndTheBound) {
  auto c = parse_config(R"toml(
[tenant.default.call_control]
any_device = { "100" = "+491709999999" }

[tenant.default.any_device]
allow = ["+49 15*", "+4916*", "+4917*", "+4930xxxxxxx"]
deny = ["+49900*"]
max_devices = 3
)toml", "test");
  ASSERT_TRUE(c) << c.error().to_string();
  const auto& a = c->tenants.at("default").any_device;
  EXPECT_EQ(a.allow, (std::vector<std::string>{"+4915*", "+4916*", "+4917*", "+4930XXXXXXX"}));
  EXPECT_EQ(a.deny, (std::vector<std::string>{"+49900*"}));
  EXPECT_EQ(a.max_devices, 3);
  TenantSetup setup{.id = base::TenantId("default"), .tenant = c->tenants.at("default")};
  auto s = any_device_settings(setup);
  EXPECT_EQ(s->policy.max_devices, 3u);
  EXPECT_EQ(s->tenant_default.at("100"), "+491709999999");
  EXPECT_FALSE(s->policy.refuse("+491701234567"));
  EXPECT_TRUE(s->policy.refuse("+12125550100"));
  // Without the section: any number, 5 devices.
  auto plain = parse_config("[tenant.default.dialing]\ncountry_code = \"49\"\n", "test");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->tenants.at("default").any_device, AnyDeviceConfig{});
}

TEST(AnyDeviceConfig, ErrorsNameTheKey) {
  struct Case {
    const char* toml;
    const char* says;
  } cases[] = {
      {"[tenant.default.any_device]\nallow = [\"+49-17*\"]\n",
       "tenant.default.any_device.allow[0]: \"+49-17*\": '-' at position 4"},
      {"[tenant.default.any_device]\ndeny = [\"+4917*\", \"4990*\"]\n", "tenant.default.any_device.deny[1]: \"4990*\""},
      {"[tenant.default.any_device]\ndeny = [\"+49*0\"]\n", "tenant.default.any_device.deny[0]"},
      {"[tenant.default.any_device]\nallow = \"+4917*\"\n", "tenant.default.any_device.allow: expected an array of strings"},
      {"[tenant.default.any_device]\nmax_devices = 0\n", "tenant.default.any_device.max_devices: expected an integer 1..20"},
      {"[tenant.default.any_device]\nmax_devices = 21\n", "tenant.default.any_device.max_devices"},
      {"[tenant.default.any_device]\nalow = []\n", "tenant.default.any_device.alow: unknown key (did you mean \"allow\"?)"},
      {"[tenant.default]\nany_device = 5\n", "tenant.default.any_device: expected a table"},
  };
  for (const auto& k : cases) {
    auto c = parse_config(k.toml, "test");
    ASSERT_FALSE(c) << k.toml;
    EXPECT_NE(c.error().message().find(k.says), std::string::npos) << c.error().message();
  }
}

TEST(AnyDeviceConfig, TenantSpecsCarryThePolicy) {
  auto s = parse_tenant_spec(R"({"id": "acme", "any_device": {"allow": ["+4917*"], "deny": ["+49900*"], "max_devices": 2}})",
                             "acme");
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->settings.any_device.allow, (std::vector<std::string>{"+4917*"}));
  EXPECT_EQ(s->settings.any_device.max_devices, 2);
  auto again = parse_tenant_spec(tenant_spec_json(*s, true), "acme");
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(again->settings.any_device, s->settings.any_device);
  auto bad = parse_tenant_spec(R"({"id": "acme", "any_device": {"allow": ["0170*"]}})", "acme");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("any_device.allow[0]"), std::string::npos) << bad.error().message();
}

}  // namespace
}  // namespace callbridge::app
