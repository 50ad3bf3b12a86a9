#include "core/lookup_service.hpp"

#include <algorithm>
#include <set>

namespace callbridge::core {

using Steady = std::chrono::steady_clock;

std::string_view to_string(MatchKind k) { return k == MatchKind::exact ? "exact" : "company"; }

std::string_view to_string(SourceOutcome::State s) {
  switch (s) {
    case SourceOutcome::State::ok: return "ok";
    case SourceOutcome::State::timeout: return "timeout";
    case SourceOutcome::State::error: return "error";
  }
  return "?";
}

bool LookupResult::complete() const {
  return std::all_of(sources.begin(), sources.end(),
                     [](const SourceOutcome& s) { return s.state == SourceOutcome::State::ok; });
}

namespace {
SourceOutcome failed(SourceOutcome::State state, std::string message) {
  SourceOutcome o;
  o.state = state;
  o.message = std::move(message);
  return o;
}
}  // namespace

struct LookupService::Pending {
  explicit Pending(base::TenantId t) : tenant(t) {}
  std::mutex mu;
  base::TenantId tenant;
  std::string e164;
  std::vector<std::string> cands;
  std::vector<ports::ContactMatch> raw;
  std::vector<SourceOutcome> outcomes;
  std::vector<bool> settled;
  std::size_t outstanding = 0;
  std::uint64_t epoch = 0;
  std::vector<std::optional<std::uint64_t>> tokens;
  Steady::time_point start;
  std::function<void(LookupResult)> done;
};

LookupService::LookupService(std::vector<LookupSourceConfig> sources, LookupOptions opts,
                             const base::Clock& clock)
    : sources_(std::move(sources)), opts_(opts), clock_(clock) {
  for (const auto& s : sources_) {
    CB_CHECK(s.source != nullptr, "lookup source is null");
    stats_.push_back(SourceStats{s.source->name(), s.kind, s.tenants});
  }
  std::size_t n = std::max<std::size_t>(1, opts_.workers);
  for (std::size_t i = 0; i < n; ++i) workers_.emplace_back([this] { worker_loop(); });
  timer_ = std::thread([this] { timer_loop(); });
}

LookupService::~LookupService() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  timer_cv_.notify_all();
  for (auto& w : workers_) w.join();
  timer_.join();
  // Settle whatever still waits for a deadline so every callback runs exactly once.
  for (auto& [when, task] : timers_) task();
}

void LookupService::post(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    work_.push_back(std::move(task));
  }
  work_cv_.notify_one();
}

void LookupService::at(Steady::time_point when, std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    timers_.emplace(when, std::move(task));
  }
  timer_cv_.notify_one();
}

void LookupService::worker_loop() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] { return stopping_ || !work_.empty(); });
      if (work_.empty()) return;  // stopping and drained
      task = std::move(work_.front());
      work_.pop_front();
    }
    task();
  }
}

void LookupService::timer_loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (timers_.empty()) {
      timer_cv_.wait(lock);
      continue;
    }
    auto first = timers_.begin();
    if (Steady::now() < first->first) {
      timer_cv_.wait_until(lock, first->first);
      continue;
    }
    auto task = std::move(first->second);
    timers_.erase(first);
    lock.unlock();
    task();
    lock.lock();
  }
}

std::vector<std::string> LookupService::candidates(const std::string& e164, std::size_t max_ext,
                                                   std::size_t min_digits) {
  std::vector<std::string> out{e164};
  if (e164.size() < 2 || e164[0] != '+') return out;
  std::string digits = e164.substr(1);
  std::set<std::string> seen{e164};
  for (std::size_t k = 1; k <= max_ext && k < digits.size(); ++k) {
    if (digits.size() - k < min_digits) break;
    std::string base = "+" + digits.substr(0, digits.size() - k);
    if (seen.insert(base).second) out.push_back(base);
    // base+"0" only when shorter than the caller: same length would be a neighbour's direct dial.
    if (k >= 2 && seen.insert(base + "0").second) out.push_back(base + "0");
  }
  return out;
}

std::vector<RankedMatch> LookupService::rank(const std::string& e164, const std::vector<std::string>& cands,
                                             std::vector<ports::ContactMatch> raw) {
  std::vector<RankedMatch> all;
  for (auto& m : raw) {
    if (std::find(cands.begin(), cands.end(), m.matched_number) == cands.end()) continue;
    RankedMatch r;
    if (m.matched_number == e164) {
      r.kind = MatchKind::exact;
    } else {
      r.kind = MatchKind::company;
      bool is_prefix = e164.compare(0, m.matched_number.size(), m.matched_number) == 0;
      std::size_t base_len = is_prefix ? m.matched_number.size() : m.matched_number.size() - 1;
      r.distance = e164.size() - base_len;
    }
    r.contact = std::move(m);
    all.push_back(std::move(r));
  }
  if (all.empty()) return all;
  // Exact matches hide company guesses; among guesses only the longest prefix counts.
  std::size_t best = std::min_element(all.begin(), all.end(), [](const auto& a, const auto& b) {
                       return a.distance < b.distance;
                     })->distance;
  std::erase_if(all, [&](const RankedMatch& r) { return r.distance != best; });
  std::stable_sort(all.begin(), all.end(), [](const RankedMatch& a, const RankedMatch& b) {
    if (a.contact.priority != b.contact.priority) return a.contact.priority < b.contact.priority;
    if (a.contact.source != b.contact.source) return a.contact.source < b.contact.source;
    // Within one company distance, the switchboard-labelled number first.
    bool am = a.contact.label == "main", bm = b.contact.label == "main";
    if (am != bm) return am;
    return a.contact.display_name < b.contact.display_name;
  });
  std::set<std::pair<std::string, std::string>> seen;
  std::erase_if(all, [&](const RankedMatch& r) {
    return !seen.insert({r.contact.source, r.contact.contact_id}).second;
  });
  return all;
}

bool LookupService::asks(std::size_t i, const base::TenantId& tenant) const {
  const auto& t = sources_[i].tenants;
  return t.empty() || std::find(t.begin(), t.end(), tenant) != t.end();
}

void LookupService::count(std::size_t i, const SourceOutcome& out) {
  std::lock_guard lock(stats_mu_);
  auto& s = stats_[i];
  switch (out.state) {
    case SourceOutcome::State::ok: ++s.ok; return;
    case SourceOutcome::State::timeout: ++s.timeouts; break;
    case SourceOutcome::State::error: ++s.errors; break;
  }
  s.last_error = out.message;
}

std::vector<SourceStats> LookupService::source_stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

std::vector<std::optional<std::uint64_t>> LookupService::tokens(const base::TenantId& tenant) {
  std::vector<std::optional<std::uint64_t>> t;
  t.reserve(sources_.size());
  for (std::size_t i = 0; i < sources_.size(); ++i)
    t.push_back(asks(i, tenant) ? sources_[i].source->change_token(tenant) : std::nullopt);
  return t;
}

void LookupService::async_lookup(const base::TenantId& tenant, const std::string& e164,
                                 std::function<void(LookupResult)> done) {
  const std::string key = tenant.str() + '\n' + e164;
  auto current = tokens(tenant);
  std::uint64_t epoch;
  std::optional<LookupResult> hit;
  {
    std::lock_guard lock(cache_mu_);
    epoch = epoch_;
    if (auto it = cache_.find(key); it != cache_.end()) {
      if (clock_.now() < it->second.expires && it->second.tokens == current) {
        hit = it->second.result;
        hit->from_cache = true;
        lru_.splice(lru_.begin(), lru_, it->second.lru);
      } else {
        lru_.erase(it->second.lru);
        cache_.erase(it);
      }
    }
  }
  if (hit) {
    done(std::move(*hit));  // outside the lock: `done` may look up again
    return;
  }
  auto p = std::make_shared<Pending>(tenant);
  p->e164 = e164;
  p->cands = candidates(e164, opts_.max_extension_digits, opts_.min_prefix_digits);
  // Only the sources configured for this tenant; slot j of the lookup is source asked[j].
  std::vector<std::size_t> asked;
  for (std::size_t i = 0; i < sources_.size(); ++i)
    if (asks(i, tenant)) asked.push_back(i);
  p->outcomes.resize(asked.size());
  p->settled.assign(asked.size(), false);
  p->outstanding = asked.size();
  p->epoch = epoch;
  p->tokens = std::move(current);
  p->start = Steady::now();
  p->done = std::move(done);
  if (asked.empty()) return finish(p);

  // Records slot j's outcome once; the last one settles the lookup.
  auto settle = [this, p, asked](std::size_t j, SourceOutcome out, std::vector<ports::ContactMatch> found) {
    bool last = false;
    {
      std::lock_guard lock(p->mu);
      if (p->settled[j]) return;
      p->settled[j] = true;
      out.source = sources_[asked[j]].source->name();
      out.took = std::chrono::duration_cast<std::chrono::microseconds>(Steady::now() - p->start);
      out.matches = found.size();
      count(asked[j], out);
      p->outcomes[j] = std::move(out);
      for (auto& m : found) p->raw.push_back(std::move(m));
      last = --p->outstanding == 0;
    }
    if (last) finish(p);
  };
  for (std::size_t j = 0; j < asked.size(); ++j) {
    const std::size_t i = asked[j];
    auto deadline = p->start + sources_[i].timeout;
    at(deadline, [settle, j] {
      settle(j, failed(SourceOutcome::State::timeout, "no answer in time"), {});
    });
    post([this, settle, p, i, j, deadline] {
      if (Steady::now() >= deadline) return;  // the timer settles it
      ports::LookupQuery q{p->tenant, p->e164, p->cands, deadline};
      auto r = sources_[i].source->lookup(q);
      if (Steady::now() > deadline) return;  // late: the per-source timeout already counted
      if (!r) {
        auto state = r.error().code() == base::Errc::timeout ? SourceOutcome::State::timeout
                                                             : SourceOutcome::State::error;
        settle(j, failed(state, r.error().to_string()), {});
        return;
      }
      settle(j, SourceOutcome{}, std::move(*r));
    });
  }
}

void LookupService::finish(const std::shared_ptr<Pending>& p) {
  LookupResult r;
  r.tenant = p->tenant;
  r.e164 = p->e164;
  {
    std::lock_guard lock(p->mu);
    r.sources = p->outcomes;
    r.matches = rank(p->e164, p->cands, std::move(p->raw));
  }
  if (r.complete()) {
    std::lock_guard lock(cache_mu_);
    if (epoch_ == p->epoch) {
      auto ttl = r.matches.empty() ? opts_.negative_cache_ttl : opts_.cache_ttl;
      if (opts_.cache_capacity > 0 && ttl.count() > 0) {
        std::string key = p->tenant.str() + '\n' + p->e164;
        if (auto old = cache_.find(key); old != cache_.end()) {
          lru_.erase(old->second.lru);
          cache_.erase(old);
        }
        // Least recently used out: O(1) per insert however full the cache is.
        while (cache_.size() >= opts_.cache_capacity) {
          cache_.erase(lru_.back());
          lru_.pop_back();
        }
        lru_.push_front(key);
        cache_.emplace(std::move(key), CacheEntry{r, clock_.now() + ttl, p->tokens, lru_.begin()});
      }
    }
  }
  auto done = std::move(p->done);
  done(std::move(r));
}

SearchResult LookupService::search(const base::TenantId& tenant, const std::string& text, std::size_t limit) {
  // Shared with the workers: a source that overruns its deadline finds the state still alive.
  struct State {
    std::mutex m;
    std::condition_variable cv;
    std::size_t waiting = 0;
    std::vector<std::optional<std::pair<SourceOutcome, std::vector<ports::ContactHit>>>> answers;
  };
  auto st = std::make_shared<State>();
  std::vector<std::size_t> asked;
  for (std::size_t i = 0; i < sources_.size(); ++i)
    if (asks(i, tenant) && sources_[i].source->searches_text()) asked.push_back(i);
  st->answers.resize(asked.size());
  st->waiting = asked.size();
  auto latest = Steady::now();
  for (std::size_t k = 0; k < asked.size(); ++k) {
    const std::size_t i = asked[k];
    const auto deadline = Steady::now() + sources_[i].timeout;
    latest = std::max(latest, deadline);
    post([this, st, k, i, deadline, q = ports::SearchQuery{.tenant = tenant, .text = text, .limit = limit,
                                                           .deadline = deadline}] {
      const auto started = Steady::now();
      auto r = sources_[i].source->search(q);
      SourceOutcome out;
      out.source = sources_[i].source->name();
      out.took = std::chrono::duration_cast<std::chrono::microseconds>(Steady::now() - started);
      std::vector<ports::ContactHit> hits;
      if (r) {
        hits = std::move(*r);
        out.matches = hits.size();
      } else {
        out.state = r.error().code() == base::Errc::timeout ? SourceOutcome::State::timeout : SourceOutcome::State::error;
        out.message = r.error().message();
      }
      count(i, out);
      std::lock_guard lock(st->m);
      st->answers[k] = std::make_pair(std::move(out), std::move(hits));
      --st->waiting;
      st->cv.notify_all();
    });
  }
  SearchResult result;
  {
    std::unique_lock lock(st->m);
    // Sources end by their deadline; a little grace for the hand-over, then whoever is late is a
    // timeout (its answer, when it comes, lands in the shared state and is dropped with it).
    st->cv.wait_until(lock, latest + std::chrono::milliseconds(200), [&] { return st->waiting == 0; });
    for (std::size_t k = 0; k < asked.size(); ++k) {
      if (st->answers[k]) {
        result.sources.push_back(st->answers[k]->first);
        for (auto& h : st->answers[k]->second) result.hits.push_back(std::move(h));
      } else {
        SourceOutcome late;
        late.source = sources_[asked[k]].source->name();
        late.state = SourceOutcome::State::timeout;
        late.message = "no answer by the deadline";
        result.sources.push_back(std::move(late));
      }
    }
  }
  std::stable_sort(result.hits.begin(), result.hits.end(), [](const ports::ContactHit& a, const ports::ContactHit& b) {
    if (a.priority != b.priority) return a.priority < b.priority;
    return a.display_name < b.display_name;
  });
  if (result.hits.size() > limit) result.hits.resize(limit);
  return result;
}

LookupResult LookupService::lookup(const base::TenantId& tenant, const std::string& e164) {
  std::mutex m;
  std::condition_variable cv;
  std::optional<LookupResult> out;
  async_lookup(tenant, e164, [&](LookupResult r) {
    std::lock_guard lock(m);
    out = std::move(r);
    cv.notify_one();
  });
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return out.has_value(); });
  return std::move(*out);
}

void LookupService::invalidate(const base::TenantId& tenant) {
  {
    std::lock_guard lock(cache_mu_);
    ++epoch_;
    const std::string prefix = tenant.str() + '\n';
    std::erase_if(cache_, [&](const auto& kv) {
      if (kv.first.compare(0, prefix.size(), prefix) != 0) return false;
      lru_.erase(kv.second.lru);
      return true;
    });
  }
  if (on_invalidate_) on_invalidate_(tenant);
}

void LookupService::invalidate_all() {
  {
    std::lock_guard lock(cache_mu_);
    ++epoch_;
    cache_.clear();
    lru_.clear();
  }
  if (on_invalidate_) on_invalidate_(std::nullopt);
}

std::size_t LookupService::cache_size() const {
  std::lock_guard lock(cache_mu_);
  return cache_.size();
}

}  // namespace callbridge::core
