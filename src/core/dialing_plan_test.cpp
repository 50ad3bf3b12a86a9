// The plan rules users rely on (ConSol CM/Phone-style company expansion, outside-line code,
// tel: URIs, withheld markers, garbage) and the reverse direction (dial strings, display).
#include "core/dialing_plan.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <thread>
#include <vector>

namespace callbridge::core {
namespace {

using Kind = CanonicalNumber::Kind;

DialingPlan plan(DialingPlanOptions o) {
  auto p = DialingPlan::create(std::move(o));
  if (!p) ADD_FAILURE() << p.error().to_string();
  return std::move(*p);
}

// The documented example: Düsseldorf, +49 211 339903-xx, two-digit extensions.
DialingPlan consol(std::string outside = "", bool pbx_outside = false) {
  DialingPlanOptions o;
  o.country_code = "49";
  o.area_code = "211";
  o.base_number = "339903";
  o.extension_lengths = {2};
  o.outside_prefix = std::move(outside);
  o.pbx_reports_outside_prefix = pbx_outside;
  return plan(std::move(o));
}

void expect(const DialingPlan& p, std::string_view input, Kind kind, std::string_view e164,
            std::string_view ext = {}, NumberSource src = NumberSource::user) {
  for (auto path : {ResolvePath::fast, ResolvePath::libphonenumber}) {
    CanonicalNumber c = p.canonicalize(input, src, path);
    EXPECT_EQ(to_string(c.kind), to_string(kind)) << "'" << input << "' reason=" << c.reason;
    EXPECT_EQ(c.e164, e164) << "'" << input << "'";
    EXPECT_EQ(c.extension, ext) << "'" << input << "'";
  }
}

TEST(DialingPlan, CompanyPatternExpandsShortForms) {
  auto p = consol();
  expect(p, "12", Kind::internal, "+4921133990312", "12");
  expect(p, "33990312", Kind::internal, "+4921133990312", "12");
  expect(p, "21133990312", Kind::internal, "+4921133990312", "12");
  expect(p, "0211 33990312", Kind::internal, "+4921133990312", "12");
  expect(p, "+4921133990312", Kind::internal, "+4921133990312", "12");
  expect(p, "+49 (0)211 33990312", Kind::internal, "+4921133990312", "12");
  expect(p, "0211/339903-12", Kind::internal, "+4921133990312", "12");
  expect(p, "00492113399031 2", Kind::internal, "+4921133990312", "12");
  // The main number itself is the company, but no extension.
  expect(p, "339903", Kind::external, "+49211339903");
  expect(p, "0211 339903", Kind::external, "+49211339903");
}

TEST(DialingPlan, PlusOrZeroIsNeverExpanded) {
  auto p = consol();
  // "033990312" is a national number of another area (+49 33990 312), not the company.
  expect(p, "033990312", Kind::external, "+4933990312");
  expect(p, "+4933990312", Kind::external, "+4933990312");
  // A 3-digit number is not an extension of this plan: a local number of the area (rule 5);
  // without an area code in the plan, libphonenumber decides (too short).
  expect(p, "123", Kind::external, "+49211123");
  DialingPlanOptions no_area;
  no_area.country_code = "49";
  no_area.extension_lengths = {2};
  expect(plan(no_area), "123", Kind::invalid, "");
}

// A number without trunk, international or outside-line prefix that is longer than an extension
// and is not the company's base number is a local subscriber number of our area, however it
// arrives (typed, stored, reported by the PBX, dialed): "33990312" is the company's, so
// "5555555" is Duesseldorf's too. Regression: it used to be read as national (+495555555).
TEST(DialingPlan, LocalNumbersGetTheAreaCode) {
  for (auto src : {NumberSource::user, NumberSource::pbx, NumberSource::dialed}) {
    auto p = consol();
    expect(p, "5555555", Kind::external, "+492115555555", "", src);
    expect(p, "555 55 55", Kind::external, "+492115555555", "", src);
    expect(p, "4711234", Kind::external, "+492114711234", "", src);
    // The company's block with a number that is not an extension is still our area.
    expect(p, "339903999", Kind::external, "+49211339903999", "", src);
    // The company rule still comes first; the base alone is the main number.
    expect(p, "33990312", Kind::internal, "+4921133990312", "12", src);
    expect(p, "339903", Kind::external, "+49211339903", "", src);
    // With a trunk or international prefix the number says where it is.
    expect(p, "0 5555555", Kind::external, "+495555555", "", src);
    expect(p, "0211 5555555", Kind::external, "+492115555555", "", src);
  }
  // An outside-line code in front is not part of a local number: the existing rules decide.
  auto with_code = consol("0", true);
  expect(with_code, "05555555", Kind::external, "+492115555555", "", NumberSource::pbx);
  // No area code in the plan: nothing to put in front.
  DialingPlanOptions o;
  o.country_code = "49";
  o.extension_lengths = {2};
  expect(plan(o), "5555555", Kind::external, "+495555555");
}

TEST(DialingPlan, LocalNumbersOfNanpAreasAndTenDigitNationalNumbers) {
  DialingPlanOptions o;
  o.country_code = "1";
  o.area_code = "650";
  o.extension_lengths = {4};
  auto p = plan(o);
  expect(p, "555 0100", Kind::external, "+16505550100");
  // Area + ten digits cannot be a NANP number: the national reading stays.
  expect(p, "212 555 0100", Kind::external, "+12125550100");
}

TEST(DialingPlan, ExternalNumbersFromPbxAndUsers) {
  auto p = consol();
  expect(p, "+4989123456", Kind::external, "+4989123456");
  expect(p, "089123456", Kind::external, "+4989123456");
  expect(p, "0049 89 123456", Kind::external, "+4989123456");
  expect(p, "+41 44 668 18 00", Kind::external, "+41446681800");
  expect(p, "0041446681800", Kind::external, "+41446681800");
  expect(p, "+1 (650) 253-0000", Kind::external, "+16502530000");
  expect(p, "+44 20 7946 0000", Kind::external, "+442079460000");
  expect(p, "0151 12345678", Kind::external, "+4915112345678");
}

TEST(DialingPlan, OutsideLineCodeFromPbx) {
  // The PBX reports external caller ids with the outside code: always strip it.
  auto p = consol("0", true);
  expect(p, "0089123456", Kind::external, "+4989123456", "", NumberSource::pbx);
  expect(p, "00041446681800", Kind::external, "+41446681800", "", NumberSource::pbx);
  // A local number after the outside code gets our area code.
  expect(p, "04711234", Kind::external, "+492114711234", "", NumberSource::pbx);
  expect(p, "12", Kind::internal, "+4921133990312", "12", NumberSource::pbx);
}

TEST(DialingPlan, OutsideLineCodeTypedByUsersIsResolvedByPlausibility) {
  auto p = consol("0", false);
  // "0089123456": +89... has no country code, so it must be outside code + 089123456.
  expect(p, "0089123456", Kind::external, "+4989123456");
  // "00492113399030": international, and valid as written (the switchboard "-0"; not an
  // extension of this plan, whose extensions have two digits).
  expect(p, "00492113399030", Kind::external, "+492113399030");
  expect(p, "089123456", Kind::external, "+4989123456");
}

TEST(DialingPlan, NumbersDialedByInternalPhonesAlwaysCarryTheOutsideCode) {
  auto p = consol("0", false);
  expect(p, "0089123456", Kind::external, "+4989123456", "", NumberSource::dialed);
  expect(p, "00211 123456", Kind::external, "+49211123456", "", NumberSource::dialed);
  expect(p, "00041446681800", Kind::external, "+41446681800", "", NumberSource::dialed);
  expect(p, "04711234", Kind::external, "+492114711234", "", NumberSource::dialed);
  expect(p, "12", Kind::internal, "+4921133990312", "12", NumberSource::dialed);
  // Without an outside code in the plan, dialed numbers read like typed ones.
  expect(consol(), "089123456", Kind::external, "+4989123456", "", NumberSource::dialed);
}

TEST(DialingPlan, OutsideCodeNine) {
  DialingPlanOptions o;
  o.country_code = "1";
  o.area_code = "650";
  o.base_number = "253";
  o.extension_lengths = {4};
  o.outside_prefix = "9";
  o.pbx_reports_outside_prefix = true;
  auto p = plan(o);
  expect(p, "9 1 212 555 0100", Kind::external, "+12125550100", "", NumberSource::pbx);
  expect(p, "9011 49 89 123456", Kind::external, "+4989123456", "", NumberSource::pbx);
  expect(p, "1234", Kind::internal, "+16502531234", "1234", NumberSource::pbx);
  expect(p, "(650) 253-1234", Kind::internal, "+16502531234", "1234");
  expect(p, "+1 212 555 0100", Kind::external, "+12125550100");
}

TEST(DialingPlan, ExtensionRanges) {
  DialingPlanOptions o;
  o.country_code = "43";
  o.area_code = "1";
  o.base_number = "53422";
  o.extension_ranges = {{"100", "199"}, {"5000", "5999"}};
  auto p = plan(o);
  EXPECT_TRUE(p.is_extension("150"));
  EXPECT_FALSE(p.is_extension("200"));
  EXPECT_TRUE(p.is_extension("5000"));
  EXPECT_FALSE(p.is_extension("50"));
  expect(p, "150", Kind::internal, "+43153422150", "150");
  expect(p, "01 53422 5999", Kind::internal, "+431534225999", "5999");
  expect(p, "01 53422 200", Kind::external, "+43153422200");
}

TEST(DialingPlan, Withheld) {
  auto p = consol();
  for (auto s : {"", "  ", "anonymous", "Anonymous", "Restricted", "PRIVATE", "<unknown>",
                 "unknown", "anonymous@anonymous.invalid", "withheld"}) {
    expect(p, s, Kind::withheld, "");
  }
}

TEST(DialingPlan, GarbageIsInvalidWithReason) {
  auto p = consol();
  for (auto s : {"abc", "Max Mustermann", "0211 CALLBRIDGE", "12ab34", "*21#", "+49+211",
                 "0211 339903 ext", "++", "+", "-", "tel:", "tel:+49-211-33990x",
                 "123456789012345678901234567890123", "0800 FLOWERS"}) {
    CanonicalNumber c = p.canonicalize(s);
    EXPECT_EQ(c.kind, Kind::invalid) << "'" << s << "'";
    EXPECT_FALSE(c.reason.empty()) << "'" << s << "'";
    EXPECT_TRUE(c.e164.empty()) << "'" << s << "'";
  }
  EXPECT_EQ(p.canonicalize("abc").reason, "letters or symbols");
  EXPECT_EQ(p.canonicalize("+49 1").reason, "not a possible number");
}

TEST(DialingPlan, TelUris) {
  auto p = consol();
  expect(p, "tel:+49-211-339903-12", Kind::internal, "+4921133990312", "12");
  expect(p, "tel:+49-211-339903;ext=12", Kind::internal, "+4921133990312", "12");
  expect(p, "TEL:+49.89.123456", Kind::external, "+4989123456");
  expect(p, "tel:12;phone-context=+49-211-339903", Kind::internal, "+4921133990312", "12");
  expect(p, "tel:89123456;phone-context=+49", Kind::external, "+4989123456");
  // A domain context adds no digits: the local number follows the plan rules.
  expect(p, "tel:12;phone-context=pbx.example.com", Kind::internal, "+4921133990312", "12");
  expect(p, "tel:+49-89-123456;isub=1234;foo=bar", Kind::external, "+4989123456");
  CanonicalNumber c = p.canonicalize("tel:+49-89-123456;ext=77");
  EXPECT_EQ(c.kind, Kind::external);
  EXPECT_EQ(c.remote_extension, "77");
}

TEST(DialingPlan, TextExtensions) {
  auto p = consol();
  expect(p, "+49 211 339903 ext. 12", Kind::internal, "+4921133990312", "12");
  expect(p, "0211 339903 x12", Kind::internal, "+4921133990312", "12");
  expect(p, "0211 339903,,12", Kind::internal, "+4921133990312", "12");
  CanonicalNumber c = p.canonicalize("+1 650 253 0000 ext 4711");
  EXPECT_EQ(c.kind, Kind::external);
  EXPECT_EQ(c.e164, "+16502530000");
  EXPECT_EQ(c.remote_extension, "4711");
}

TEST(DialingPlan, UnicodeSeparators) {
  auto p = consol();
  expect(p, "+49\u00a0211\u00a033990312", Kind::internal, "+4921133990312", "12");
  expect(p, "0211\u2013339903\u201312", Kind::internal, "+4921133990312", "12");
}

TEST(DialingPlan, PlanWithoutDidBlock) {
  DialingPlanOptions o;
  o.country_code = "49";
  o.extension_lengths = {3};
  auto p = plan(o);
  expect(p, "201", Kind::internal, "", "201");
  expect(p, "089 123456", Kind::external, "+4989123456");
}

TEST(DialingPlan, DialStrings) {
  auto p = consol("0");
  EXPECT_EQ(*p.dial_string("+4921133990312"), "12");
  EXPECT_EQ(*p.dial_string("tel:+49-211-339903;ext=12"), "12");
  EXPECT_EQ(*p.dial_string("+4989123456"), "0089123456");
  EXPECT_EQ(*p.dial_string("+41446681800"), "00041446681800");
  EXPECT_EQ(*p.dial_string("tel:+1-650-253-0000"), "00016502530000");
  EXPECT_FALSE(p.dial_string("anonymous"));
  EXPECT_FALSE(p.dial_string("garbage"));
  EXPECT_EQ(p.dial_string("garbage").error().code(), base::Errc::invalid_argument);

  DialingPlanOptions us;
  us.country_code = "1";
  us.outside_prefix = "9";
  auto u = plan(us);
  EXPECT_EQ(u.national_prefix(), "1");
  EXPECT_EQ(u.international_prefix(), "011");
  EXPECT_EQ(*u.dial_string("+16502530000"), "916502530000");
  EXPECT_EQ(*u.dial_string("+4989123456"), "90114989123456");

  DialingPlanOptions it;
  it.country_code = "39";
  auto i = plan(it);
  EXPECT_EQ(*i.dial_string("+390612345678"), "0612345678");  // Italy keeps the leading 0
}

// fuzz/dialing_plan: in a GB plan "089123456" is +44089123456 (libphonenumber keeps the 0: without
// it the length is impossible); dialed nationally as "0" + "089123456" it read back as an
// international call. A national form that does not read back goes out internationally.
TEST(DialingPlan, DialStringReadsBackAsTheSameNumber) {
  DialingPlanOptions gb;
  gb.country_code = "44";
  gb.area_code = "20";
  gb.base_number = "7946";
  gb.extension_lengths = {4};
  gb.outside_prefix = "9";
  auto g = plan(gb);
  auto c = g.canonicalize("089123456");
  ASSERT_EQ(c.e164, "+44089123456");
  auto d = g.dial_string("089123456");
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, "90044089123456");
  EXPECT_EQ(g.canonicalize(*d, NumberSource::dialed).e164, "+44089123456");
  EXPECT_EQ(*g.dial_string("+442071234567"), "902071234567");  // ordinary numbers stay national
}

// The fuzz finding of 2026-12-06 (docs/reliability.md): libphonenumber strips Mexico's old
// mobile "1" after "+52" once per pass, so "+52 1 1 33..." read once gave a form that read again
// lost another "1". Normalizing goes to the fixed point, in both paths, from any plan.
TEST(DialingPlan, NormalizingIsIdempotentForMexicanMobileTokens) {
  for (auto p : {consol(), consol("0")}) {
    expect(p, "+5\t\t211339903]]3456", Kind::external, "+523399033456");
    expect(p, "+52113399033456", Kind::external, "+523399033456");
    expect(p, "+5213399033456", Kind::external, "+523399033456");
    expect(p, "+523399033456", Kind::external, "+523399033456", {}, NumberSource::pbx);
    auto d = p.dial_string("+52113399033456");
    ASSERT_TRUE(d);
    EXPECT_EQ(p.canonicalize(*d, NumberSource::dialed).e164, "+523399033456") << *d;
  }
  DialingPlanOptions mx;
  mx.country_code = "52";
  mx.area_code = "33";
  mx.base_number = "39903300";
  mx.extension_lengths = {2};
  auto m = plan(mx);
  for (std::string_view s : {"+52113399033456", "+5213399033456", "3399033456"}) {
    auto once = m.canonicalize(s);
    ASSERT_FALSE(once.e164.empty()) << s << " " << once.reason;
    for (auto path : {ResolvePath::fast, ResolvePath::libphonenumber}) {
      EXPECT_EQ(m.canonicalize(once.e164, NumberSource::pbx, path).e164, once.e164) << s;
    }
  }
}

TEST(DialingPlan, Display) {
  auto p = consol();
  EXPECT_EQ(p.display(p.canonicalize("12"), "DE"), "0211 33990312");
  EXPECT_EQ(p.display(p.canonicalize("12"), "CH"), "+49 211 33990312");
  EXPECT_EQ(p.display(p.canonicalize("+16502530000"), ""), "+1 650-253-0000");
  EXPECT_EQ(p.display(p.canonicalize("anonymous"), "DE"), "");
  EXPECT_EQ(region_from_locale("de-DE"), "DE");
  EXPECT_EQ(region_from_locale("en_GB.UTF-8"), "GB");
  EXPECT_EQ(region_from_locale("de"), "");
}

TEST(DialingPlan, CreateValidates) {
  DialingPlanOptions o;
  EXPECT_FALSE(DialingPlan::create(o));
  o.country_code = "+49";
  EXPECT_TRUE(DialingPlan::create(o));
  o.area_code = "0211";
  EXPECT_FALSE(DialingPlan::create(o));
  o.area_code = "21a";
  EXPECT_FALSE(DialingPlan::create(o));
  o.area_code = "211";
  o.region = "US";
  EXPECT_FALSE(DialingPlan::create(o));
  o.region = "de";
  EXPECT_TRUE(DialingPlan::create(o));
  o.extension_ranges = {{"10", "199"}};
  EXPECT_FALSE(DialingPlan::create(o));
  o.extension_ranges = {};
  o.extension_lengths = {0};
  EXPECT_FALSE(DialingPlan::create(o));
  o.extension_lengths = {};
  o.area_code = "123456789";
  EXPECT_FALSE(DialingPlan::create(o));
  o.area_code = "211";
  o.international_prefix = "00000";
  EXPECT_FALSE(DialingPlan::create(o));
  o.international_prefix = "0x";
  EXPECT_FALSE(DialingPlan::create(o));
  o.international_prefix.reset();
  o.country_code = "800";  // non-geographic: no plan
  o.region = "";
  EXPECT_FALSE(DialingPlan::create(o));
  o.country_code = "999";
  EXPECT_FALSE(DialingPlan::create(o));
  o.country_code = "063";  // read as 63, but it would be written "+063..." (fuzz finding)
  auto bad = DialingPlan::create(o);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("must not start with 0"), std::string::npos);
}

// An extension's E.164 (cc + area + base + extension) reads back as that extension even where
// libphonenumber calls its length impossible: it is our own number (fuzz finding, a random plan).
TEST(DialingPlan, TheE164OfAnExtensionReadsBackAsTheExtension) {
  DialingPlanOptions sk;
  sk.country_code = "421";
  sk.area_code = "2";
  sk.base_number = "5010";
  sk.extension_lengths = {4};  // +421 2 5010 xxxx: 9 digits, possible
  auto ok = plan(sk);
  expect(ok, "+421250101234", Kind::internal, "+421250101234", "1234");
  sk.extension_lengths = {6};  // +421 2 5010 xxxxxx: 11 digits, more than Slovakia's numbers have
  auto p = plan(sk);
  auto c = p.canonicalize("123456");
  ASSERT_EQ(to_string(c.kind), "internal");
  ASSERT_EQ(c.e164, "+42125010123456");
  for (auto src : {NumberSource::pbx, NumberSource::user, NumberSource::dialed}) {
    expect(p, c.e164, Kind::internal, "+42125010123456", "123456", src);
  }
  expect(p, "+4212501012345", Kind::invalid, "");  // not an extension: libphonenumber decides
}

// fuzz/dialing_plan: with 2-digit extensions "21133990300" was internal extension "00" and
// "33990301" extension "01", whose dial strings "00"/"01" read back as a line seizure (outside-line
// code "0"), a call abroad or an invalid number.
TEST(DialingPlan, ExtensionsDoNotStartWithTheOutsideLineCode) {
  auto p = consol("0", true);
  EXPECT_FALSE(p.is_extension("00"));
  EXPECT_FALSE(p.is_extension("05"));
  EXPECT_TRUE(p.is_extension("12"));
  EXPECT_NE(p.canonicalize("21133990300").kind, Kind::internal);
  expect(p, "0211 33990300", Kind::external, "+4921133990300");
  auto d = p.dial_string("0211 33990300");
  ASSERT_TRUE(d);
  EXPECT_EQ(p.canonicalize(*d, NumberSource::dialed).e164, "+4921133990300");
  // Nor with '0' (read as a trunk prefix when typed or dialed) in any plan.
  EXPECT_FALSE(consol().is_extension("05"));
  EXPECT_FALSE(consol().is_extension("00"));
  EXPECT_NE(consol().canonicalize("21133990300").kind, Kind::internal);
  EXPECT_NE(consol().canonicalize("33990301").kind, Kind::internal);
  DialingPlanOptions us;  // an international prefix without '0' (no such country; the rule holds)
  us.country_code = "1";
  us.international_prefix = "811";
  us.extension_lengths = {3};
  EXPECT_FALSE(plan(us).is_extension("811"));
  EXPECT_TRUE(plan(us).is_extension("812"));
}

// fuzz/dialing_plan: a plan whose extensions had E.164 numbers of more than 15 digits
// (country code + area code + base number + extension) was accepted.
TEST(DialingPlan, CreateRejectsExtensionsLongerThanE164) {
  DialingPlanOptions o;
  o.country_code = "421";
  o.area_code = "2";
  o.base_number = "1234567890";
  o.extension_lengths = {3};
  EXPECT_FALSE(DialingPlan::create(o));  // 3 + 1 + 10 + 3 = 17 digits
  o.extension_lengths = {1};
  EXPECT_TRUE(DialingPlan::create(o));   // 15
}

// fuzz/dialing_plan: a dialed "19011441234567" became "+4919011441234567", 16 digits; E.164 has 15
// at most (libphonenumber's possible lengths for DE allow the 14-digit national number).
TEST(DialingPlan, NumbersLongerThanE164AreInvalid) {
  auto p = consol("0", true);
  for (auto path : {ResolvePath::fast, ResolvePath::libphonenumber}) {
    auto c = p.canonicalize("19011441234567", NumberSource::dialed, path);
    EXPECT_EQ(c.kind, Kind::invalid) << c.e164;
    EXPECT_EQ(c.reason, "longer than 15 digits (E.164)");
  }
  expect(p, "+49 1901 1441234567", Kind::invalid, "");
  expect(p, "+49 1901 144123456", Kind::external, "+491901144123456");  // 15 digits
}

// Seen while checking a fuzz/dialing_plan report: international_prefix = "" was accepted, and
// "+4989123456" was then dialed as "4989123456" (a local number).
TEST(DialingPlan, CreateRejectsEmptyInternationalPrefix) {
  DialingPlanOptions o;
  o.country_code = "49";
  o.international_prefix = "";
  auto p = DialingPlan::create(o);
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message().find("international prefix"), std::string::npos);
  o.international_prefix = "00";
  EXPECT_TRUE(DialingPlan::create(o));
}

}  // namespace
}  // namespace callbridge::core

namespace callbridge::core {
namespace {

// Random text from digits, separators, pluses, letters, URI bits and stray bytes: never crashes,
// always classifies, and the fast path agrees with the libphonenumber-only path on every input.
TEST(DialingPlan, RandomTextAgreesAcrossPaths) {
  std::vector<DialingPlan> plans;
  plans.push_back(consol());
  plans.push_back(consol("0", true));
  DialingPlanOptions us;
  us.country_code = "1";
  us.area_code = "650";
  us.base_number = "253";
  us.extension_lengths = {4};
  us.outside_prefix = "9";
  plans.push_back(plan(us));
  static const std::vector<std::string> kPieces = {
      "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "00", "49", "211", "339903", "12",
      "+", " ", "-", "/", "(", ")", "(0)", ".", "tel:", ";ext=", ";phone-context=+49", "ext. ",
      "x", "#", ",,", "a", "Z", "*", "\xc2\xa0", "\xe2\x80\x93", "\xff", "anonymous", "\t"};
  std::mt19937 rng(7);
  // Most pieces are number-like (the first 24), so many inputs reach E.164 resolution.
  std::uniform_int_distribution<std::size_t> any(0, kPieces.size() - 1), numeric(0, 23), len(0, 14);
  std::uniform_int_distribution<int> coin(0, 9);
  auto piece = [&](std::mt19937& r) { return coin(r) < 8 ? numeric(r) : any(r); };
  int external = 0;
  for (int i = 0; i < 30000; ++i) {
    std::string s;
    for (std::size_t n = len(rng); n > 0; --n) s += kPieces[piece(rng)];
    for (const auto& p : plans) {
      for (auto src : {NumberSource::user, NumberSource::pbx, NumberSource::dialed}) {
        CanonicalNumber a = p.canonicalize(s, src, ResolvePath::fast);
        CanonicalNumber b = p.canonicalize(s, src, ResolvePath::libphonenumber);
        ASSERT_EQ(a.kind, b.kind) << "'" << s << "'";
        ASSERT_EQ(a.e164, b.e164) << "'" << s << "'";
        ASSERT_EQ(a.extension, b.extension) << "'" << s << "'";
        ASSERT_EQ(a.remote_extension, b.remote_extension) << "'" << s << "'";
        if (a.kind == Kind::invalid) {
          ASSERT_FALSE(a.reason.empty()) << "'" << s << "'";
        }
        if (a.kind == Kind::external) {
          ASSERT_EQ(a.e164[0], '+');
          ++external;
        }
      }
    }
  }
  // Enough inputs must get through the lexer for the comparison to mean something.
  EXPECT_GT(external, 30000 * 6 / 20) << "external results: " << external;
}

}  // namespace
}  // namespace callbridge::core

namespace callbridge::core {
namespace {

// One plan shared by several threads (the AMI thread, API workers) gives the same answers as
// one thread, on both paths (libphonenumber's singleton included).
TEST(DialingPlan, SharedAcrossThreads) {
  auto p = consol("0", true);
  std::vector<std::string> inputs;
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> d(0, 9);
  for (int i = 0; i < 4000; ++i) {
    std::string s = (i % 3 == 0) ? "+49" : (i % 3 == 1) ? "0" : "";
    for (int k = 0; k < 4 + i % 9; ++k) s.push_back(static_cast<char>('0' + d(rng)));
    inputs.push_back(s);
  }
  std::vector<std::string> want;
  for (const auto& s : inputs) {
    want.push_back(p.canonicalize(s, NumberSource::pbx).e164 + "|" +
                   p.canonicalize(s, NumberSource::pbx, ResolvePath::libphonenumber).e164);
  }
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t i = 0; i < inputs.size(); ++i) {
        const auto& s = inputs[(i + t * 997) % inputs.size()];
        std::string got = p.canonicalize(s, NumberSource::pbx).e164 + "|" +
                          p.canonicalize(s, NumberSource::pbx, ResolvePath::libphonenumber).e164;
        if (got != want[(i + t * 997) % inputs.size()]) ++mismatches[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

}  // namespace
}  // namespace callbridge::core
