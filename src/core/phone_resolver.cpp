// resolve_fast() follows libphonenumber 8.12 PhoneNumberUtil::ParseHelper() for input that is only
// digits (after an optional '+'): MaybeExtractCountryCode -> MaybeStripNationalPrefixAndCarrierCode
// -> TestNumberLength, then IsPossibleNumberWithReason. Every branch that would need a regex we do
// not model returns `unsure`; tests compare it against resolve_libphonenumber() on random input.
#include "core/phone_resolver.hpp"

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <cstring>

namespace callbridge::core::phone {
namespace {

namespace pn = i18n::phonenumbers;
using Status = Resolved::Status;

constexpr std::size_t kMinLengthForNsn = 2;
constexpr std::size_t kMaxLengthForNsn = 17;

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

// MaybeStripNationalPrefixAndCarrierCode(): result of stripping, or unsure.
enum class Strip : std::uint8_t { unchanged, stripped, unsure };
Strip strip_national_prefix(std::string_view number, const RegionFacts& m, std::string_view* out) {
  if (number.empty()) return Strip::unchanged;
  if (!m.npfp_simple) return Strip::unsure;
  if (m.npfp.empty() || !starts_with(number, m.npfp)) return Strip::unchanged;
  // The prefix is consumed; libphonenumber keeps it only when the original matches the general
  // pattern and the stripped one does not. If the pattern cannot start with this digit, the
  // original is not viable and the strip always happens.
  if (m.general_first_digits & (1u << (number[0] - '0'))) return Strip::unsure;
  *out = number.substr(m.npfp.size());
  return Strip::stripped;
}

Resolved make(Status s) {
  Resolved r;
  r.status = s;
  return r;
}

}  // namespace

void Resolved::append_e164(std::string* out) const {
  char buf[4];
  int n = 0;
  for (int cc = country_code; cc > 0; cc /= 10) buf[n++] = static_cast<char>('0' + cc % 10);
  out->push_back('+');
  while (n > 0) out->push_back(buf[--n]);
  out->append(nsn, nsn_len);
}

std::string Resolved::e164() const {
  std::string s;
  append_e164(&s);
  return s;
}

Resolved resolve_fast(bool plus, std::string_view digits, const RegionFacts& region) {
  const auto& tables = PhoneMetadata::instance();
  // IsViablePhoneNumber() treats very short input specially; not worth mirroring.
  if (digits.size() < 3) return make(Status::unsure);
  // Whatever prefixes are removed, an NSN > 17 digits remains: TOO_LONG_NSN.
  if (digits.size() > 24) return make(Status::not_possible);

  int cc = 0;
  std::string_view nsn;
  const RegionFacts* meta = &region;
  auto meta_for_cc = [&](int code) {
    const RegionFacts* main = tables.for_country_code(code);
    return main->id == region.id ? &region : main;
  };
  bool via_idd = false;
  std::string_view after_idd;
  if (plus) {
    after_idd = digits;
    via_idd = true;
  } else if (region.idd_simple) {
    if (starts_with(digits, region.idd)) {
      std::string_view rest = digits.substr(region.idd.size());
      // ParsePrefixAsIdd(): not stripped when the next digit is 0.
      if (rest.empty() || rest[0] != '0') {
        after_idd = rest;
        via_idd = true;
      }
    }
  } else {
    return make(Status::unsure);
  }

  if (via_idd) {
    if (after_idd.size() <= kMinLengthForNsn) return make(Status::not_possible);  // TOO_SHORT_AFTER_IDD
    std::size_t cc_len = 0;
    cc = tables.extract_country_code(after_idd, &cc_len);
    if (cc == 0) {
      // With '+', ParseHelper retries without it; without, INVALID_COUNTRY_CODE.
      return plus ? make(Status::unsure) : make(Status::not_possible);
    }
    nsn = after_idd.substr(cc_len);
    meta = meta_for_cc(cc);
  } else if (starts_with(digits, region.cc_digits)) {
    // MaybeExtractCountryCode(): a number starting with the region's own calling code. The
    // code is removed if the full number is too long, or by a general-pattern comparison
    // that we leave to libphonenumber.
    if (region.test_length(digits.size()) != LengthCheck::too_long) return make(Status::unsure);
    std::string_view potential = digits.substr(region.cc_digits.size());
    std::string_view stripped;
    switch (strip_national_prefix(potential, region, &stripped)) {
      case Strip::unsure: return make(Status::unsure);
      case Strip::stripped: potential = stripped; break;
      case Strip::unchanged: break;
    }
    cc = region.country_code;
    nsn = potential;
    meta = meta_for_cc(cc);
  } else {
    cc = region.country_code;
    nsn = digits;
  }

  // ParseHelper tail: national prefix (also after an explicit country code: "+49 (0)211").
  if (nsn.size() < kMinLengthForNsn) return make(Status::not_possible);
  std::string_view stripped;
  switch (strip_national_prefix(nsn, *meta, &stripped)) {
    case Strip::unsure: return make(Status::unsure);
    case Strip::stripped: {
      LengthCheck lc = meta->test_length(stripped.size());
      if (lc != LengthCheck::too_short && lc != LengthCheck::possible_local_only &&
          lc != LengthCheck::invalid_length) {
        nsn = stripped;
      }
      break;
    }
    case Strip::unchanged: break;
  }
  if (nsn.size() < kMinLengthForNsn || nsn.size() > kMaxLengthForNsn) {
    return make(Status::not_possible);
  }
  // IsPossibleNumberWithReason() uses the main region of the calling code.
  const RegionFacts* main = tables.for_country_code(cc);
  Resolved r;
  r.country_code = cc;
  r.nsn_len = static_cast<std::uint8_t>(nsn.size());
  std::memcpy(r.nsn, nsn.data(), nsn.size());
  r.status = main->test_length(nsn.size()) == LengthCheck::possible ? Status::possible
                                                                      : Status::not_possible;
  return r;
}

bool certainly_fixed_point(const Resolved& r, const RegionFacts& region) {
  // Resolving "+" cc nsn: the calling code comes off again (calling codes are prefix-free), then
  // the ParseHelper tail of resolve_fast() decides. Only its national-prefix strip can change nsn.
  const RegionFacts* main = PhoneMetadata::instance().for_country_code(r.country_code);
  if (main == nullptr) return false;
  const RegionFacts& meta = main->id == region.id ? region : *main;
  std::string_view stripped;
  switch (strip_national_prefix(r.national_number(), meta, &stripped)) {
    case Strip::unchanged: return true;
    case Strip::unsure: return false;
    case Strip::stripped: {
      const LengthCheck lc = meta.test_length(stripped.size());
      return lc == LengthCheck::too_short || lc == LengthCheck::possible_local_only ||
             lc == LengthCheck::invalid_length;
    }
  }
  return false;
}

Resolved resolve_libphonenumber(bool plus, std::string_view digits, const RegionFacts& region) {
  const auto* util = pn::PhoneNumberUtil::GetInstance();
  std::string text;
  text.reserve(digits.size() + 1);
  if (plus) text.push_back('+');
  text.append(digits);
  pn::PhoneNumber n;
  if (util->Parse(text, region.id, &n) != pn::PhoneNumberUtil::NO_PARSING_ERROR ||
      util->IsPossibleNumberWithReason(n) != pn::PhoneNumberUtil::IS_POSSIBLE) {
    return make(Status::not_possible);
  }
  std::string nsn;
  util->GetNationalSignificantNumber(n, &nsn);
  if (nsn.size() > sizeof(Resolved::nsn)) return make(Status::not_possible);
  Resolved r;
  r.status = Status::possible;
  r.country_code = n.country_code();
  r.nsn_len = static_cast<std::uint8_t>(nsn.size());
  std::memcpy(r.nsn, nsn.data(), nsn.size());
  return r;
}

std::string reference_e164(std::string_view raw, std::string_view region, std::string* extension) {
  const auto* util = pn::PhoneNumberUtil::GetInstance();
  pn::PhoneNumber n;
  if (util->Parse(std::string(raw), std::string(region), &n) != pn::PhoneNumberUtil::NO_PARSING_ERROR ||
      util->IsPossibleNumberWithReason(n) != pn::PhoneNumberUtil::IS_POSSIBLE) {
    return "invalid";
  }
  if (extension) *extension = n.extension();
  std::string out;
  util->Format(n, pn::PhoneNumberUtil::E164, &out);
  return out;
}

namespace {
bool parse_e164(std::string_view e164, std::string_view extension, pn::PhoneNumber* n) {
  const auto* util = pn::PhoneNumberUtil::GetInstance();
  if (util->Parse(std::string(e164), "ZZ", n) != pn::PhoneNumberUtil::NO_PARSING_ERROR) return false;
  if (!extension.empty()) n->set_extension(std::string(extension));
  return true;
}
}  // namespace

std::string format_e164(std::string_view e164, DisplayStyle style, std::string_view extension) {
  pn::PhoneNumber n;
  if (!parse_e164(e164, extension, &n)) return std::string(e164);
  pn::PhoneNumberUtil::PhoneNumberFormat f = pn::PhoneNumberUtil::E164;
  switch (style) {
    case DisplayStyle::e164: f = pn::PhoneNumberUtil::E164; break;
    case DisplayStyle::national: f = pn::PhoneNumberUtil::NATIONAL; break;
    case DisplayStyle::international: f = pn::PhoneNumberUtil::INTERNATIONAL; break;
    case DisplayStyle::rfc3966: f = pn::PhoneNumberUtil::RFC3966; break;
  }
  std::string out;
  pn::PhoneNumberUtil::GetInstance()->Format(n, f, &out);
  return out;
}

std::string format_for_region(std::string_view e164, std::string_view user_region,
                              std::string_view extension) {
  const auto* util = pn::PhoneNumberUtil::GetInstance();
  int user_cc = util->GetCountryCodeForRegion(std::string(user_region));
  pn::PhoneNumber n;
  if (!parse_e164(e164, extension, &n)) return std::string(e164);
  std::string out;
  util->Format(n, n.country_code() == user_cc ? pn::PhoneNumberUtil::NATIONAL
                                              : pn::PhoneNumberUtil::INTERNATIONAL, &out);
  return out;
}

NumberFacts describe_e164(std::string_view e164) {
  static constexpr const char* kTypes[] = {
      "FIXED_LINE", "MOBILE", "FIXED_LINE_OR_MOBILE", "TOLL_FREE", "PREMIUM_RATE", "SHARED_COST",
      "VOIP", "PERSONAL_NUMBER", "PAGER", "UAN", "VOICEMAIL", "UNKNOWN"};
  NumberFacts out;
  out.type = "UNKNOWN";
  out.region = "ZZ";
  pn::PhoneNumber n;
  if (!parse_e164(e164, {}, &n)) return out;
  const auto* util = pn::PhoneNumberUtil::GetInstance();
  out.valid = util->IsValidNumber(n);
  int t = static_cast<int>(util->GetNumberType(n));
  if (t >= 0 && t < 12) out.type = kTypes[t];
  util->GetRegionCodeForNumber(n, &out.region);
  return out;
}

}  // namespace callbridge::core::phone
