// DeviceIds: "101", "+4930555101" and "N<+4930555101>;noa=nk" name extension 101 of a tenant whose
// DID block is +49 30 555-1xx; answers use the client's form.
#include "csta_server/device_ids.hpp"

#include <gtest/gtest.h>

namespace callbridge::csta_server {
namespace {

std::shared_ptr<const core::DialingPlan> berlin() {
  core::DialingPlanOptions o;
  o.country_code = "49";
  o.area_code = "30";
  o.base_number = "555";
  o.extension_ranges = {{"100", "199"}};
  o.outside_prefix = "0";
  auto p = core::DialingPlan::create(std::move(o));
  EXPECT_TRUE(p) << p.error().to_string();
  return std::make_shared<const core::DialingPlan>(std::move(*p));
}

TEST(DeviceIds, EveryFormOfAnExtensionResolvesToIt) {
  auto plan = berlin();
  DeviceIds ids(plan.get(), {});
  for (const char* form : {"101", "+4930555101", "N<+4930555101>;noa=nk", "N<101>"}) {
    auto r = ids.resolve(form);
    ASSERT_TRUE(r) << form;
    EXPECT_TRUE(r->internal) << form;
    EXPECT_EQ(r->device, "101") << form;
  }
  auto out = ids.resolve("+498912345678");
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->internal);
  EXPECT_EQ(out->device, "+498912345678");
  auto national = ids.resolve("08912345678");  // as dialed in Germany
  ASSERT_TRUE(national);
  EXPECT_FALSE(national->internal);
  EXPECT_EQ(national->device, "+498912345678");
  EXPECT_FALSE(ids.resolve(""));
  EXPECT_FALSE(ids.resolve("N<+4930"));
  EXPECT_FALSE(ids.resolve("anna"));
}

TEST(DeviceIds, AnswersInTheClientsForm) {
  auto plan = berlin();
  DeviceIds ids(plan.get(), {});
  auto plain = DeviceIds::style_of("101");
  auto e164 = DeviceIds::style_of("+4930555101");
  auto osv = DeviceIds::style_of("N<+4930555101>;noa=nk");
  ASSERT_TRUE(plain && e164 && osv);
  EXPECT_EQ(ids.present("102", *plain), "102");
  EXPECT_EQ(ids.present("102", *e164), "+4930555102");
  EXPECT_EQ(ids.present("102", *osv), "N<+4930555102>;noa=nk");
  EXPECT_EQ(ids.present("+498912345678", *osv), "N<+498912345678>;noa=nk");
}

TEST(DeviceIds, WithoutAPlanKnownDevicesAreExtensions) {
  DeviceIds ids(nullptr, [](std::string_view d) { return d == "100" || d == "2001"; });
  auto a = ids.resolve("2001");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->internal);
  auto b = ids.resolve("2002");
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->internal);
  EXPECT_EQ(b->device, "2002");
}

}  // namespace
}  // namespace callbridge::csta_server
