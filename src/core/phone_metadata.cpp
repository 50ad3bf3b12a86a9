// Builds the fast-path tables from the very metadata libphonenumber itself parses at start-up
// (metadata_get()/metadata_size() are exported by libphonenumber.so but not declared in the
// installed headers), so both paths always work from the same data version.
#include "core/phone_metadata.hpp"

#include <phonenumbers/phonemetadata.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <set>

#include "base/error.hpp"

namespace i18n::phonenumbers {
int metadata_size();
const void* metadata_get();
}  // namespace i18n::phonenumbers

namespace callbridge::core::phone {
namespace {

namespace pn = i18n::phonenumbers;

constexpr std::uint16_t kAllDigits = 0x3FF;

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Recursive-descent reader of the metadata regex subset; `failed` makes every answer kAllDigits.
class FirstDigits {
 public:
  explicit FirstDigits(std::string_view p) : p_(p) {}
  std::uint16_t run() {
    auto [set, nullable] = alternation();
    if (failed_ || pos_ != p_.size() || nullable) return kAllDigits;
    return set;
  }

 private:
  struct Part {
    std::uint16_t set = 0;
    bool nullable = true;
  };
  bool at_end() const { return pos_ >= p_.size(); }
  char peek() const { return at_end() ? '\0' : p_[pos_]; }

  Part alternation() {
    Part out{0, false};
    bool first = true;
    while (true) {
      Part s = sequence();
      out.set |= s.set;
      out.nullable = first ? s.nullable : (out.nullable || s.nullable);
      first = false;
      if (peek() == '|') {
        ++pos_;
        continue;
      }
      return out;
    }
  }
  Part sequence() {
    Part out{0, true};
    while (!at_end() && !failed_ && peek() != '|' && peek() != ')') {
      Part a = atom();
      int min = quantifier_min();
      if (min == 0) a.nullable = true;
      if (out.nullable) out.set |= a.set;
      out.nullable = out.nullable && a.nullable;
    }
    return out;
  }
  Part atom() {
    char c = peek();
    if (c >= '0' && c <= '9') {
      ++pos_;
      return {static_cast<std::uint16_t>(1u << (c - '0')), false};
    }
    if (c == '\\') {
      if (pos_ + 1 < p_.size() && p_[pos_ + 1] == 'd') {
        pos_ += 2;
        return {kAllDigits, false};
      }
      return fail();
    }
    if (c == '[') return char_class();
    if (c == '(') {
      ++pos_;
      if (peek() == '?') {
        if (pos_ + 1 < p_.size() && p_[pos_ + 1] == ':') {
          pos_ += 2;
        } else {
          return fail();
        }
      }
      Part inner = alternation();
      if (peek() != ')') return fail();
      ++pos_;
      return inner;
    }
    return fail();
  }
  Part char_class() {
    ++pos_;  // '['
    if (peek() == '^') return fail();
    std::uint16_t set = 0;
    while (!at_end() && peek() != ']') {
      char c = p_[pos_];
      if (c == '\\' && pos_ + 1 < p_.size() && p_[pos_ + 1] == 'd') {
        set |= kAllDigits;
        pos_ += 2;
        continue;
      }
      if (c < '0' || c > '9') return fail();
      if (pos_ + 2 < p_.size() && p_[pos_ + 1] == '-' && p_[pos_ + 2] != ']') {
        char hi = p_[pos_ + 2];
        if (hi < c || hi > '9') return fail();
        for (char d = c; d <= hi; ++d) set |= static_cast<std::uint16_t>(1u << (d - '0'));
        pos_ += 3;
      } else {
        set |= static_cast<std::uint16_t>(1u << (c - '0'));
        ++pos_;
      }
    }
    if (peek() != ']') return fail();
    ++pos_;
    return {set, false};
  }
  // Returns the minimum repetition count of an optional quantifier after an atom (1 if none).
  int quantifier_min() {
    char c = peek();
    int min = 1;
    if (c == '?' || c == '*') {
      ++pos_;
      min = 0;
    } else if (c == '+') {
      ++pos_;
    } else if (c == '{') {
      ++pos_;
      int n = 0;
      bool any = false;
      while (peek() >= '0' && peek() <= '9') {
        n = n * 10 + (peek() - '0');
        ++pos_;
        any = true;
      }
      while (!at_end() && peek() != '}') {
        char d = peek();
        if (d != ',' && (d < '0' || d > '9')) {
          fail();
          return 1;
        }
        ++pos_;
      }
      if (!any || peek() != '}') {
        fail();
        return 1;
      }
      ++pos_;
      min = n;
    } else {
      return 1;
    }
    if (peek() == '?') ++pos_;  // lazy modifier does not change what can match
    return min;
  }
  Part fail() {
    failed_ = true;
    pos_ = p_.size();
    return {kAllDigits, true};
  }

  std::string_view p_;
  std::size_t pos_ = 0;
  bool failed_ = false;
};

// Mirrors PhoneNumberUtil::TestNumberLength(number, metadata, UNKNOWN).
LengthCheck test_length(int length, const pn::PhoneNumberDesc& general) {
  const auto& possible = general.possible_length();
  const auto& local = general.possible_length_local_only();
  if (possible.empty() || possible.Get(0) == -1) return LengthCheck::invalid_length;
  if (std::find(local.begin(), local.end(), length) != local.end()) {
    return LengthCheck::possible_local_only;
  }
  int min = possible.Get(0);
  if (min == length) return LengthCheck::possible;
  if (min > length) return LengthCheck::too_short;
  if (*(possible.end() - 1) < length) return LengthCheck::too_long;
  return std::find(possible.begin() + 1, possible.end(), length) != possible.end()
             ? LengthCheck::possible
             : LengthCheck::invalid_length;
}

std::unique_ptr<RegionFacts> make_facts(const pn::PhoneMetadata& m) {
  auto f = std::make_unique<RegionFacts>();
  f->id = m.id();
  f->country_code = m.country_code();
  f->cc_digits = std::to_string(m.country_code());
  f->national_prefix = m.national_prefix();
  f->npfp = m.national_prefix_for_parsing();
  f->npfp_simple = all_digits(f->npfp) && m.national_prefix_transform_rule().empty();
  f->idd = m.international_prefix();
  f->idd_simple = !f->idd.empty() && all_digits(f->idd);
  const std::string& preferred = m.preferred_international_prefix();
  f->dial_idd = !preferred.empty() && all_digits(preferred) ? preferred
                : f->idd_simple                             ? f->idd
                                                            : std::string();
  f->general_first_digits = first_digit_set(m.general_desc().national_number_pattern());
  for (std::size_t len = 0; len <= RegionFacts::kMaxTabulatedLength; ++len) {
    f->length_check[len] = test_length(static_cast<int>(len), m.general_desc());
  }
  f->possible_lengths.assign(m.general_desc().possible_length().begin(),
                             m.general_desc().possible_length().end());
  return f;
}

}  // namespace

std::uint16_t first_digit_set(std::string_view pattern) { return FirstDigits(pattern).run(); }

PhoneMetadata::PhoneMetadata() {
  pn::PhoneMetadataCollection collection;
  bool parsed = collection.ParseFromArray(pn::metadata_get(), pn::metadata_size());
  CB_CHECK(parsed, "libphonenumber's compiled-in metadata does not parse");
  const auto* util = pn::PhoneNumberUtil::GetInstance();
  for (const auto& m : collection.metadata()) {
    auto facts = make_facts(m);
    const int cc = facts->country_code;
    if (cc > 0 && cc < 1000) {
      // The region libphonenumber picks for a calling code (US for 1, GB for 44, "001" for 800).
      std::string main;
      util->GetRegionCodeForCountryCode(cc, &main);
      if (main == facts->id) by_cc_[cc] = facts.get();
    }
    regions_.push_back(std::move(facts));
  }
}

const PhoneMetadata& PhoneMetadata::instance() {
  static const PhoneMetadata tables;
  return tables;
}

const RegionFacts* PhoneMetadata::region(std::string_view region_code) const {
  if (region_code == "001") return nullptr;  // ambiguous: many entities share the id
  for (const auto& r : regions_) {
    if (r->id == region_code) return r.get();
  }
  return nullptr;
}

int PhoneMetadata::extract_country_code(std::string_view digits, std::size_t* cc_len) const {
  if (digits.empty() || digits[0] == '0') return 0;
  int cc = 0;
  for (std::size_t i = 1; i <= 3 && i <= digits.size(); ++i) {
    cc = cc * 10 + (digits[i - 1] - '0');
    if (by_cc_[cc] != nullptr) {
      *cc_len = i;
      return cc;
    }
  }
  return 0;
}

}  // namespace callbridge::core::phone
