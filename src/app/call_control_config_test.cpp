// [tenant.X.call_control] and [[tenant.X.phones]] (app/config.hpp): parsing, errors, phone_for.
#include <gtest/gtest.h>

#include "app/config.hpp"

namespace callbridge::app {
namespace {

TEST(CallControlConfig, ParsesCallControlAndPhones) {
  auto c = parse_config(R"toml(
[tenant.default.call_control]
context = "from-cti"
conference_context = "cb-conf"
click_to_dial_caller_id = "Callbridge"
office_number = "+4930555100"
any_device = { "100" = "+491701234567" }

[[tenant.default.phones]]
devices = ["1*"]
answer_event = "talk"
hold_event = "hold"
retrieve_event = "talk"

[[tenant.default.phones]]
devices = ["105", "2*"]
answer_event = "talk"
)toml", "test");
  ASSERT_TRUE(c) << c.error().to_string();
  const TenantConfig& t = c->tenants.at("default");
  EXPECT_EQ(t.call_control.context, "from-cti");
  EXPECT_EQ(t.call_control.conference_context, "cb-conf");
  EXPECT_EQ(t.call_control.click_to_dial_caller_id, "Callbridge");
  EXPECT_EQ(t.call_control.office_number, "+4930555100");
  EXPECT_EQ(t.call_control.any_device.at("100"), "+491701234567");
  ASSERT_EQ(t.phones.size(), 2u);
  ASSERT_TRUE(phone_for(t, "100"));
  EXPECT_EQ(phone_for(t, "100")->hold_event, "hold");
  EXPECT_EQ(phone_for(t, "105")->hold_event, "");  // exact name beats the "1*" pattern
  EXPECT_EQ(phone_for(t, "201")->answer_event, "talk");
  EXPECT_EQ(phone_for(t, "301"), nullptr);
}

TEST(CallControlConfig, DefaultsAndErrorsNameTheKey) {
  auto c = parse_config("[tenant.default.dialing]\ncountry_code = \"49\"\n", "test");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->tenants.at("default").call_control.context, "from-internal");
  EXPECT_TRUE(c->tenants.at("default").phones.empty());
  EXPECT_EQ(phone_for(c->tenants.at("default"), "100"), nullptr);

  auto bad = parse_config("[[tenant.default.phones]]\nanswer_event = \"talk\"\n", "test");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("tenant.default.phones[0].devices"), std::string::npos) << bad.error().message();
  bad = parse_config("[[tenant.default.phones]]\ndevices = [\"1*\"]\nhold = \"hold\"\n", "test");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("hold"), std::string::npos);
  bad = parse_config("[tenant.default.call_control]\nany_device = { \"100\" = 5 }\n", "test");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("any_device.100"), std::string::npos) << bad.error().message();
  // Device names the PBX dials: no technology prefix, no '.', no spaces (issue 12).
  for (const char* dev : {"PJSIP/101", "../x", "a.b", "1 0"}) {
    bad = parse_config(std::string("[[tenant.default.phones]]\ndevices = [\"") + dev + "\"]\n", "test");
    ASSERT_FALSE(bad) << dev;
    EXPECT_NE(bad.error().message().find("tenant.default.phones[0].devices: '" + std::string(dev) + "' is not a device name"),
              std::string::npos) << bad.error().message();
  }
  bad = parse_config("[tenant.default.call_control]\nany_device = { \"PJSIP/100\" = \"+491701234567\" }\n", "test");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("any_device: 'PJSIP/100' is not a device name"), std::string::npos)
      << bad.error().message();
  // The parking lot goes into the AMI Park action and ParkedCall(<lot>,<space>): a plain name.
  EXPECT_EQ(c->tenants.at("default").call_control.parking_lot, "default");
  auto lot = parse_config("[tenant.default.call_control]\nparking_lot = \"sales-2\"\n", "test");
  ASSERT_TRUE(lot) << lot.error().to_string();
  EXPECT_EQ(lot->tenants.at("default").call_control.parking_lot, "sales-2");
  for (const char* l : {"", "a,b", "lot 1"}) {
    bad = parse_config(std::string("[tenant.default.call_control]\nparking_lot = \"") + l + "\"\n", "test");
    ASSERT_FALSE(bad) << l;
    EXPECT_NE(bad.error().message().find("parking_lot"), std::string::npos) << bad.error().message();
  }
  // Channel accounting: the tenant's trunk limit, 0 (default) = none.
  EXPECT_EQ(c->tenants.at("default").call_control.max_trunk_channels, 0);
  auto trunks = parse_config("[tenant.default.call_control]\nmax_trunk_channels = 30\n", "test");
  ASSERT_TRUE(trunks) << trunks.error().to_string();
  EXPECT_EQ(trunks->tenants.at("default").call_control.max_trunk_channels, 30);
  for (const char* v : {"-1", "\"30\"", "100001"}) {
    bad = parse_config(std::string("[tenant.default.call_control]\nmax_trunk_channels = ") + v + "\n", "test");
    ASSERT_FALSE(bad) << v;
    EXPECT_NE(bad.error().message().find("max_trunk_channels"), std::string::npos) << bad.error().message();
  }
  // The attended transfer's feature codes (alternate/conference within a consultation): DTMF digits.
  EXPECT_EQ(c->tenants.at("default").call_control.atxfer_swap, "*4");
  EXPECT_EQ(c->tenants.at("default").call_control.atxfer_threeway, "*3");
  auto codes = parse_config("[tenant.default.call_control]\natxfer_swap = \"#9\"\natxfer_threeway = \"*30\"\n", "test");
  ASSERT_TRUE(codes) << codes.error().to_string();
  EXPECT_EQ(codes->tenants.at("default").call_control.atxfer_swap, "#9");
  EXPECT_EQ(codes->tenants.at("default").call_control.atxfer_threeway, "*30");
  for (const char* v : {"", "*4x", "123456789", "*4\\r\\nAction: Hangup"}) {
    bad = parse_config(std::string("[tenant.default.call_control]\natxfer_swap = \"") + v + "\"\n", "test");
    ASSERT_FALSE(bad) << v;
    EXPECT_NE(bad.error().message().find("atxfer_swap"), std::string::npos) << bad.error().message();
  }
  bad = parse_config("[tenant.default.call_control]\ncontex = \"x\"\n", "test");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("did you mean"), std::string::npos);
  // The commented reference file still parses to the defaults.
  auto d = parse_config(default_config_toml(), "<default>");
  ASSERT_TRUE(d) << d.error().to_string();
}

}  // namespace
}  // namespace callbridge::app
