// What the contacts capability consumes and which client events it owns. It reads the tenant's
// directories (the built-in store, LDAP, HTTP sources, through the lookup engine) and consumes
// nothing from the PBX; a contact created or edited here invalidates the tenant's lookup cache,
// and the remote party info of live calls (core/remote_info_service) reaches clients as "call"
// events, which the calls capability owns. So it emits no event kind of its own. Constants; any
// thread.
#pragma once

#include <array>

#include "capabilities/capability.hpp"

namespace callbridge::capabilities::contacts {

inline constexpr std::array kConsumes{Consumes::directories};
inline constexpr std::array<core::HubMessage::Kind, 0> kEmits{};

}  // namespace callbridge::capabilities::contacts
