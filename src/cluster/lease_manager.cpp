#include "cluster/lease_manager.hpp"

#include <nats/nats.h>
#include <sys/random.h>

#include <algorithm>
#include <cstring>

#include "base/json_text.hpp"

namespace callbridge::cluster {

using base::Error;
using base::fail;
using std::chrono::milliseconds;

namespace {

std::int64_t to_ns(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::int64_t ms_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration_cast<milliseconds>(b - a).count();
}

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  std::size_t got = 0;
  while (got < bytes) {
    auto n = getrandom(raw.data() + got, bytes - got, 0);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

// The string value of `"name":"..."` in a lease value (written by value(): no escapes in instance
// ids; node names are plain, app/config checks them). "" when absent.
std::string field(std::string_view json, std::string_view name) {
  std::string pat = "\"" + std::string(name) + "\":\"";
  auto at = json.find(pat);
  if (at == std::string_view::npos) return {};
  at += pat.size();
  auto end = json.find('"', at);
  if (end == std::string_view::npos) return {};
  return std::string(json.substr(at, end - at));
}

// nats.c's words for the last failure of the calling thread.
std::string last_error_text(natsStatus s) {
  std::string m = natsStatus_GetText(s);
  natsStatus last = NATS_OK;
  if (const char* d = nats_GetLastError(&last); d && *d) m += std::string(": ") + d;
  return m;
}

bool is_wrong_sequence(natsStatus s) {
  if (s != NATS_ERR) return false;
  natsStatus last = NATS_OK;
  const char* d = nats_GetLastError(&last);
  return d && std::strstr(d, "wrong last sequence");
}

}  // namespace

base::Status check_lease_options(const LeaseOptions& o, milliseconds request_timeout) {
  auto bad = [](std::string m) { return fail(Error::invalid_argument("cluster: " + std::move(m))); };
  if (o.node.empty()) return bad("node must not be empty");
  if (o.ttl < milliseconds(100)) return bad("lease_ttl_ms must be at least 100 (NATS keeps values at least that long)");
  if (o.margin <= milliseconds(0) || o.margin >= o.ttl) return bad("lease_margin_ms must be more than 0 and less than lease_ttl_ms");
  if (o.renew_every <= milliseconds(0)) return bad("lease_renew_ms must be more than 0");
  if (o.retry_every <= milliseconds(0)) return bad("the retry interval must be more than 0");
  // The owner gets two renewals (each may wait a full request timeout) in before its deadline.
  if (2 * o.renew_every + request_timeout > o.ttl - o.margin)
    return bad("lease_renew_ms (" + std::to_string(o.renew_every.count()) + ") is too long for lease_ttl_ms (" +
               std::to_string(o.ttl.count()) + ") and lease_margin_ms (" + std::to_string(o.margin.count()) +
               "): 2 * renew + the NATS request timeout (" + std::to_string(request_timeout.count()) +
               ") must fit into ttl - margin");
  return {};
}

std::string lease_key(std::string_view link, std::string_view prefix) {
  std::string k(prefix);
  static const char* hex = "0123456789ABCDEF";
  for (unsigned char c : link) {
    if (std::isalnum(c) || c == '_' || c == '-') {
      k += static_cast<char>(c);
    } else {
      k += '=';
      k += hex[c >> 4];
      k += hex[c & 15];
    }
  }
  return k;
}

bool LeaseFence::valid() const {
  auto d = deadline_ns_.load();
  return d != 0 && to_ns(std::chrono::steady_clock::now()) < d;
}

LeaseManager::LeaseManager(NatsConnection& nats, NatsConnection::KvBucket& bucket, LeaseOptions options,
                           std::function<void(const LeaseChange&)> on_change)
    : nats_(nats),
      bucket_(bucket),
      options_(std::move(options)),
      on_change_(std::move(on_change)),
      instance_(random_hex(8)) {
  worker_ = std::thread([this] { work(); });
  notifier_ = std::thread([this] { notify_loop(); });
}

LeaseManager::~LeaseManager() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  notify_cv_.notify_all();
  worker_.join();
  notifier_.join();
  // Give held links up at once rather than after the ttl (best effort: NATS may be gone).
  for (auto& [key, s] : slots_) {
    if (!s.held) continue;
    s.fence->deadline_ns_ = 0;
    natsMsg* msg = nullptr;
    std::string subject = "$KV." + options_.bucket + "." + key;
    if (natsMsg_Create(&msg, subject.c_str(), nullptr, nullptr, 0) != NATS_OK) continue;
    natsMsgHeader_Set(msg, "KV-Operation", "DEL");
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.ExpectLastSubjectSeq = s.revision;
    js_PublishMsg(nullptr, nats_.jetstream(), msg, &po, nullptr);
    natsMsg_Destroy(msg);
  }
}

std::string LeaseManager::value() const {
  std::string v = "{\"node\":";
  base::append_json_string(v, options_.node);
  v += ",\"instance\":\"" + instance_ + "\"}";
  return v;
}

std::shared_ptr<const LeaseFence> LeaseManager::want(const std::string& key) {
  std::lock_guard lk(mu_);
  auto [it, fresh] = slots_.try_emplace(key);
  if (fresh) it->second.key = key;
  it->second.wanted = true;
  it->second.next = Clock::now();
  work_cv_.notify_all();
  return it->second.fence;
}

void LeaseManager::release(const std::string& key) {
  std::lock_guard lk(mu_);
  auto it = slots_.find(key);
  if (it == slots_.end()) return;
  it->second.wanted = false;
  it->second.next = Clock::now();
  work_cv_.notify_all();
}

bool LeaseManager::holds(const std::string& key) const {
  std::lock_guard lk(mu_);
  auto it = slots_.find(key);
  return it != slots_.end() && it->second.fence->valid();
}

void LeaseManager::pause_for_test(bool paused) {
  paused_ = paused;
  work_cv_.notify_all();
}

std::vector<LeaseInfo> LeaseManager::snapshot() const {
  std::lock_guard lk(mu_);
  auto now = Clock::now();
  std::vector<LeaseInfo> out;
  for (const auto& [key, s] : slots_) {
    if (!s.wanted) continue;
    LeaseInfo i;
    i.key = key;
    i.ours = s.fence->valid();
    if (s.held) {
      i.owner = options_.node;
      i.token = s.fence->token();
      i.revision = s.revision;
      i.age_ms = ms_between(s.last_write, now);
      i.held_ms = ms_between(s.term_start, now);
      i.deadline_in_ms = std::max<std::int64_t>(0, (s.fence->deadline_ns() - to_ns(now)) / 1'000'000);
    } else {
      i.owner = s.owner;
      i.revision = s.seen_revision;
      if (s.seen_revision != 0) i.age_ms = ms_between(s.seen_at, now);
    }
    i.last_error = s.last_error;
    out.push_back(std::move(i));
  }
  return out;
}

void LeaseManager::extend(Slot& s, Clock::time_point sent, std::uint64_t revision) {
  s.revision = revision;
  s.seen_revision = revision;
  s.seen_at = sent;
  s.owner = options_.node;
  s.last_write = sent;
  s.last_error.clear();
  s.fence->deadline_ns_ = to_ns(sent + options_.ttl - options_.margin);
  notify_cv_.notify_all();
}

void LeaseManager::end_term(Slot& s, std::string reason) {
  if (!s.held) return;
  s.held = false;
  s.fence->deadline_ns_ = 0;
  notices_.push_back({s.key, false, s.fence->token(), std::move(reason)});
  notify_cv_.notify_all();
}

void LeaseManager::work() {
  std::unique_lock lk(mu_);
  while (!stop_) {
    // The slot due first.
    const Slot* due = nullptr;
    for (const auto& [k, s] : slots_)
      if (!due || s.next < due->next) due = &s;
    if (!due) {
      work_cv_.wait(lk);
      continue;
    }
    if (due->next > Clock::now()) {
      work_cv_.wait_until(lk, due->next);
      continue;
    }
    std::string key = due->key;
    lk.unlock();
    step(key);
    lk.lock();
  }
}

// One look at one key: renew ours, take a free one, note a foreign owner, or give one up.
void LeaseManager::step(const std::string& key) {
  kvStore* kv = bucket_.get();
  const std::string val = value();
  bool wanted = false, held = false;
  std::uint64_t revision = 0;
  {
    std::lock_guard lk(mu_);
    auto it = slots_.find(key);
    if (it == slots_.end()) return;
    Slot& s = it->second;
    if (paused_) {
      s.next = Clock::now() + options_.retry_every;
      return;
    }
    wanted = s.wanted;
    held = s.held;
    revision = s.revision;
    if (!wanted && !held) {
      slots_.erase(it);
      return;
    }
  }

  if (!wanted) {  // held: delete it, if it is still our revision
    {
      std::lock_guard lk(mu_);
      auto& s = slots_.at(key);
      s.fence->deadline_ns_ = 0;  // stop acting first
    }
    natsMsg* msg = nullptr;
    std::string subject = "$KV." + options_.bucket + "." + key;
    natsStatus st = natsMsg_Create(&msg, subject.c_str(), nullptr, nullptr, 0);
    if (st == NATS_OK) st = natsMsgHeader_Set(msg, "KV-Operation", "DEL");
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.ExpectLastSubjectSeq = revision;
    if (st == NATS_OK) st = js_PublishMsg(nullptr, nats_.jetstream(), msg, &po, nullptr);
    natsMsg_Destroy(msg);
    std::lock_guard lk(mu_);
    auto it = slots_.find(key);
    if (it == slots_.end()) return;
    end_term(it->second, st == NATS_OK ? "released" : "released (the delete failed, the lease runs out: " +
                                                          last_error_text(st) + ")");
    if (!it->second.wanted) slots_.erase(it);  // want() again meanwhile keeps it
    return;
  }

  if (held) {  // renew
    auto sent = Clock::now();
    std::uint64_t rev = 0;
    natsStatus st = kvStore_Update(&rev, kv, key.c_str(), val.data(), static_cast<int>(val.size()), revision);
    bool conflict = st != NATS_OK && is_wrong_sequence(st);
    std::string err = st == NATS_OK ? "" : last_error_text(st);
    // A conflict: our timed-out write may have landed (the value is ours at a newer revision), or
    // someone else wrote (only after our value expired, so our deadline passed already).
    std::string found_instance, found_node;
    std::uint64_t found_rev = 0;
    if (conflict) {
      kvEntry* e = nullptr;
      if (kvStore_Get(&e, kv, key.c_str()) == NATS_OK) {
        std::string v(kvEntry_ValueString(e) ? kvEntry_ValueString(e) : "");
        found_instance = field(v, "instance");
        found_node = field(v, "node");
        found_rev = kvEntry_Revision(e);
        kvEntry_Destroy(e);
      }
    }
    std::lock_guard lk(mu_);
    auto it = slots_.find(key);
    if (it == slots_.end()) return;
    Slot& s = it->second;
    if (st == NATS_OK) {
      if (!s.held) {
        // The notifier ended the term meanwhile (the deadline passed while we waited), yet our
        // compare-and-set went through: nobody else wrote. A new term, with this revision as token.
        if (sent + options_.ttl - options_.margin > Clock::now()) {
          s.held = true;
          s.term_start = sent;
          s.fence->token_ = rev;
          notices_.push_back({key, true, rev, "renewed after the deadline"});
          extend(s, sent, rev);
        }
      } else {
        extend(s, sent, rev);
      }
      s.next = sent + options_.renew_every;
    } else if (conflict && found_instance == instance_ && found_rev != 0) {
      s.revision = found_rev;  // our lost reply's write: renew on top of it now
      s.next = Clock::now();
    } else if (conflict) {
      end_term(s, "taken over by " + (found_node.empty() ? std::string("another node") : found_node));
      s.owner = found_node;
      s.seen_revision = found_rev;
      s.seen_at = Clock::now();
      s.next = Clock::now() + options_.retry_every;
    } else {
      s.last_error = err;  // timeout, no connection: try again soon, the deadline decides
      s.next = Clock::now() + std::min(options_.retry_every, options_.renew_every);
    }
    return;
  }

  // Not ours: who has it?
  kvEntry* e = nullptr;
  natsStatus st = kvStore_Get(&e, kv, key.c_str());
  std::string found_instance, found_node;
  std::uint64_t found_rev = 0;
  if (st == NATS_OK) {
    std::string v(kvEntry_ValueString(e) ? kvEntry_ValueString(e) : "");
    found_instance = field(v, "instance");
    found_node = field(v, "node");
    found_rev = kvEntry_Revision(e);
    kvEntry_Destroy(e);
  }
  if (st != NATS_OK && st != NATS_NOT_FOUND) {
    std::lock_guard lk(mu_);
    auto it = slots_.find(key);
    if (it == slots_.end()) return;
    it->second.last_error = last_error_text(st);
    it->second.next = Clock::now() + options_.retry_every;
    return;
  }
  bool take = st == NATS_NOT_FOUND || found_instance == instance_;  // free, or still ours from before
  std::uint64_t rev = 0;
  auto sent = Clock::now();
  natsStatus wst = NATS_OK;
  if (take) {
    if (st == NATS_NOT_FOUND)
      wst = kvStore_Create(&rev, kv, key.c_str(), val.data(), static_cast<int>(val.size()));
    else
      wst = kvStore_Update(&rev, kv, key.c_str(), val.data(), static_cast<int>(val.size()), found_rev);
  }
  std::string err = (take && wst != NATS_OK && !is_wrong_sequence(wst)) ? last_error_text(wst) : "";
  std::lock_guard lk(mu_);
  auto it = slots_.find(key);
  if (it == slots_.end()) return;
  Slot& s = it->second;
  if (take && wst == NATS_OK && s.wanted && sent + options_.ttl - options_.margin > Clock::now()) {
    s.held = true;
    s.term_start = sent;
    s.fence->token_ = rev;
    notices_.push_back({key, true, rev, st == NATS_NOT_FOUND ? "free" : "ours from an earlier term"});
    extend(s, sent, rev);
    s.next = sent + options_.renew_every;
    return;
  }
  if (!take) {
    if (found_rev != s.seen_revision) s.seen_at = Clock::now();
    s.owner = found_node;
    s.seen_revision = found_rev;
    s.last_error.clear();
  } else if (!err.empty()) {
    s.last_error = err;
  }
  s.next = Clock::now() + options_.retry_every;
}

void LeaseManager::notify_loop() {
  std::unique_lock lk(mu_);
  while (!stop_) {
    while (!notices_.empty() && !stop_) {
      auto n = std::move(notices_.front());
      notices_.pop_front();
      lk.unlock();
      if (on_change_) on_change_(n);
      lk.lock();
    }
    if (stop_) break;
    auto now = Clock::now();
    std::optional<Clock::time_point> earliest;
    for (auto& [key, s] : slots_) {
      if (!s.held) continue;
      Clock::time_point d{std::chrono::nanoseconds(s.fence->deadline_ns())};
      if (d <= now) {
        end_term(s, "deadline passed: no renewal acknowledged for " +
                        std::to_string(ms_between(s.last_write, now)) + " ms");
        s.next = now;  // the worker looks again at once
        work_cv_.notify_all();
      } else if (!earliest || d < *earliest) {
        earliest = d;
      }
    }
    if (!notices_.empty()) continue;
    if (earliest)
      notify_cv_.wait_until(lk, *earliest);
    else
      notify_cv_.wait(lk);
  }
}

}  // namespace callbridge::cluster
