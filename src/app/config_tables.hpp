// The TOML side of configuration readers shared with the tenant spec (app/tenant_spec.cpp): a
// spec arrives as JSON, becomes a toml::table and is read by the very readers of the file's
// sections. Internal to src/app (config.cpp, tenant_spec.cpp); pure functions, any thread.
#pragma once

#include <string_view>

#include <toml++/toml.h>

#include "app/tenant_spec.hpp"
#include "base/error.hpp"

namespace callbridge::app {

// Reads a spec table (keys: id, display_name, pbx, dialing, call_control, phones, directory) for
// tenant `id` with the section readers of the file; errors name the key path ("pbx[0].port: ...").
// Cross-field checks (validate(), the dialing plan) are the caller's.
base::Result<TenantSpec> read_tenant_spec(const toml::table& t, std::string_view id, std::string_view source);

}  // namespace callbridge::app
