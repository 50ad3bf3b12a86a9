#include "base/csv_text.hpp"

#include <gtest/gtest.h>

namespace callbridge::base {
namespace {

std::string field(std::string_view f) {
  std::string out;
  append_csv_field(out, f);
  return out;
}

TEST(CsvText, QuotesOnlyWhenNeeded) {
  EXPECT_EQ(field("Anna Alpha"), "Anna Alpha");
  EXPECT_EQ(field(""), "");
  EXPECT_EQ(field("a,b"), "\"a,b\"");
  EXPECT_EQ(field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(field("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(field(" padded "), "\" padded \"");
}

// Regression (issue 12): `callbridge journal --format csv` wrote =HYPERLINK(...) unescaped.
TEST(CsvText, NeutralizesFormulasButNotNumbers) {
  EXPECT_EQ(field("=HYPERLINK(\"http://x\",\"y\")"), "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
  EXPECT_EQ(field("@SUM(A1)"), "\"'@SUM(A1)\"");
  EXPECT_EQ(field("\tx"), "\"'\tx\"");
  EXPECT_EQ(field("-2+3+cmd|' /C calc'!A0"), "\"'-2+3+cmd|' /C calc'!A0\"");
  EXPECT_EQ(field("+SUM(1)"), "\"'+SUM(1)\"");
  EXPECT_EQ(field("+4930123456"), "+4930123456");
  EXPECT_EQ(field("+49 (30) 123-456"), "+49 (30) 123-456");
  EXPECT_EQ(field("-1.5"), "-1.5");
  EXPECT_EQ(csv_record({"1", "=1+1", "x,y"}), "1,\"'=1+1\",\"x,y\"");
}

}  // namespace
}  // namespace callbridge::base
