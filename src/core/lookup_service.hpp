// Caller-name lookup across every configured ContactSource: all sources are asked in parallel,
// each under its own timeout; matches are merged and ranked (exact before company fallback, then
// source priority); the company fallback finds the switchboard/base number of a direct-dial
// caller by longest prefix. Results are cached per (tenant, number) with a TTL and dropped on
// invalidate() or when a source's change_token() moves (e.g. an import by another process).
// Thread-safe: call lookup()/async_lookup() from any thread; sources run on an internal pool.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/time.hpp"
#include "ports/contact_source.hpp"

namespace callbridge::core {

enum class MatchKind { exact, company };
std::string_view to_string(MatchKind k);

struct RankedMatch {
  ports::ContactMatch contact;
  MatchKind kind = MatchKind::exact;
  // 0 for exact; for company matches the number of trailing digits the caller has beyond the
  // matched base (smaller = longer prefix = better).
  std::size_t distance = 0;
};

struct SourceOutcome {
  enum class State { ok, timeout, error };
  std::string source;
  State state = State::ok;
  std::string message;  // error text when not ok
  std::chrono::microseconds took{0};
  std::size_t matches = 0;
};
std::string_view to_string(SourceOutcome::State s);

struct LookupResult {
  std::string tenant;
  std::string e164;
  std::vector<RankedMatch> matches;  // best first; empty: nobody known
  std::vector<SourceOutcome> sources;
  bool from_cache = false;
  // Every source answered in time (only complete results are cached).
  bool complete() const;
};

// What a text search (SearchQuery: the dial box, the contacts page) found across the sources.
struct SearchResult {
  std::vector<ports::ContactHit> hits;  // by source priority, then name; at most the limit asked
  std::vector<SourceOutcome> sources;   // the sources that search text, in configuration order
};

struct LookupSourceConfig {
  std::shared_ptr<ports::ContactSource> source;
  std::chrono::milliseconds timeout{800};
  // Tenants whose lookups ask this source; empty = every tenant. Other tenants' lookups never
  // call it, nor list it in LookupResult::sources.
  std::vector<std::string> tenants = {};
  std::string kind = {};  // free text for diagnostics ("store", "ldap", "http")
};

// Per-source counters since start (diagnostics).
struct SourceStats {
  std::string name = {}, kind = {};
  std::vector<std::string> tenants = {};  // empty = every tenant
  std::uint64_t ok = 0, errors = 0, timeouts = 0;
  std::string last_error = {};  // the latest error or timeout text; "" = none yet
};

struct LookupOptions {
  std::chrono::microseconds cache_ttl = std::chrono::minutes(5);
  std::chrono::microseconds negative_cache_ttl = std::chrono::minutes(1);  // "nobody" results
  std::size_t cache_capacity = 10000;
  // Company fallback: strip up to this many trailing digits of the caller ...
  std::size_t max_extension_digits = 5;
  // ... but never go below this many digits (country + area code + a little).
  std::size_t min_prefix_digits = 7;
  std::size_t workers = 4;
};

class LookupService {
 public:
  // `clock` drives the cache TTL only (timeouts use steady time); it must outlive the service.
  LookupService(std::vector<LookupSourceConfig> sources, LookupOptions opts, const base::Clock& clock);
  ~LookupService();  // waits for running source calls (which end by their deadline)
  LookupService(const LookupService&) = delete;
  LookupService& operator=(const LookupService&) = delete;

  // Blocks until every source answered or timed out. `e164` must already be canonical.
  LookupResult lookup(const base::TenantId& tenant, const std::string& e164);
  // Same, without blocking: `done` runs once - inline on a cache hit, else on an internal thread
  // (post the result to your own executor; do not block in `done`).
  void async_lookup(const base::TenantId& tenant, const std::string& e164,
                    std::function<void(LookupResult)> done);

  // Asks every source of `tenant` that searches text (ContactSource::searches_text) in parallel,
  // each until its timeout, for contacts matching `text`; blocks until all answered or timed out.
  // Not cached (people type; each keystroke is a new text).
  SearchResult search(const base::TenantId& tenant, const std::string& text, std::size_t limit);

  // Drops cached results of one tenant / of all tenants (after imports and edits).
  void invalidate(const base::TenantId& tenant);
  void invalidate_all();
  std::size_t cache_size() const;
  // Called (on the invalidating thread, outside every lock) after invalidate(tenant) with the
  // tenant and after invalidate_all() with nullopt (every tenant). Set before the first lookup.
  using InvalidateFn = std::function<void(const std::optional<base::TenantId>& tenant)>;
  void set_on_invalidate(InvalidateFn f) { on_invalidate_ = std::move(f); }

  // One entry per configured source, in configuration order.
  std::vector<SourceStats> source_stats() const;

  // The numbers sources are asked for, best first: the number itself, then for k = 1.. trailing
  // digits removed the base, and (k >= 2) base+"0", the usual switchboard. Exposed for tests.
  static std::vector<std::string> candidates(const std::string& e164, std::size_t max_extension_digits,
                                             std::size_t min_prefix_digits);

 private:
  struct Pending;
  struct CacheEntry {
    LookupResult result;
    base::Timestamp expires;
    std::vector<std::optional<std::uint64_t>> tokens;
    std::list<std::string>::iterator lru;  // position in lru_
  };

  void post(std::function<void()> task);
  void at(std::chrono::steady_clock::time_point when, std::function<void()> task);
  void worker_loop();
  void timer_loop();
  void finish(const std::shared_ptr<Pending>& p);
  std::vector<std::optional<std::uint64_t>> tokens(const base::TenantId& tenant);
  static std::vector<RankedMatch> rank(const std::string& e164, const std::vector<std::string>& cands,
                                       std::vector<ports::ContactMatch> raw);

  bool asks(std::size_t source, const base::TenantId& tenant) const;
  void count(std::size_t source, const SourceOutcome& out);

  std::vector<LookupSourceConfig> sources_;
  LookupOptions opts_;
  InvalidateFn on_invalidate_;
  mutable std::mutex stats_mu_;
  std::vector<SourceStats> stats_;  // parallel to sources_
  const base::Clock& clock_;

  mutable std::mutex cache_mu_;
  std::unordered_map<std::string, CacheEntry> cache_;  // key: tenant + '\n' + e164
  std::list<std::string> lru_;                         // keys, most recently used first
  std::uint64_t epoch_ = 0;  // bumped by invalidate(): in-flight results of older epochs are not cached

  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable timer_cv_;
  std::deque<std::function<void()>> work_;
  std::multimap<std::chrono::steady_clock::time_point, std::function<void()>> timers_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  std::thread timer_;
};

}  // namespace callbridge::core
