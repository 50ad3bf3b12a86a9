#include "app/dialing_config.hpp"

#include <string>

namespace callbridge::app {

core::DialingPlanOptions dialing_plan_options(const DialingConfig& d) {
  core::DialingPlanOptions o;
  o.country_code = d.country_code;
  o.region = d.region;
  o.area_code = d.area_code;
  o.base_number = d.base_number;
  if (d.extension_length > 0) o.extension_lengths = {d.extension_length};
  for (const auto& r : d.extension_ranges) {
    auto dash = r.find('-');  // validated by the config parser: FIRST-LAST
    if (dash == std::string::npos) continue;
    o.extension_ranges.push_back({r.substr(0, dash), r.substr(dash + 1)});
  }
  o.outside_prefix = d.outside_prefix;
  o.national_prefix = d.trunk_prefix;
  o.international_prefix = d.international_prefix;
  o.pbx_reports_outside_prefix = d.pbx_reports_outside_prefix;
  return o;
}

base::Result<std::shared_ptr<const core::DialingPlan>> tenant_dialing_plan(const Config& config,
                                                                           std::string_view tenant,
                                                                           const DialingOverrides& overrides) {
  core::DialingPlanOptions o;
  auto it = config.tenants.find(std::string(tenant));
  // A section without country_code is no plan (the tenant may only have phones or call control).
  const bool configured = it != config.tenants.end() && !it->second.dialing.country_code.empty();
  if (configured) o = dialing_plan_options(it->second.dialing);
  if (overrides) overrides(o);
  if (o.country_code.empty()) return std::shared_ptr<const core::DialingPlan>();
  auto plan = core::DialingPlan::create(std::move(o));
  if (!plan) {
    std::string where = configured ? "tenant." + std::string(tenant) + ".dialing: " : std::string();
    return base::fail(base::Error::invalid_argument(where + plan.error().message()));
  }
  return std::make_shared<const core::DialingPlan>(std::move(*plan));
}

}  // namespace callbridge::app
