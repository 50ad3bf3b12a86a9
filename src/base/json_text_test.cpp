#include "base/json_text.hpp"

#include <gtest/gtest.h>

namespace callbridge::base {
namespace {

std::string quoted(std::string_view s) {
  std::string out = "x=";
  append_json_string(out, s);
  return out;
}

TEST(JsonText, QuotesAndEscapes) {
  EXPECT_EQ(quoted(""), "x=\"\"");
  EXPECT_EQ(quoted("Müller & Co"), "x=\"Müller & Co\"");
  EXPECT_EQ(quoted("a\"b\\c"), "x=\"a\\\"b\\\\c\"");
  EXPECT_EQ(quoted("l1\nl2\r\t"), "x=\"l1\\nl2\\r\\t\"");
  EXPECT_EQ(quoted(std::string_view("\0\x01\x1f ", 4)), "x=\"\\u0000\\u0001\\u001f \"");
  EXPECT_EQ(quoted("</script>"), "x=\"</script>\"");
}

}  // namespace
}  // namespace callbridge::base
