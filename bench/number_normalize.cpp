// bench/number_normalize: throughput of DialingPlan::canonicalize() (fast path) against
// libphonenumber C++ alone (Parse + IsPossibleNumberWithReason + Format E164) on the same
// generated inputs, one core, with E.164 agreement counted input by input.
// Usage: number_normalize [--count N] [--ref-count M] [--seed S] [--smoke] [--write-inputs FILE]
//                         [--inputs FILE]
// --write-inputs writes "REGION<TAB>INPUT<TAB>CATEGORY<TAB>EXPECTED_E164" lines so other
// implementations (libphonenumber-js) can be run on exactly the same data; --inputs reads such a
// file (or plain lines, one input each) instead of generating.
#include <CLI/CLI.hpp>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/dialing_plan.hpp"

namespace callbridge::bench {
namespace {

namespace pn = i18n::phonenumbers;
using core::CanonicalNumber;

// `plain`: no plan rule applies, so libphonenumber alone must give the same E.164.
enum class Category { plain, company, withheld, garbage, unknown };
const char* name(Category c) {
  switch (c) {
    case Category::plain: return "plain";
    case Category::company: return "company";
    case Category::withheld: return "withheld";
    case Category::garbage: return "garbage";
    case Category::unknown: return "unknown";
  }
  return "?";
}

struct Input {
  std::string text;
  Category category;
};

// Inputs a German PBX and its users produce: caller ids, typed numbers, CRM fields.
class Generator {
 public:
  explicit Generator(std::uint32_t seed) : rng_(seed) {}

  Input next() {
    int k = pick(100);
    if (k < 22) return {sep(national_de()), Category::plain};
    if (k < 40) return {"+49" + nsn_de(), Category::plain};
    if (k < 50) return {sep_intl("+49 ", nsn_de()), Category::plain};
    if (k < 56) return {"+49 (0)" + nsn_de(), Category::plain};
    if (k < 64) return {"0049" + nsn_de(), Category::plain};
    if (k < 74) return {foreign(), Category::plain};
    if (k < 78) return {"tel:+49-" + nsn_de(), Category::plain};
    if (k < 88) return {company(), Category::company};
    if (k < 92) return {mobile_de(), Category::plain};
    if (k < 96) {
      static const char* kWithheld[] = {"anonymous", "", "Restricted", "<unknown>"};
      return {kWithheld[pick(4)], Category::withheld};
    }
    static const char* kGarbage[] = {"abc", "Max Mustermann", "*31#", "0211 CALL", "+", "n/a"};
    return {kGarbage[pick(6)], Category::garbage};
  }

 private:
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  std::string digits(int n, bool nonzero_first = true) {
    std::string s;
    for (int i = 0; i < n; ++i) {
      int lo = (i == 0 && nonzero_first) ? 1 : 0;
      s.push_back(static_cast<char>('0' + lo + pick(10 - lo)));
    }
    return s;
  }
  std::string nsn_de() {
    static const char* kAreas[] = {"30", "40", "89", "211", "221", "69", "711", "6221", "33203",
                                   "4131", "511", "351", "341", "421", "231", "201"};
    std::string area = kAreas[pick(16)];
    int sub = 11 - static_cast<int>(area.size()) - pick(3);
    return area + digits(sub);
  }
  std::string national_de() { return "0" + nsn_de(); }
  std::string mobile_de() {
    static const char* kMobile[] = {"151", "152", "157", "160", "162", "170", "171", "176", "177"};
    return "0" + std::string(kMobile[pick(9)]) + " " + digits(pick(2) ? 8 : 7);
  }
  // Separators as people type them.
  std::string sep(const std::string& national) {
    switch (pick(4)) {
      case 0: return national;
      case 1: return national.substr(0, 4) + " " + national.substr(4);
      case 2: return national.substr(0, 4) + "/" + national.substr(4);
      default: return "(" + national.substr(0, 4) + ") " + national.substr(4, 3) + "-" + national.substr(7);
    }
  }
  std::string sep_intl(const std::string& prefix, const std::string& nsn) {
    return prefix + nsn.substr(0, 3) + " " + nsn.substr(3);
  }
  std::string foreign() {
    switch (pick(5)) {
      case 0: return "+41 44 " + digits(7);
      case 1: return "+43 1 " + digits(7);
      case 2: return "+1 " + std::to_string(200 + pick(700)) + " " + digits(7);
      case 3: return "0044 20 " + digits(8);
      default: return "+33 1 " + digits(8);
    }
  }
  std::string company() {
    std::string ext = digits(2);
    switch (pick(4)) {
      case 0: return ext;
      case 1: return "339903" + ext;
      case 2: return "211339903" + ext;
      default: return "0211 339903-" + ext;
    }
  }
  std::mt19937 rng_;
};

// libphonenumber alone on the raw text.
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

std::string e164_or_invalid(const CanonicalNumber& c) { return c.e164.empty() ? "invalid" : c.e164; }

struct Timing {
  double seconds = 0;
  std::size_t n = 0;
  double per_second() const { return n / seconds; }
  double ns_each() const { return seconds * 1e9 / n; }
};

template <typename Fn>
Timing timed(std::size_t n, Fn&& fn) {
  auto t0 = std::chrono::steady_clock::now();
  fn();
  auto t1 = std::chrono::steady_clock::now();
  return {std::chrono::duration<double>(t1 - t0).count(), n};
}

std::string rate(double r) {
  char buf[32];
  if (r >= 1e6) std::snprintf(buf, sizeof buf, "%.2fM", r / 1e6);
  else std::snprintf(buf, sizeof buf, "%.1fk", r / 1e3);
  return buf;
}

// Reads what --write-inputs wrote (or one input per line); lines are capped at 4 KiB.
bool read_inputs(const std::string& path, std::vector<Input>* out) {
  std::ifstream in(path);
  if (!in) return false;
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > 4096) line.resize(4096);
    auto t1 = line.find('\t');
    if (t1 == std::string::npos) {
      out->push_back({line, Category::unknown});
      continue;
    }
    auto t2 = line.find('\t', t1 + 1);
    std::string text = line.substr(t1 + 1, t2 == std::string::npos ? std::string::npos : t2 - t1 - 1);
    std::string cat = t2 == std::string::npos ? "" : line.substr(t2 + 1, line.find('\t', t2 + 1) - t2 - 1);
    Category c = cat == "plain"      ? Category::plain
                 : cat == "company"  ? Category::company
                 : cat == "withheld" ? Category::withheld
                 : cat == "garbage"  ? Category::garbage
                                     : Category::unknown;
    out->push_back({text, c});
  }
  return true;
}

int run(std::size_t count, std::size_t ref_count, std::uint32_t seed, bool smoke,
        const std::string& write_inputs, const std::string& inputs_file) {
  core::DialingPlanOptions o;
  o.country_code = "49";
  o.area_code = "211";
  o.base_number = "339903";
  o.extension_lengths = {2};
  auto plan = core::DialingPlan::create(o);
  if (!plan) {
    std::fprintf(stderr, "%s\n", plan.error().to_string().c_str());
    return 2;
  }
  std::vector<Input> inputs;
  if (!inputs_file.empty()) {
    if (!read_inputs(inputs_file, &inputs) || inputs.empty()) {
      std::fprintf(stderr, "cannot read inputs from %s\n", inputs_file.c_str());
      return 2;
    }
    count = inputs.size();
  } else {
    Generator gen(seed);
    inputs.reserve(count);
    for (std::size_t i = 0; i < count; ++i) inputs.push_back(gen.next());
  }
  ref_count = std::min(ref_count, count);
  // Warm both sides up (metadata tables, libphonenumber's regex cache).
  (void)plan->canonicalize("+4989123456");
  (void)lib_e164("+4989123456", "DE");

  std::size_t checksum = 0, slow = 0;
  Timing fast = timed(count, [&] {
    for (const auto& in : inputs) {
      CanonicalNumber c = plan->canonicalize(in.text);
      checksum += c.e164.size() + static_cast<std::size_t>(c.kind);
      slow += c.via_libphonenumber;
    }
  });
  std::vector<std::string> lib(ref_count);
  Timing lib_t = timed(ref_count, [&] {
    for (std::size_t i = 0; i < ref_count; ++i) lib[i] = lib_e164(inputs[i].text, "DE");
  });
  std::vector<CanonicalNumber> ref(ref_count);
  Timing ref_t = timed(ref_count, [&] {
    for (std::size_t i = 0; i < ref_count; ++i) {
      ref[i] = plan->canonicalize(inputs[i].text, core::NumberSource::user,
                                  core::ResolvePath::libphonenumber);
    }
  });

  // Agreement, input by input.
  std::size_t plain = 0, plain_agree = 0, all_agree = 0, shown = 0;
  for (std::size_t i = 0; i < ref_count; ++i) {
    CanonicalNumber c = plan->canonicalize(inputs[i].text);
    bool same_ref = e164_or_invalid(c) == e164_or_invalid(ref[i]) && c.kind == ref[i].kind;
    all_agree += same_ref;
    if (inputs[i].category == Category::plain) {
      ++plain;
      bool same_lib = e164_or_invalid(c) == lib[i];
      plain_agree += same_lib;
      if (!same_lib && shown++ < 5) {
        std::fprintf(stderr, "disagree: '%s' fast=%s libphonenumber=%s\n", inputs[i].text.c_str(),
                     e164_or_invalid(c).c_str(), lib[i].c_str());
      }
    }
    if (!same_ref && shown++ < 5) {
      std::fprintf(stderr, "disagree: '%s' fast=%s reference path=%s\n", inputs[i].text.c_str(),
                   e164_or_invalid(c).c_str(), e164_or_invalid(ref[i]).c_str());
    }
  }

  if (!write_inputs.empty()) {
    std::ofstream out(write_inputs);
    for (const auto& in : inputs) {
      out << "DE\t" << in.text << '\t' << name(in.category) << '\t'
          << e164_or_invalid(plan->canonicalize(in.text)) << '\n';
    }
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", write_inputs.c_str());
      return 2;
    }
  }

  std::printf("number_normalize: %zu %s inputs (plan: +49 211 339903-xx, ext length 2), "
              "seed %u; references on the first %zu; checksum %zu\n\n",
              count, inputs_file.empty() ? "generated" : inputs_file.c_str(), seed, ref_count,
              checksum);
  std::printf("| implementation | inputs/s | ns/input | vs libphonenumber |\n|---|---:|---:|---:|\n");
  std::printf("| callbridge DialingPlan::canonicalize (fast path) | %s | %.0f | %.1fx |\n",
              rate(fast.per_second()).c_str(), fast.ns_each(), fast.per_second() / lib_t.per_second());
  std::printf("| libphonenumber C++ Parse+IsPossible+Format(E164) | %s | %.0f | 1.0x (baseline) |\n",
              rate(lib_t.per_second()).c_str(), lib_t.ns_each());
  std::printf("| callbridge, ResolvePath::libphonenumber | %s | %.0f | %.1fx |\n\n",
              rate(ref_t.per_second()).c_str(), ref_t.ns_each(), ref_t.per_second() / lib_t.per_second());
  std::printf("fast path answered %.2f%% of inputs without libphonenumber\n",
              100.0 * (count - slow) / count);
  std::printf("E.164 agreement with libphonenumber alone on plain inputs: %zu/%zu (%.3f%%)\n",
              plain_agree, plain, plain ? 100.0 * plain_agree / plain : 100.0);
  std::printf("agreement with the libphonenumber-only path on all inputs: %zu/%zu (%.3f%%)\n",
              all_agree, ref_count, ref_count ? 100.0 * all_agree / ref_count : 100.0);
  if (plain_agree != plain || all_agree != ref_count) return 1;
  if (smoke && fast.per_second() <= lib_t.per_second()) {
    std::fprintf(stderr, "fast path is not faster than libphonenumber\n");
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace callbridge::bench

int main(int argc, char** argv) {
  CLI::App app{"Number normalization throughput: callbridge fast path vs libphonenumber C++"};
  std::size_t count = 1'000'000, ref_count = 200'000;
  std::uint32_t seed = 42;
  bool smoke = false;
  std::string write_inputs, inputs_file;
  app.add_option("--count", count, "generated inputs for the fast path")->capture_default_str();
  app.add_option("--ref-count", ref_count,
                 "inputs (a prefix of the same list) run through libphonenumber and compared")
      ->capture_default_str();
  app.add_option("--seed", seed)->capture_default_str();
  app.add_flag("--smoke", smoke, "2000 inputs, all compared; fails on any disagreement");
  app.add_option("--write-inputs", write_inputs, "write REGION, INPUT, CATEGORY, E164 as TSV");
  app.add_option("--inputs", inputs_file, "read inputs (a --write-inputs file, or one per line)");
  CLI11_PARSE(app, argc, argv);
  if (smoke) count = ref_count = 2000;
  return callbridge::bench::run(count, ref_count, seed, smoke, write_inputs, inputs_file);
}
