// core/line_features: what a forwarding destination may be (an extension of the tenant, or an
// external number the AnyDevice policy allows), the change a request makes, the JSON of a line.
#include <gtest/gtest.h>

#include "core/line_features.hpp"

#include <map>

namespace callbridge::core {
namespace {

std::optional<std::string> e164(std::string_view raw) {
  // The lab's plan in short: 0... national (Germany), +... as is; extensions are not external.
  std::string s(raw);
  std::erase(s, ' ');
  if (s.starts_with("+")) return s;
  if (s.starts_with("00")) return "+" + s.substr(2);
  if (s.starts_with("0")) return "+49" + s.substr(1);
  return std::nullopt;
}

bool extension(std::string_view s) { return s == "101" || s == "102" || s == "105"; }

AnyDevicePolicy german_mobiles() {
  AnyDevicePolicy p;
  p.allow = {"+4915*", "+4916*", "+4917*", "+4989*"};
  p.deny = {"+49900*"};
  return p;
}

TEST(LineFeatures, DestinationIsAnExtensionOrAnAllowedNumber) {
  const std::vector<std::string> own{"101"};
  auto r = resolve_destination(" 102 ", extension, e164, german_mobiles(), own);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "102");
  r = resolve_destination("0170 1234567", extension, e164, german_mobiles(), own);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "+491701234567");

  auto no = resolve_destination("101", extension, e164, german_mobiles(), own);
  ASSERT_FALSE(no);
  EXPECT_EQ(no.error().type, "invalid-destination");
  EXPECT_EQ(no.error().detail, "calls to 101 cannot be forwarded to 101 itself");
  no = resolve_destination("199", extension, e164, german_mobiles(), own);
  ASSERT_FALSE(no);
  EXPECT_EQ(no.error().detail, "'199' is neither an extension of this tenant nor an external phone number");
  no = resolve_destination("0900 123456", extension, e164, german_mobiles(), own);
  ASSERT_FALSE(no);
  EXPECT_EQ(no.error().type, "destination-not-allowed");
  EXPECT_EQ(no.error().detail,
            "+49900123456 matches the tenant's deny pattern +49900* (numbers the company does not allow as forwarding "
            "destinations)");
  no = resolve_destination("0044 20 7946 0000", extension, e164, german_mobiles(), own);
  ASSERT_FALSE(no);
  EXPECT_EQ(no.error().type, "destination-not-allowed");
  EXPECT_NE(no.error().detail.find("is not among the numbers the tenant allows"), std::string::npos) << no.error().detail;
  // Whatever the plan makes of it, only digits and a leading '+' reach the PBX.
  auto odd = [](std::string_view) -> std::optional<std::string> { return "+49,tT"; };
  no = resolve_destination("x", extension, odd, AnyDevicePolicy{}, own);
  ASSERT_FALSE(no);
  EXPECT_EQ(no.error().type, "invalid-destination");
  EXPECT_EQ(resolve_destination("", extension, e164, german_mobiles(), own).error().detail, "the destination is empty");
  EXPECT_EQ(resolve_destination(std::string(41, '1'), extension, e164, german_mobiles(), own).error().type,
            "invalid-destination");
}

TEST(LineFeatures, ChangesOnlyWhatTheRequestNames) {
  ports::LineFeatures f;
  f.busy = "102";
  FeatureChange c;
  c.dnd = true;
  c.no_answer = "+4989123456";
  c.no_answer_seconds = 12;
  auto g = apply(f, c);
  EXPECT_TRUE(g.dnd);
  EXPECT_EQ(g.busy, "102");
  EXPECT_EQ(g.no_answer, "+4989123456");
  EXPECT_EQ(g.no_answer_seconds, 12);
  FeatureChange off;
  off.no_answer = "";
  off.busy = "";
  auto h = apply(g, off);
  EXPECT_FALSE(h.no_answer);
  EXPECT_EQ(h.no_answer_seconds, ports::LineFeatures::kDefaultNoAnswerSeconds);  // goes with it
  EXPECT_FALSE(h.busy);
  EXPECT_TRUE(h.dnd);
}

// A PBX that stores what it is told, ready or not.
class StoringPbx final : public ports::PbxFeatures {
 public:
  base::Status ready() const override {
    return up ? base::Status{} : base::fail(base::Error::unavailable("the PBX link is down"));
  }
  ports::LineFeatures line(std::string_view l) const override {
    auto it = lines.find(std::string(l));
    return it == lines.end() ? ports::LineFeatures{} : it->second;
  }
  void set_line(const std::string& l, const ports::LineFeatures& f, ports::CommandDone done) override {
    lines[l] = f;
    ++writes;
    done(base::Status{});
  }
  bool up = true;
  int writes = 0;
  std::map<std::string, ports::LineFeatures> lines;
};

// Issue 14: follow-me rings the active device, also after the user chose another one while the PBX
// was not reachable (the app runs this after each login's read-back).
TEST(LineFeatures, FollowMeFollowsTheActiveDevice) {
  auto policy = german_mobiles();
  EXPECT_EQ(follow_me_number(ActiveDevice{"mobile", "+491701234567"}, policy), "+491701234567");
  EXPECT_FALSE(follow_me_number(ActiveDevice{"103", ""}, policy));            // a desk phone
  EXPECT_FALSE(follow_me_number(ActiveDevice{"usa", "+12125550100"}, policy)); // no longer allowed
  EXPECT_FALSE(follow_me_number(std::nullopt, policy));

  StoringPbx pbx;
  pbx.lines["103"].follow_me = "+491709999999";  // stale: the old mobile
  pbx.lines["103"].follow_me_mode = ports::FollowMeMode::sequential;
  pbx.lines["104"].dnd = true;                    // no follow-me: left alone
  EXPECT_EQ(follow_active_device(pbx, {"103", "104"}, std::string("+491701234567"), "test"), 1u);
  EXPECT_EQ(pbx.lines["103"].follow_me, "+491701234567");
  EXPECT_EQ(pbx.lines["103"].follow_me_mode, ports::FollowMeMode::sequential);  // the mode stays
  EXPECT_FALSE(pbx.lines["104"].follow_me);
  EXPECT_EQ(follow_active_device(pbx, {"103"}, std::string("+491701234567"), "test"), 0u);  // nothing to do
  EXPECT_EQ(follow_active_device(pbx, {"103"}, std::nullopt, "test"), 1u);  // desk phone chosen: off
  EXPECT_FALSE(pbx.lines["103"].follow_me);
  pbx.lines["103"].follow_me = "+491709999999";
  pbx.up = false;
  EXPECT_EQ(follow_active_device(pbx, {"103"}, std::nullopt, "test"), 0u);  // not while unavailable
  EXPECT_EQ(pbx.writes, 2);
}

TEST(LineFeatures, Json) {
  ports::LineFeatures f;
  EXPECT_EQ(line_features_json(f),
            R"({"dnd":false,"forwarding":{"unconditional":null,"busy":null,"no_answer":null,"no_answer_seconds":20},)"
            R"("follow_me":{"number":null,"mode":"parallel","desk_seconds":15}})");
  f.dnd = true;
  f.unconditional = "102";
  f.follow_me = "+491701234567";
  f.follow_me_mode = ports::FollowMeMode::sequential;
  EXPECT_EQ(line_features_json(f),
            R"({"dnd":true,"forwarding":{"unconditional":"102","busy":null,"no_answer":null,"no_answer_seconds":20},)"
            R"("follow_me":{"number":"+491701234567","mode":"sequential","desk_seconds":15}})");
}

}  // namespace
}  // namespace callbridge::core
