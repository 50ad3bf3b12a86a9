#include "base/tenant_id.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <type_traits>

namespace callbridge::base {
namespace {

static_assert(!std::is_default_constructible_v<TenantId>, "a TenantId must never default");
static_assert(sizeof(TenantId) == sizeof(void*), "copied per call event: one pointer");

TEST(TenantId, ParseAcceptsIdsAndInternsThem) {
  auto a = TenantId::parse("acme-1_x");
  ASSERT_TRUE(a) << a.error().message();
  auto b = TenantId::parse(std::string("acme-1_x"));
  ASSERT_TRUE(b);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(&a->str(), &b->str());  // one interned name
  EXPECT_EQ(*a, "acme-1_x");
  EXPECT_EQ(std::string(*a), "acme-1_x");
  EXPECT_NE(*a, TenantId("other"));
}

TEST(TenantId, ParseRejectsWhatIsNotAnId) {
  for (std::string_view bad : {"", " acme", "a/b", "a.b", "ä", "x y", "a\n"}) {
    auto r = TenantId::parse(bad, "pbx.tenant");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), Errc::invalid_argument);
    EXPECT_NE(r.error().message().find("pbx.tenant"), std::string::npos) << r.error().message();
  }
  EXPECT_FALSE(TenantId::parse(std::string(65, 'a')));
  EXPECT_TRUE(TenantId::parse(std::string(64, 'a')));
  // The empty id is the "never set" case: it says so.
  EXPECT_NE(TenantId::parse("").error().message().find("missing"), std::string::npos);
}

TEST(TenantId, OrdersByNameAndFormats) {
  TenantId z("zeta"), a("alpha");
  EXPECT_LT(a, z);
  EXPECT_EQ(fmt::format("[{}]", a), "[alpha]");
  EXPECT_EQ(std::hash<TenantId>()(a), std::hash<TenantId>()(TenantId("alpha")));
}

TEST(TenantIdDeathTest, CheckedConstructorAbortsOnNonId) {
  EXPECT_DEATH(TenantId("no spaces"), "not a tenant id");
}

}  // namespace
}  // namespace callbridge::base
