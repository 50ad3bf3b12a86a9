#include "directory/index/indexed_contact_store.hpp"

#include <spdlog/spdlog.h>

#include <limits>


namespace callbridge::directory {

namespace {

using base::Error;
using base::fail;
using Steady = std::chrono::steady_clock;

std::int64_t ns(Steady::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

namespace {

// Hands what a scan reads straight to the index builder.
class ToBuilder final : public ports::ContactScanSink {
 public:
  explicit ToBuilder(NumberIndex::Builder& b) : b_(b) {}
  void contact(std::int64_t id, ports::ContactKind kind, std::string_view display_name,
               std::string_view company) override {
    slot_ = b_.add_contact(id, kind, display_name, company);
  }
  void number(std::string_view e164, std::string_view label) override { b_.add_number(slot_, e164, label); }

 private:
  NumberIndex::Builder& b_;
  std::uint32_t slot_ = 0;
};

}  // namespace

IndexLoader store_index_loader(ports::ContactScanner& store) {
  return [&store](const base::TenantId& tenant, NumberIndex::Builder& b,
                  const std::function<void(std::size_t)>& progress) -> base::Result<std::uint64_t> {
    ToBuilder sink(b);
    return store.scan(tenant, sink, progress);
  };
}

IndexLoader list_index_loader(ports::ContactStore& store) {
  return [&store](const base::TenantId& tenant, NumberIndex::Builder& b,
                  const std::function<void(std::size_t)>& progress) -> base::Result<std::uint64_t> {
    ToBuilder sink(b);
    return ports::scan_by_list(store, tenant, sink, progress);
  };
}

IndexedContactStore::IndexedContactStore(ports::ContactStore& inner, IndexLoader loader, IndexedContactStoreOptions opts)
    : inner_(inner), loader_(std::move(loader)), opts_(std::move(opts)) {
  if (opts_.background) worker_ = std::thread([this] { run(); });
  for (const auto& t : opts_.preload_tenants) ensure_loading(t, tenant(t));
}

IndexedContactStore::~IndexedContactStore() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

IndexedContactStore::Tenant& IndexedContactStore::tenant(const base::TenantId& name) {
  {
    std::shared_lock lock(map_mu_);
    if (auto it = tenants_.find(name); it != tenants_.end()) return *it->second;
  }
  std::unique_lock lock(map_mu_);
  auto& slot = tenants_.try_emplace(name).first->second;
  if (!slot) slot = std::make_unique<Tenant>();
  return *slot;
}

void IndexedContactStore::preload(const base::TenantId& name) {
  Tenant& t = tenant(name);
  if (!is_current(t, t.snap.load())) ensure_loading(name, t);
}

void IndexedContactStore::drop(const base::TenantId& name) {
  Tenant& t = tenant(name);
  {
    std::lock_guard lock(mu_);
    t.dropped = true;
    t.failed = false;
    // Not current any more; a snapshot that lookups still hold lives until they finish.
    t.wanted.fetch_add(1, std::memory_order_acq_rel);
    t.snap.store(nullptr);
  }
  done_cv_.notify_all();
  spdlog::debug("contact index: tenant '{}' dropped", name);
}

void IndexedContactStore::ensure_loading(const base::TenantId& name, Tenant& t) {
  {
    std::lock_guard lock(mu_);
    t.dropped = false;  // wanted again (re-added, or a lookup): a load under way or queued counts
    if (stop_ || t.queued || t.loading) return;
    if (t.failed && opts_.now() - t.failed_at < opts_.retry_after) return;
    if (opts_.background) {
      t.queued = true;
      queue_.push_back(name);
    } else {
      t.loading = true;
    }
  }
  if (opts_.background) cv_.notify_one();
  else load(name, t);
}

void IndexedContactStore::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    const base::TenantId name = queue_.front();
    queue_.pop_front();
    Tenant& t = tenant(name);
    t.queued = false;
    if (t.dropped) continue;  // dropped while queued
    t.loading = true;
    lock.unlock();
    load(name, t);
    lock.lock();
  }
}

// Called with t.loading set (by ensure_loading/run); clears it.
void IndexedContactStore::load(const base::TenantId& name, Tenant& t) {
  std::uint64_t generation = t.wanted.load(std::memory_order_acquire);
  auto t0 = Steady::now();
  NumberIndex::Builder b;
  std::size_t next_log = opts_.progress_every;
  auto progress = [&](std::size_t rows) {
    if (opts_.progress_every && rows >= next_log) {
      spdlog::info("contact index: tenant '{}': {} numbers read ...", name, rows);
      next_log += opts_.progress_every;
    }
  };
  auto token = loader_(name, b, progress);
  base::Result<NumberIndex> ix = token ? std::move(b).finish() : base::Result<NumberIndex>(fail(token.error()));
  bool again = false;
  {
    std::lock_guard lock(mu_);
    t.loading = false;
    if (t.dropped) {  // removed while it loaded: nobody wants it
      spdlog::debug("contact index: tenant '{}': load discarded, the tenant was dropped", name);
    } else if (!ix) {
      t.failed = true;
      t.failed_at = opts_.now();
      ++failed_loads_;
      spdlog::warn("contact index: tenant '{}': load failed, lookups use the store: {}", name,
                   ix.error().to_string());
    } else {
      t.failed = false;
      auto s = std::make_shared<IndexSnapshot>();
      s->index = std::move(*ix);
      s->token = *token;
      s->generation = generation;
      s->load_seconds = std::chrono::duration<double>(Steady::now() - t0).count();
      const NumberIndex& i = s->index;
      auto level = i.numbers() >= opts_.progress_every ? spdlog::level::info : spdlog::level::debug;
      spdlog::log(level, "contact index: tenant '{}': {} numbers of {} contacts in {:.2f} s, {:.1f} MiB", name,
                  i.numbers(), i.contacts(), s->load_seconds, static_cast<double>(i.memory_bytes()) / (1 << 20));
      t.snap.store(std::move(s));
      t.next_check.store(ns(opts_.now() + opts_.recheck_interval), std::memory_order_relaxed);
      ++loads_;
      again = t.wanted.load(std::memory_order_acquire) != generation;  // written to meanwhile
    }
  }
  done_cv_.notify_all();
  if (again) ensure_loading(name, t);
}

void IndexedContactStore::compare_token(const base::TenantId& name, Tenant& t, std::optional<std::uint64_t> token) {
  auto s = t.snap.load();
  if (!token || !s) return;
  std::uint64_t g = s->generation;
  if (*token != s->token && t.wanted.compare_exchange_strong(g, g + 1, std::memory_order_acq_rel)) {
    spdlog::debug("contact index: tenant '{}' changed in the store (token {} -> {}); reloading", name, s->token,
                  *token);
    if (opts_.background) ensure_loading(name, t);  // synchronous mode: the next lookup rebuilds
  }
}

void IndexedContactStore::mark_stale(const base::TenantId& name) {
  Tenant& t = tenant(name);
  t.wanted.fetch_add(1, std::memory_order_acq_rel);
  // Background: start the rebuild now. Synchronous mode: the next lookup rebuilds.
  if (opts_.background) ensure_loading(name, t);
}

std::shared_ptr<const IndexSnapshot> IndexedContactStore::current(const base::TenantId& name) {
  Tenant& t = tenant(name);
  auto now = opts_.now();
  if (ns(now) >= t.next_check.load(std::memory_order_relaxed)) {
    t.next_check.store(ns(now + opts_.recheck_interval), std::memory_order_relaxed);
    compare_token(name, t, inner_.change_token(name));
  }
  auto s = t.snap.load();
  if (is_current(t, s)) return s;
  ensure_loading(name, t);
  s = t.snap.load();
  return is_current(t, s) ? s : nullptr;
}

bool IndexedContactStore::wait_current(const base::TenantId& name, std::chrono::milliseconds timeout) {
  Tenant& t = tenant(name);
  ensure_loading(name, t);
  std::unique_lock lock(mu_);
  return done_cv_.wait_for(lock, timeout, [&] {
    if (is_current(t, t.snap.load())) return true;
    return !t.queued && !t.loading && t.failed;  // nothing will change until retry_after
  }) && is_current(t, t.snap.load());
}

base::Result<std::vector<ports::ContactMatch>> IndexedContactStore::lookup(const ports::LookupQuery& q) {
  const auto& cands = q.candidates.empty() ? std::vector<std::string>{q.e164} : q.candidates;
  if (cands.size() > 64) return fail(Error::invalid_argument("too many lookup candidates"));
  auto s = current(q.tenant);
  if (!s) {
    ++store_lookups_;
    return inner_.lookup(q);
  }
  ++index_lookups_;
  std::vector<ports::ContactMatch> out;
  s->index.lookup(cands, inner_.name(), inner_.priority(), &out);
  return out;
}

std::optional<std::uint64_t> IndexedContactStore::change_token(const base::TenantId& name) {
  auto token = inner_.change_token(name);
  Tenant& t = tenant(name);
  compare_token(name, t, token);
  t.next_check.store(ns(opts_.now() + opts_.recheck_interval), std::memory_order_relaxed);
  return token;
}

base::Result<std::int64_t> IndexedContactStore::create(const ports::Contact& c) {
  auto r = inner_.create(c);
  mark_stale(c.tenant);  // also on failure: cheap insurance if the store half-failed
  return r;
}

base::Status IndexedContactStore::update(const ports::Contact& c) {
  auto r = inner_.update(c);
  mark_stale(c.tenant);
  return r;
}

base::Status IndexedContactStore::remove(const base::TenantId& tenant, std::int64_t id) {
  auto r = inner_.remove(tenant, id);
  mark_stale(tenant);
  return r;
}

base::Result<ports::Contact> IndexedContactStore::get(const base::TenantId& tenant, std::int64_t id) {
  return inner_.get(tenant, id);
}

base::Result<std::vector<ports::Contact>> IndexedContactStore::list(const base::TenantId& tenant, std::string_view text,
                                                                    std::size_t limit) {
  return inner_.list(tenant, text, limit);
}

base::Result<ports::ImportCommit> IndexedContactStore::import_all(const base::TenantId& tenant,
                                                                  const std::vector<ports::Contact>& contacts,
                                                                  const ports::ImportOptions& opts) {
  auto r = inner_.import_all(tenant, contacts, opts);
  mark_stale(tenant);
  return r;
}

IndexedContactStore::Stats IndexedContactStore::stats() const {
  Stats s{index_lookups_.load(), store_lookups_.load(), loads_.load(), failed_loads_.load()};
  std::shared_lock lock(map_mu_);
  for (const auto& [name, t] : tenants_) {
    if (auto snap = t->snap.load()) {
      ++s.tenants;
      s.numbers += snap->index.numbers();
    }
  }
  return s;
}

}  // namespace callbridge::directory
