#include "core/journal_policy.hpp"

#include <gtest/gtest.h>

namespace callbridge::core {
namespace {

using model::Direction;
using namespace std::chrono_literals;

model::JournalEntry entry(std::string party, std::optional<std::string> remote, Direction d) {
  model::JournalEntry e{.tenant = base::TenantId("default")};
  e.party = std::move(party);
  e.remote = std::move(remote);
  e.direction = d;
  return e;
}

TEST(JournalPolicy, StoresEverythingByDefault) {
  JournalPolicy p({});
  EXPECT_EQ(p.check(entry("100", "101", Direction::internal)), JournalVerdict::store);
  EXPECT_EQ(p.check(entry("100", std::nullopt, Direction::inbound)), JournalVerdict::store);
  EXPECT_FALSE(p.retention_cutoff(base::from_micros(0)));
}

TEST(JournalPolicy, ExcludeInternalDropsOnlyInternalEntries) {
  JournalPolicy p({.exclude_internal = true});
  EXPECT_EQ(p.check(entry("100", "101", Direction::internal)), JournalVerdict::excluded_internal);
  EXPECT_EQ(p.check(entry("100", "+4989", Direction::inbound)), JournalVerdict::store);
  EXPECT_EQ(p.check(entry("100", "+4989", Direction::outbound)), JournalVerdict::store);
}

TEST(JournalPolicy, ExcludedNumbersMatchPartyOrRemoteIgnoringFormatting) {
  JournalPolicy p({.excluded_numbers = {"150", "+49 89 123-456", "  "}});
  EXPECT_EQ(p.check(entry("150", "+4930", Direction::inbound)), JournalVerdict::excluded_number);
  EXPECT_EQ(p.check(entry("100", "150", Direction::internal)), JournalVerdict::excluded_number);
  EXPECT_EQ(p.check(entry("100", "+4989123456", Direction::inbound)), JournalVerdict::excluded_number);
  EXPECT_EQ(p.check(entry("100", "+49891234567", Direction::inbound)), JournalVerdict::store);
  EXPECT_EQ(p.check(entry("1500", "15", Direction::internal)), JournalVerdict::store);
  EXPECT_EQ(p.check(entry("100", std::nullopt, Direction::inbound)), JournalVerdict::store)
      << "a blank exclusion must not match withheld numbers";
}

TEST(JournalPolicy, RetentionCutoffIsNowMinusDays) {
  JournalPolicy p({.retention_days = 30});
  auto now = base::from_micros(1'795'382'753'000'000);
  EXPECT_EQ(p.retention_cutoff(now), now - std::chrono::days(30));
}

TEST(RetentionSchedule, RunsAtStartThenEveryInterval) {
  JournalPolicy p({.retention_days = 7});
  RetentionSchedule s(p, 1h);
  base::ManualClock clock(base::from_micros(1'000'000'000'000'000));
  auto first = s.due(clock.now());
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, clock.now() - std::chrono::days(7));
  EXPECT_FALSE(s.due(clock.now()));
  clock.advance(59min);
  EXPECT_FALSE(s.due(clock.now()));
  clock.advance(1min);
  EXPECT_TRUE(s.due(clock.now()));
  EXPECT_FALSE(s.due(clock.now()));
  clock.advance(-3h);  // wall clock jumped back
  EXPECT_TRUE(s.due(clock.now()));
}

TEST(RetentionSchedule, DisabledWithoutRetention) {
  JournalPolicy p({});
  RetentionSchedule s(p);
  EXPECT_FALSE(s.enabled());
  EXPECT_FALSE(s.due(base::from_micros(0)));
}

}  // namespace
}  // namespace callbridge::core
