#include "directory/store/pg_contact_store.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <limits>

#include "storage/postgres/pg_schema.hpp"

namespace callbridge::directory {

using base::Error;
using base::fail;
using ports::Contact;
using Steady = std::chrono::steady_clock;

namespace {

// A PostgreSQL text[] literal: {"a","b"} with " and \ escaped.
std::string text_array(const std::vector<std::string>& v) {
  std::string o = "{";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) o.push_back(',');
    o.push_back('"');
    for (char c : v[i]) {
      if (c == '"' || c == '\\') o.push_back('\\');
      o.push_back(c);
    }
    o.push_back('"');
  }
  return o + "}";
}

constexpr const char* kContactColumns = "id, kind, display_name, given_name, family_name, company, email, note, origin";

Contact read_contact(const PgContactStore::Rows& r, int row, const base::TenantId& tenant) {
  Contact c{.id = r.i64(row, 0), .tenant = tenant};
  c.kind = ports::parse_contact_kind(r.text(row, 1)).value_or(ports::ContactKind::person);
  c.display_name = r.text(row, 2);
  c.given_name = r.text(row, 3);
  c.family_name = r.text(row, 4);
  c.company = r.text(row, 5);
  c.email = r.text(row, 6);
  c.note = r.text(row, 7);
  c.origin = r.text(row, 8);
  return c;
}

struct NumberArrays {
  std::string labels, raws, e164s;
};
NumberArrays arrays_of(const Contact& c) {
  std::vector<std::string> l, r, e;
  for (const auto& n : c.numbers) {
    l.push_back(n.label);
    r.push_back(n.raw);
    e.push_back(n.e164);
  }
  return {text_array(l), text_array(r), text_array(e)};
}

constexpr const char* kInsertNumbers =
    "INSERT INTO contact_numbers(contact_id, tenant, label, raw, e164)"
    " SELECT $1::bigint, $2, u.l, u.r, u.e FROM unnest($3::text[], $4::text[], $5::text[])"
    " WITH ORDINALITY AS u(l, r, e, o) ORDER BY u.o";

}  // namespace

PgContactStore::PgContactStore(PgContactStoreOptions opts)
    : opts_(std::move(opts)), conn_(std::make_unique<storage::postgres::PgConn>(opts_.conninfo, "contact store")) {}

PgContactStore::~PgContactStore() = default;

Steady::time_point PgContactStore::write_deadline() const { return Steady::now() + opts_.write_timeout; }

base::Status PgContactStore::connect_locked() { return conn_->ensure_connected(); }

base::Result<PgContactStore::Rows> PgContactStore::exec_locked(const std::string& sql,
                                                               const std::vector<std::string>& params,
                                                               Steady::time_point deadline) {
  storage::postgres::PgConn::Params values(params.begin(), params.end());
  return conn_->exec(sql, values, deadline);
}

template <typename Fn>
auto PgContactStore::in_transaction_locked(Fn&& body) -> decltype(body(Steady::time_point{})) {
  auto deadline = write_deadline();
  if (auto b = exec_locked("BEGIN", {}, deadline); !b) return fail(b.error());
  auto r = body(deadline);
  if (!r) {
    if (conn_->connected()) (void)exec_locked("ROLLBACK", {}, write_deadline());
    return r;
  }
  if (auto c = exec_locked("COMMIT", {}, deadline); !c) {
    if (conn_->connected()) (void)exec_locked("ROLLBACK", {}, write_deadline());
    return fail(c.error());
  }
  return r;
}

base::Result<std::unique_ptr<PgContactStore>> PgContactStore::open(PgContactStoreOptions opts) {
  std::unique_ptr<PgContactStore> s(new PgContactStore(std::move(opts)));
  std::lock_guard lock(s->mu_);
  if (auto st = s->connect_locked(); !st) return fail(st.error());
  if (auto st = s->migrate_locked(); !st) return fail(st.error());
  return s;
}

namespace {
// The contact store's part of the shared schema (storage/postgres/pg_schema.hpp); append only.
constexpr const char* const kContactMigrations[] = {
    // 1: contacts, their numbers, the per-tenant change counter.
    "CREATE TABLE contacts(id BIGSERIAL PRIMARY KEY, tenant TEXT NOT NULL, kind TEXT NOT NULL,"
    " display_name TEXT NOT NULL, given_name TEXT NOT NULL DEFAULT '', family_name TEXT NOT NULL DEFAULT '',"
    " company TEXT NOT NULL DEFAULT '', email TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '',"
    " origin TEXT NOT NULL DEFAULT '', updated_at BIGINT NOT NULL);"
    "CREATE INDEX contacts_by_name ON contacts(tenant, display_name);"
    "CREATE TABLE contact_numbers(id BIGSERIAL PRIMARY KEY,"
    " contact_id BIGINT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE, tenant TEXT NOT NULL,"
    " label TEXT NOT NULL DEFAULT '', raw TEXT NOT NULL DEFAULT '', e164 TEXT NOT NULL);"
    "CREATE INDEX contact_numbers_by_e164 ON contact_numbers(tenant, e164);"
    "CREATE INDEX contact_numbers_by_contact ON contact_numbers(contact_id);"
    "CREATE TABLE contact_changes(tenant TEXT PRIMARY KEY, seq BIGINT NOT NULL);",
};
static_assert(std::size(kContactMigrations) == PgContactStore::kSchemaVersion);
}  // namespace

base::Status PgContactStore::migrate_locked() {
  // One migrating node at a time (lock key: "cb" "ct" as digits).
  const storage::postgres::SchemaPart part{.meta_table = "contacts_meta",
                                           .owned_table = "contacts",
                                           .kind = "a callbridge contact store",
                                           .lock_key = 6362637401,
                                           .migrations = kContactMigrations,
                                           .newer_code = base::Errc::conflict};
  auto v = storage::postgres::migrate(*conn_, part,
                                      "contact store (PostgreSQL " + storage::postgres::PgConn::describe(opts_.conninfo) + ")",
                                      write_deadline());
  if (!v) return fail(v.error());
  return {};
}

base::Status PgContactStore::bump_locked(const base::TenantId& tenant, Steady::time_point d) {
  auto r = exec_locked(
      "INSERT INTO contact_changes(tenant, seq) VALUES($1, 1)"
      " ON CONFLICT (tenant) DO UPDATE SET seq = contact_changes.seq + 1",
      {tenant}, d);
  if (!r) return fail(r.error());
  return {};
}

base::Result<std::int64_t> PgContactStore::insert_locked(const Contact& c, Steady::time_point d) {
  auto r = exec_locked(
      "INSERT INTO contacts(tenant, kind, display_name, given_name, family_name, company, email, note, origin,"
      " updated_at) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9, extract(epoch from now())::bigint) RETURNING id",
      {c.tenant, std::string(ports::to_string(c.kind)), c.display_name, c.given_name, c.family_name, c.company,
       c.email, c.note, c.origin},
      d);
  if (!r) return fail(r.error());
  std::int64_t id = r->i64(0, 0);
  if (!c.numbers.empty()) {
    auto a = arrays_of(c);
    auto n = exec_locked(kInsertNumbers, {std::to_string(id), c.tenant, a.labels, a.raws, a.e164s}, d);
    if (!n) return fail(n.error());
  }
  return id;
}

base::Result<std::int64_t> PgContactStore::create(const Contact& in) {
  auto c = normalize_contact(in, opts_.to_e164);
  if (!c) return fail(c.error());
  std::lock_guard lock(mu_);
  return in_transaction_locked([&](Steady::time_point d) -> base::Result<std::int64_t> {
    auto id = insert_locked(*c, d);
    if (!id) return id;
    if (auto st = bump_locked(c->tenant, d); !st) return fail(st.error());
    return id;
  });
}

base::Status PgContactStore::update(const Contact& in) {
  auto c = normalize_contact(in, opts_.to_e164);
  if (!c) return fail(c.error());
  std::lock_guard lock(mu_);
  return in_transaction_locked([&](Steady::time_point d) -> base::Status {
    auto u = exec_locked(
        "UPDATE contacts SET kind=$1, display_name=$2, given_name=$3, family_name=$4, company=$5, email=$6,"
        " note=$7, origin=$8, updated_at=extract(epoch from now())::bigint WHERE id=$9 AND tenant=$10",
        {std::string(ports::to_string(c->kind)), c->display_name, c->given_name, c->family_name, c->company,
         c->email, c->note, c->origin, std::to_string(c->id), c->tenant},
        d);
    if (!u) return fail(u.error());
    if (u->affected() == 0) return fail(Error::not_found("no contact " + std::to_string(c->id)));
    if (auto del = exec_locked("DELETE FROM contact_numbers WHERE contact_id=$1", {std::to_string(c->id)}, d); !del)
      return fail(del.error());
    if (!c->numbers.empty()) {
      auto a = arrays_of(*c);
      auto n = exec_locked(kInsertNumbers, {std::to_string(c->id), c->tenant, a.labels, a.raws, a.e164s}, d);
      if (!n) return fail(n.error());
    }
    return bump_locked(c->tenant, d);
  });
}

base::Status PgContactStore::remove(const base::TenantId& tenant, std::int64_t id) {
  std::lock_guard lock(mu_);
  return in_transaction_locked([&](Steady::time_point d) -> base::Status {
    auto r = exec_locked("DELETE FROM contacts WHERE id=$1 AND tenant=$2", {std::to_string(id), tenant}, d);
    if (!r) return fail(r.error());
    if (r->affected() == 0) return fail(Error::not_found("no contact " + std::to_string(id)));
    return bump_locked(tenant, d);
  });
}

base::Result<Contact> PgContactStore::get(const base::TenantId& tenant, std::int64_t id) {
  std::lock_guard lock(mu_);
  auto d = write_deadline();
  auto r = exec_locked(std::string("SELECT ") + kContactColumns + " FROM contacts WHERE id=$1 AND tenant=$2",
                       {std::to_string(id), tenant}, d);
  if (!r) return fail(r.error());
  if (r->size() == 0) return fail(Error::not_found("no contact " + std::to_string(id)));
  Contact c = read_contact(*r, 0, tenant);
  auto n = exec_locked("SELECT label, raw, e164 FROM contact_numbers WHERE contact_id=$1 ORDER BY id",
                       {std::to_string(id)}, d);
  if (!n) return fail(n.error());
  for (int i = 0; i < n->size(); ++i)
    c.numbers.push_back({std::string(n->text(i, 0)), std::string(n->text(i, 1)), std::string(n->text(i, 2))});
  return c;
}

base::Result<std::vector<Contact>> PgContactStore::list(const base::TenantId& tenant, std::string_view text,
                                                        std::size_t limit) {
  std::string like = "%";
  for (char ch : text) {
    if (ch == '%' || ch == '_' || ch == '\\') like.push_back('\\');
    like.push_back(ch);
  }
  like += "%";
  std::lock_guard lock(mu_);
  auto d = write_deadline();
  auto r = exec_locked(std::string("SELECT ") + kContactColumns +
                           " FROM contacts c WHERE tenant=$1 AND (display_name ILIKE $2 OR company ILIKE $2 OR"
                           " EXISTS(SELECT 1 FROM contact_numbers n WHERE n.contact_id=c.id AND"
                           " (n.e164 LIKE $2 OR n.raw LIKE $2))) ORDER BY display_name, id LIMIT $3",
                       // LIMIT is a bigint: "everything" (scan_by_list asks SIZE_MAX) is its maximum
                       {tenant, like,
                        std::to_string(std::min<std::uint64_t>(limit, std::numeric_limits<std::int64_t>::max()))},
                       d);
  if (!r) return fail(r.error());
  std::vector<Contact> out;
  for (int i = 0; i < r->size(); ++i) out.push_back(read_contact(*r, i, tenant));
  for (auto& c : out) {
    auto n = exec_locked("SELECT label, raw, e164 FROM contact_numbers WHERE contact_id=$1 ORDER BY id",
                         {std::to_string(c.id)}, d);
    if (!n) return fail(n.error());
    for (int i = 0; i < n->size(); ++i)
    c.numbers.push_back({std::string(n->text(i, 0)), std::string(n->text(i, 1)), std::string(n->text(i, 2))});
  }
  return out;
}

base::Result<ports::ImportCommit> PgContactStore::import_all(const base::TenantId& tenant,
                                                             const std::vector<Contact>& contacts,
                                                             const ports::ImportOptions& opts) {
  std::vector<Contact> ready;
  ready.reserve(contacts.size());
  for (std::size_t i = 0; i < contacts.size(); ++i) {
    Contact c = contacts[i];
    c.tenant = tenant;
    auto p = normalize_contact(c, opts_.to_e164);
    if (!p)
      return fail(Error::invalid_argument("contact #" + std::to_string(i + 1) + " (" + contacts[i].display_name +
                                          "): " + p.error().message()));
    ready.push_back(std::move(*p));
  }
  std::lock_guard lock(mu_);
  return in_transaction_locked([&](Steady::time_point d) -> base::Result<ports::ImportCommit> {
    ports::ImportCommit out;
    if (opts.replace_tenant) {
      auto del = exec_locked("DELETE FROM contacts WHERE tenant=$1", {tenant}, d);
      if (!del) return fail(del.error());
      out.replaced = del->affected();
    }
    for (const auto& c : ready) {
      auto id = insert_locked(c, d);
      if (!id) return fail(id.error());
      ++out.contacts;
      out.numbers += c.numbers.size();
    }
    if (auto st = bump_locked(tenant, d); !st) return fail(st.error());
    return out;
  });
}

base::Result<std::size_t> PgContactStore::count(const base::TenantId& tenant) {
  std::lock_guard lock(mu_);
  auto r = exec_locked("SELECT count(*) FROM contacts WHERE tenant=$1", {tenant}, write_deadline());
  if (!r) return fail(r.error());
  return static_cast<std::size_t>(r->i64(0, 0));
}

std::optional<std::uint64_t> PgContactStore::change_token(const base::TenantId& tenant) {
  std::unique_lock lock(mu_, std::defer_lock);
  if (!lock.try_lock_for(std::chrono::milliseconds(200))) return std::nullopt;
  auto r = exec_locked("SELECT seq FROM contact_changes WHERE tenant=$1", {tenant},
                       Steady::now() + std::chrono::milliseconds(500));
  if (!r) return std::nullopt;  // unreadable: the cache then trusts its TTL
  return r->size() ? static_cast<std::uint64_t>(r->i64(0, 0)) : 0;
}

base::Result<std::vector<ports::ContactMatch>> PgContactStore::lookup(const ports::LookupQuery& q) {
  auto deadline = q.deadline == Steady::time_point{} ? Steady::now() + std::chrono::seconds(5) : q.deadline;
  std::unique_lock lock(mu_, std::defer_lock);
  if (!lock.try_lock_until(deadline)) return fail(Error::timeout("contact store (PostgreSQL): busy until the deadline"));
  const auto& cands = q.candidates.empty() ? std::vector<std::string>{q.e164} : q.candidates;
  auto r = exec_locked(
      "SELECT c.id, c.kind, c.display_name, c.company, n.e164, n.label FROM contact_numbers n"
      " JOIN contacts c ON c.id = n.contact_id WHERE n.tenant=$1 AND n.e164 = ANY($2::text[])"
      " ORDER BY c.display_name, c.id, n.id",
      {q.tenant, text_array(cands)}, deadline);
  if (!r) return fail(r.error());
  std::vector<ports::ContactMatch> out;
  for (int i = 0; i < r->size(); ++i) {
    ports::ContactMatch m;
    m.source = opts_.name;
    m.priority = opts_.priority;
    m.contact_id = r->text(i, 0);
    m.kind = ports::parse_contact_kind(r->text(i, 1)).value_or(ports::ContactKind::person);
    m.display_name = r->text(i, 2);
    m.company = r->text(i, 3);
    m.matched_number = r->text(i, 4);
    m.label = r->text(i, 5);
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace callbridge::directory
