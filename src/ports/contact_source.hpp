// Where caller names come from: the ContactSource interface every directory backend implements
// (built-in store, LDAP, HTTP/CRM), and the writable ContactStore the built-in store adds on top.
// Called by core/lookup_service from worker threads; implementations must be thread-safe and
// must give up by the deadline they are handed (they may block until then, never longer).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "base/tenant_id.hpp"

namespace callbridge::ports {

// Turns a number as people write it ("0211 339903-0", "+49 (211) 339903 0") into E.164
// ("+492113399030") under one tenant's dialing plan; nullopt when it is not a usable external
// number. Built from core's DialingPlan by the caller; directories index by its output.
using ToE164 = std::function<std::optional<std::string>(std::string_view raw)>;

enum class ContactKind { person, company };

inline std::string_view to_string(ContactKind k) {
  return k == ContactKind::company ? "company" : "person";
}
inline std::optional<ContactKind> parse_contact_kind(std::string_view s) {
  if (s == "person") return ContactKind::person;
  if (s == "company") return ContactKind::company;
  return std::nullopt;
}

// One phone number of a contact. `e164` ("+492113399030") is the index key; `raw` is what the
// user typed or the file held ("0211 339903-0"); `label` is free text, lower case by convention
// ("work", "mobile", "home", "fax", "main").
struct PhoneNumber {
  std::string label;
  std::string raw;
  std::string e164;
  friend bool operator==(const PhoneNumber&, const PhoneNumber&) = default;
};

struct Contact {
  std::int64_t id = 0;  // 0 until stored
  base::TenantId tenant;  // no default: Contact{.tenant = t}
  ContactKind kind = ContactKind::person;
  std::string display_name{};  // what a phone shows; for companies the company name
  std::string given_name{};
  std::string family_name{};
  std::string company{};
  std::string email{};
  std::string note{};
  std::string origin{};  // where it came from: "import:contacts.csv", "api", ...
  std::vector<PhoneNumber> numbers{};
};

// A lookup for one canonical number. `candidates` lists the numbers a source should try, best
// first: candidates[0] is always `e164` itself; the rest are the company fallbacks the lookup
// service derived (see core/lookup_service.hpp). A source that cannot search by several numbers
// cheaply may try only candidates[0].
struct LookupQuery {
  base::TenantId tenant;
  std::string e164{};
  std::vector<std::string> candidates{};
  std::chrono::steady_clock::time_point deadline{};
};

// One contact that has a number equal to one of the query's candidates.
struct ContactMatch {
  std::string source;      // name of the source that found it ("store", "ldap", "crm")
  int priority = 100;      // of that source: lower wins when ranking (set by the source)
  std::string contact_id;  // source-local id: row id, LDAP DN, CRM id
  ContactKind kind = ContactKind::person;
  std::string display_name;
  std::string company;
  std::string matched_number;  // the E.164 that matched (a candidate)
  std::string label;           // label of that number, may be empty
};

// A search by what a user types into a dial box or the contacts page: a piece of a name, a
// company or a number ("mus", "ACME", "3399"). Sources give up by `deadline`.
struct SearchQuery {
  base::TenantId tenant;
  std::string text{};
  std::size_t limit = 20;
  std::chrono::steady_clock::time_point deadline{};
};

// One contact a search found, with every number it has.
struct ContactHit {
  std::string source;      // the source's name ("store", "ldap")
  int priority = 100;      // of that source
  std::string contact_id;  // source-local id: row id, LDAP DN
  ContactKind kind = ContactKind::person;
  std::string display_name;
  std::string company;
  std::vector<PhoneNumber> numbers;
};

class ContactSource {
 public:
  virtual ~ContactSource() = default;
  // Short stable name used in results, logs and config ("store", "ldap", "crm").
  virtual const std::string& name() const = 0;
  virtual int priority() const = 0;
  // All matches for any of q.candidates. Blocks at most until q.deadline (then Errc::timeout).
  virtual base::Result<std::vector<ContactMatch>> lookup(const LookupQuery& q) = 0;
  // A value that changes whenever the source's data changes, if the source can tell cheaply
  // (the built-in store's change counter). Caches compare it to drop stale results; sources
  // without one return nullopt and are trusted for the cache TTL.
  virtual std::optional<std::uint64_t> change_token(const base::TenantId& tenant) { return std::nullopt; }
  // Whether search() finds contacts by a piece of their name, company or number (the built-in
  // store, LDAP). Sources that only answer for a whole number (an HTTP/CRM lookup URL) say false
  // and are reached through lookup() when the text is a number.
  virtual bool searches_text() const { return false; }
  // At most q.limit contacts matching q.text. Blocks at most until q.deadline.
  virtual base::Result<std::vector<ContactHit>> search(const SearchQuery& q) {
    (void)q;
    return std::vector<ContactHit>{};
  }
};

struct ImportOptions {
  bool replace_tenant = false;  // delete the tenant's existing contacts in the same transaction
};

struct ImportCommit {
  std::size_t contacts = 0;
  std::size_t numbers = 0;
  std::size_t replaced = 0;  // contacts deleted because of replace_tenant
};

// The built-in, writable directory. Every write bumps the change counter of its tenant.
class ContactStore : public ContactSource {
 public:
  virtual base::Result<std::int64_t> create(const Contact& c) = 0;
  // Replaces the contact with c.id (fields and numbers). Errc::not_found if absent.
  virtual base::Status update(const Contact& c) = 0;
  virtual base::Status remove(const base::TenantId& tenant, std::int64_t id) = 0;
  virtual base::Result<Contact> get(const base::TenantId& tenant, std::int64_t id) = 0;
  // Contacts whose name, company or number contains `text` (all when empty), by name.
  virtual base::Result<std::vector<Contact>> list(const base::TenantId& tenant, std::string_view text,
                                                  std::size_t limit) = 0;
  // Writes all contacts in ONE transaction: either every contact is stored or none is.
  virtual base::Result<ImportCommit> import_all(const base::TenantId& tenant,
                                                const std::vector<Contact>& contacts,
                                                const ImportOptions& opts) = 0;

  // The store searches with list() (name, company or number contains the text).
  bool searches_text() const override { return true; }
  base::Result<std::vector<ContactHit>> search(const SearchQuery& q) override {
    auto r = list(q.tenant, q.text, q.limit);
    if (!r) return base::fail(r.error());
    std::vector<ContactHit> out;
    out.reserve(r->size());
    for (auto& c : *r)
      out.push_back(ContactHit{name(), priority(), std::to_string(c.id), c.kind, std::move(c.display_name),
                               std::move(c.company), std::move(c.numbers)});
    return out;
  }
};

}  // namespace callbridge::ports
