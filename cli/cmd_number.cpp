// `callbridge number normalize|dial`: the dialing plan (src/core/dialing_plan.hpp) for people and
// scripts. Works offline (no server needed): the plan comes from flags, else from the default
// tenant's [tenant.X.dialing] in --config / $CALLBRIDGE_CONFIG, flags overriding the file.
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "app/config.hpp"
#include "cli/commands.hpp"
#include "core/dialing_plan.hpp"

namespace callbridge::cli {
namespace {

struct PlanFlags {
  std::string config;
  std::string tenant = "default";
  std::optional<std::string> country, region, area, base, outside, national, international;
  std::vector<int> ext_len;
  std::vector<std::string> ext_range;
  bool pbx_outside = false;
  std::string source = "user";
  bool details = false;
  std::vector<std::string> numbers;
};

void add_plan_flags(CLI::App* cmd, PlanFlags& f) {
  cmd->add_option("--config", f.config,
                  "callbridged config file; its [tenant.<tenant>.dialing] is the plan "
                  "(default: $CALLBRIDGE_CONFIG)");
  cmd->add_option("--tenant", f.tenant, "tenant whose plan to use")->capture_default_str();
  cmd->add_option("--country", f.country, "country calling code, e.g. 49");
  cmd->add_option("--region", f.region, "region when a code is shared, e.g. CA for 1");
  cmd->add_option("--area", f.area, "area code without trunk prefix, e.g. 211");
  cmd->add_option("--base", f.base, "company base number (DID block), e.g. 339903");
  cmd->add_option("--ext-len", f.ext_len, "extension length(s), e.g. --ext-len 2 --ext-len 3")
      ->delimiter(',')
      ->allow_extra_args(false);
  cmd->add_option("--ext-range", f.ext_range, "extension range FIRST-LAST, e.g. 100-199")
      ->delimiter(',')
      ->allow_extra_args(false);
  cmd->add_option("--outside-prefix", f.outside, "outside-line access code, e.g. 0 or 9");
  cmd->add_option("--national-prefix", f.national, "national trunk prefix (default per country)");
  cmd->add_option("--international-prefix", f.international,
                  "international prefix (default per country, 00 / 011)");
  cmd->add_flag("--pbx-outside-prefix", f.pbx_outside,
                "the PBX reports external caller ids with the outside-line code in front");
  cmd->add_option("--source", f.source,
                  "where inputs come from: user (typed/stored), pbx (caller ids, see "
                  "--pbx-outside-prefix), dialed (dialed by internal phones: outside code stripped)")
      ->check(CLI::IsMember({"user", "pbx", "dialed"}))
      ->capture_default_str();
}

// The config file's plan (if any) with the flags on top.
base::Result<core::DialingPlan> build_plan(const PlanFlags& f) {
  core::DialingPlanOptions o;
  std::string config_path = f.config;
  if (config_path.empty()) {
    if (const char* env = std::getenv("CALLBRIDGE_CONFIG")) config_path = env;
  }
  if (!config_path.empty()) {
    auto cfg = app::load_config_file(config_path);
    if (!cfg) return base::fail(cfg.error());
    auto it = cfg->tenants.find(f.tenant);
    if (it == cfg->tenants.end()) {
      if (!f.country) {
        return base::fail(base::Error::not_found(config_path + ": no [tenant." + f.tenant +
                                                 ".dialing]; give --country"));
      }
    } else {
      const app::DialingConfig& d = it->second.dialing;
      o.country_code = d.country_code;
      o.area_code = d.area_code;
      o.base_number = d.base_number;
      if (d.extension_length > 0) o.extension_lengths = {d.extension_length};
      o.outside_prefix = d.outside_prefix;
      o.national_prefix = d.trunk_prefix;
      o.international_prefix = d.international_prefix;
      o.region = d.region;
      for (const auto& r : d.extension_ranges) {  // validated by the config parser: FIRST-LAST
        auto dash = r.find('-');
        if (dash != std::string::npos) o.extension_ranges.push_back({r.substr(0, dash), r.substr(dash + 1)});
      }
      o.pbx_reports_outside_prefix = d.pbx_reports_outside_prefix;
    }
  } else if (!f.country) {
    return base::fail(base::Error::invalid_argument(
        "no dialing plan: give --country (and --area, --base, --ext-len, --outside-prefix) "
        "or --config FILE"));
  }
  if (f.country) o.country_code = *f.country;
  if (f.region) o.region = *f.region;
  if (f.area) o.area_code = *f.area;
  if (f.base) o.base_number = *f.base;
  if (!f.ext_len.empty()) o.extension_lengths = f.ext_len;
  for (const auto& r : f.ext_range) {
    auto dash = r.find('-');
    if (dash == std::string::npos) {
      return base::fail(base::Error::invalid_argument("--ext-range: expected FIRST-LAST, got " + r));
    }
    o.extension_ranges.push_back({r.substr(0, dash), r.substr(dash + 1)});
  }
  if (f.outside) o.outside_prefix = *f.outside;
  if (f.national) o.national_prefix = *f.national;
  if (f.international) o.international_prefix = *f.international;
  if (f.pbx_outside) o.pbx_reports_outside_prefix = true;
  return core::DialingPlan::create(std::move(o));
}

// Inputs from the arguments, else one per line from stdin (lines capped at 4 KiB).
template <typename Fn>
void for_each_input(const PlanFlags& f, Fn&& fn) {
  if (!f.numbers.empty()) {
    for (const auto& n : f.numbers) fn(std::string_view(n));
    return;
  }
  constexpr std::size_t kMaxLine = 4096;
  std::string line;
  bool truncated = false;
  int c;
  while ((c = std::getchar()) != EOF) {
    if (c == '\n') {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      fn(truncated ? std::string_view("<line too long>") : std::string_view(line));
      line.clear();
      truncated = false;
    } else if (line.size() < kMaxLine) {
      line.push_back(static_cast<char>(c));
    } else {
      truncated = true;
    }
  }
  if (!line.empty() || truncated) fn(truncated ? std::string_view("<line too long>") : line);
}

// Tabs/newlines in an input would break the TSV output.
std::string printable(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

int run_normalize(const PlanFlags& f) {
  auto plan = build_plan(f);
  if (!plan) {
    std::fprintf(stderr, "callbridge number: %s\n", plan.error().to_string().c_str());
    return 2;
  }
  auto source = f.source == "pbx"      ? core::NumberSource::pbx
                : f.source == "dialed" ? core::NumberSource::dialed
                                       : core::NumberSource::user;
  std::string out;
  for_each_input(f, [&](std::string_view input) {
    core::CanonicalNumber c = plan->canonicalize(input, source);
    out.assign(printable(input));
    out += '\t';
    out += c.e164.empty() ? "invalid" : c.e164;
    out += '\t';
    out += core::to_string(c.kind);
    if (c.kind == core::CanonicalNumber::Kind::internal) out += " " + c.extension;
    if (f.details) {
      out += '\t';
      out += plan->display(c, plan->region());
      out += '\t';
      if (c.kind == core::CanonicalNumber::Kind::invalid) {
        out += c.reason;
      } else if (!c.e164.empty()) {
        auto facts = core::phone::describe_e164(c.e164);
        out += facts.region + " " + facts.type + (facts.valid ? "" : " (not valid)");
      }
      if (!c.remote_extension.empty()) out += "\text " + c.remote_extension;
    }
    out += '\n';
    std::fwrite(out.data(), 1, out.size(), stdout);
  });
  return 0;
}

int run_dial(const PlanFlags& f) {
  auto plan = build_plan(f);
  if (!plan) {
    std::fprintf(stderr, "callbridge number: %s\n", plan.error().to_string().c_str());
    return 2;
  }
  int rc = 0;
  for_each_input(f, [&](std::string_view input) {
    auto dial = plan->dial_string(input);
    std::string in = printable(input);
    if (dial) {
      std::printf("%s\t%s\n", in.c_str(), dial->c_str());
    } else {
      std::printf("%s\tinvalid\n", in.c_str());
      std::fprintf(stderr, "callbridge number dial: '%s': %s\n", in.c_str(),
                   dial.error().message().c_str());
      rc = 1;
    }
  });
  return rc;
}

}  // namespace

Command register_number(CLI::App& app) {
  auto flags = std::make_shared<PlanFlags>();
  CLI::App* cmd = app.add_subcommand(
      "number", "Normalize numbers to E.164 and build dial strings with a tenant's dialing plan");
  cmd->require_subcommand(1);

  CLI::App* norm = cmd->add_subcommand(
      "normalize",
      "Print INPUT<TAB>E164-or-invalid<TAB>internal EXT|external|withheld|invalid per input "
      "(inputs from the arguments, else one per line from stdin)");
  add_plan_flags(norm, *flags);
  norm->add_flag("--details", flags->details,
                 "add columns: display form, region + number type (or why invalid)");
  norm->add_option("NUMBER", flags->numbers, "numbers, tel: URIs, caller ids");

  CLI::App* dial = cmd->add_subcommand(
      "dial", "Print INPUT<TAB>DIALSTRING: what the PBX must dial (exit 1 if any input is invalid)");
  add_plan_flags(dial, *flags);
  dial->add_option("NUMBER", flags->numbers, "E.164 numbers or tel: URIs");

  return Command{cmd, [flags, norm, dial]() {
                   if (norm->parsed()) return run_normalize(*flags);
                   if (dial->parsed()) return run_dial(*flags);
                   return 2;
                 }};
}

}  // namespace callbridge::cli
