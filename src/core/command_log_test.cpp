#include "core/command_log.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace callbridge::core {
namespace {

using namespace std::chrono_literals;

struct CommandLogTest : ::testing::Test {
  base::ManualClock clock{base::from_micros(1'795'000'000'000'000)};
  int n = 0;
  CommandLog log{CommandLogOptions{.max_per_tenant = 3, .ttl = 60s}, clock,
                 [this] { return "cmd-" + std::to_string(++n); }};
};

TEST_F(CommandLogTest, RecordMovesOnceFromAcceptedToFinalAndTellsTheListener) {
  std::vector<CommandRecord> heard;
  log.set_listener([&](const CommandRecord& r) { heard.push_back(r); });
  const auto& r = log.add("t1", "anna", "make_call", CommandState::accepted, std::nullopt, "c2d-0001");
  EXPECT_EQ(r.id, "cmd-1");
  EXPECT_EQ(r.state, CommandState::accepted);
  EXPECT_TRUE(heard.empty());
  clock.advance(2s);
  EXPECT_TRUE(log.finish("t1", "cmd-1", CommandState::failed, "busy"));
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_EQ(heard[0].state, CommandState::failed);
  EXPECT_EQ(heard[0].reason, "busy");
  EXPECT_EQ(heard[0].user, "anna");
  EXPECT_EQ(heard[0].updated_at - heard[0].created_at, 2s);
  // Final: a late "done" changes nothing and is not heard.
  EXPECT_FALSE(log.finish("t1", "cmd-1", CommandState::done, "", "call-1"));
  EXPECT_EQ(heard.size(), 1u);
  EXPECT_EQ(log.find("t1", "cmd-1")->state, CommandState::failed);
  EXPECT_FALSE(log.find("t1", "cmd-1")->call_id);
}

TEST_F(CommandLogTest, DoneSetsTheCallId) {
  log.add("t1", "anna", "make_call", CommandState::accepted, std::nullopt, "c2d-0001");
  EXPECT_TRUE(log.finish("t1", "cmd-1", CommandState::done, "", "ctilab-1.0"));
  EXPECT_EQ(log.find("t1", "cmd-1")->call_id, "ctilab-1.0");
  EXPECT_EQ(to_string(log.find("t1", "cmd-1")->state), "done");
}

TEST_F(CommandLogTest, RecordsAreTenantScoped) {
  log.add("t1", "anna", "hangup", CommandState::accepted, "c1", std::nullopt);
  EXPECT_EQ(log.find("t2", "cmd-1"), nullptr);
  EXPECT_FALSE(log.finish("t2", "cmd-1", CommandState::failed, "x"));
  EXPECT_EQ(log.find("t1", "cmd-1")->state, CommandState::accepted);
}

TEST_F(CommandLogTest, BoundedPerTenantOldestGoesFirst) {
  for (int i = 0; i < 4; ++i) log.add("t1", "anna", "hangup", CommandState::accepted, "c", std::nullopt);
  log.add("t2", "ben", "hangup", CommandState::accepted, "c", std::nullopt);
  EXPECT_EQ(log.size("t1"), 3u);
  EXPECT_EQ(log.size("t2"), 1u);
  EXPECT_EQ(log.find("t1", "cmd-1"), nullptr);
  EXPECT_NE(log.find("t1", "cmd-2"), nullptr);
  EXPECT_NE(log.find("t2", "cmd-5"), nullptr);
}

TEST_F(CommandLogTest, RecordsExpireAfterTheTtl) {
  log.add("t1", "anna", "hangup", CommandState::accepted, "c", std::nullopt);
  clock.advance(59s);
  EXPECT_NE(log.find("t1", "cmd-1"), nullptr);
  clock.advance(2s);
  EXPECT_EQ(log.find("t1", "cmd-1"), nullptr);
  EXPECT_FALSE(log.finish("t1", "cmd-1", CommandState::done, ""));
  EXPECT_EQ(log.size("t1"), 0u);
}

TEST(CommandLogIds, DefaultIdsAreUniqueAndShaped) {
  base::ManualClock clock{base::from_micros(0)};
  CommandLog log{CommandLogOptions{}, clock};
  std::string a = log.add("t", "u", "hangup", CommandState::done, std::nullopt, std::nullopt).id;
  std::string b = log.add("t", "u", "hangup", CommandState::done, std::nullopt, std::nullopt).id;
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 20u);
  EXPECT_EQ(a.rfind("cmd-", 0), 0u);
}

}  // namespace
}  // namespace callbridge::core
