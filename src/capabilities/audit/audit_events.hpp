// What the audit capability consumes and which client events it owns. Nothing from the PBX: its
// records come from the API's routes (sign-ins, tokens, users, settings, tenants) and the calls
// capability's (call-control commands) through
// ports::AuditLog; and it pushes nothing to clients (they ask). Constants; any thread.
#pragma once

#include <array>

#include "capabilities/capability.hpp"

namespace callbridge::capabilities::audit {

inline constexpr std::array kConsumes{Consumes::audit_records};
inline constexpr std::array<core::HubMessage::Kind, 0> kEmits{};

}  // namespace callbridge::capabilities::audit
