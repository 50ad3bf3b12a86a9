#include "identity/postgres/pg_paired_device_store.hpp"

#include "identity/common/identity_rules.hpp"
#include "storage/postgres/pg_conn.hpp"

namespace callbridge::identity {

using base::Error;
using base::fail;
using base::Result;
using base::Status;
using storage::postgres::PgConn;
using storage::postgres::PgRows;
using Steady = std::chrono::steady_clock;

namespace {

constexpr const char* kColumns =
    "SELECT id, tenant, label, created_by, created_at, expires_at, client_pk, paired_at, revoked_at, last_seen";

std::string micros(base::Timestamp t) { return std::to_string(base::to_micros(t)); }

std::optional<base::Timestamp> opt_time(const PgRows& r, int i, int col) {
  if (r.is_null(i, col)) return std::nullopt;
  return base::from_micros(r.i64(i, col));
}

// Row `i` in kColumns order; nullopt for a row that is not one (a hand-made row).
std::optional<ports::PairedDevice> row(const PgRows& r, int i) {
  auto tenant = base::TenantId::parse(r.text(i, 1));
  if (!tenant) return std::nullopt;
  ports::PairedDevice d{.id = std::string(r.text(i, 0)), .tenant = *tenant};
  d.label = std::string(r.text(i, 2));
  d.created_by = std::string(r.text(i, 3));
  d.created_at = base::from_micros(r.i64(i, 4));
  d.expires_at = base::from_micros(r.i64(i, 5));
  if (!r.is_null(i, 6)) {
    d.client_pk = key32_from_hex(r.text(i, 6));
    if (!d.client_pk) return std::nullopt;
  }
  d.paired_at = opt_time(r, i, 7);
  d.revoked_at = opt_time(r, i, 8);
  d.last_seen = opt_time(r, i, 9);
  return d;
}

Result<PgRows> run(PgConn& c, const std::string& sql, const PgConn::Params& args, Steady::time_point deadline) {
  return storage::postgres::exec_once_more(c, sql, args, deadline);
}

Result<std::optional<ports::EdgeKeyPair>> read_key(PgConn& c, Steady::time_point deadline) {
  auto r = run(c, "SELECT pk, sk FROM relay_edge_key WHERE id = 1", {}, deadline);
  if (!r) return fail(r.error());
  if (r->size() == 0) return std::optional<ports::EdgeKeyPair>();
  auto pk = key32_from_hex(r->text(0, 0));
  auto sk = key32_from_hex(r->text(0, 1));
  if (!pk || !sk) return fail(Error::internal("identity (PostgreSQL): the relay edge key is damaged"));
  return std::optional<ports::EdgeKeyPair>(ports::EdgeKeyPair{*pk, *sk});
}

}  // namespace

PgPairedDeviceStore::PgPairedDeviceStore(PgIdentityOptions options)
    : options_(std::move(options)),
      location_(PgConn::describe(options_.conninfo)),
      conn_(std::make_unique<PgConn>(options_.conninfo, "paired devices")) {}

PgPairedDeviceStore::~PgPairedDeviceStore() = default;

Result<std::unique_ptr<PgPairedDeviceStore>> PgPairedDeviceStore::open(PgIdentityOptions options) {
  std::unique_ptr<PgPairedDeviceStore> s(new PgPairedDeviceStore(std::move(options)));
  std::lock_guard lock(s->mu_);
  if (auto st = open_identity_schema(*s->conn_, s->location_, Steady::now() + s->options_.timeout); !st)
    return fail(st.error());
  return s;
}

#define CB_DEADLINE (Steady::now() + options_.timeout)

Result<ports::EdgeKeyPair> PgPairedDeviceStore::edge_key() {
  std::lock_guard lock(mu_);
  auto have = read_key(*conn_, CB_DEADLINE);
  if (!have) return fail(have.error());
  if (*have) return **have;
  // Insert-if-absent, then read back: nodes creating it at once agree on one key.
  ports::EdgeKeyPair kp = new_edge_key();
  auto ins = run(*conn_,
                 "INSERT INTO relay_edge_key (id, pk, sk, created_at) VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING",
                 {key_hex(kp.pk), key_hex(kp.sk), micros(base::SystemClock().now())}, CB_DEADLINE);
  wipe_key(kp.sk);
  if (!ins) return fail(ins.error());
  auto got = read_key(*conn_, CB_DEADLINE);
  if (!got) return fail(got.error());
  if (!*got) return fail(Error::internal("identity (PostgreSQL): the relay edge key vanished after it was written"));
  return **got;
}

Status PgPairedDeviceStore::add_pending(const ports::PairedDevice& d, const ports::PairId& pair_id,
                                        const ports::Key32& secret) {
  if (d.label.size() > kMaxPairedLabelBytes)
    return fail(Error::invalid_argument("label: at most " + std::to_string(kMaxPairedLabelBytes) + " bytes"));
  std::lock_guard lock(mu_);
  auto r = run(*conn_,
               "INSERT INTO relay_devices (id, tenant, pair_id, secret, label, created_by, created_at, expires_at) "
               "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
               {d.id, d.tenant.str(), key_hex(pair_id), key_hex(secret), storage::postgres::sanitize_utf8(d.label),
                storage::postgres::sanitize_utf8(d.created_by), micros(d.created_at), micros(d.expires_at)},
               CB_DEADLINE);
  if (!r) return fail(r.error());
  if (r->affected() != 1) return fail(Error::conflict("a pairing with this id exists"));
  return {};
}

Result<std::optional<ports::PendingPairing>> PgPairedDeviceStore::find_pending(const ports::PairId& pair_id,
                                                                                base::Timestamp now) {
  std::lock_guard lock(mu_);
  auto r = run(*conn_,
               std::string(kColumns) +
                   ", secret FROM relay_devices WHERE pair_id = $1 AND secret IS NOT NULL AND client_pk IS NULL"
                   " AND revoked_at IS NULL AND expires_at > $2",
               {key_hex(pair_id), micros(now)}, CB_DEADLINE);
  if (!r) return fail(r.error());
  if (r->size() == 0) return std::optional<ports::PendingPairing>();
  auto d = row(*r, 0);
  auto secret = key32_from_hex(r->text(0, 10));
  if (!d || !secret) return std::optional<ports::PendingPairing>();
  return std::optional<ports::PendingPairing>(ports::PendingPairing{std::move(*d), *secret});
}

Status PgPairedDeviceStore::complete(const std::string& id, const ports::Key32& client_pk, base::Timestamp now) {
  std::lock_guard lock(mu_);
  // Not sent twice: a lost answer must not turn a done pairing into "no longer pending".
  auto r = conn_->exec(
      "UPDATE relay_devices SET client_pk = $1, paired_at = $2, last_seen = $2, secret = NULL"
      " WHERE id = $3 AND secret IS NOT NULL AND client_pk IS NULL AND revoked_at IS NULL AND expires_at > $2",
      {key_hex(client_pk), micros(now), id}, CB_DEADLINE);
  if (!r) {
    if (r.error().code() == base::Errc::conflict) return fail(Error::conflict("this client key is paired already"));
    return fail(r.error());
  }
  if (r->affected() != 1) return fail(Error::conflict("the pairing is no longer pending"));
  return {};
}

Result<std::optional<ports::PairedDevice>> PgPairedDeviceStore::find_paired(const ports::Key32& client_pk) {
  std::lock_guard lock(mu_);
  auto r = run(*conn_, std::string(kColumns) + " FROM relay_devices WHERE client_pk = $1 AND revoked_at IS NULL",
               {key_hex(client_pk)}, CB_DEADLINE);
  if (!r) return fail(r.error());
  if (r->size() == 0) return std::optional<ports::PairedDevice>();
  return row(*r, 0);
}

Result<std::vector<ports::PairedDevice>> PgPairedDeviceStore::list(const base::TenantId& tenant) {
  std::lock_guard lock(mu_);
  auto r = run(*conn_,
               std::string(kColumns) + " FROM relay_devices WHERE tenant = $1 ORDER BY created_at DESC, id COLLATE \"C\"",
               {tenant.str()}, CB_DEADLINE);
  if (!r) return fail(r.error());
  std::vector<ports::PairedDevice> out;
  for (int i = 0; i < r->size(); ++i)
    if (auto d = row(*r, i)) out.push_back(std::move(*d));
  return out;
}

Status PgPairedDeviceStore::revoke(const base::TenantId& tenant, const std::string& id, base::Timestamp now) {
  std::lock_guard lock(mu_);
  auto r = run(*conn_,
               "UPDATE relay_devices SET revoked_at = COALESCE(revoked_at, $1), secret = NULL WHERE tenant = $2 AND id = $3",
               {micros(now), tenant.str(), id}, CB_DEADLINE);
  if (!r) return fail(r.error());
  if (r->affected() != 1) return fail(Error::not_found("no paired device " + id + " in tenant " + tenant.str()));
  return {};
}

Status PgPairedDeviceStore::touch(const std::string& id, base::Timestamp now) {
  std::lock_guard lock(mu_);
  auto r = run(*conn_, "UPDATE relay_devices SET last_seen = $1 WHERE id = $2", {micros(now), id}, CB_DEADLINE);
  if (!r) return fail(r.error());
  return {};
}

}  // namespace callbridge::identity
