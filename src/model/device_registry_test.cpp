// The device registry's pure parts: the User-Agent parser on the formats phones really send, and
// the registry's changed-set and derived fields (registration, address).
#include <gtest/gtest.h>

#include "model/device_registry.hpp"

namespace callbridge::model {
namespace {

struct UaCase {
  const char* ua;
  const char* vendor;
  const char* model;
  const char* firmware;
};

TEST(UserAgentParser, KnownFormatsGiveVendorModelAndFirmware) {
  const UaCase cases[] = {
      {"Yealink SIP-T46S 66.86.0.15", "Yealink", "SIP-T46S", "66.86.0.15"},
      {"Yealink SIP-T54W 96.86.0.100", "Yealink", "SIP-T54W", "96.86.0.100"},
      {"Grandstream GXP2170 1.0.11.23", "Grandstream", "GXP2170", "1.0.11.23"},
      {"Fanvil X4U 2.12.1 0c383e5ab0c5", "Fanvil", "X4U", "2.12.1"},
      {"snomD785/10.1.54.13", "snom", "D785", "10.1.54.13"},
      {"snom D785/10.1.54.13", "snom", "D785", "10.1.54.13"},
      {"snom760/8.7.5.35", "snom", "760", "8.7.5.35"},
      {"Cisco/SPA504G-7.6.2b", "Cisco", "SPA504G", "7.6.2b"},
      {"PolycomVVX-VVX_411-UA/5.9.5.0614", "Polycom", "VVX_411", "5.9.5.0614"},
      {"MicroSIP/3.21.3", "", "MicroSIP", "3.21.3"},
      {"Linphone Desktop/4.2.5 (Ubuntu 22.04, Qt 5.15.3) LinphoneCore/5.0.0", "", "Linphone Desktop", "4.2.5"},
      {"Gigaset N510 IP PRO/42.250.00.000.000", "", "Gigaset N510 IP PRO", "42.250.00.000.000"},
  };
  for (const auto& c : cases) {
    auto i = parse_user_agent(c.ua);
    EXPECT_EQ(i.vendor, c.vendor) << c.ua;
    EXPECT_EQ(i.model, c.model) << c.ua;
    EXPECT_EQ(i.firmware, c.firmware) << c.ua;
  }
}

TEST(UserAgentParser, UnknownFormatsStayUnparsed) {
  for (const char* ua : {"", "   ", "SIPp-phone-100", "Zoiper rv2.10.20.5", "Asterisk PBX", "phone",
                         "Yealink\x01 SIP-T46S 66.86.0.15", "/1.2.3"}) {
    auto i = parse_user_agent(ua);
    EXPECT_EQ(i, UserAgentInfo{}) << ua;
  }
  // Bounded: a huge header is read only so far and never throws.
  std::string huge = "Vendor " + std::string(100000, 'x') + " 1.2.3";
  EXPECT_EQ(parse_user_agent(huge), UserAgentInfo{});
}

TEST(DeviceRegistry, RegistrationAddressAndChangedIds) {
  DeviceRegistry r("pbx1");
  auto& d = r.upsert("100");
  EXPECT_EQ(d.id, "pbx1:100");
  EXPECT_EQ(d.registration(), Registration::unregistered);
  EXPECT_EQ(d.address(), "");
  d.contacts.push_back({"sip:127.0.0.1:5070", "127.0.0.1:5070", "", "NonQualified", std::nullopt, false});
  EXPECT_EQ(d.registration(), Registration::static_contact);
  EXPECT_EQ(d.address(), "127.0.0.1:5070");
  d.contacts.push_back({"sip:100@10.0.0.5:5062", "10.0.0.5:5062", "Yealink SIP-T46S 66.86.0.15", "Reachable",
                        std::nullopt, true});
  DeviceRegistry::refresh_agent(d);
  EXPECT_EQ(d.registration(), Registration::registered);
  EXPECT_EQ(d.address(), "10.0.0.5:5062");
  EXPECT_EQ(d.agent.model, "SIP-T46S");
  r.upsert("101");
  r.upsert("100");
  EXPECT_EQ(r.take_changed(), (std::vector<std::string>{"pbx1:100", "pbx1:101"}));
  EXPECT_FALSE(r.has_changes());
  EXPECT_EQ(r.find_id("pbx1:100"), r.find("100"));
  EXPECT_EQ(r.find_id("pbx2:100"), nullptr);
  EXPECT_EQ(r.find_id("pbx1:"), nullptr);
  EXPECT_TRUE(r.erase("101"));
  EXPECT_FALSE(r.erase("101"));
  EXPECT_EQ(r.take_changed(), (std::vector<std::string>{"pbx1:101"}));
  EXPECT_EQ(r.size(), 1u);
}

TEST(DeviceRegistry, StatusFromLineState) {
  EXPECT_EQ(device_status(DeviceState::idle), DeviceStatus::on_hook);
  EXPECT_EQ(device_status(DeviceState::busy), DeviceStatus::off_hook);
  EXPECT_EQ(device_status(DeviceState::held), DeviceStatus::off_hook);
  EXPECT_EQ(device_status(DeviceState::ringing), DeviceStatus::ringing);
  EXPECT_EQ(device_status(DeviceState::unavailable), DeviceStatus::offline);
  EXPECT_EQ(device_status(DeviceState::unknown), DeviceStatus::unknown);
  EXPECT_EQ(to_string(DeviceStatus::off_hook), "off_hook");
}

}  // namespace
}  // namespace callbridge::model
