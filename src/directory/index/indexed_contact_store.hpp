// IndexedContactStore: a ports::ContactStore decorator that answers lookups from an in-memory
// NumberIndex per tenant and forwards everything else (edits, imports, get, list) to the real store.
// Owned by app's wiring in front of the built-in store; LookupService and the REST API call it from
// any thread. Loads run on one own loader thread; readers take a snapshot (shared_ptr, RCU style).
//
// Consistency: a tenant's index is served only while it is *current*: built from the store at the
// change token the store reports now, with no write through this object since. Otherwise lookups
// go to the store itself (correct, slower) while the loader rebuilds the index in the background.
// Writes through this object are visible to the next lookup; writes by another process (the CLI)
// are noticed at the next change_token() call (LookupService makes one per lookup) or at most
// `recheck_interval` later by lookup() itself.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>

#include "directory/index/number_index.hpp"
#include "ports/contact_scan.hpp"
#include "ports/contact_source.hpp"

namespace callbridge::directory {

// Fills `b` with every contact and number of `tenant` and returns the store's change token that
// exactly this data corresponds to. `progress(rows)` may be called now and then (rows read so far).
using IndexLoader = std::function<base::Result<std::uint64_t>(
    const base::TenantId& tenant, NumberIndex::Builder& b, const std::function<void(std::size_t)>& progress)>;

// Loads through a store's own snapshot read, ports::ContactScanner (SqliteContactStore reads its
// file on its own read-only connection, in one read transaction). `store` must outlive the loader.
IndexLoader store_index_loader(ports::ContactScanner& store);
// Any ContactStore (e.g. PostgreSQL) through list() (ports::scan_by_list): simple, but holds all
// contacts in memory once.
IndexLoader list_index_loader(ports::ContactStore& store);

struct IndexedContactStoreOptions {
  std::vector<base::TenantId> preload_tenants;  // loaded right away; other tenants on first use
  // How often lookup() itself compares the store's change token (writes by other processes).
  std::chrono::milliseconds recheck_interval{250};
  // After a failed load, the next attempt waits this long (lookups use the store meanwhile).
  std::chrono::milliseconds retry_after{5000};
  // false: loads run synchronously in the thread that notices the need (tests, tools).
  bool background = true;
  std::size_t progress_every = 250'000;  // log "n numbers read" during big loads
  std::function<std::chrono::steady_clock::time_point()> now = [] { return std::chrono::steady_clock::now(); };
};

// One tenant's index as served.
struct IndexSnapshot {
  NumberIndex index;
  std::uint64_t token = 0;       // the store's change token the data corresponds to
  std::uint64_t generation = 0;  // internal: which write generation it was built for
  double load_seconds = 0;
};

class IndexedContactStore final : public ports::ContactStore {
 public:
  // `inner` must outlive this object.
  IndexedContactStore(ports::ContactStore& inner, IndexLoader loader, IndexedContactStoreOptions opts = {});
  ~IndexedContactStore() override;
  IndexedContactStore(const IndexedContactStore&) = delete;
  IndexedContactStore& operator=(const IndexedContactStore&) = delete;

  const std::string& name() const override { return inner_.name(); }
  int priority() const override { return inner_.priority(); }
  base::Result<std::vector<ports::ContactMatch>> lookup(const ports::LookupQuery& q) override;
  // The store's token; a token that differs from the index's marks the index stale.
  std::optional<std::uint64_t> change_token(const base::TenantId& tenant) override;

  base::Result<std::int64_t> create(const ports::Contact& c) override;
  base::Status update(const ports::Contact& c) override;
  base::Status remove(const base::TenantId& tenant, std::int64_t id) override;
  base::Result<ports::Contact> get(const base::TenantId& tenant, std::int64_t id) override;
  base::Result<std::vector<ports::Contact>> list(const base::TenantId& tenant, std::string_view text,
                                                 std::size_t limit) override;
  base::Result<ports::ImportCommit> import_all(const base::TenantId& tenant, const std::vector<ports::Contact>& contacts,
                                               const ports::ImportOptions& opts) override;

  // A tenant that appeared after construction (App::add_tenant: an operator created it): its
  // index loads now, in the background, as preload_tenants' do, not on its first lookup.
  void preload(const base::TenantId& tenant);
  // The tenant is gone (App::remove_tenant): its index is released (a load under way is thrown
  // away). A later lookup for it would load it again on first use.
  void drop(const base::TenantId& tenant);

  // The tenant's index if it is current, else null (and a load is started if none runs).
  std::shared_ptr<const IndexSnapshot> current(const base::TenantId& tenant);
  // Blocks until the tenant's index is current, or `timeout` passed (start-up, tests, benchmarks).
  bool wait_current(const base::TenantId& tenant, std::chrono::milliseconds timeout);

  struct Stats {
    std::uint64_t index_lookups = 0;  // answered from memory
    std::uint64_t store_lookups = 0;  // forwarded because the index was not current
    std::uint64_t loads = 0, failed_loads = 0;
    std::size_t tenants = 0;  // tenants whose index is in memory (current or being refreshed)
    std::size_t numbers = 0;  // numbers in those indexes
  };
  Stats stats() const;

 private:
  // The current snapshot of a tenant. Not std::atomic<std::shared_ptr>: libstdc++ 12's load()
  // releases its internal lock with a relaxed store, so the pointer it read races with the next
  // store() (TSan, App.ATenantIsAddedAndRemovedWhileRunning; fixed in later libstdc++). A mutex
  // held for a pointer copy costs tens of nanoseconds per lookup.
  class SnapshotSlot {
   public:
    std::shared_ptr<const IndexSnapshot> load() const {
      std::lock_guard lock(mu_);
      return p_;
    }
    void store(std::shared_ptr<const IndexSnapshot> s) {
      {
        std::lock_guard lock(mu_);
        p_.swap(s);
      }  // the old snapshot (maybe the last reference to a big index) is freed outside the lock
    }

   private:
    mutable std::mutex mu_;
    std::shared_ptr<const IndexSnapshot> p_;
  };
  struct Tenant {
    SnapshotSlot snap;
    std::atomic<std::uint64_t> wanted{1};  // generation an index must be built for to be served
    std::atomic<std::int64_t> next_check{0};  // steady ns: lookup() compares tokens after this
    bool queued = false, loading = false;  // under mu_
    bool dropped = false;                  // under mu_: drop() ran; a load under way is discarded
    std::chrono::steady_clock::time_point failed_at{};
    bool failed = false;
  };
  Tenant& tenant(const base::TenantId& name);
  bool is_current(const Tenant& t, const std::shared_ptr<const IndexSnapshot>& s) const {
    return s && s->generation == t.wanted.load(std::memory_order_acquire);
  }
  void compare_token(const base::TenantId& name, Tenant& t, std::optional<std::uint64_t> token);
  void mark_stale(const base::TenantId& name);
  void ensure_loading(const base::TenantId& name, Tenant& t);
  void load(const base::TenantId& name, Tenant& t);
  void run();

  ports::ContactStore& inner_;
  IndexLoader loader_;
  IndexedContactStoreOptions opts_;
  // Guards tenants_ (the map). Entries are stable and never erased (readers hold references
  // without a lock); drop() only releases an entry's snapshot.
  mutable std::shared_mutex map_mu_;
  std::map<base::TenantId, std::unique_ptr<Tenant>> tenants_;
  std::mutex mu_;  // queue_, Tenant::queued/loading/failed, stop_
  std::condition_variable cv_, done_cv_;
  std::deque<base::TenantId> queue_;
  bool stop_ = false;
  std::atomic<std::uint64_t> index_lookups_{0}, store_lookups_{0}, loads_{0}, failed_loads_{0};
  std::thread worker_;
};

}  // namespace callbridge::directory
