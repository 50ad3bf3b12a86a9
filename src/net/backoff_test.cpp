#include "net/backoff.hpp"

#include <gtest/gtest.h>

namespace callbridge::net {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, GrowsExponentiallyAndCapsWithoutJitter) {
  Backoff b({milliseconds(100), milliseconds(1000), 2.0, 0.0}, 1);
  EXPECT_EQ(b.next(), milliseconds(100));
  EXPECT_EQ(b.next(), milliseconds(200));
  EXPECT_EQ(b.next(), milliseconds(400));
  EXPECT_EQ(b.next(), milliseconds(800));
  EXPECT_EQ(b.next(), milliseconds(1000));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(b.next(), milliseconds(1000));
  EXPECT_EQ(b.attempt(), 105);
  b.reset();
  EXPECT_EQ(b.next(), milliseconds(100));
}

TEST(Backoff, JitterStaysInBoundsAndIsSeeded) {
  BackoffPolicy p{milliseconds(1000), milliseconds(60'000), 2.0, 0.25};
  Backoff a(p, 42), b(p, 42), c(p, 43);
  bool differs = false;
  for (int i = 0; i < 6; ++i) {
    double base = 1000.0 * (1 << i);
    auto da = a.next();
    EXPECT_EQ(da, b.next());  // same seed, same sequence
    if (da != c.next()) differs = true;
    EXPECT_GE(da.count(), static_cast<long>(base * 0.75) - 1);
    EXPECT_LE(da.count(), static_cast<long>(base * 1.25) + 1);
  }
  EXPECT_TRUE(differs);
}

TEST(Backoff, JitterNeverExceedsCap) {
  Backoff b({milliseconds(1000), milliseconds(1000), 2.0, 0.5}, 7);
  for (int i = 0; i < 50; ++i) EXPECT_LE(b.next(), milliseconds(1000));
}

TEST(Backoff, NoneIsZero) {
  Backoff b(BackoffPolicy::none(), 1);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(b.next(), milliseconds(0));
}

}  // namespace
}  // namespace callbridge::net
