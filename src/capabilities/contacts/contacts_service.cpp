#include "capabilities/contacts/contacts_service.hpp"

#include <cctype>
#include <chrono>

namespace callbridge::capabilities::contacts {

std::optional<std::string> complete(ports::Contact& c) {
  if (c.display_name.empty()) {
    c.display_name = c.kind == ports::ContactKind::company
                         ? c.company
                         : c.given_name + (c.given_name.empty() || c.family_name.empty() ? "" : " ") + c.family_name;
    if (c.display_name.empty()) c.display_name = c.company;
  }
  if (c.display_name.empty()) return "display_name (or names / company): required";
  return std::nullopt;
}

std::optional<std::string> to_e164(const ToE164& plan, const base::TenantId& tenant, std::string_view raw) {
  if (plan) return plan(tenant, raw);
  std::string d;
  for (char c : raw)
    if (std::isdigit(static_cast<unsigned char>(c))) d += c;
  if (!raw.empty() && raw[0] == '+' && d.size() >= 3) return "+" + d;
  return std::nullopt;
}

base::Result<std::vector<core::RankedMatch>> lookup(core::LookupService* engine, ports::ContactStore* store,
                                                    const base::TenantId& tenant, const std::string& e164) {
  if (engine) return engine->lookup(tenant, e164).matches;
  if (!store) return base::fail(base::Error::unavailable("no contact directory"));
  ports::LookupQuery q{.tenant = tenant};
  q.e164 = e164;
  q.candidates = {e164};
  q.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  auto r = store->lookup(q);
  if (!r) return base::fail(r.error());
  std::vector<core::RankedMatch> out;
  out.reserve(r->size());
  for (auto& m : *r) out.push_back(core::RankedMatch{.contact = std::move(m), .kind = core::MatchKind::exact});
  return out;
}

}  // namespace callbridge::capabilities::contacts
