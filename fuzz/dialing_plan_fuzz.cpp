// libFuzzer target: phone numbers as users type them and PBXs report them, through a tenant's
// dialing plan (core::DialingPlan) and the directory's lookup_e164. Differential: the table-driven
// fast path must agree with libphonenumber on every input (kind, E.164, extensions), and a number
// a realistic plan can dial must come back as the same number when the PBX reports it dialed.
// Input: byte 0 = plan (a fixed set, or options built from the input), byte 1 = source, rest = text.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/dialing_plan.hpp"
#include "core/phone_metadata.hpp"
#include "fuzz_check.hpp"

namespace core = callbridge::core;
using callbridge::fuzz::check;

namespace {

core::DialingPlanOptions opts(const char* cc, const char* area, const char* base, std::vector<int> ext,
                              const char* outside = "", bool pbx_outside = false) {
  core::DialingPlanOptions o;
  o.country_code = cc;
  o.area_code = area;
  o.base_number = base;
  o.extension_lengths = std::move(ext);
  o.outside_prefix = outside;
  o.pbx_reports_outside_prefix = pbx_outside;
  return o;
}

// The plans of the unit tests and docs/numbers.md: DE with and without outside-line code, AT, CH,
// US (9 for outside), GB, IT (leading zeros in the national number), ranges, no DID block.
const std::vector<core::DialingPlan>& plans() {
  static const std::vector<core::DialingPlan> p = [] {
    std::vector<core::DialingPlanOptions> o = {
        opts("49", "211", "339903", {2}), opts("49", "211", "339903", {2}, "0", true),
        opts("43", "1", "53422", {3}),    opts("41", "44", "66818", {2}),
        opts("1", "650", "253", {4}, "9"), opts("44", "20", "7946", {4}, "9"),
        opts("39", "", "", {3})    ,    opts("49", "30", "", {3})};
    o.back().extension_ranges = {{"100", "199"}, {"800", "899"}};
    std::vector<core::DialingPlan> out;
    for (auto& x : o) {
      auto p = core::DialingPlan::create(std::move(x));
      check(p.has_value(), "a fixed plan is invalid:", p ? "" : p.error().message());
      out.push_back(std::move(*p));
    }
    return out;
  }();
  return p;
}

bool trunk_prefixed(std::string_view e164) {
  if (e164.size() < 2) return false;
  std::size_t cc_len = 0;
  const int cc = core::phone::PhoneMetadata::instance().extract_country_code(e164.substr(1), &cc_len);
  return cc != 0 && cc != 39 && e164.size() > 1 + cc_len && e164[1 + cc_len] == '0';
}

// `realistic`: a plan as countries use them; there the dial string must read back as the number.
// (Plans made of random options can make national and international forms ambiguous, e.g. an
// outside-line code equal to the international prefix.)
void check_number(const core::DialingPlan& plan, const std::string& text, core::NumberSource src,
                  bool realistic) {
  using Kind = core::CanonicalNumber::Kind;
  const auto a = plan.canonicalize(text, src, core::ResolvePath::fast);
  const auto b = plan.canonicalize(text, src, core::ResolvePath::libphonenumber);
  check(a.kind == b.kind, "fast and libphonenumber paths: kind differs for", text);
  check(a.e164 == b.e164, "fast and libphonenumber paths: E.164 differs for", text + " " + a.e164 + " " + b.e164);
  check(a.extension == b.extension, "fast and libphonenumber paths: extension differs for", text);
  check(a.remote_extension == b.remote_extension, "paths: remote extension differs for", text);
  if (a.kind == Kind::invalid) check(!a.reason.empty(), "invalid without a reason:", text);
  if (!a.e164.empty()) {
    check(a.e164[0] == '+' && a.e164.size() >= 3 && a.e164.size() <= 16, "malformed E.164", a.e164);
    for (std::size_t i = 1; i < a.e164.size(); ++i) check(a.e164[i] >= '0' && a.e164[i] <= '9', "E.164 digit", a.e164);
  }
  (void)plan.display(a, "DE");
  (void)plan.display(a, plan.region());
  (void)core::lookup_e164(&plan, text);
  // Dialing: what the plan sends for a number (read as typed by a user, as dial_string() does)
  // must be read back as that number when the PBX reports it as dialed (AMI Exten / DialString).
  const auto u = src == core::NumberSource::user ? a : plan.canonicalize(text);
  auto dial = plan.dial_string(text);
  if ((u.kind == Kind::external || u.kind == Kind::internal) && !u.e164.empty()) {
    check(dial.has_value(), "a number with an E.164 has no dial string:", text);
  }
  // Not for numbers whose national part starts with 0 outside Italy (+4908910, +600108338078):
  // libphonenumber keeps a trunk prefix after "+cc" when stripping it leaves an impossible length,
  // but strips it after an IDD prefix, so such a number has no dial string that reads back as
  // itself (docs/reliability.md, findings; these numbers do not exist).
  if (!u.e164.empty()) {
    // Normalizing is idempotent: the E.164 of an E.164 is itself (in both paths).
    for (auto path : {core::ResolvePath::fast, core::ResolvePath::libphonenumber}) {
      const auto again = plan.canonicalize(u.e164, core::NumberSource::pbx, path);
      check(again.e164 == u.e164, "an E.164 does not normalize to itself:", text + " -> " + u.e164 + " -> " + again.e164);
    }
  }
  if (realistic && dial && u.remote_extension.empty() && !trunk_prefixed(u.e164)) {
    const auto back = plan.canonicalize(*dial, core::NumberSource::dialed);
    check(back.kind == u.kind && back.e164 == u.e164, "dial string does not read back:",
          text + " -> " + *dial + " -> " + back.e164 + " (was " + u.e164 + ")");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2 || size > 512) return 0;
  FuzzedDataProvider in(data, size);
  const auto which = in.ConsumeIntegral<std::uint8_t>();
  const auto src = static_cast<core::NumberSource>(in.ConsumeIntegralInRange<int>(0, 2));
  if (which < 224) {
    const auto& p = plans()[which % plans().size()];
    check_number(p, in.ConsumeRemainingBytesAsString(), src, true);
    return 0;
  }
  // Options from the input: create() validates them; a plan it accepts must behave like any other.
  core::DialingPlanOptions o;
  o.country_code = in.ConsumeRandomLengthString(4);
  o.region = in.ConsumeBool() ? in.ConsumeRandomLengthString(3) : "";
  o.area_code = in.ConsumeRandomLengthString(6);
  o.base_number = in.ConsumeRandomLengthString(10);
  for (int n = in.ConsumeIntegralInRange<int>(0, 3); n > 0; --n)
    o.extension_lengths.push_back(in.ConsumeIntegralInRange<int>(-1, 20));
  if (in.ConsumeBool())
    o.extension_ranges.push_back({in.ConsumeRandomLengthString(6), in.ConsumeRandomLengthString(6)});
  o.outside_prefix = in.ConsumeRandomLengthString(3);
  if (in.ConsumeBool()) o.national_prefix = in.ConsumeRandomLengthString(3);
  if (in.ConsumeBool()) o.international_prefix = in.ConsumeRandomLengthString(4);
  o.pbx_reports_outside_prefix = in.ConsumeBool();
  auto plan = core::DialingPlan::create(std::move(o));
  if (!plan) return 0;
  check_number(*plan, in.ConsumeRemainingBytesAsString(), src, false);
  return 0;
}
