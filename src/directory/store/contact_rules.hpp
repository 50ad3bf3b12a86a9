// The rules every built-in store backend (SQLite, PostgreSQL) applies before writing a contact:
// a display name, size limits, and every number with a valid E.164 (normalized when missing).
// Pure functions; thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "ports/contact_source.hpp"

namespace callbridge::directory {

using TenantToE164 = std::function<std::optional<std::string>(const base::TenantId& tenant, std::string_view raw)>;

inline constexpr std::size_t kMaxNumbersPerContact = 64;
inline constexpr std::size_t kMaxContactFieldBytes = 4096;

// "+49 (211) 339903-0" -> "+492113399030"; nullopt unless '+' and 3..15 digits remain.
std::optional<std::string> plain_e164(std::string_view raw);
bool is_e164(std::string_view s);

// The contact as it will be stored: display name filled in (given + family, else company),
// numbers' e164 filled in by `to_e164` (or plain_e164 when unset). Errc::invalid_argument otherwise.
base::Result<ports::Contact> normalize_contact(const ports::Contact& in, const TenantToE164& to_e164);

}  // namespace callbridge::directory
