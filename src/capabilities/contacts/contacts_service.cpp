#include "capabilities/contacts/contacts_service.hpp"

#include <algorithm>
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

namespace {

// "0211 339903-12", "+49 89 123", "101": digits with the separators people type.
bool looks_like_number(std::string_view s) {
  std::size_t digits = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (std::isdigit(static_cast<unsigned char>(c))) ++digits;
    else if (!(c == '+' && i == 0) && c != ' ' && c != '-' && c != '/' && c != '(' && c != ')' && c != '.')
      return false;
  }
  return digits >= 3;
}

}  // namespace

base::Result<SearchAnswer> search(core::LookupService* engine, ports::ContactStore* store, const ToE164& plan,
                                  const base::TenantId& tenant, const std::string& text, std::size_t limit) {
  SearchAnswer out;
  if (engine) {
    auto r = engine->search(tenant, text, limit);
    out.hits = std::move(r.hits);
    out.sources = std::move(r.sources);
  } else if (store) {
    ports::SearchQuery q{.tenant = tenant, .text = text, .limit = limit,
                         .deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2)};
    auto r = store->search(q);
    if (!r) return base::fail(r.error());
    out.hits = std::move(*r);
    out.sources.push_back(core::SourceOutcome{.source = store->name(), .matches = out.hits.size()});
  } else {
    return base::fail(base::Error::unavailable("no contact directory"));
  }
  if (looks_like_number(text)) out.e164 = to_e164(plan, tenant, text);
  if (out.e164) {
    auto found = lookup(engine, store, tenant, *out.e164);
    if (found) {
      for (auto& m : *found) {
        if (m.kind != core::MatchKind::exact || out.hits.size() >= limit) continue;
        const bool known = std::any_of(out.hits.begin(), out.hits.end(), [&](const ports::ContactHit& h) {
          return h.source == m.contact.source && h.contact_id == m.contact.contact_id;
        });
        if (known) continue;
        out.hits.push_back(ports::ContactHit{m.contact.source, m.contact.priority, m.contact.contact_id, m.contact.kind,
                                             m.contact.display_name, m.contact.company,
                                             {ports::PhoneNumber{m.contact.label, m.contact.matched_number,
                                                                 m.contact.matched_number}}});
      }
    }
  }
  return out;
}

}  // namespace callbridge::capabilities::contacts
