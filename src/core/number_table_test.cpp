// Table-driven: a few hundred numbers of DE, AT, CH, US and UK in the forms people write them
// (national, international, IDD, "(0)", tel: URIs, extensions, company short forms, garbage).
// The expected E.164 of every row is computed here by libphonenumber itself, not written down.
#include <gtest/gtest.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <map>
#include <string>
#include <vector>

#include "core/dialing_plan.hpp"

namespace callbridge::core {
namespace {

using Kind = CanonicalNumber::Kind;
namespace pn = i18n::phonenumbers;

// libphonenumber alone: E.164 when Parse() succeeds and the length is IS_POSSIBLE.
std::string lib_e164(const std::string& text, const std::string& region) {
  const auto* util = pn::PhoneNumberUtil::GetInstance();
  pn::PhoneNumber n;
  if (util->Parse(text, region, &n) != pn::PhoneNumberUtil::NO_PARSING_ERROR ||
      util->IsPossibleNumberWithReason(n) != pn::PhoneNumberUtil::IS_POSSIBLE) {
    return "invalid";
  }
  std::string out;
  util->Format(n, pn::PhoneNumberUtil::E164, &out);
  return out;
}

struct Country {
  const char* key;
  DialingPlanOptions plan;
  const char* trunk;  // as written nationally
  const char* idd;
  std::vector<std::vector<std::string>> numbers;  // NSN groups, e.g. {"30", "2270"}
};

std::vector<Country> countries() {
  auto opts = [](const char* cc, const char* area, const char* base, int ext) {
    DialingPlanOptions o;
    o.country_code = cc;
    o.area_code = area;
    o.base_number = base;
    o.extension_lengths = {ext};
    return o;
  };
  return {
      {"DE", opts("49", "211", "339903", 2), "0", "00",
       {{"30", "2270"}, {"89", "123456"}, {"40", "123456789"}, {"151", "12345678"},
        {"170", "1234567"}, {"800", "1234567"}, {"69", "12345678"}, {"221", "1234567"},
        {"6221", "123456"}, {"33203", "12345"}}},
      {"AT", opts("43", "1", "53422", 3), "0", "00",
       {{"1", "5879920"}, {"662", "123456"}, {"664", "1234567"}, {"316", "123456"},
        {"512", "123456"}, {"800", "123456"}, {"732", "123456"}, {"676", "1234567"}}},
      {"CH", opts("41", "44", "66818", 2), "0", "00",
       {{"44", "123", "45", "67"}, {"31", "322", "21", "11"}, {"21", "345", "67", "89"},
        {"79", "123", "45", "67"}, {"800", "123", "456"}, {"61", "123", "45", "67"},
        {"91", "123", "45", "67"}, {"76", "123", "45", "67"}}},
      {"US", opts("1", "650", "253", 4), "1", "011",
       {{"212", "555", "0100"}, {"415", "555", "2671"}, {"202", "456", "1111"},
        {"312", "555", "0199"}, {"800", "555", "0199"}, {"917", "555", "0123"},
        {"305", "555", "0147"}, {"718", "555", "0142"}}},
      {"GB", opts("44", "20", "7946", 4), "0", "00",
       {{"20", "7123", "4567"}, {"161", "496", "0000"}, {"121", "496", "0000"},
        {"131", "496", "0000"}, {"7700", "900123"}, {"800", "123", "4567"},
        {"113", "496", "0000"}, {"1632", "960000"}}},
  };
}

std::string join(const std::vector<std::string>& g, const std::string& sep) {
  std::string out;
  for (std::size_t i = 0; i < g.size(); ++i) out += (i ? sep : "") + g[i];
  return out;
}

struct Row {
  std::string plan;    // country key
  std::string input;
  std::string lib_input;  // what libphonenumber gets for the expected value ("" = input)
  Kind kind;              // expected kind (external rows: external or invalid per libphonenumber)
  std::string extension;  // internal rows
  bool strict = false;    // we reject what libphonenumber would dig a number out of
};

std::vector<Row> rows() {
  std::vector<Row> out;
  auto cs = countries();
  for (const auto& c : cs) {
    const std::string cc = c.plan.country_code;
    for (const auto& g : c.numbers) {
      std::string nsn = join(g, "");
      std::vector<std::string> national = {
          std::string(c.trunk) + join(g, " "),
          "(" + std::string(c.trunk) + g[0] + ") " + join({g.begin() + 1, g.end()}, "-"),
          std::string(c.trunk) + g[0] + "/" + join({g.begin() + 1, g.end()}, ""),
      };
      std::vector<std::string> international = {
          "+" + cc + " " + join(g, " "),
          "+" + cc + nsn,
          std::string(c.idd) + " " + cc + " " + join(g, " "),
          "tel:+" + cc + "-" + join(g, "-"),
          "+" + cc + " " + join(g, " ") + " ext. 77",
      };
      if (std::string(c.trunk) == "0") international.push_back("+" + cc + " (0)" + join(g, " "));
      for (const auto& s : national) out.push_back({c.key, s, "", Kind::external, ""});
      // International forms are checked from every plan (a Swiss number called from Germany).
      for (const auto& s : international) {
        for (const auto& other : cs) {
          if (s.rfind("00", 0) == 0 || s.rfind("011", 0) == 0) {
            if (other.idd != std::string(c.idd)) continue;  // IDD of the dialing country
          }
          out.push_back({other.key, s, "", Kind::external, ""});
        }
      }
    }
  }
  // Company short forms (the plan rules); libphonenumber gets the full number.
  auto company = [&](const char* plan, const char* full, std::vector<const char*> forms,
                     const char* ext) {
    for (auto f : forms) out.push_back({plan, f, full, Kind::internal, ext});
  };
  company("DE", "+4921133990312",
          {"12", "33990312", "21133990312", "0211 33990312", "0211/339903-12",
           "+49 (0)211 339903-12", "+49 211 339903 ext. 12", "tel:+49-211-339903;ext=12",
           "0049 211 33990312", "tel:12;phone-context=+49-211-339903"},
          "12");
  company("AT", "+43153422150",
          {"150", "53422150", "153422150", "01 53422 150", "+43 1 53422-150", "+43 (0)1 53422 150"},
          "150");
  company("CH", "+41446681818",
          {"18", "6681818", "446681818", "044 668 18 18", "+41 44 668 18 18", "+41 (0)44 668 18 18"},
          "18");
  company("US", "+16502531234",
          {"1234", "2531234", "6502531234", "(650) 253-1234", "1 650 253 1234", "+1 650 253 1234",
           "011 1 650 253 1234"},
          "1234");
  company("GB", "+442079464567",
          {"4567", "79464567", "2079464567", "020 7946 4567", "+44 (0)20 7946 4567",
           "00 44 20 7946 4567"},
          "4567");
  // Garbage and impossible numbers, for every plan.
  for (const auto& c : cs) {
    for (auto s : {"+999 123456", "+49 1", "+1 12", "123456789012345678901234", "+0 211 339903",
                   "000", "0", "0000000000000000000"}) {
      out.push_back({c.key, s, "", Kind::invalid, ""});
    }
    for (auto s : {"abc", "John Smith", "1-800-FLOWERS", "0211 339903 call me", "*31#",
                   "+49 211 33 99 03 / Fax"}) {
      out.push_back({c.key, s, "", Kind::invalid, "", /*strict=*/true});
    }
    for (auto s : {"", "anonymous", "Restricted", "<unknown>"}) {
      out.push_back({c.key, s, "", Kind::withheld, ""});
    }
  }
  return out;
}

TEST(NumberTable, AgreesWithLibphonenumber) {
  std::map<std::string, DialingPlan> plans;
  for (const auto& c : countries()) {
    auto p = DialingPlan::create(c.plan);
    ASSERT_TRUE(p) << p.error().to_string();
    plans.emplace(c.key, std::move(*p));
  }
  auto table = rows();
  ASSERT_GE(table.size(), 200u);
  std::size_t external = 0, internal = 0, invalid = 0, withheld = 0, fast = 0;
  for (const auto& row : table) {
    const DialingPlan& plan = plans.at(row.plan);
    CanonicalNumber got = plan.canonicalize(row.input);
    CanonicalNumber ref_path = plan.canonicalize(row.input, NumberSource::user,
                                                 ResolvePath::libphonenumber);
    std::string where = row.plan + " '" + row.input + "'";
    EXPECT_EQ(got.e164, ref_path.e164) << where;
    EXPECT_EQ(got.kind, ref_path.kind) << where;
    if (!got.via_libphonenumber) ++fast;
    switch (row.kind) {
      case Kind::withheld:
        EXPECT_EQ(got.kind, Kind::withheld) << where;
        ++withheld;
        break;
      case Kind::internal:
        EXPECT_EQ(got.kind, Kind::internal) << where << " reason=" << got.reason;
        EXPECT_EQ(got.extension, row.extension) << where;
        EXPECT_EQ(got.e164, lib_e164(row.lib_input, plan.region())) << where;
        ++internal;
        break;
      case Kind::invalid:
        EXPECT_EQ(got.kind, Kind::invalid) << where << " -> " << got.e164;
        EXPECT_FALSE(got.reason.empty()) << where;
        if (!row.strict && !row.input.empty()) {
          EXPECT_EQ(lib_e164(row.input, plan.region()), "invalid") << where;
        }
        ++invalid;
        break;
      case Kind::external: {
        std::string want = lib_e164(row.input, plan.region());
        if (want == "invalid") {
          EXPECT_EQ(got.kind, Kind::invalid) << where << " -> " << got.e164;
          ++invalid;
        } else {
          EXPECT_EQ(got.kind, Kind::external) << where;
          EXPECT_EQ(got.e164, want) << where;
          ++external;
        }
        break;
      }
    }
  }
  std::printf("number table: %zu rows (%zu external, %zu internal, %zu invalid, %zu withheld); "
              "%zu answered without libphonenumber\n",
              table.size(), external, internal, invalid, withheld, fast);
  EXPECT_GE(external, 150u);
}

}  // namespace
}  // namespace callbridge::core
