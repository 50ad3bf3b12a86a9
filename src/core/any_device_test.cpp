// AnyDevice in the core: device names, the tenant's number policy (patterns, allow/deny), the
// registry of active devices, and make call with an active device (the first leg, the caller id,
// the tenant's default map, a number the policy no longer allows). ctest label `anydevice`.
#include "core/any_device.hpp"

#include <gtest/gtest.h>

#include "core/call_control.hpp"

namespace callbridge::core {
namespace {

TEST(AnyDeviceNames, LettersFirstLowerCaseBounded) {
  for (std::string_view ok : {"mobile", "home-office", "m2", "a", "car_phone"}) EXPECT_TRUE(valid_external_device_name(ok)) << ok;
  for (std::string_view bad : {"", "100", "Mobile", "-x", "my phone", "a/b", "mobile!", "ü"})
    EXPECT_FALSE(valid_external_device_name(bad)) << bad;
  EXPECT_TRUE(valid_external_device_name(std::string(32, 'a')));
  EXPECT_FALSE(valid_external_device_name(std::string(33, 'a')));
}

// One rule for the three places that turn stored rows into the active device (start-up, the
// check after a PBX login, a change through the API or from another node).
TEST(AnyDeviceActive, FromTheStoredChoice) {
  const std::vector<std::string> lines{"100", "101"};
  EXPECT_EQ(active_device_of("mobile", "+491701234567", false, lines), (ActiveDevice{"mobile", "+491701234567", false}));
  EXPECT_EQ(active_device_of("101", "", true, lines), (ActiveDevice{"101", ""}));
  EXPECT_EQ(active_device_of("102", "", true, lines), std::nullopt) << "an extension that is no longer theirs";
  EXPECT_EQ(active_device_of("mobile", "", true, lines), std::nullopt) << "a removed external device";
  EXPECT_EQ(active_device_of("", "", true, lines), std::nullopt);
}

TEST(AnyDevicePolicy, PatternsAreCheckedAndCanonical) {
  EXPECT_EQ(*AnyDevicePolicy::parse_pattern("+49 17*"), "+4917*");
  EXPECT_EQ(*AnyDevicePolicy::parse_pattern("+4930xxxxxxx"), "+4930XXXXXXX");
  for (std::string_view bad : {"", "+", "4917*", "+*", "+49*1", "+49-17*", "+49a", "+123456789012345678901"})
    EXPECT_FALSE(AnyDevicePolicy::parse_pattern(bad)) << bad;
  EXPECT_NE(AnyDevicePolicy::parse_pattern("+49-17*").error().find("'-' at position 4"), std::string::npos);
}

TEST(AnyDevicePolicy, DenyFirstThenAllow) {
  AnyDevicePolicy p{.allow = {"+4915*", "+4916*", "+4917*", "+4930XXXXXXX"}, .deny = {"+49170666*"}};
  EXPECT_FALSE(p.refuse("+491701234567"));
  EXPECT_FALSE(p.refuse("+49301234567"));
  auto deny = p.refuse("+491706661234");
  ASSERT_TRUE(deny);
  EXPECT_NE(deny->find("deny pattern +49170666*"), std::string::npos) << *deny;
  auto intl = p.refuse("+12125550100");
  ASSERT_TRUE(intl);
  EXPECT_NE(intl->find("not among the numbers the tenant allows as devices (+4915*, +4916*, +4917*, +4930XXXXXXX)"),
            std::string::npos)
      << *intl;
  EXPECT_TRUE(p.refuse("+4930123456"));    // X: exactly that many digits
  EXPECT_TRUE(p.refuse("+49301234567890"));
  AnyDevicePolicy open{.deny = {"+49900*", "+49137*"}};
  EXPECT_FALSE(open.refuse("+12125550100"));
  EXPECT_TRUE(open.refuse("+499001234567"));
  EXPECT_FALSE(AnyDevicePolicy{}.refuse("+499001234567"));
}

TEST(ActiveDevices, PerTenantAndUserBackToDefault) {
  ActiveDevices a;
  a.set(base::TenantId("t1"), "anna", ActiveDevice{"mobile", "+491701234567"});
  a.set(base::TenantId("t2"), "anna", ActiveDevice{"100", ""});
  EXPECT_EQ(a.get(base::TenantId("t1"), "anna")->number, "+491701234567");
  EXPECT_EQ(a.get(base::TenantId("t2"), "anna")->name, "100");
  EXPECT_FALSE(a.get(base::TenantId("t1"), "ben"));
  a.set(base::TenantId("t1"), "anna", std::nullopt);
  EXPECT_FALSE(a.get(base::TenantId("t1"), "anna"));
  EXPECT_EQ(a.size(), 1u);
}

// The journal names the device that carried a call by its number (docs/journal.md "AnyDevice").
TEST(ActiveDevices, DeviceOfANumberOnlyWhenItsUsersAgree) {
  ActiveDevices a;
  const base::TenantId t1("t1"), t2("t2");
  a.set(t1, "anna", ActiveDevice{"mobile", "+491701234567", /*private_device=*/false});
  a.set(t2, "carl", ActiveDevice{"handy", "+491701234567"});  // another tenant: not asked
  a.set(t1, "ben", ActiveDevice{"101", ""});
  EXPECT_EQ(a.device_of_number(t1, "+491701234567"), (ActiveDevice{"mobile", "+491701234567", false}));
  EXPECT_EQ(a.device_of_number(t2, "+491701234567"), (ActiveDevice{"handy", "+491701234567", true}));
  EXPECT_FALSE(a.device_of_number(t1, "+4930555101"));
  EXPECT_FALSE(a.device_of_number(t1, ""));
  a.set(t1, "eve", ActiveDevice{"mobile", "+491701234567", true});  // same name, private for one: unknown
  EXPECT_FALSE(a.device_of_number(t1, "+491701234567"));
  a.set(t1, "eve", ActiveDevice{"mobile", "+491701234567", false});
  EXPECT_TRUE(a.device_of_number(t1, "+491701234567"));
  a.set(t1, "dora", ActiveDevice{"car", "+491701234567", false});  // one number, two names: none
  EXPECT_FALSE(a.device_of_number(t1, "+491701234567"));
}

// Only make_call matters here; every other command succeeds at once.
struct FakePbx final : ports::PbxCommands {
  std::optional<ports::MakeCallRequest> last_call;
  bool available() const override { return true; }
  void make_call(const ports::MakeCallRequest& r, ports::CommandDone done) override {
    last_call = r;
    done({});
  }
  void answer(const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void hangup(const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void hold(const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void retrieve(const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void consult(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void alternate(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void transfer(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void complete_transfer(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override {
    d({});
  }
  void conference(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void redirect(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void pickup(const std::string&, const std::string&, const std::string&, const std::string&, ports::CommandDone d,
              PickupOutcome) override {
    d({});
  }
};

struct MakeCallWithActiveDevice : ::testing::Test {
  void SetUp() override {
    DialingPlanOptions o;
    o.country_code = "49";
    o.area_code = "30";
    o.base_number = "555";
    o.extension_lengths = {3};
    auto p = DialingPlan::create(o);
    ASSERT_TRUE(p);
    plan.emplace(std::move(*p));
    options.any_device_number = [](std::string_view d) -> std::optional<std::string> {
      if (d == "100") return "+491709999999";  // the tenant's default map
      return std::nullopt;
    };
    options.office_number = [](std::string_view d) { return "+4930555" + std::string(d); };
    options.active_device = [this](const std::string& user) { return registry.get(base::TenantId("default"), user); };
    options.device_refused = [this](std::string_view n) { return policy.refuse(n); };
  }
  CommandOutcome make(std::optional<std::string> from = std::nullopt) {
    CallControlService s(options, model, pbx, &*plan);
    std::optional<CommandOutcome> out;
    s.make_call(anna, "+4989123456", std::move(from), [&](CommandOutcome o) { out = std::move(o); });
    EXPECT_TRUE(out);
    return out ? *out : std::unexpected(CommandFailure{});
  }
  model::CallModel model{base::TenantId("default")};
  FakePbx pbx;
  std::optional<DialingPlan> plan;
  ActiveDevices registry;
  AnyDevicePolicy policy;
  CallControlOptions options{.tenant = base::TenantId("default")};
  CommandCaller anna{.tenant = "default", .user = "anna", .extensions = {"100", "101"}};
};

TEST_F(MakeCallWithActiveDevice, NeverChosenTheTenantsDefaultMapApplies) {
  ASSERT_TRUE(make());
  EXPECT_EQ(pbx.last_call->from_device, "100");
  EXPECT_EQ(pbx.last_call->first_leg_dial_string, "01709999999");
  EXPECT_EQ(pbx.last_call->caller_id_number, "+4930555100");
}

TEST_F(MakeCallWithActiveDevice, ExternalDeviceIsTheFirstLegWithTheOfficeNumber) {
  registry.set(base::TenantId("default"), "anna", ActiveDevice{"mobile", "+491701234567"});
  ASSERT_TRUE(make());
  EXPECT_EQ(pbx.last_call->from_device, "100");
  EXPECT_EQ(pbx.last_call->first_leg_dial_string, "01701234567");
  EXPECT_EQ(pbx.last_call->caller_id_number, "+4930555100");  // what the destination sees
  EXPECT_EQ(pbx.last_call->dial_string, "089123456");
  ASSERT_TRUE(make(std::string("101")));  // the office number of the extension the call is for
  EXPECT_EQ(pbx.last_call->first_leg_dial_string, "01701234567");
  EXPECT_EQ(pbx.last_call->caller_id_number, "+4930555101");
}

TEST_F(MakeCallWithActiveDevice, ChosenExtensionRingsItselfAndIsTheDefaultFrom) {
  registry.set(base::TenantId("default"), "anna", ActiveDevice{"101", ""});
  ASSERT_TRUE(make());
  EXPECT_EQ(pbx.last_call->from_device, "101");
  EXPECT_FALSE(pbx.last_call->first_leg_dial_string);
  registry.set(base::TenantId("default"), "anna", ActiveDevice{"100", ""});
  ASSERT_TRUE(make());
  EXPECT_EQ(pbx.last_call->from_device, "100");
  EXPECT_FALSE(pbx.last_call->first_leg_dial_string);  // an explicit choice wins over the map
  // An extension the user no longer owns counts as no choice.
  registry.set(base::TenantId("default"), "anna", ActiveDevice{"102", ""});
  ASSERT_TRUE(make());
  EXPECT_EQ(pbx.last_call->from_device, "100");
  EXPECT_EQ(pbx.last_call->first_leg_dial_string, "01709999999");
}

TEST_F(MakeCallWithActiveDevice, ANumberThePolicyNoLongerAllowsIsRefusedBeforeDialling) {
  registry.set(base::TenantId("default"), "anna", ActiveDevice{"abroad", "+12125550100"});
  policy.allow = {"+4915*", "+4916*", "+4917*"};
  pbx.last_call.reset();
  auto out = make();
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind, CommandFailure::Kind::forbidden);
  EXPECT_NE(out.error().detail.find("Your active device \"abroad\" may not be used any more"), std::string::npos)
      << out.error().detail;
  EXPECT_FALSE(pbx.last_call);
}

}  // namespace
}  // namespace callbridge::core
