// The dialing-plan flags shared by `callbridge number` and `callbridge contacts`: --config /
// $CALLBRIDGE_CONFIG, --tenant, and flags for every [tenant.X.dialing] key, applied on top of the
// configured plan through app::tenant_dialing_plan (the daemon's function). Main thread only.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "app/config.hpp"
#include "base/error.hpp"
#include "core/dialing_plan.hpp"

namespace callbridge::cli {

struct PlanFlags {
  std::string config;  // "" = $CALLBRIDGE_CONFIG, if set
  std::string tenant{app::kSingleCompanyTenant};  // checked by tenant_id_check()
  std::optional<std::string> country, region, area, base, outside, national, international;
  std::vector<int> ext_len;
  std::vector<std::string> ext_range;
  bool pbx_outside = false;
};

void add_plan_flags(CLI::App* cmd, PlanFlags& f);

struct LoadedPlan {
  std::optional<app::Config> config;  // when --config / $CALLBRIDGE_CONFIG named a file
  std::string config_path;
  std::shared_ptr<const core::DialingPlan> plan;  // never null on success
};

// The tenant's plan from the config file with the flags on top. Error when the file or a flag is
// wrong, or when neither the file nor --country gives a plan.
base::Result<LoadedPlan> load_plan(const PlanFlags& f);

}  // namespace callbridge::cli
