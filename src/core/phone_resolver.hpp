// Turns "digits, maybe with a leading +, as dialed in region R" into E.164 exactly the way
// libphonenumber's Parse() + IsPossibleNumberWithReason() would. Two implementations:
// resolve_fast() mirrors ParseHelper step by step on precomputed tables and answers `unsure`
// whenever libphonenumber would consult a regex we cannot decide; resolve_libphonenumber() asks
// libphonenumber itself. Used by DialingPlan (any thread; both are stateless and thread-safe).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/phone_metadata.hpp"

namespace callbridge::core::phone {

struct Resolved {
  enum class Status : std::uint8_t {
    possible,      // parsed, and the NSN length is IS_POSSIBLE for its country
    not_possible,  // a parse error, or any other length verdict
    unsure,        // (fast path only) ask libphonenumber
  };
  Status status = Status::unsure;
  int country_code = 0;
  std::uint8_t nsn_len = 0;
  char nsn[24] = {};  // national significant number, leading zeros kept (Italy)

  std::string_view national_number() const { return {nsn, nsn_len}; }
  // "+" cc nsn
  std::string e164() const;
  void append_e164(std::string* out) const;
};

// `digits` must hold only '0'-'9'. `plus` says whether the number was written with '+'.
Resolved resolve_fast(bool plus, std::string_view digits, const RegionFacts& region);
Resolved resolve_libphonenumber(bool plus, std::string_view digits, const RegionFacts& region);

// Whether `r` (possible) is certainly what resolving its own E.164 gives: libphonenumber strips a
// national prefix also after "+cc", so with some patterns (Mexico's old mobile "1") an E.164 does
// not read as itself. false = maybe not; resolve "+" cc nsn again to know.
bool certainly_fixed_point(const Resolved& r, const RegionFacts& region);

// The reference used by tests and benchmarks: libphonenumber alone on the raw text.
// E.164 if Parse() succeeds and IsPossibleNumberWithReason() == IS_POSSIBLE, else "invalid".
// *extension (optional) receives the parsed extension.
std::string reference_e164(std::string_view raw, std::string_view region,
                           std::string* extension = nullptr);

// Display formatting through libphonenumber. `e164` must be "+<digits>".
enum class DisplayStyle : std::uint8_t { e164, national, international, rfc3966 };
std::string format_e164(std::string_view e164, DisplayStyle style, std::string_view extension = {});
// National format if the number belongs to `user_region`'s calling code, else international.
std::string format_for_region(std::string_view e164, std::string_view user_region,
                              std::string_view extension = {});

// libphonenumber's number type name ("FIXED_LINE", "MOBILE", ... "UNKNOWN") and IsValidNumber().
struct NumberFacts {
  bool valid = false;
  std::string type;
  std::string region;  // "DE", "ZZ" if none
};
NumberFacts describe_e164(std::string_view e164);

}  // namespace callbridge::core::phone
