// Per-country facts from libphonenumber's compiled-in metadata, flattened into small tables so
// the fast number normalizer (phone_resolver.hpp) never runs a regex for the common cases.
// Built once per process on first use (function-local static); immutable afterwards, so any
// thread may read it without locks. Only phone_resolver.cpp and tests should need it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace callbridge::core::phone {

// libphonenumber's TestNumberLength() verdict for a national significant number (NSN) length.
enum class LengthCheck : std::uint8_t {
  possible,
  possible_local_only,
  too_short,
  too_long,
  invalid_length,
};

// What the fast path needs to know about one region (or non-geographic entity "001"/cc).
struct RegionFacts {
  std::string id;           // "DE"; "001" for non-geographic calling codes (800, 882, ...)
  int country_code = 0;     // 49
  std::string cc_digits;    // "49"
  std::string national_prefix;  // for dialing ("0", "1"; "" for Italy)
  // national_prefix_for_parsing, usable by the fast path only when it is a plain digit string
  // and there is no transform rule (true for ~80% of regions incl. DE/AT/CH/GB/US).
  bool npfp_simple = false;
  std::string npfp;
  // The international (IDD) prefix when it is a plain digit string ("00", "011").
  bool idd_simple = false;
  std::string idd;
  // What to dial as international prefix: preferred_international_prefix, else a literal idd.
  std::string dial_idd;
  // Bit d set: the general national-number pattern may match a string starting with digit d.
  // Conservative: unknown regex syntax sets all bits, which only sends more input to the slow path.
  std::uint16_t general_first_digits = 0x3FF;
  // TestNumberLength() against the general description, precomputed per NSN length.
  static constexpr std::size_t kMaxTabulatedLength = 31;
  std::array<LengthCheck, kMaxTabulatedLength + 1> length_check{};
  std::vector<int> possible_lengths;  // for docs/tests

  LengthCheck test_length(std::size_t nsn_length) const {
    return nsn_length <= kMaxTabulatedLength ? length_check[nsn_length] : LengthCheck::too_long;
  }
};

class PhoneMetadata {
 public:
  // The process-wide tables; first call parses libphonenumber's metadata (a few ms).
  static const PhoneMetadata& instance();

  // nullptr when libphonenumber does not know the region.
  const RegionFacts* region(std::string_view region_code) const;
  // Facts of the main region of a calling code (what libphonenumber's
  // GetMetadataForRegionOrCallingCode uses), nullptr when cc is not assigned.
  const RegionFacts* for_country_code(int country_code) const {
    return country_code > 0 && country_code < 1000 ? by_cc_[country_code] : nullptr;
  }
  // ExtractCountryCode(): the first 1-3 leading digits that form an assigned calling code.
  // Returns 0 if none (or if digits start with '0'); *cc_len receives the digit count.
  int extract_country_code(std::string_view digits, std::size_t* cc_len) const;

  std::size_t region_count() const { return regions_.size(); }

 private:
  PhoneMetadata();
  std::vector<std::unique_ptr<RegionFacts>> regions_;
  std::array<const RegionFacts*, 1000> by_cc_{};
};

// Conservative set of digits a libphonenumber national-number pattern can start with (bit d for
// digit d). Understands the subset of regex syntax the metadata uses: digits, \d, [..] classes
// with ranges, (?:..) groups, | and the quantifiers ? * + {n} {n,} {n,m}. Anything else yields
// 0x3FF ("could be any digit").
std::uint16_t first_digit_set(std::string_view pattern);

}  // namespace callbridge::core::phone
