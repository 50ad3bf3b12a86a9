// What the journal capability consumes from the PBX side and which client events it owns. The
// tenant runtime (core/tenant_runtime) writes the entries a driver delivers and publishes
// {"type":"journal","entry":{...}} once the store committed one (with its id, for PATCH
// /api/v1/journal/{id}); this capability serves what was stored. Constants; any thread.
#pragma once

#include <array>

#include "capabilities/capability.hpp"

namespace callbridge::capabilities::journal {

inline constexpr std::array kConsumes{Consumes::journal_entries};
inline constexpr std::array kEmits{core::HubMessage::Kind::journal};

}  // namespace callbridge::capabilities::journal
