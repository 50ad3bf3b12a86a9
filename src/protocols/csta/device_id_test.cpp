// Device identifier forms: plain, E.164, OpenScape "N<...>;noa=..", tel: URIs, and the errors.
#include <gtest/gtest.h>

#include "protocols/csta/device_id.hpp"

namespace callbridge::protocols::csta {
namespace {

TEST(CstaDeviceId, PlainAndE164) {
  auto a = parse_device_id("101");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->number, "101");
  EXPECT_EQ(a->kind, 0);
  EXPECT_FALSE(a->e164());
  auto b = parse_device_id(" +4930555101 ");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->number, "+4930555101");
  EXPECT_TRUE(b->e164());
  auto c = parse_device_id("*21#");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->number, "*21#");
}

TEST(CstaDeviceId, OpenScapeForms) {
  // As OpenScape Voice writes them in events (seen with and without '+', with displayNumber).
  auto a = parse_device_id("N<+4930555101>;noa=nk");
  ASSERT_TRUE(a.has_value()) << a.error().message();
  EXPECT_EQ(a->kind, 'N');
  EXPECT_EQ(a->number, "+4930555101");
  EXPECT_EQ(a->param("noa"), "nk");
  EXPECT_EQ(a->param("missing"), "");
  auto b = parse_device_id("N<302118840101>;displayNumber=302118840101;noa=nk");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->number, "302118840101");
  EXPECT_EQ(b->param("displaynumber"), "302118840101");  // keys compare case-insensitively
  EXPECT_EQ(b->param("noa"), "nk");
  auto c = parse_device_id("N<101>");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->number, "101");
  EXPECT_EQ(c->params, "");
}

TEST(CstaDeviceId, TelUri) {
  auto a = parse_device_id("tel:+4930555101;phone-context=dialstring");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->number, "+4930555101");
  EXPECT_EQ(a->param("phone-context"), "dialstring");
}

TEST(CstaDeviceId, Errors) {
  for (std::string_view bad : {"", "   ", "N<+49", "N<>", "10a1", "+49+30", "N<101>x", "abc",
                               "123456789012345678901234567890123"}) {
    auto r = parse_device_id(bad);
    EXPECT_FALSE(r.has_value()) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code(), base::Errc::invalid_argument);
    }
  }
}

TEST(CstaDeviceId, Format) {
  EXPECT_EQ(format_device_id("+4930555101", DeviceIdStyle::plain), "+4930555101");
  EXPECT_EQ(format_device_id("+4930555101", DeviceIdStyle::openscape), "N<+4930555101>");
  EXPECT_EQ(format_device_id("+4930555101", DeviceIdStyle::openscape, "nk"), "N<+4930555101>;noa=nk");
  const std::string text = format_device_id("101", DeviceIdStyle::openscape, "nk");
  auto back = parse_device_id(text);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->number, "101");
}

}  // namespace
}  // namespace callbridge::protocols::csta
