#include "base/percent_encoding.hpp"

#include <gtest/gtest.h>

namespace callbridge::base {
namespace {

TEST(PercentDecode, DecodesEscapesInEitherCase) {
  EXPECT_EQ(percent_decode("%2B49%20%2b89", PlusIs::plus), "+49 +89");
  EXPECT_EQ(percent_decode("M%C3%BCller", PlusIs::plus), "M\xC3\xBCller");
  EXPECT_EQ(percent_decode("%00", PlusIs::plus), std::string(1, '\0'));
}

TEST(PercentDecode, PlusIsASpaceOnlyInFormText) {
  EXPECT_EQ(percent_decode("a+b", PlusIs::space), "a b");
  EXPECT_EQ(percent_decode("a+b", PlusIs::plus), "a+b");
  EXPECT_EQ(percent_decode("%2B", PlusIs::space), "+");  // an escaped plus stays a plus
}

TEST(PercentDecode, MalformedEscapesStayAsTheyAre) {
  EXPECT_EQ(percent_decode("%", PlusIs::plus), "%");
  EXPECT_EQ(percent_decode("%4", PlusIs::plus), "%4");
  EXPECT_EQ(percent_decode("ab%4", PlusIs::plus), "ab%4");
  EXPECT_EQ(percent_decode("%G1%1G", PlusIs::plus), "%G1%1G");
  EXPECT_EQ(percent_decode("100%", PlusIs::space), "100%");
  EXPECT_EQ(percent_decode("%%41", PlusIs::plus), "%A");
  EXPECT_EQ(percent_decode("", PlusIs::space), "");
}

TEST(PercentDecode, HexDigitValues) {
  EXPECT_EQ(hex_digit_value('0'), 0);
  EXPECT_EQ(hex_digit_value('9'), 9);
  EXPECT_EQ(hex_digit_value('a'), 10);
  EXPECT_EQ(hex_digit_value('F'), 15);
  EXPECT_EQ(hex_digit_value('g'), -1);
  EXPECT_EQ(hex_digit_value('\0'), -1);
}

}  // namespace
}  // namespace callbridge::base
