// ContactSource over an LDAP directory (OpenLDAP libldap): one search per lookup, the filter built
// from a template for every candidate number, attributes mapped to name/company/numbers.
// Thread-safe: one connection behind a timed mutex, (re)bound lazily; every call ends by the
// query deadline (network timeout, search time limit, lock wait).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ports/contact_source.hpp"

typedef struct ldap LDAP;

namespace callbridge::directory {

struct LdapSourceOptions {
  std::string name = "ldap";
  int priority = 20;
  std::string uri;  // "ldap://127.0.0.1:389" (ldaps:// works when libldap has TLS)
  std::string bind_dn;  // empty: anonymous bind
  std::string bind_password;
  std::string base_dn;
  // One alternative of the search; "{e164}" is the candidate ("+492113399030"), "{digits}" the
  // same without '+'. All candidates are OR-ed. telephoneNumberMatch ignores spaces and '-', so
  // stored "+49 211 339903-0" matches "{e164}".
  std::string filter_template =
      "(&(objectClass=inetOrgPerson)(|(telephoneNumber={e164})(mobile={e164})(homePhone={e164})"
      "(facsimileTelephoneNumber={e164})))";
  std::vector<std::string> name_attributes = {"displayName", "cn"};  // first present wins
  std::string given_name_attribute = "givenName";
  std::string family_name_attribute = "sn";
  std::string company_attribute = "o";
  // Attribute holding numbers -> label given to them.
  std::vector<std::pair<std::string, std::string>> number_attributes = {
      {"telephoneNumber", "work"}, {"mobile", "mobile"}, {"homePhone", "home"},
      {"facsimileTelephoneNumber", "fax"}};
  int size_limit = 50;  // entries per lookup
  // Normalizes the directory's stored numbers to compare them with the candidates; when unset,
  // spaces and punctuation are dropped and only "+<digits>" values count.
  ports::ToE164 to_e164;
};

class LdapContactSource final : public ports::ContactSource {
 public:
  static constexpr std::size_t kMaxFilterBytes = 16 * 1024;

  // Checks the options; does not connect (the first lookup does).
  static base::Result<std::unique_ptr<LdapContactSource>> create(LdapSourceOptions opts);
  ~LdapContactSource() override;

  const std::string& name() const override { return opts_.name; }
  int priority() const override { return opts_.priority; }
  base::Result<std::vector<ports::ContactMatch>> lookup(const ports::LookupQuery& q) override;
  // Text search (the dial box, the contacts page): entries of the person/organization classes whose
  // name attributes, company or number attributes contain the text (at least 2 characters; shorter
  // texts find nothing), at most min(q.limit, size_limit).
  bool searches_text() const override { return true; }
  base::Result<std::vector<ports::ContactHit>> search(const ports::SearchQuery& q) override;
  // The filter of a text search (exposed for tests).
  std::string build_search_filter(std::string_view text) const;

  // The filter for a query (exposed for tests).
  std::string build_filter(const std::vector<std::string>& candidates) const;

 private:
  explicit LdapContactSource(LdapSourceOptions opts) : opts_(std::move(opts)) {}
  base::Status connect_locked(std::chrono::steady_clock::time_point deadline);
  void drop_locked();
  base::Result<std::vector<ports::ContactMatch>> search_locked(const ports::LookupQuery& q);
  base::Result<std::vector<ports::ContactHit>> text_search_locked(const std::string& filter, int limit,
                                                                  std::chrono::steady_clock::time_point deadline);

  LdapSourceOptions opts_;
  std::timed_mutex mu_;
  LDAP* ld_ = nullptr;
};

// RFC 4515 escaping of a value inside a search filter: * ( ) \ NUL become \2a \28 \29 \5c \00.
std::string ldap_filter_escape(std::string_view value);

}  // namespace callbridge::directory
