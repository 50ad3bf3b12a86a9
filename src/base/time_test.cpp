#include "base/time.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <vector>

namespace callbridge::base {
namespace {

TEST(Time, ParsesAmiTimestampAndFormatsMilliseconds) {
  auto t = parse_epoch_seconds("1795382753.711266");
  ASSERT_TRUE(t);
  EXPECT_EQ(to_micros(*t), 1795382753711266);
  EXPECT_EQ(format_rfc3339_ms(*t), "2026-11-22T21:25:53.711Z");
}

TEST(Time, RejectsGarbage) {
  EXPECT_FALSE(parse_epoch_seconds(""));
  EXPECT_FALSE(parse_epoch_seconds("12a.5"));
  EXPECT_FALSE(parse_epoch_seconds("12."));
  EXPECT_FALSE(parse_epoch_seconds("-5"));
}

// fuzz/ami_replay: "Timestamp: 179653513296535132.1" overflowed seconds * 10^6 (UBSan).
TEST(Time, RejectsEpochSecondsBeyondYear9999) {
  EXPECT_FALSE(parse_epoch_seconds("179653513296535132.1"));
  EXPECT_FALSE(parse_epoch_seconds("9223372036854775807"));
  EXPECT_FALSE(parse_epoch_seconds("253402300800"));
  auto last = parse_epoch_seconds("253402300799.999999");
  ASSERT_TRUE(last);
  EXPECT_EQ(format_rfc3339_ms(*last), "9999-12-31T23:59:59.999Z");
}

// The one-pass form (digits '.' digits) and the general parser agree at their borders.
TEST(Time, EpochSecondsFastFormAndGeneralFormAgree) {
  auto us = [](std::string_view s) -> std::int64_t {
    auto t = parse_epoch_seconds(s);
    return t ? to_micros(*t) : -1;
  };
  EXPECT_EQ(us("1795382753.711266"), 1795382753711266);
  EXPECT_EQ(us("1795382753"), 1795382753000000);
  EXPECT_EQ(us("1795382753.7"), 1795382753700000);
  EXPECT_EQ(us("12.1234567"), 12123456);
  EXPECT_EQ(us("0012.5"), 12500000);
  EXPECT_EQ(us("0000000000001.5"), 1500000);  // more than 12 digits: the general parser
  EXPECT_EQ(us(" 12.5\r"), 12500000);
  EXPECT_EQ(us("12.5 "), 12500000);
  EXPECT_EQ(us("253402300799"), 253402300799000000);
  EXPECT_EQ(us("1.2.3"), -1);
  EXPECT_EQ(us(".5"), -1);
  EXPECT_EQ(us("12.5x"), -1);
  EXPECT_EQ(us("12x"), -1);
  EXPECT_EQ(us("-0.5"), 500000);  // what the general parser has always said
}

TEST(Time, Rfc3339RoundTripAndOffsets) {
  auto t = parse_rfc3339("2026-11-22T21:25:53.711Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_rfc3339_ms(*t), "2026-11-22T21:25:53.711Z");
  auto t2 = parse_rfc3339("2026-11-22T22:25:53.711+01:00");
  ASSERT_TRUE(t2);
  EXPECT_EQ(*t, *t2);
  auto d = parse_rfc3339("2026-11-22");
  ASSERT_TRUE(d);
  EXPECT_EQ(format_rfc3339_ms(*d), "2026-11-22T00:00:00.000Z");
  EXPECT_FALSE(parse_rfc3339("2026-13-22"));
  EXPECT_FALSE(parse_rfc3339("yesterday"));
}

TEST(Time, DurationsRoundToOneDecimal) {
  auto a = from_micros(1'000'000);
  EXPECT_DOUBLE_EQ(seconds_1dp(a, from_micros(3'049'000)), 2.0);
  EXPECT_DOUBLE_EQ(seconds_1dp(a, from_micros(3'051'000)), 2.1);
}

// format_rfc3339_ms writes its digits itself (it ran for every published event's times): the
// same text as printf's rendering, for any instant, years outside 0..9999 included.
std::string printf_rfc3339_ms(Timestamp t) {
  using namespace std::chrono;
  auto ms = floor<milliseconds>(t);
  auto day = floor<days>(ms);
  year_month_day ymd{day};
  hh_mm_ss hms{ms - day};
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()), static_cast<int>(hms.subseconds().count()));
  return buf;
}

TEST(Time, Rfc3339FormattingIsPrintfsRenderingEverywhere) {
  std::vector<std::int64_t> us = {0, -1, 1, 999, 1000, 1795382753711266, 951782400000000 /* 2000-02-29 */,
                                  253402300799999999 /* 9999-12-31T23:59:59.999999 */, 253402300800000000,
                                  -62167219200000000 /* 0000-01-01 */, -62167219200000001};
  std::mt19937_64 rng(18);
  std::uniform_int_distribution<std::int64_t> any(-70'000'000'000'000'000, 260'000'000'000'000'000);
  for (int i = 0; i < 200'000; ++i) us.push_back(any(rng));
  for (auto u : us) ASSERT_EQ(format_rfc3339_ms(from_micros(u)), printf_rfc3339_ms(from_micros(u))) << u;
}

}  // namespace
}  // namespace callbridge::base
