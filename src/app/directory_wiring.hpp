// Builds the external directory sources of callbridged ([[directory.ldap]], [[directory.http]])
// as LookupService sources: each with its timeout, priority and tenant. Called once by App::create
// (io thread) before the lookup engine starts; the sources themselves are thread-safe.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "app/config.hpp"
#include "base/error.hpp"
#include "core/lookup_service.hpp"
#include "ports/contact_source.hpp"

namespace callbridge::app {

// The configured LDAP and HTTP sources, in file order (LDAP first). `to_e164_for(tenant)`
// normalizes the numbers an LDAP directory stores under that tenant's dialing plan. Errors name
// the config key ("directory.ldap[0]: ...").
base::Result<std::vector<core::LookupSourceConfig>> external_sources(
    const DirectoryConfig& config, const std::function<ports::ToE164(const base::TenantId& tenant)>& to_e164_for);

}  // namespace callbridge::app
