// [tenant.X.dialing] -> the tenant's core::DialingPlan: the one place configuration becomes a
// dialing plan. Used by callbridged (AMI tracker, remote info, contacts, call control),
// `callbridge replay`, `callbridge contacts` and `callbridge number`, so all read numbers alike.
// Pure functions; any thread.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "app/config.hpp"
#include "base/error.hpp"
#include "core/dialing_plan.hpp"

namespace callbridge::app {

// The field-by-field mapping of one [tenant.X.dialing] section (every key: region, extension
// ranges, pbx_reports_outside_prefix, prefixes, ...).
core::DialingPlanOptions dialing_plan_options(const DialingConfig& d);

// Command-line flags on top of the configured plan (`callbridge number --area 89`). Called with
// the section's options, or empty options when the tenant has no [tenant.X.dialing].
using DialingOverrides = std::function<void(core::DialingPlanOptions&)>;

// The dialing plan of `tenant`: its [tenant.<tenant>.dialing] section, then `overrides`.
// nullptr when there is none (no section and no country code from the overrides): numbers are
// then left as the PBX or the user wrote them, only "+..." input is understood (see
// core::lookup_e164). Error, naming the section, when the plan is invalid.
base::Result<std::shared_ptr<const core::DialingPlan>> tenant_dialing_plan(const Config& config,
                                                                           std::string_view tenant,
                                                                           const DialingOverrides& overrides = {});

}  // namespace callbridge::app
