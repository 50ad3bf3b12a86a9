// Turns configuration into the AMI driver's options: [[pbx]] -> AmiLinkOptions, and a tenant's
// [tenant.X.dialing] -> the AmiCallTracker's number hooks (DialingPlan). Shared by callbridged
// (driver_table.cpp) and `callbridge replay`, so both follow calls identically. Pure functions; the
// returned hooks hold the immutable DialingPlan and may be called from any thread.
#pragma once

#include <string_view>

#include "app/config.hpp"
#include "app/dialing_config.hpp"
#include "base/error.hpp"
#include "core/dialing_plan.hpp"
#include "drivers/ami/ami_call_tracker.hpp"
#include "drivers/ami/ami_link.hpp"

namespace callbridge::app {

// Tracker options for `tenant`: with a [tenant.<tenant>.dialing] section the numbers go through
// that tenant's DialingPlan (tenant_dialing_plan; caller ids as NumberSource::pbx); without one,
// the tracker's defaults (numbers as the PBX reported them). Error when the section is invalid.
base::Result<drivers::ami::TrackerOptions> tracker_options(const Config& config, const base::TenantId& tenant);
// The same from a plan already built (the tenant runtime's; null = no plan): the daemon builds
// each tenant's plan once and hands it to its runtime and its drivers alike.
drivers::ami::TrackerOptions tracker_options(const base::TenantId& tenant,
                                             std::shared_ptr<const core::DialingPlan> plan);

// [[pbx]] -> AmiLinkOptions (host, port, credentials, auth, keepalive, connect/login timeouts,
// reconnect backoff, record_dir with the link name as file prefix).
drivers::ami::AmiLinkOptions ami_link_options(const PbxConfig& pbx);

}  // namespace callbridge::app
