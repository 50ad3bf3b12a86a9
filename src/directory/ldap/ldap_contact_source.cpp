#include "directory/ldap/ldap_contact_source.hpp"

#include <ldap.h>

#include <algorithm>
#include <cctype>
#include <sys/time.h>

namespace callbridge::directory {
namespace {

using base::Error;
using base::fail;
using Steady = std::chrono::steady_clock;

timeval remaining_tv(Steady::time_point deadline) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Steady::now()).count();
  if (us < 1000) us = 1000;
  return timeval{static_cast<time_t>(us / 1'000'000), static_cast<suseconds_t>(us % 1'000'000)};
}

std::optional<std::string> plain_e164(std::string_view raw) {
  std::string out;
  for (char ch : raw) {
    if (std::isdigit(static_cast<unsigned char>(ch))) out.push_back(ch);
    else if (ch == '+' && out.empty()) out.push_back(ch);
    else if (ch == ' ' || ch == '-' || ch == '/' || ch == '(' || ch == ')' || ch == '.') continue;
    else return std::nullopt;
  }
  if (out.size() < 4 || out[0] != '+') return std::nullopt;
  return out;
}

std::string replace_all(std::string s, std::string_view what, std::string_view with) {
  for (std::size_t pos = 0; (pos = s.find(what, pos)) != std::string::npos; pos += with.size())
    s.replace(pos, what.size(), with);
  return s;
}

std::vector<std::string> values(LDAP* ld, LDAPMessage* e, const std::string& attr) {
  std::vector<std::string> out;
  berval** v = ldap_get_values_len(ld, e, attr.c_str());
  if (!v) return out;
  for (int i = 0; v[i]; ++i) out.emplace_back(v[i]->bv_val, v[i]->bv_len);
  ldap_value_free_len(v);
  return out;
}

std::string first_value(LDAP* ld, LDAPMessage* e, const std::string& attr) {
  auto v = values(ld, e, attr);
  return v.empty() ? std::string() : v[0];
}

// Who an entry is, as both the number lookup and the name search report it: the DN as id, the first
// non-empty name attribute (else given + family name, else the company), the company, and the kind.
struct EntryIdentity {
  std::string id;
  std::string display_name;
  std::string company;
  ports::ContactKind kind = ports::ContactKind::person;
};

EntryIdentity entry_identity(LDAP* ld, LDAPMessage* e, const LdapSourceOptions& o) {
  EntryIdentity r;
  char* dn = ldap_get_dn(ld, e);
  r.id = dn ? dn : "";
  ldap_memfree(dn);
  for (const auto& a : o.name_attributes) {
    r.display_name = first_value(ld, e, a);
    if (!r.display_name.empty()) break;
  }
  if (r.display_name.empty()) {
    std::string g = first_value(ld, e, o.given_name_attribute);
    std::string f = first_value(ld, e, o.family_name_attribute);
    r.display_name = g.empty() ? f : (f.empty() ? g : g + " " + f);
  }
  if (!o.company_attribute.empty()) r.company = first_value(ld, e, o.company_attribute);
  for (const auto& oc : values(ld, e, "objectClass")) {
    std::string l;
    for (char c : oc) l.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (l == "organization") r.kind = ports::ContactKind::company;
  }
  if (r.display_name.empty()) r.display_name = r.company;
  return r;
}

bool is_connection_error(int rc) {
  return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_UNAVAILABLE;
}

}  // namespace

std::string ldap_filter_escape(std::string_view value) {
  std::string out;
  static const char* hex = "0123456789abcdef";
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (c == '*' || c == '(' || c == ')' || c == '\\' || u == 0) {
      out.push_back('\\');
      out.push_back(hex[u >> 4]);
      out.push_back(hex[u & 0xF]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

base::Result<std::unique_ptr<LdapContactSource>> LdapContactSource::create(LdapSourceOptions opts) {
  if (opts.uri.empty()) return fail(Error::invalid_argument("ldap: uri is required"));
  if (!ldap_is_ldap_url(opts.uri.c_str()))
    return fail(Error::invalid_argument("ldap: '" + opts.uri + "' is not an ldap:// or ldaps:// URL"));
  if (opts.base_dn.empty()) return fail(Error::invalid_argument("ldap: base_dn is required"));
  if (opts.filter_template.find("{e164}") == std::string::npos &&
      opts.filter_template.find("{digits}") == std::string::npos)
    return fail(Error::invalid_argument("ldap: filter template must contain {e164} or {digits}"));
  if (opts.filter_template.front() != '(' || opts.filter_template.back() != ')')
    return fail(Error::invalid_argument("ldap: filter template must be a parenthesized filter"));
  if (opts.number_attributes.empty())
    return fail(Error::invalid_argument("ldap: at least one number attribute is needed"));
  if (opts.size_limit <= 0) opts.size_limit = 50;
  return std::unique_ptr<LdapContactSource>(new LdapContactSource(std::move(opts)));
}

LdapContactSource::~LdapContactSource() { drop_locked(); }

void LdapContactSource::drop_locked() {
  if (ld_) ldap_unbind_ext_s(ld_, nullptr, nullptr);
  ld_ = nullptr;
}

std::string LdapContactSource::build_filter(const std::vector<std::string>& candidates) const {
  std::string f = candidates.size() > 1 ? "(|" : "";
  for (const auto& c : candidates) {
    std::string digits = c.empty() || c[0] != '+' ? c : c.substr(1);
    std::string one = replace_all(opts_.filter_template, "{e164}", ldap_filter_escape(c));
    f += replace_all(std::move(one), "{digits}", ldap_filter_escape(digits));
  }
  if (candidates.size() > 1) f += ")";
  return f;
}

base::Status LdapContactSource::connect_locked(Steady::time_point deadline) {
  if (ld_) return {};
  LDAP* ld = nullptr;
  int rc = ldap_initialize(&ld, opts_.uri.c_str());
  if (rc != LDAP_SUCCESS) return fail(Error::unavailable("ldap: " + opts_.uri + ": " + ldap_err2string(rc)));
  int v3 = LDAP_VERSION3;
  ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
  ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
  timeval tv = remaining_tv(deadline);
  ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
  ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
  berval cred{static_cast<ber_len_t>(opts_.bind_password.size()), const_cast<char*>(opts_.bind_password.data())};
  rc = ldap_sasl_bind_s(ld, opts_.bind_dn.empty() ? nullptr : opts_.bind_dn.c_str(), LDAP_SASL_SIMPLE, &cred,
                        nullptr, nullptr, nullptr);
  if (rc != LDAP_SUCCESS) {
    ldap_unbind_ext_s(ld, nullptr, nullptr);
    if (rc == LDAP_TIMEOUT) return fail(Error::timeout("ldap: bind to " + opts_.uri + " timed out"));
    if (rc == LDAP_INVALID_CREDENTIALS)
      return fail(Error::invalid_argument("ldap: bind as '" + opts_.bind_dn + "' refused: invalid credentials"));
    return fail(Error::unavailable("ldap: bind to " + opts_.uri + ": " + ldap_err2string(rc)));
  }
  ld_ = ld;
  return {};
}

base::Result<std::vector<ports::ContactMatch>> LdapContactSource::lookup(const ports::LookupQuery& q) {
  auto deadline = q.deadline == Steady::time_point{} ? Steady::now() + std::chrono::seconds(5) : q.deadline;
  std::unique_lock lock(mu_, std::defer_lock);
  if (!lock.try_lock_until(deadline)) return fail(Error::timeout("ldap: busy until the deadline"));
  ports::LookupQuery bounded = q;
  bounded.deadline = deadline;
  if (bounded.candidates.empty()) bounded.candidates = {q.e164};
  auto r = search_locked(bounded);
  // A broken connection is retried once on a fresh one (server restarted, idle timeout).
  if (!r && r.error().code() == base::Errc::unavailable && Steady::now() < deadline) {
    drop_locked();
    r = search_locked(bounded);
  }
  return r;
}

base::Result<std::vector<ports::ContactMatch>> LdapContactSource::search_locked(const ports::LookupQuery& q) {
  if (Steady::now() >= q.deadline) return fail(Error::timeout("ldap: deadline passed before the search"));
  if (auto st = connect_locked(q.deadline); !st) return fail(st.error());
  std::string filter = build_filter(q.candidates);
  if (filter.size() > kMaxFilterBytes) return fail(Error::invalid_argument("ldap: filter too long"));

  std::vector<std::string> attr_names = opts_.name_attributes;
  for (const auto& a : {opts_.given_name_attribute, opts_.family_name_attribute, opts_.company_attribute,
                        std::string("objectClass")})
    if (!a.empty()) attr_names.push_back(a);
  for (const auto& [a, label] : opts_.number_attributes) attr_names.push_back(a);
  std::vector<char*> attrs;
  for (auto& a : attr_names) attrs.push_back(a.data());
  attrs.push_back(nullptr);

  timeval tv = remaining_tv(q.deadline);
  LDAPMessage* res = nullptr;
  int rc = ldap_search_ext_s(ld_, opts_.base_dn.c_str(), LDAP_SCOPE_SUBTREE, filter.c_str(), attrs.data(), 0,
                             nullptr, nullptr, &tv, opts_.size_limit, &res);
  std::unique_ptr<LDAPMessage, int (*)(LDAPMessage*)> guard(res, ldap_msgfree);
  if (rc == LDAP_TIMEOUT || rc == LDAP_TIMELIMIT_EXCEEDED) {
    drop_locked();  // an abandoned search may still answer on this connection
    return fail(Error::timeout("ldap: search timed out"));
  }
  if (is_connection_error(rc)) {
    drop_locked();
    return fail(Error::unavailable(std::string("ldap: ") + ldap_err2string(rc)));
  }
  if (rc == LDAP_NO_SUCH_OBJECT) return std::vector<ports::ContactMatch>{};
  if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED)
    return fail(Error::unavailable(std::string("ldap: search failed: ") + ldap_err2string(rc)));

  std::vector<ports::ContactMatch> out;
  for (LDAPMessage* e = ldap_first_entry(ld_, res); e; e = ldap_next_entry(ld_, e)) {
    auto who = entry_identity(ld_, e, opts_);
    ports::ContactMatch base;
    base.source = opts_.name;
    base.priority = opts_.priority;
    base.contact_id = std::move(who.id);
    base.display_name = std::move(who.display_name);
    base.company = std::move(who.company);
    base.kind = who.kind;
    for (const auto& [attr, label] : opts_.number_attributes) {
      for (const auto& raw : values(ld_, e, attr)) {
        auto e164 = opts_.to_e164 ? opts_.to_e164(raw) : plain_e164(raw);
        if (!e164) continue;
        if (std::find(q.candidates.begin(), q.candidates.end(), *e164) == q.candidates.end()) continue;
        ports::ContactMatch m = base;
        m.matched_number = *e164;
        m.label = label;
        out.push_back(std::move(m));
      }
    }
  }
  return out;
}

std::string LdapContactSource::build_search_filter(std::string_view text) const {
  const std::string v = "*" + ldap_filter_escape(text) + "*";
  std::string f = "(&(|(objectClass=inetOrgPerson)(objectClass=organization))(|";
  std::vector<std::string> attrs = opts_.name_attributes;
  for (const auto& a : {opts_.given_name_attribute, opts_.family_name_attribute, opts_.company_attribute})
    if (!a.empty()) attrs.push_back(a);
  for (const auto& [a, label] : opts_.number_attributes) attrs.push_back(a);
  for (const auto& a : attrs) f += "(" + a + "=" + v + ")";
  return f + "))";
}

base::Result<std::vector<ports::ContactHit>> LdapContactSource::search(const ports::SearchQuery& q) {
  // One or no character would match most of the directory: nothing to show yet.
  if (q.text.size() < 2) return std::vector<ports::ContactHit>{};
  if (q.text.size() > 100) return fail(Error::invalid_argument("ldap: search text longer than 100 characters"));
  auto deadline = q.deadline == Steady::time_point{} ? Steady::now() + std::chrono::seconds(5) : q.deadline;
  std::unique_lock lock(mu_, std::defer_lock);
  if (!lock.try_lock_until(deadline)) return fail(Error::timeout("ldap: busy until the deadline"));
  const int limit = static_cast<int>(std::min<std::size_t>(q.limit, static_cast<std::size_t>(opts_.size_limit)));
  const std::string filter = build_search_filter(q.text);
  if (filter.size() > kMaxFilterBytes) return fail(Error::invalid_argument("ldap: filter too long"));
  auto r = text_search_locked(filter, limit, deadline);
  if (!r && r.error().code() == base::Errc::unavailable && Steady::now() < deadline) {
    drop_locked();
    r = text_search_locked(filter, limit, deadline);
  }
  return r;
}

base::Result<std::vector<ports::ContactHit>> LdapContactSource::text_search_locked(const std::string& filter, int limit,
                                                                                 Steady::time_point deadline) {
  if (Steady::now() >= deadline) return fail(Error::timeout("ldap: deadline passed before the search"));
  if (auto st = connect_locked(deadline); !st) return fail(st.error());
  std::vector<std::string> attr_names = opts_.name_attributes;
  for (const auto& a : {opts_.given_name_attribute, opts_.family_name_attribute, opts_.company_attribute,
                        std::string("objectClass")})
    if (!a.empty()) attr_names.push_back(a);
  for (const auto& [a, label] : opts_.number_attributes) attr_names.push_back(a);
  std::vector<char*> attrs;
  for (auto& a : attr_names) attrs.push_back(a.data());
  attrs.push_back(nullptr);
  timeval tv = remaining_tv(deadline);
  LDAPMessage* res = nullptr;
  int rc = ldap_search_ext_s(ld_, opts_.base_dn.c_str(), LDAP_SCOPE_SUBTREE, filter.c_str(), attrs.data(), 0,
                             nullptr, nullptr, &tv, limit, &res);
  std::unique_ptr<LDAPMessage, int (*)(LDAPMessage*)> guard(res, ldap_msgfree);
  if (rc == LDAP_TIMEOUT || rc == LDAP_TIMELIMIT_EXCEEDED) {
    drop_locked();
    return fail(Error::timeout("ldap: search timed out"));
  }
  if (is_connection_error(rc)) {
    drop_locked();
    return fail(Error::unavailable(std::string("ldap: ") + ldap_err2string(rc)));
  }
  if (rc == LDAP_NO_SUCH_OBJECT) return std::vector<ports::ContactHit>{};
  if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED)
    return fail(Error::unavailable(std::string("ldap: search failed: ") + ldap_err2string(rc)));
  std::vector<ports::ContactHit> out;
  for (LDAPMessage* e = ldap_first_entry(ld_, res); e; e = ldap_next_entry(ld_, e)) {
    auto who = entry_identity(ld_, e, opts_);
    ports::ContactHit h;
    h.contact_id = std::move(who.id);
    h.source = opts_.name;
    h.priority = opts_.priority;
    h.display_name = std::move(who.display_name);
    h.company = std::move(who.company);
    h.kind = who.kind;
    for (const auto& [attr, label] : opts_.number_attributes)
      for (const auto& raw : values(ld_, e, attr)) {
        auto e164 = opts_.to_e164 ? opts_.to_e164(raw) : plain_e164(raw);
        h.numbers.push_back(ports::PhoneNumber{label, raw, e164.value_or("")});
      }
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace callbridge::directory
