// The contacts capability's service logic, without HTTP: completing a contact before it is stored
// (the display name derived from names or company), turning what a user typed into E.164 with the
// tenant's dialing plan, and looking a number up in every directory of the tenant. Called by
// contacts_routes on a REST worker (lookups block on the directories); stateless, any thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "base/tenant_id.hpp"
#include "core/lookup_service.hpp"
#include "ports/contact_source.hpp"

namespace callbridge::capabilities::contacts {

// Derives an empty display_name (a company: the company; a person: "given family", else the
// company). Error text when the contact still has no name.
std::optional<std::string> complete(ports::Contact& c);

// The tenant's dialing plan (raw -> E.164, nullopt if not an external number); unset: only
// "+<digits>" input (at least 3 digits) is accepted, with separators dropped.
using ToE164 = std::function<std::optional<std::string>(const base::TenantId& tenant, std::string_view raw)>;
std::optional<std::string> to_e164(const ToE164& plan, const base::TenantId& tenant, std::string_view raw);

// `e164` in the tenant's directories, best first: through its lookup engine (every source, cached)
// when there is one, else in the contact store alone (exact matches, 2 s deadline). unavailable
// when there is neither.
base::Result<std::vector<core::RankedMatch>> lookup(core::LookupService* engine, ports::ContactStore* store,
                                                    const base::TenantId& tenant, const std::string& e164);

// What the dial box and the contacts page search (GET /api/v1/contacts/search): `text` in every
// directory of the tenant that searches text (the built-in store, LDAP; core::LookupService::search),
// and, when `text` is a number the dialing plan makes E.164 of, that number looked up in every
// source (which reaches HTTP/CRM sources too; their matches are added when not found already).
// Without a lookup engine: the store alone. unavailable when there is neither.
struct SearchAnswer {
  std::vector<ports::ContactHit> hits;
  std::vector<core::SourceOutcome> sources;
  std::optional<std::string> e164;  // the number `text` was taken for, if any
};
base::Result<SearchAnswer> search(core::LookupService* engine, ports::ContactStore* store, const ToE164& plan,
                                  const base::TenantId& tenant, const std::string& text, std::size_t limit);

}  // namespace callbridge::capabilities::contacts
