#include "directory/store/contact_rules.hpp"

namespace callbridge::directory {

using base::Error;
using base::fail;

std::optional<std::string> plain_e164(std::string_view raw) {
  std::string out;
  for (char ch : raw) {
    if (ch >= '0' && ch <= '9') {
      out.push_back(ch);
    } else if (ch == '+' && out.empty()) {
      out.push_back(ch);
    } else if (ch == ' ' || ch == '-' || ch == '/' || ch == '(' || ch == ')' || ch == '.') {
      continue;
    } else {
      return std::nullopt;
    }
  }
  if (!is_e164(out)) return std::nullopt;
  return out;
}

bool is_e164(std::string_view s) {
  if (s.size() < 4 || s.size() > 16 || s[0] != '+') return false;
  for (char ch : s.substr(1))
    if (ch < '0' || ch > '9') return false;
  return true;
}

base::Result<ports::Contact> normalize_contact(const ports::Contact& in, const TenantToE164& to_e164) {
  ports::Contact c = in;
  if (c.display_name.empty()) {
    std::string n = c.given_name;
    if (!c.family_name.empty()) n += (n.empty() ? "" : " ") + c.family_name;
    c.display_name = n.empty() ? c.company : n;
  }
  if (c.display_name.empty()) return fail(Error::invalid_argument("contact has no name"));
  for (const auto* f : {&c.display_name, &c.given_name, &c.family_name, &c.company, &c.email, &c.note, &c.origin}) {
    if (f->size() > kMaxContactFieldBytes)
      return fail(Error::invalid_argument("contact field longer than " + std::to_string(kMaxContactFieldBytes) +
                                          " bytes"));
  }
  if (c.numbers.size() > kMaxNumbersPerContact)
    return fail(Error::invalid_argument("contact has more than " + std::to_string(kMaxNumbersPerContact) +
                                        " numbers"));
  for (auto& n : c.numbers) {
    if (n.e164.empty()) {
      auto e = to_e164 ? to_e164(c.tenant, n.raw) : plain_e164(n.raw);
      if (!e) return fail(Error::invalid_argument("not a phone number: '" + n.raw + "'"));
      n.e164 = *e;
    }
    if (!is_e164(n.e164)) return fail(Error::invalid_argument("not an E.164 number: '" + n.e164 + "'"));
    if (n.raw.empty()) n.raw = n.e164;
    if (n.raw.size() > 64 || n.label.size() > 64)
      return fail(Error::invalid_argument("number or label longer than 64 bytes"));
  }
  return c;
}

}  // namespace callbridge::directory
