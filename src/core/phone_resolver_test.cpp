// The fast resolver must agree with libphonenumber on every input it answers; random inputs in
// the shapes people and PBXs produce, for many regions, compared one by one.
#include "core/phone_resolver.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>

#include "core/phone_metadata.hpp"

namespace callbridge::core::phone {
namespace {

TEST(FirstDigitSet, UnderstandsMetadataSyntax) {
  EXPECT_EQ(first_digit_set("[2-9]\\d{9}|3\\d{6}"), 0b1111111100);
  EXPECT_EQ(first_digit_set("8\\d{11}|[2-9]\\d{8}"), 0b1111111100);
  EXPECT_EQ(first_digit_set("0\\d{5,10}|1\\d{8,10}"), 0b0000000011);
  EXPECT_EQ(first_digit_set("(?:1|[368]\\d|4[0-8])\\d{3,13}"), 0b0101011010);
  // An optional leading group: the next element's digits count too.
  EXPECT_EQ(first_digit_set("(?:0\\d)?[25]\\d"), 0b0000100101);
  EXPECT_EQ(first_digit_set("\\d{11}"), 0x3FF);
  // Unknown syntax means "could be anything".
  EXPECT_EQ(first_digit_set("[^0]\\d"), 0x3FF);
  EXPECT_EQ(first_digit_set("(?=1)\\d"), 0x3FF);
  EXPECT_EQ(first_digit_set("1\\d|"), 0x3FF);  // empty alternative: nullable pattern
}

TEST(PhoneMetadata, TablesMatchLibphonenumber) {
  const auto& t = PhoneMetadata::instance();
  EXPECT_GT(t.region_count(), 240u);
  const RegionFacts* de = t.region("DE");
  ASSERT_NE(de, nullptr);
  EXPECT_EQ(de->country_code, 49);
  EXPECT_TRUE(de->npfp_simple);
  EXPECT_EQ(de->npfp, "0");
  EXPECT_EQ(de->idd, "00");
  EXPECT_EQ(de->general_first_digits & 1u, 0u) << "DE numbers never start with 0";
  EXPECT_EQ(de->test_length(11), LengthCheck::possible);
  EXPECT_EQ(de->test_length(3), LengthCheck::possible_local_only);
  EXPECT_EQ(de->test_length(16), LengthCheck::too_long);
  const RegionFacts* us = t.for_country_code(1);
  ASSERT_NE(us, nullptr);
  EXPECT_EQ(us->id, "US");
  EXPECT_EQ(us->dial_idd, "011");
  EXPECT_EQ(t.for_country_code(800)->id, "001");
  std::size_t len = 0;
  EXPECT_EQ(t.extract_country_code("4921133990312", &len), 49);
  EXPECT_EQ(len, 2u);
  EXPECT_EQ(t.extract_country_code("3531234567", &len), 353);
  EXPECT_EQ(t.extract_country_code("0491", &len), 0);
}

std::string random_digits(std::mt19937& rng, int n, const char* first = nullptr) {
  std::uniform_int_distribution<int> d(0, 9);
  std::string s = first ? first : "";
  while (static_cast<int>(s.size()) < n) s.push_back(static_cast<char>('0' + d(rng)));
  return s;
}

struct Shape {
  bool plus;
  std::string digits;
};

// Inputs in the shapes numbers really come in, for region `r`.
Shape random_shape(std::mt19937& rng, const RegionFacts& r) {
  std::uniform_int_distribution<int> kind(0, 9), len(1, 16);
  static const char* kCcs[] = {"49", "43", "41", "1", "44", "33", "39", "31", "7", "86",
                               "353", "800", "882", "979", "420", "90", "61", "55", "0", "999"};
  const std::string np = r.national_prefix.empty() ? "0" : r.national_prefix;
  std::uniform_int_distribution<int> cc_pick(0, sizeof(kCcs) / sizeof(kCcs[0]) - 1);
  switch (kind(rng)) {
    case 0:
    case 1: return {false, np + random_digits(rng, len(rng))};                 // national
    case 2: return {false, r.idd + kCcs[cc_pick(rng)] + random_digits(rng, len(rng))};  // IDD
    case 3:
    case 4: return {true, std::string(kCcs[cc_pick(rng)]) + random_digits(rng, len(rng))};
    case 5: return {true, r.cc_digits + "0" + random_digits(rng, len(rng))};   // "+49 (0)211"
    case 6: return {false, r.cc_digits + random_digits(rng, len(rng))};        // cc, no plus
    case 7: return {false, random_digits(rng, len(rng))};                      // anything
    case 8: return {false, r.idd + "0" + random_digits(rng, len(rng))};        // IDD then 0
    default: return {true, random_digits(rng, len(rng))};
  }
}

class ResolverAgreement : public ::testing::TestWithParam<const char*> {};

TEST_P(ResolverAgreement, FastPathAgreesWithLibphonenumber) {
  const RegionFacts* r = PhoneMetadata::instance().region(GetParam());
  ASSERT_NE(r, nullptr);
  std::mt19937 rng(20261122);
  int answered = 0, total = 20000;
  for (int i = 0; i < total; ++i) {
    Shape s = random_shape(rng, *r);
    Resolved fast = resolve_fast(s.plus, s.digits, *r);
    if (fast.status == Resolved::Status::unsure) continue;
    ++answered;
    Resolved ref = resolve_libphonenumber(s.plus, s.digits, *r);
    ASSERT_EQ(fast.status, ref.status) << (s.plus ? "+" : "") << s.digits << " in " << r->id;
    if (ref.status == Resolved::Status::possible) {
      ASSERT_EQ(fast.e164(), ref.e164()) << (s.plus ? "+" : "") << s.digits << " in " << r->id;
    }
  }
  // Where the metadata is simple (plain-digit national and international prefixes, numbers never
  // start with the trunk prefix: DE, AT, CH, GB, US, FR, ...) the fast path must carry the bulk, or it is not a fast path; elsewhere it may defer more.
  RecordProperty("answered_fast", answered);
  std::printf("%s: fast path answered %d of %d random inputs\n", r->id.c_str(), answered, total);
  bool simple = r->npfp_simple && r->idd_simple &&
                (r->npfp.empty() || !(r->general_first_digits & (1u << (r->npfp[0] - '0'))));
  if (simple) {
    EXPECT_GT(answered, total / 2) << r->id;
  }
}

INSTANTIATE_TEST_SUITE_P(Regions, ResolverAgreement,
                         ::testing::Values("DE", "AT", "CH", "US", "GB", "CA", "FR", "IT", "NL",
                                           "ES", "AU", "BR", "RU", "IN", "CN", "JP", "SE", "PL"));

TEST(ReferenceE164, IsLibphonenumberWithPossibleCheck) {
  EXPECT_EQ(reference_e164("0211 33990312", "DE"), "+4921133990312");
  EXPECT_EQ(reference_e164("+49 (0)211 33990312", "DE"), "+4921133990312");
  EXPECT_EQ(reference_e164("(650) 253-0000", "US"), "+16502530000");
  EXPECT_EQ(reference_e164("12", "DE"), "invalid");
  std::string ext;
  EXPECT_EQ(reference_e164("+49 211 339903 ext. 12", "DE", &ext), "+49211339903");
  EXPECT_EQ(ext, "12");
}

TEST(Format, NationalInternationalAndForRegion) {
  EXPECT_EQ(format_e164("+4921133990312", DisplayStyle::national), "0211 33990312");
  EXPECT_EQ(format_e164("+4921133990312", DisplayStyle::international), "+49 211 33990312");
  EXPECT_EQ(format_for_region("+16502530000", "US"), "(650) 253-0000");
  EXPECT_EQ(format_for_region("+16502530000", "DE"), "+1 650-253-0000");
  EXPECT_EQ(format_for_region("+49211339903", "DE", "12"), "0211 339903 ext. 12");
  NumberFacts f = describe_e164("+4915112345678");
  EXPECT_TRUE(f.valid);
  EXPECT_EQ(f.type, "MOBILE");
  EXPECT_EQ(f.region, "DE");
}

}  // namespace
}  // namespace callbridge::core::phone
