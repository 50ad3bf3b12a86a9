#include "cli/plan_flags.hpp"

#include <cstdlib>

#include "app/dialing_config.hpp"
#include "cli/commands.hpp"

namespace callbridge::cli {

void add_plan_flags(CLI::App* cmd, PlanFlags& f) {
  cmd->add_option("--config", f.config,
                  "callbridged config file (read as callbridged does); its [tenant.<tenant>.dialing] is the "
                  "plan, for a [demo] file the demo PBX's (default: $CALLBRIDGE_CONFIG)")
      ->option_text("FILE");
  cmd->add_option("--tenant", f.tenant, "tenant whose plan to use")->capture_default_str()->check(tenant_id_check());
  cmd->add_option("--country", f.country, "dialing plan: country calling code, e.g. 49");
  cmd->add_option("--region", f.region, "dialing plan: region when a code is shared, e.g. CA for 1");
  cmd->add_option("--area", f.area, "dialing plan: area code without trunk prefix, e.g. 211");
  cmd->add_option("--base", f.base, "dialing plan: company base number (DID block), e.g. 339903");
  cmd->add_option("--ext-len", f.ext_len, "dialing plan: extension length(s), e.g. --ext-len 2 --ext-len 3")
      ->delimiter(',')
      ->allow_extra_args(false);
  cmd->add_option("--ext-range", f.ext_range, "dialing plan: extension range FIRST-LAST, e.g. 100-199")
      ->delimiter(',')
      ->allow_extra_args(false);
  cmd->add_option("--outside-prefix", f.outside, "dialing plan: outside-line access code, e.g. 0 or 9");
  cmd->add_option("--national-prefix", f.national, "dialing plan: national trunk prefix (default per country)");
  cmd->add_option("--international-prefix", f.international,
                  "dialing plan: international prefix (default per country, 00 / 011)");
  cmd->add_flag("--pbx-outside-prefix", f.pbx_outside,
                "dialing plan: the PBX reports external caller ids with the outside-line code in front");
}

base::Result<LoadedPlan> load_plan(const PlanFlags& f) {
  using base::Error;
  using base::fail;
  LoadedPlan out;
  out.config_path = f.config;
  if (out.config_path.empty())
    if (const char* env = std::getenv("CALLBRIDGE_CONFIG")) out.config_path = env;
  if (!out.config_path.empty()) {
    auto cfg = app::load_config_file(out.config_path);
    if (!cfg) return fail(cfg.error());
    out.config = std::move(*cfg);
    // What callbridged does with this file: in demo mode the demo link's tenant gets the
    // simulated PBX's plan unless the file gave it one (app/demo.cpp add_demo_link).
    if (out.config->demo.enabled) {
      auto& dialing = out.config->tenants[std::string(app::kSingleCompanyTenant)].dialing;
      if (dialing.country_code.empty()) dialing = app::demo_dialing_config();
    }
  }
  std::vector<core::DialingPlanOptions::ExtensionRange> ranges;
  for (const auto& r : f.ext_range) {
    auto dash = r.find('-');
    if (dash == std::string::npos) return fail(Error::invalid_argument("--ext-range: expected FIRST-LAST, got " + r));
    ranges.push_back({r.substr(0, dash), r.substr(dash + 1)});
  }
  auto flags_on_top = [&](core::DialingPlanOptions& o) {
    if (f.country) o.country_code = *f.country;
    if (f.region) o.region = *f.region;
    if (f.area) o.area_code = *f.area;
    if (f.base) o.base_number = *f.base;
    if (!f.ext_len.empty()) o.extension_lengths = f.ext_len;
    o.extension_ranges.insert(o.extension_ranges.end(), ranges.begin(), ranges.end());
    if (f.outside) o.outside_prefix = *f.outside;
    if (f.national) o.national_prefix = *f.national;
    if (f.international) o.international_prefix = *f.international;
    if (f.pbx_outside) o.pbx_reports_outside_prefix = true;
  };
  auto plan = app::tenant_dialing_plan(out.config ? *out.config : app::Config{}, f.tenant, flags_on_top);
  if (!plan) return fail(plan.error());
  if (!*plan) {
    if (out.config)
      return fail(Error::not_found(out.config_path + ": no [tenant." + f.tenant + ".dialing]; give --country"));
    return fail(Error::invalid_argument(
        "no dialing plan: give --country (and --area, --base, --ext-len, --outside-prefix) or --config FILE"));
  }
  out.plan = std::move(*plan);
  return out;
}

}  // namespace callbridge::cli
