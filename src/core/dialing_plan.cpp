// DialingPlan: lexing of user/PBX text (separators, tel: URIs, extension labels, withheld
// markers), the company rules (extension, base + extension, area + base + extension), the
// outside-line code, and classification. E.164 resolution itself is in phone_resolver.cpp.
#include "core/dialing_plan.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

namespace callbridge::core {
namespace {

using phone::Resolved;
constexpr std::size_t kMaxDigits = 32;
constexpr std::size_t kMaxExtDigits = 20;
constexpr std::size_t kMaxInputBytes = 256;  // libphonenumber rejects more than 250

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool all_digits(std::string_view s) { return std::all_of(s.begin(), s.end(), is_digit); }
bool starts_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.compare(0, p.size(), p) == 0;
}
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool istarts_with(std::string_view s, std::string_view p) {
  if (s.size() < p.size()) return false;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (lower(s[i]) != p[i]) return false;
  }
  return true;
}
bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && istarts_with(a, b);
}
std::string_view trim(std::string_view s) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

// Caller-id markers PBXs and carriers use for "no number" (Asterisk: "<unknown>",
// SIP RFC 3325 privacy: "anonymous", CLIR displays: "Restricted", "Private", ...).
bool is_withheld_marker(std::string_view s) {
  static constexpr std::array<std::string_view, 9> kMarkers = {
      "anonymous", "restricted", "private", "withheld", "unknown", "<unknown>", "unavailable",
      "unknown number", "clir"};
  for (auto m : kMarkers) {
    if (iequals(s, m)) return true;
  }
  return istarts_with(s, "anonymous@") || istarts_with(s, "sip:anonymous@");
}

// Visual separators people and RFC 3966 use; returns the byte length (0 = not a separator).
std::size_t separator_length(std::string_view s, std::size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  switch (c) {
    case ' ': case '\t': case '-': case '.': case '/': case '(': case ')': case '[': case ']':
      return 1;
    default: break;
  }
  auto at = [&](std::size_t k) { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0; };
  if (c == 0xC2 && at(i + 1) == 0xA0) return 2;                                        // NBSP
  if (c == 0xE2 && at(i + 1) == 0x80 && at(i + 2) >= 0x90 && at(i + 2) <= 0x95) return 3;  // dashes
  if (c == 0xE2 && at(i + 1) == 0x88 && at(i + 2) == 0x92) return 3;                   // minus
  return 0;
}

}  // namespace

// Lexed input: digits with an optional leading '+', an optional extension.
struct DialingPlan::Digits {
  bool withheld = false;
  bool plus = false;
  std::string_view error;  // non-empty: invalid input
  std::uint8_t n = 0;
  std::uint8_t ext_n = 0;
  char d[kMaxDigits];
  char ext[kMaxExtDigits];

  std::string_view digits() const { return {d, n}; }
  std::string_view extension() const { return {ext, ext_n}; }
  bool push(char c) {
    if (n >= kMaxDigits) {
      error = "too many digits";
      return false;
    }
    d[n++] = c;
    return true;
  }
};

namespace {

// Reads "DIGITS[#]" with at most `max` digits (separators allowed between digits) up to the end.
bool read_ext_digits(std::string_view s, std::size_t max, char* out, std::uint8_t* out_n) {
  std::size_t i = 0, n = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '-' || s[i] == '.')) ++i;
  while (i < s.size() && is_digit(s[i])) {
    if (n >= max) return false;
    out[n++] = s[i++];
  }
  if (n == 0) return false;
  if (i < s.size() && s[i] == '#') ++i;
  if (!trim(s.substr(i)).empty()) return false;
  *out_n = static_cast<std::uint8_t>(n);
  return true;
}

// Extension labels libphonenumber's parser accepts (CreateExtnPattern(for_parsing=true)), ASCII
// only, with the same digit limits: ";ext=" and "ext"/"extn"/"extension" 20, "x"/"#"/"~"/"int"
// 9, ",,"/";" 15, "," 9.
bool parse_extension(std::string_view s, char* out, std::uint8_t* out_n) {
  if (istarts_with(s, ";ext=")) return read_ext_digits(s.substr(5), 20, out, out_n);
  auto after_label = [](std::string_view rest) {
    if (!rest.empty() && (rest[0] == ':' || rest[0] == '.')) rest.remove_prefix(1);
    while (!rest.empty() && (rest[0] == ' ' || rest[0] == '\t' || rest[0] == ',' || rest[0] == '-')) {
      rest.remove_prefix(1);
    }
    return rest;
  };
  std::string_view t = s;
  while (!t.empty() && (t[0] == ' ' || t[0] == '\t' || t[0] == ',')) t.remove_prefix(1);
  static constexpr std::array<std::pair<std::string_view, std::size_t>, 8> kLabels = {{
      {"extension", 20}, {"extn", 20}, {"ext", 20}, {"xtn", 20}, {"int", 9}, {"x", 9}, {"#", 9},
      {"~", 9}}};
  for (const auto& [label, max] : kLabels) {
    if (istarts_with(t, label) && read_ext_digits(after_label(t.substr(label.size())), max, out, out_n)) {
      return true;
    }
  }
  std::string_view u = s;
  while (!u.empty() && (u[0] == ' ' || u[0] == '\t')) u.remove_prefix(1);
  if (starts_with(u, ",,") || starts_with(u, ";")) {
    return read_ext_digits(after_label(u.substr(u[0] == ';' ? 1 : 2)), 15, out, out_n);
  }
  if (starts_with(u, ",")) {
    while (!u.empty() && u[0] == ',') u.remove_prefix(1);
    return read_ext_digits(after_label(u), 9, out, out_n);
  }
  return false;
}

}  // namespace

namespace {

template <typename Digits>
void lex_plain_impl(std::string_view s, Digits* out) {
  std::size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (is_digit(c)) {
      if (!out->push(c)) return;
      ++i;
      continue;
    }
    if (c == '+') {
      if (out->n > 0) {
        out->error = "misplaced '+'";
        return;
      }
      out->plus = true;
      ++i;
      continue;
    }
    if (std::size_t len = separator_length(s, i)) {
      i += len;
      continue;
    }
    if (out->n > 0 && parse_extension(s.substr(i), out->ext, &out->ext_n)) return;
    out->error = "letters or symbols";
    return;
  }
  if (out->n == 0) out->error = "no digits";
}

// RFC 3966: tel:+49-211-339903;ext=12, tel:12;phone-context=+49-211-339903.
template <typename Digits>
void lex_tel_impl(std::string_view s, Digits* out) {
  std::size_t semi = s.find(';');
  std::string_view number = s.substr(0, semi);
  std::string_view params = semi == std::string_view::npos ? std::string_view{} : s.substr(semi);
  std::string_view context;  // digits of a global phone-context
  while (!params.empty()) {
    params.remove_prefix(1);  // ';'
    std::size_t next = params.find(';');
    std::string_view param = params.substr(0, next);
    params = next == std::string_view::npos ? std::string_view{} : params.substr(next);
    if (istarts_with(param, "ext=")) {
      std::uint8_t n = 0;
      for (char c : param.substr(4)) {
        if (is_digit(c)) {
          if (n >= kMaxExtDigits) {
            out->error = "extension too long";
            return;
          }
          out->ext[n++] = c;
        } else if (c != '-' && c != '.' && c != '(' && c != ')') {
          out->error = "bad ;ext= in tel: URI";
          return;
        }
      }
      out->ext_n = n;
    } else if (istarts_with(param, "phone-context=")) {
      std::string_view v = param.substr(14);
      if (!v.empty() && v[0] == '+') context = v;  // a domain name context adds no digits
    }
    // ;isub= and unknown parameters do not change the number (RFC 3966 section 5.4).
  }
  if (number.empty()) {
    out->error = "empty tel: URI";
    return;
  }
  auto visual = [](char c) { return c == '-' || c == '.' || c == '(' || c == ')'; };
  std::string_view digits_part = number;
  if (!context.empty() && number[0] != '+') {
    // Local number: the global context is its prefix (RFC 3966 section 5.1.5).
    out->plus = true;
    for (char c : context.substr(1)) {
      if (is_digit(c)) {
        if (!out->push(c)) return;
      } else if (!visual(c)) {
        out->error = "bad phone-context in tel: URI";
        return;
      }
    }
  } else if (number[0] == '+') {
    out->plus = true;
    digits_part.remove_prefix(1);
  }
  for (char c : digits_part) {
    if (is_digit(c)) {
      if (!out->push(c)) return;
    } else if (!visual(c)) {
      out->error = "bad character in tel: URI";
      return;
    }
  }
  if (out->n == 0) out->error = "no digits";
}

}  // namespace

std::string_view to_string(CanonicalNumber::Kind kind) {
  switch (kind) {
    case CanonicalNumber::Kind::internal: return "internal";
    case CanonicalNumber::Kind::external: return "external";
    case CanonicalNumber::Kind::withheld: return "withheld";
    case CanonicalNumber::Kind::invalid: return "invalid";
  }
  return "invalid";
}

base::Result<DialingPlan> DialingPlan::create(DialingPlanOptions o) {
  using base::Error;
  using base::fail;
  if (!o.country_code.empty() && o.country_code[0] == '+') o.country_code.erase(0, 1);
  if (o.country_code.empty() || o.country_code.size() > 3 || !all_digits(o.country_code)) {
    return fail(Error::invalid_argument("dialing plan: country code must be 1-3 digits, got '" +
                                        o.country_code + "'"));
  }
  if (o.country_code[0] == '0') {  // "063" would be read as 63 but written into E.164 as "+063..."
    return fail(Error::invalid_argument("dialing plan: country code must not start with 0, got '" +
                                        o.country_code + "' (write 49, not 049 or 0049)"));
  }
  const auto& tables = phone::PhoneMetadata::instance();
  const int cc = std::stoi(o.country_code);
  const phone::RegionFacts* facts = nullptr;
  if (o.region.empty()) {
    facts = tables.for_country_code(cc);
    if (facts == nullptr || facts->id == "001") {
      return fail(Error::invalid_argument("dialing plan: unknown country code " + o.country_code));
    }
    o.region = facts->id;
  } else {
    for (auto& ch : o.region) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    facts = tables.region(o.region);
    if (facts == nullptr || facts->country_code != cc) {
      return fail(Error::invalid_argument("dialing plan: region '" + o.region +
                                          "' unknown or not of country code " + o.country_code));
    }
  }
  auto check_digits = [](const std::string& v, std::string_view what) -> base::Status {
    if (!all_digits(v)) {
      return fail(Error::invalid_argument("dialing plan: " + std::string(what) +
                                          " must be digits, got '" + v + "'"));
    }
    return {};
  };
  struct Field {
    const std::string* value;
    std::string_view what;
    std::size_t max;
  };
  for (const Field& f : {Field{&o.area_code, "area code", 8}, Field{&o.base_number, "base number", 14},
                         Field{&o.outside_prefix, "outside prefix", 4}}) {
    if (auto st = check_digits(*f.value, f.what); !st) return fail(st.error());
    if (f.value->size() > f.max) {
      return fail(Error::invalid_argument("dialing plan: " + std::string(f.what) + " '" + *f.value +
                                          "' is longer than " + std::to_string(f.max) + " digits"));
    }
  }
  if (!o.area_code.empty() && o.area_code[0] == '0') {
    return fail(Error::invalid_argument("dialing plan: area code is written without the trunk "
                                        "prefix ('211', not '0211')"));
  }
  for (auto [v, what] : {std::pair{&o.national_prefix, std::string_view("national prefix")},
                         std::pair{&o.international_prefix, std::string_view("international prefix")}}) {
    if (!*v) continue;
    if (auto st = check_digits(**v, what); !st) return fail(st.error());
    if ((*v)->size() > 4) {
      return fail(Error::invalid_argument("dialing plan: " + std::string(what) + " '" + **v +
                                          "' is longer than 4 digits"));
    }
  }
  // Every country has an international call prefix; "" would dial "+49 89..." as "4989...".
  if (o.international_prefix && o.international_prefix->empty()) {
    return fail(Error::invalid_argument("dialing plan: international prefix must not be empty"));
  }
  for (int len : o.extension_lengths) {
    if (len < 1 || len > 15) {
      return fail(Error::invalid_argument("dialing plan: extension length must be 1..15, got " +
                                          std::to_string(len)));
    }
  }
  for (const auto& r : o.extension_ranges) {
    if (r.first.empty() || r.first.size() != r.last.size() || !all_digits(r.first) ||
        !all_digits(r.last) || r.first > r.last || r.first.size() > 15) {
      return fail(Error::invalid_argument("dialing plan: extension range '" + r.first + "-" +
                                          r.last + "' must be digits of equal length, first <= last"));
    }
  }
  DialingPlan plan(std::move(o));
  plan.facts_ = facts;
  plan.national_prefix_ = plan.options_.national_prefix.value_or(facts->national_prefix);
  plan.international_prefix_ =
      plan.options_.international_prefix.value_or(facts->dial_idd.empty() ? "00" : facts->dial_idd);
  if (!plan.options_.base_number.empty()) {
    plan.company_nsn_ = plan.options_.area_code + plan.options_.base_number;
  }
  for (int len : plan.options_.extension_lengths)
    plan.max_extension_length_ = std::max(plan.max_extension_length_, static_cast<std::size_t>(len));
  for (const auto& r : plan.options_.extension_ranges)
    plan.max_extension_length_ = std::max(plan.max_extension_length_, r.first.size());
  // An extension's E.164 is country code + area code + base number + extension: at most 15 digits.
  if (!plan.company_nsn_.empty() &&
      std::to_string(cc).size() + plan.company_nsn_.size() + plan.max_extension_length_ > 15) {
    return fail(Error::invalid_argument(
        "dialing plan: country code, area code, base number and the longest extension have more "
        "than the 15 digits of an E.164 number"));
  }
  return plan;
}

bool DialingPlan::is_extension(std::string_view digits) const {
  if (digits.empty() || !all_digits(digits)) return false;
  // No extension starts with '0' (canonicalize() reads "0..." as a trunk or international prefix,
  // never as an extension), the outside-line code or the international prefix: the dial string of
  // an extension must read back as that extension ("33990300" was extension "00", dialed as "00").
  if (digits[0] == '0') return false;
  if (!options_.outside_prefix.empty() && starts_with(digits, options_.outside_prefix)) return false;
  if (!international_prefix_.empty() && starts_with(digits, international_prefix_)) return false;
  for (int len : options_.extension_lengths) {
    if (static_cast<std::size_t>(len) == digits.size()) return true;
  }
  for (const auto& r : options_.extension_ranges) {
    if (digits.size() == r.first.size() && digits >= r.first && digits <= r.last) return true;
  }
  return false;
}

CanonicalNumber DialingPlan::make_internal(std::string_view ext) const {
  CanonicalNumber c;
  c.kind = CanonicalNumber::Kind::internal;
  c.extension.assign(ext);
  if (!company_nsn_.empty()) {
    c.e164.reserve(1 + options_.country_code.size() + company_nsn_.size() + ext.size());
    c.e164.push_back('+');
    c.e164 += options_.country_code;
    c.e164 += company_nsn_;
    c.e164 += ext;
  }
  return c;
}

Resolved DialingPlan::resolve_once(bool plus, std::string_view digits, ResolvePath path,
                                   bool* used_libphonenumber) const {
  if (path == ResolvePath::fast) {
    Resolved r = phone::resolve_fast(plus, digits, *facts_);
    if (r.status != Resolved::Status::unsure) return r;
  }
  *used_libphonenumber = true;
  return phone::resolve_libphonenumber(plus, digits, *facts_);
}

// The E.164 of an E.164 is itself. libphonenumber strips a national prefix also after "+cc", so
// "+52 1 1 33..." loses one "1" (Mexico's old mobile token) per pass; a contact stored under one
// pass's form would miss a caller id in the next. Resolve again until nothing more comes off
// (each round shortens the number, so this ends); most numbers need no second round.
Resolved DialingPlan::resolve(bool plus, std::string_view digits, ResolvePath path,
                              bool* used_libphonenumber) const {
  Resolved r = resolve_once(plus, digits, path, used_libphonenumber);
  while (r.status == Resolved::Status::possible && !phone::certainly_fixed_point(r, *facts_)) {
    std::string e164;
    r.append_e164(&e164);
    Resolved again = resolve_once(true, std::string_view(e164).substr(1), path, used_libphonenumber);
    if (again.status != Resolved::Status::possible || again.nsn_len >= r.nsn_len) break;
    r = again;
  }
  return r;
}

// `digits` as dialed on a phone line (from_line: right after the outside-line code, where a
// number without trunk prefix is a local number of our own area).
Resolved DialingPlan::resolve_dialed(std::string_view digits, bool from_line, ResolvePath path,
                                     bool* used_libphonenumber) const {
  const std::string& idd = international_prefix_;
  if (!idd.empty() && digits.size() > idd.size() && starts_with(digits, idd) &&
      digits[idd.size()] != '0') {
    return resolve(true, digits.substr(idd.size()), path, used_libphonenumber);
  }
  if (from_line && !options_.area_code.empty() && !national_prefix_.empty() &&
      !starts_with(digits, national_prefix_)) {
    char buf[kMaxDigits * 2];
    std::size_t n = 0;
    std::memcpy(buf, options_.area_code.data(), options_.area_code.size());
    n += options_.area_code.size();
    std::size_t take = std::min(digits.size(), sizeof(buf) - n);
    std::memcpy(buf + n, digits.data(), take);
    n += take;
    return resolve(false, std::string_view(buf, n), path, used_libphonenumber);
  }
  return resolve(false, digits, path, used_libphonenumber);
}

CanonicalNumber DialingPlan::classify(const Resolved& r, std::string_view remote_ext) const {
  CanonicalNumber c;
  if (r.status != Resolved::Status::possible) {
    c.reason = "not a possible number";
    return c;
  }
  std::string_view nsn = r.national_number();
  if (!company_nsn_.empty() && r.country_code == facts_->country_code &&
      starts_with(nsn, company_nsn_)) {
    std::string_view rest = nsn.substr(company_nsn_.size());
    if (!rest.empty() && is_extension(rest)) return make_internal(rest);
    if (rest.empty() && is_extension(remote_ext)) return make_internal(remote_ext);
  }
  // libphonenumber's possible lengths allow a German national number of 14 digits, which with
  // the country code is more than E.164's 15 digits ("+4919011441234567", fuzz/dialing_plan).
  const std::size_t cc_digits = r.country_code >= 100 ? 3 : r.country_code >= 10 ? 2 : 1;
  if (cc_digits + nsn.size() > 15) {
    c.reason = "longer than 15 digits (E.164)";
    return c;
  }
  c.kind = CanonicalNumber::Kind::external;
  c.e164.reserve(20);
  r.append_e164(&c.e164);
  c.remote_extension.assign(remote_ext);
  return c;
}

CanonicalNumber DialingPlan::canonicalize(std::string_view input, NumberSource source,
                                          ResolvePath path) const {
  CanonicalNumber invalid;
  std::string_view s = trim(input);
  // Most input starts with a digit or '+'; only other text can be a withheld marker.
  if (s.empty() || (!is_digit(s[0]) && s[0] != '+' && is_withheld_marker(s))) {
    invalid.kind = CanonicalNumber::Kind::withheld;
    return invalid;
  }
  if (s.size() > kMaxInputBytes) {
    invalid.reason = "input too long";
    return invalid;
  }
  Digits d;
  if (istarts_with(s, "tel:")) {
    lex_tel_impl(s.substr(4), &d);
  } else {
    lex_plain_impl(s, &d);
  }
  if (!d.error.empty()) {
    invalid.reason = d.error;
    return invalid;
  }
  return canonicalize_digits(d, source, path);
}

CanonicalNumber DialingPlan::canonicalize_digits(const Digits& d, NumberSource source,
                                                 ResolvePath path) const {
  std::string_view digits = d.digits();
  std::string_view ext = d.extension();
  bool slow = false;
  auto finish = [&](CanonicalNumber c) {
    c.via_libphonenumber = slow;
    return c;
  };
  if (d.plus) {
    // Our own DID block is ours whatever libphonenumber's length tables say: the E.164 that
    // make_internal() gives an extension reads back as that extension (fuzz: a plan whose
    // area + base + extension is a length libphonenumber calls impossible made it invalid).
    const std::string& cc = options_.country_code;
    if (!company_nsn_.empty() && starts_with(digits, cc) &&
        starts_with(digits.substr(cc.size()), company_nsn_)) {
      std::string_view rest = digits.substr(cc.size() + company_nsn_.size());
      if (!rest.empty() && is_extension(rest)) return make_internal(rest);
    }
    return finish(classify(resolve(true, digits, path, &slow), ext));
  }

  // Company pattern: never for numbers starting with '0' (trunk or international prefix).
  if (digits[0] != '0') {
    if (is_extension(digits)) return make_internal(digits);
    const std::string& base = options_.base_number;
    if (!base.empty()) {
      std::string_view rest;
      if (starts_with(digits, company_nsn_)) {
        rest = digits.substr(company_nsn_.size());
      } else if (starts_with(digits, base)) {
        rest = digits.substr(base.size());
        if (rest.empty()) {  // the company's main number, typed without area code
          return finish(classify(resolve_dialed(company_nsn_, false, path, &slow), ext));
        }
      }
      if (!rest.empty() && is_extension(rest)) return make_internal(rest);
    }
  }

  // Outside-line code ("0" + "089123456", "9" + "0049...").
  const std::string& op = options_.outside_prefix;
  if (!op.empty() && digits.size() > op.size() && starts_with(digits, op)) {
    std::string_view rest = digits.substr(op.size());
    if (source == NumberSource::dialed ||
        (source == NumberSource::pbx && options_.pbx_reports_outside_prefix)) {
      return finish(classify(resolve_dialed(rest, true, path, &slow), ext));
    }
    bool dials_out = (!national_prefix_.empty() && starts_with(rest, national_prefix_)) ||
                     (!international_prefix_.empty() && starts_with(rest, international_prefix_));
    if (dials_out) {
      // Ambiguous ("0049..." is international, or outside code + "049..."): prefer what
      // is possible, then what libphonenumber calls valid, then the number as written.
      Resolved as_is = resolve_dialed(digits, false, path, &slow);
      Resolved stripped = resolve_dialed(rest, true, path, &slow);
      bool a = as_is.status == Resolved::Status::possible;
      bool b = stripped.status == Resolved::Status::possible;
      if (a && b) {
        slow = true;
        if (!phone::describe_e164(as_is.e164()).valid &&
            phone::describe_e164(stripped.e164()).valid) {
          return finish(classify(stripped, ext));
        }
        return finish(classify(as_is, ext));
      }
      return finish(classify(b ? stripped : as_is, ext));
    }
  }
  if (is_local_number(digits)) {
    // A local subscriber number: our area code goes in front, as on a phone line (ConSol's rule
    // for "33990312", for every local number). Where area + number cannot be a number (NANP's
    // ten-digit national form "2125550100" in area 650), it is read as national below.
    Resolved local = resolve_dialed(digits, true, path, &slow);
    if (local.status == Resolved::Status::possible) return finish(classify(local, ext));
  }
  return finish(classify(resolve_dialed(digits, false, path, &slow), ext));
}

// No trunk, international or outside-line prefix, longer than any extension, and not the
// company's base number (the company pattern has answered those before).
bool DialingPlan::is_local_number(std::string_view digits) const {
  // Without a trunk prefix the numbering is closed (the area code is always dialed): no local form.
  if (options_.area_code.empty() || national_prefix_.empty() || digits.size() <= max_extension_length_) return false;
  for (const std::string* prefix : {&national_prefix_, &international_prefix_, &options_.outside_prefix}) {
    if (!prefix->empty() && starts_with(digits, *prefix)) return false;
  }
  return digits != options_.base_number;
}

base::Result<std::string> DialingPlan::dial_string(std::string_view input) const {
  CanonicalNumber c = canonicalize(input);
  switch (c.kind) {
    case CanonicalNumber::Kind::withheld:
      return base::fail(base::Error::invalid_argument("a withheld number cannot be dialed"));
    case CanonicalNumber::Kind::invalid:
      return base::fail(base::Error::invalid_argument("invalid number: " + std::string(c.reason)));
    case CanonicalNumber::Kind::internal:
      return c.extension;
    case CanonicalNumber::Kind::external: break;
  }
  std::string_view all = std::string_view(c.e164).substr(1);
  std::size_t cc_len = 0;
  int cc = phone::PhoneMetadata::instance().extract_country_code(all, &cc_len);
  if (cc == 0) return base::fail(base::Error::internal("no country code in " + c.e164));
  const std::string international =
      options_.outside_prefix + international_prefix_ + std::string(all.substr(0, cc_len)) + std::string(all.substr(cc_len));
  if (cc != facts_->country_code) return international;
  // The national form, unless the PBX would read it as another number: libphonenumber calls a
  // national number that itself starts with the trunk prefix "possible" (GB "089123456" ->
  // +44089123456), and "0" + "089123456" dials abroad. Such numbers go out in international form.
  std::string national = options_.outside_prefix + national_prefix_ + std::string(all.substr(cc_len));
  auto back = canonicalize(national, NumberSource::dialed);
  if (back.kind == CanonicalNumber::Kind::external && back.e164 == c.e164) return national;
  return international;
}

std::string DialingPlan::display(const CanonicalNumber& number, std::string_view user_region) const {
  if (number.kind == CanonicalNumber::Kind::withheld || number.kind == CanonicalNumber::Kind::invalid) {
    return {};
  }
  if (number.e164.empty()) return number.extension;
  std::string region = user_region.empty() ? facts_->id : std::string(user_region);
  return phone::format_for_region(number.e164, region, number.remote_extension);
}

std::optional<std::string> lookup_e164(const DialingPlan* plan, std::string_view raw) {
  if (plan == nullptr) {
    std::string d;
    for (char c : raw)
      if (is_digit(c)) d += c;
    std::string_view s = trim(raw);
    if (!s.empty() && s.front() == '+' && d.size() >= 5 && d.size() <= 15) return "+" + d;
    return std::nullopt;
  }
  CanonicalNumber c = plan->canonicalize(raw);
  using K = CanonicalNumber::Kind;
  if ((c.kind == K::external || c.kind == K::internal) && !c.e164.empty()) return std::move(c.e164);
  return std::nullopt;
}

std::string region_from_locale(std::string_view locale) {
  std::size_t sep = locale.find_first_of("-_");
  if (sep == std::string_view::npos) return {};
  std::string_view rest = locale.substr(sep + 1);
  std::size_t end = rest.find_first_of(".@-_");
  rest = rest.substr(0, end);
  if (rest.size() != 2) return {};
  std::string out;
  for (char c : rest) {
    if (!std::isalpha(static_cast<unsigned char>(c))) return {};
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return out;
}

}  // namespace callbridge::core
