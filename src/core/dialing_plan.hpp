// A tenant's dialing plan: turns whatever a user types or a PBX reports (caller ids, dialed
// numbers, contact fields, tel: URIs) into E.164 plus the internal extension, and back into a
// dial string for the PBX. libphonenumber is the source of truth; a table-driven fast path answers
// the common cases without regexes and agrees with it (see docs/numbers.md).
// Immutable after create(): every method is const and safe to call from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "core/phone_resolver.hpp"

namespace callbridge::core {

// Filled from [tenant.X.dialing] by the app, or from CLI flags. Digits only unless noted.
struct DialingPlanOptions {
  std::string country_code;      // "49" (a leading '+' is accepted)
  std::string region;            // "DE"; empty = libphonenumber's main region of country_code
  std::string area_code;         // "211", without the national trunk prefix
  std::string base_number;       // "339903": the DID block; extensions are appended to it
  std::vector<int> extension_lengths;  // {2}: any digit string of these lengths is an extension
  struct ExtensionRange {
    std::string first, last;     // "100".."199": inclusive, same digit count
  };
  std::vector<ExtensionRange> extension_ranges;
  std::string outside_prefix;    // "0" or "9": dialed before external numbers; "" = none
  // Unset = from libphonenumber's metadata for the region (DE: "0" / "00", US: "1" / "011").
  std::optional<std::string> national_prefix;
  std::optional<std::string> international_prefix;
  // The PBX reports external caller ids with the outside-line code in front ("0" + "089123456").
  bool pbx_reports_outside_prefix = false;
};

struct CanonicalNumber {
  enum class Kind : std::uint8_t { internal, external, withheld, invalid };
  Kind kind = Kind::invalid;
  // "+4921133990312". Empty for withheld/invalid, and for internal numbers of a plan without
  // a DID base number.
  std::string e164;
  std::string extension;          // internal: the extension ("12")
  std::string remote_extension;   // external: ";ext=" / "ext. 12" part (DTMF after answer)
  std::string_view reason;        // invalid: why ("letters or symbols", "not a possible number")
  bool via_libphonenumber = false;  // the fast path was unsure (for benchmarks/diagnostics)
};
std::string_view to_string(CanonicalNumber::Kind kind);

// Where a number came from, which decides how an outside-line code in front is read:
//   user   - typed or stored by people: stripped only when the number is implausible otherwise;
//   pbx    - a caller id the PBX reported: stripped if options.pbx_reports_outside_prefix;
//   dialed - what an internal phone dialed (AMI Exten, Dial strings): always stripped.
enum class NumberSource : std::uint8_t { user, pbx, dialed };
// `fast` = table-driven path with libphonenumber fallback; `libphonenumber` = always ask it
// (the reference the fast path is tested and benchmarked against).
enum class ResolvePath : std::uint8_t { fast, libphonenumber };

class DialingPlan {
 public:
  // Validates the options (digits, known country, consistent ranges).
  static base::Result<DialingPlan> create(DialingPlanOptions options);

  // Rules (company: country 49, area 211, base 339903, extension length 2):
  //   "12", "33990312", "21133990312", "0211 33990312", "+49 (0)211 339903-12" -> internal 12,
  //   e164 +4921133990312. Numbers starting with '+' or '0' are never expanded by the company
  //   pattern. A longer number without any prefix is local: "5555555" -> +492115555555.
  //   "" / "anonymous" / "Restricted" -> withheld. Letters or stray symbols -> invalid.
  CanonicalNumber canonicalize(std::string_view input, NumberSource source = NumberSource::user,
                               ResolvePath path = ResolvePath::fast) const;

  // What to send to the PBX to call `input` (E.164, tel: URI or anything canonicalize()
  // accepts): the extension for internal numbers; otherwise outside-line code plus national
  // or international prefix as the plan says. Error for withheld/invalid input.
  base::Result<std::string> dial_string(std::string_view input) const;

  // Display text via libphonenumber: national for numbers of `user_region`'s country,
  // international otherwise ("0211 33990312", "+41 44 668 18 00"). Withheld/invalid: "".
  std::string display(const CanonicalNumber& number, std::string_view user_region) const;

  const DialingPlanOptions& options() const { return options_; }
  const std::string& region() const { return facts_->id; }
  const std::string& national_prefix() const { return national_prefix_; }
  const std::string& international_prefix() const { return international_prefix_; }

  bool is_extension(std::string_view digits) const;

 private:
  explicit DialingPlan(DialingPlanOptions options) : options_(std::move(options)) {}

  struct Digits;
  CanonicalNumber canonicalize_digits(const Digits& d, NumberSource source, ResolvePath path) const;
  phone::Resolved resolve_once(bool plus, std::string_view digits, ResolvePath path,
                               bool* used_libphonenumber) const;
  phone::Resolved resolve(bool plus, std::string_view digits, ResolvePath path,
                          bool* used_libphonenumber) const;
  phone::Resolved resolve_dialed(std::string_view digits, bool from_line, ResolvePath path,
                                 bool* used_libphonenumber) const;
  CanonicalNumber classify(const phone::Resolved& r, std::string_view remote_ext) const;
  CanonicalNumber make_internal(std::string_view ext) const;
  bool is_local_number(std::string_view digits) const;

  DialingPlanOptions options_;
  const phone::RegionFacts* facts_ = nullptr;
  std::string national_prefix_;
  std::string international_prefix_;
  std::string company_nsn_;  // area_code + base_number
  std::size_t max_extension_length_ = 0;  // longest extension of lengths and ranges
};

// The E.164 a directory stores and looks a number up by (contacts, imports, REST lookups; the
// daemon and the CLI both use this): internal or external numbers of `plan` with an E.164.
// Without a plan (nullptr) only international input ("+49 211 ...", 5-15 digits) has one: no
// country is assumed. nullopt: no E.164 (withheld, invalid, an extension without DID).
std::optional<std::string> lookup_e164(const DialingPlan* plan, std::string_view raw);

// "de-DE", "de_DE.UTF-8", "en_GB" -> "DE"/"GB"; "" when no region part.
std::string region_from_locale(std::string_view locale);

}  // namespace callbridge::core
