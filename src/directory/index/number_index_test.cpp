#include "directory/index/number_index.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "core/lookup_service.hpp"

namespace callbridge::directory {
namespace {

using ports::ContactKind;

NumberIndex build(NumberIndex::Builder&& b) {
  auto ix = std::move(b).finish();
  EXPECT_TRUE(ix.has_value());
  return std::move(*ix);
}

std::vector<std::int64_t> exact_ids(const NumberIndex& ix, std::string_view e164) {
  std::vector<std::int64_t> ids;
  ix.for_each_exact(*e164_key(e164), [&](const NumberIndex::Hit& h) { ids.push_back(h.contact.id); });
  return ids;
}

TEST(NumberIndexKey, RoundTripsAndKeepsLeadingZerosDistinct) {
  for (std::string s : {"+4921133990312", "+1", "+12125550123", "+99999999999999999", "+0049", "+490"}) {
    auto k = e164_key(s);
    ASSERT_TRUE(k) << s;
    EXPECT_EQ(e164_from_key(*k), s);
  }
  EXPECT_NE(*e164_key("+049"), *e164_key("+49"));
  EXPECT_NE(*e164_key("+4900"), *e164_key("+490"));
  for (std::string s : {"", "+", "4921133990312", "+49 211", "+49a", "+1234567890123456789", "++49"}) {
    EXPECT_FALSE(e164_key(s)) << s;
  }
}

TEST(NumberIndex, ExactMatchesInStoreOrderWithLabelsAndNames) {
  NumberIndex::Builder b;
  auto bea = b.add_contact(7, ContactKind::person, "Bea", "ACME");
  auto anna2 = b.add_contact(9, ContactKind::person, "Anna", "");
  auto anna1 = b.add_contact(3, ContactKind::person, "Anna", "ACME");
  auto acme = b.add_contact(1, ContactKind::company, "ACME", "ACME");
  b.add_number(bea, "+492113399030", "work");
  b.add_number(anna2, "+492113399030", "main");
  b.add_number(anna1, "+492113399030", "");
  b.add_number(acme, "+49211339903", "main");
  b.add_number(bea, "+4917012345678", "mobile");
  b.add_number(bea, "", "ignored");
  NumberIndex ix = build(std::move(b));
  EXPECT_EQ(ix.contacts(), 4u);
  EXPECT_EQ(ix.numbers(), 5u);
  EXPECT_EQ(ix.distinct_numbers(), 3u);
  EXPECT_EQ(exact_ids(ix, "+492113399030"), (std::vector<std::int64_t>{3, 9, 7}));
  EXPECT_EQ(ix.count_exact(*e164_key("+492113399030")), 3u);
  EXPECT_EQ(ix.count_exact(*e164_key("+492113399031")), 0u);

  std::vector<ports::ContactMatch> out;
  ix.lookup({"+4917012345678", "+49211339903", "+49211339903", "+49"}, "store", 10, &out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].contact_id, "7");
  EXPECT_EQ(out[0].display_name, "Bea");
  EXPECT_EQ(out[0].company, "ACME");
  EXPECT_EQ(out[0].label, "mobile");
  EXPECT_EQ(out[0].matched_number, "+4917012345678");
  EXPECT_EQ(out[0].source, "store");
  EXPECT_EQ(out[0].priority, 10);
  EXPECT_EQ(out[1].kind, ContactKind::company);
  EXPECT_EQ(out[1].display_name, "ACME");
  EXPECT_EQ(out[1].label, "main");
}

TEST(NumberIndex, NumbersThatAreNotPlusDigitsAreStillFoundByText) {
  NumberIndex::Builder b;
  auto c = b.add_contact(5, ContactKind::person, "Odd", "");
  b.add_number(c, "sip:bob@example.com", "sip");
  NumberIndex ix = build(std::move(b));
  EXPECT_EQ(ix.numbers(), 1u);
  std::vector<ports::ContactMatch> out;
  ix.lookup({"sip:bob@example.com"}, "store", 10, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].contact_id, "5");
}

TEST(NumberIndex, EmptyIndexFindsNothing) {
  NumberIndex ix = build(NumberIndex::Builder{});
  EXPECT_EQ(ix.count_exact(*e164_key("+4989123456")), 0u);
  EXPECT_EQ(ix.for_each_best(*e164_key("+4989123456"), {}, [](const auto&) {}), 0u);
  NumberIndex def;
  EXPECT_EQ(def.count_exact(*e164_key("+4989123456")), 0u);
}

TEST(NumberIndex, CompanyFallbackPrefersExactThenLongestPrefix) {
  NumberIndex::Builder b;
  auto acme = b.add_contact(1, ContactKind::company, "ACME", "ACME");
  auto board = b.add_contact(2, ContactKind::company, "ACME Zentrale", "ACME");
  auto eva = b.add_contact(3, ContactKind::person, "Eva", "ACME");
  b.add_number(acme, "+49211339903", "main");
  b.add_number(board, "+492113399030", "main");
  b.add_number(eva, "+4921133990345", "work");
  NumberIndex ix = build(std::move(b));
  auto best = [&](std::string_view e164) {
    std::vector<std::pair<std::int64_t, std::uint32_t>> r;
    ix.for_each_best(*e164_key(e164), {}, [&](const NumberIndex::Hit& h) { r.emplace_back(h.contact.id, h.distance); });
    return r;
  };
  using V = std::vector<std::pair<std::int64_t, std::uint32_t>>;
  EXPECT_EQ(best("+4921133990345"), (V{{3, 0}}));           // exact hides company guesses
  EXPECT_EQ(best("+4921133990377"), (V{{1, 2}, {2, 2}}));   // base and base+"0", both distance 2
  EXPECT_EQ(best("+492113399037"), (V{{1, 1}}));            // one-digit extension: base only
  EXPECT_EQ(best("+492113399030"), (V{{2, 0}}));
  EXPECT_EQ(best("+4989123456"), V{});
}

// For random stores and callers, for_each_best must give exactly the matches LookupService ranks
// first: its candidates, exact before company, smallest distance (same rule as its rank()).
TEST(NumberIndex, BestAgreesWithLookupServiceCandidatesAndRanking) {
  std::mt19937 rng(11);
  auto digits = [&](int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s.push_back(static_cast<char>('0' + rng() % 10));
    return s;
  };
  for (int round = 0; round < 20; ++round) {
    // Numbers under a few short company prefixes so fallbacks actually hit.
    std::vector<std::string> prefixes;
    for (int i = 0; i < 5; ++i) prefixes.push_back("+49" + std::to_string(1 + rng() % 9) + digits(4 + rng() % 3));
    NumberIndex::Builder b;
    std::vector<std::pair<std::string, std::int64_t>> stored;
    for (int i = 0; i < 300; ++i) {
      auto c = b.add_contact(i + 1, ContactKind::person, "C" + std::to_string(i), "");
      std::string n = prefixes[rng() % prefixes.size()] + digits(static_cast<int>(rng() % 5));
      b.add_number(c, n, "");
      stored.emplace_back(n, i + 1);
    }
    NumberIndex ix = build(std::move(b));
    for (int q = 0; q < 300; ++q) {
      std::string caller = prefixes[rng() % prefixes.size()] + digits(static_cast<int>(rng() % 7));
      auto cands = core::LookupService::candidates(caller, 5, 7);
      // Reference: LookupService's ranking rule over a linear scan.
      std::set<std::pair<std::int64_t, std::size_t>> exact, fallback;
      std::size_t best_d = SIZE_MAX;
      for (const auto& [n, id] : stored) {
        if (std::find(cands.begin(), cands.end(), n) == cands.end()) continue;
        if (n == caller) {
          exact.insert({id, 0});
          continue;
        }
        bool is_prefix = caller.compare(0, n.size(), n) == 0;
        std::size_t d = caller.size() - (is_prefix ? n.size() : n.size() - 1);
        fallback.insert({id, d});
        best_d = std::min(best_d, d);
      }
      std::set<std::pair<std::int64_t, std::size_t>> want = exact;
      if (want.empty())
        for (auto m : fallback)
          if (m.second == best_d) want.insert(m);
      std::set<std::pair<std::int64_t, std::size_t>> got;
      ix.for_each_best(*e164_key(caller), {}, [&](const NumberIndex::Hit& h) { got.insert({h.contact.id, h.distance}); });
      ASSERT_EQ(got, want) << caller;
    }
  }
}

TEST(NumberIndex, MemoryPerNumberIsCompact) {
  NumberIndex::Builder b;
  for (int i = 0; i < 100'000; ++i) {
    auto c = b.add_contact(i + 1, ContactKind::person, "Contact " + std::to_string(i), "Company " + std::to_string(i % 5000));
    b.add_number(c, "+49891" + std::to_string(1'000'000 + i), "work");
  }
  NumberIndex ix = build(std::move(b));
  EXPECT_EQ(ix.numbers(), 100'000u);
  double per = static_cast<double>(ix.memory_bytes()) / static_cast<double>(ix.numbers());
  EXPECT_LT(per, 100.0);
  EXPECT_GT(per, 40.0);  // the table, entry, contact record and names are counted
  EXPECT_EQ(exact_ids(ix, "+498911012345"), (std::vector<std::int64_t>{12346}));
}

}  // namespace
}  // namespace callbridge::directory
