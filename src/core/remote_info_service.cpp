#include "core/remote_info_service.hpp"

#include <algorithm>
#include <cstdio>

#include "core/phone_resolver.hpp"
#include "base/json_text.hpp"

namespace callbridge::core {

namespace {

constexpr std::chrono::seconds kCallGcInterval{30};

constexpr auto& put_string = base::append_json_string;

void put_opt(std::string& out, const std::optional<std::string>& s) {
  if (s) put_string(out, *s); else out += "null";
}

void put_nonempty(std::string& out, const std::string& s) {
  if (s.empty()) out += "null"; else put_string(out, s);
}

std::string key_of(const base::TenantId& tenant, std::string_view remote) {
  std::string k;
  k.reserve(tenant.size() + remote.size() + 1);
  k += tenant;
  k += '\n';
  k += remote;
  return k;
}

bool short_internal(std::string_view s) {
  if (s.empty() || s.front() == '0') return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || c == '*' || c == '#'; });
}

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void fill_external(RemoteInfo& r, const CanonicalNumber& c, const DialingPlan& plan) {
  r.kind = RemoteKind::external;
  r.e164 = c.e164;
  r.display = plan.display(c, plan.region());
  r.international = phone::format_e164(c.e164, phone::DisplayStyle::international, c.remote_extension);
}

std::shared_ptr<const DialingPlan> make_default_plan() {
  DialingPlanOptions o;
  o.country_code = "49";  // as drivers/ami default_canonical_remote
  auto p = DialingPlan::create(o);
  CB_CHECK(p.has_value(), "default dialing plan (country 49) must be valid");
  return std::make_shared<const DialingPlan>(std::move(*p));
}

}  // namespace

std::string_view to_string(RemoteKind k) {
  switch (k) {
    case RemoteKind::external: return "external";
    case RemoteKind::internal: return "internal";
    case RemoteKind::withheld: return "withheld";
    case RemoteKind::unknown: return "unknown";
  }
  return "unknown";
}

std::string_view to_string(RemoteLookup l) {
  switch (l) {
    case RemoteLookup::pending: return "pending";
    case RemoteLookup::done: return "done";
    case RemoteLookup::none: return "none";
  }
  return "none";
}

void append_remote_info_json(std::string& out, const RemoteInfo& info) {
  out += "{\"e164\":";
  put_opt(out, info.e164);
  out += ",\"extension\":";
  put_opt(out, info.extension);
  out += ",\"kind\":\"";
  out += to_string(info.kind);
  out += "\",\"display\":";
  put_nonempty(out, info.display);
  out += ",\"international\":";
  put_nonempty(out, info.international);
  out += ",\"lookup\":\"";
  out += to_string(info.lookup);
  out += "\",\"contacts\":[";
  bool first = true;
  for (const auto& c : info.contacts) {
    out += first ? "{\"id\":" : ",{\"id\":";
    first = false;
    put_string(out, c.id);
    out += ",\"name\":";
    put_string(out, c.name);
    out += ",\"company\":";
    put_string(out, c.company);
    out += ",\"source\":";
    put_string(out, c.source);
    out += ",\"match\":";
    put_string(out, c.match);
    out += ",\"number\":";
    put_string(out, c.number);
    out += '}';
  }
  out += "]}";
}

RemoteInfo classify_remote(std::string_view remote, const DialingPlan& plan) {
  RemoteInfo r;
  if (remote.empty()) return r;
  if (short_internal(remote)) {
    // What the tracker keeps for internal parties: the extension (or a room / feature code).
    r.kind = RemoteKind::internal;
    r.extension = std::string(remote);
    r.display = std::string(remote);
    r.rule = "a short number: an internal extension (or room / feature code)";
    if (all_digits(remote)) {
      auto c = plan.canonicalize(remote, NumberSource::pbx);
      if (c.kind == CanonicalNumber::Kind::internal && c.extension == remote && !c.e164.empty()) {
        r.e164 = c.e164;
        r.international = phone::format_e164(c.e164, phone::DisplayStyle::international);
      }
    }
    return r;
  }
  auto c = plan.canonicalize(remote, NumberSource::pbx);
  switch (c.kind) {
    case CanonicalNumber::Kind::external:
      if (!c.e164.empty()) {
        fill_external(r, c, plan);
        r.rule = c.via_libphonenumber ? "external number (libphonenumber)" : "external number (dialing plan tables)";
        return r;
      }
      break;
    case CanonicalNumber::Kind::internal:  // a company DID in full ("+4921133990312")
      r.kind = RemoteKind::internal;
      r.extension = c.extension;
      r.display = c.extension;
      r.rule = "a company number (the plan's area and base number): extension " + c.extension;
      if (!c.e164.empty()) {
        r.e164 = c.e164;
        r.international = phone::format_e164(c.e164, phone::DisplayStyle::international);
      }
      return r;
    case CanonicalNumber::Kind::withheld:
      r.kind = RemoteKind::withheld;
      r.rule = "withheld (empty, anonymous or restricted)";
      return r;
    case CanonicalNumber::Kind::invalid: break;
  }
  r.rule = "not a phone number under the dialing plan" + (c.reason.empty() ? std::string() : ": " + std::string(c.reason));
  r.kind = RemoteKind::unknown;  // a SIP URI, letters: show what the PBX said
  r.display = std::string(remote);
  return r;
}

RemoteInfo classify_missing_remote(model::ConnectionState state) {
  // The tracker leaves `remote` unset for withheld callers (JOURNAL.md: remote null) and for a
  // phone that is still dialing (initiated); it fills it as soon as a number is known.
  RemoteInfo r;
  r.kind = state == model::ConnectionState::initiated || state == model::ConnectionState::null
               ? RemoteKind::unknown
               : RemoteKind::withheld;
  return r;
}

std::function<void(const base::TenantId&, const std::string&, RemoteInfoOptions::LookupDone)>
lookup_via(LookupService& service) {
  return [svc = &service](const base::TenantId& tenant, const std::string& e164, RemoteInfoOptions::LookupDone done) {
    svc->async_lookup(tenant, e164, std::move(done));
  };
}

RemoteInfoService::RemoteInfoService(RemoteInfoOptions options, const base::Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      default_plan_(make_default_plan()),
      io_thread_(std::this_thread::get_id()),
      last_gc_(clock.now()) {}

RemoteInfoService::~RemoteInfoService() { flush_journal(); }

std::shared_ptr<const DialingPlan> RemoteInfoService::plan_for(const base::TenantId& tenant) const {
  if (options_.plan) {
    if (auto p = options_.plan(tenant)) return p;
  }
  return default_plan_;
}

RemoteInfoService::Number& RemoteInfoService::acquire(const base::TenantId& tenant, const std::string& remote,
                                                      const std::string& key) {
  auto [it, inserted] = numbers_.try_emplace(key, tenant);
  Number& n = it->second;
  ++n.refs;
  n.released_at.reset();
  if (inserted) {
    n.info = classify_remote(remote, *plan_for(tenant));
    if (n.info.kind == RemoteKind::external && n.info.e164 && options_.lookup &&
        numbers_.size() <= options_.max_numbers) {
      start_lookup(key, tenant, *n.info.e164);
    }
  }
  return n;
}

void RemoteInfoService::release(const std::string& key) {
  auto it = numbers_.find(key);
  if (it == numbers_.end() || it->second.refs <= 0) return;
  if (--it->second.refs == 0) {
    auto now = clock_.now();
    it->second.released_at = now;
    released_.emplace_back(now, key);
  }
}

void RemoteInfoService::release_call(const std::string& call_key) {
  auto it = calls_.find(call_key);
  if (it == calls_.end()) return;
  CallRef cr = std::move(it->second);
  calls_.erase(it);
  for (const auto& k : cr.keys) {
    if (auto n = numbers_.find(k); n != numbers_.end()) std::erase(n->second.calls, cr.call_id);
    release(k);
  }
}

void RemoteInfoService::start_lookup(const std::string& key, const base::TenantId& tenant, const std::string& e164) {
  Number& num = numbers_.at(key);  // callers hold the key
  num.info.lookup = RemoteLookup::pending;
  const std::uint64_t gen = ++num.lookup_gen;
  ++stats_.lookups;
  std::weak_ptr<int> alive = alive_;
  auto post = options_.post;
  const auto io = io_thread_;
  options_.lookup(tenant, e164, [this, alive, post, io, key, gen](LookupResult r) {
    if (std::this_thread::get_id() == io) {  // inline (cache hit) or a test driving it
      if (alive.lock()) finish_lookup(key, gen, r);
      return;
    }
    if (!post) return;  // no way back to the model thread: journal entries time out
    post([this, alive, key, gen, r = std::move(r)] {
      if (alive.lock()) finish_lookup(key, gen, r);
    });
  });
}

void RemoteInfoService::invalidate(const base::TenantId& tenant) { invalidate_matching(&tenant); }
void RemoteInfoService::invalidate_all() { invalidate_matching(nullptr); }

void RemoteInfoService::invalidate_matching(const base::TenantId* tenant) {
  std::vector<std::string> again;
  for (auto it = numbers_.begin(); it != numbers_.end();) {
    Number& n = it->second;
    if (tenant && n.tenant != *tenant) {
      ++it;
    } else if (n.refs == 0) {  // only kept after its calls: the next call starts afresh
      it = numbers_.erase(it);
    } else {
      if (n.info.lookup != RemoteLookup::none && n.info.e164) again.push_back(it->first);
      ++it;
    }
  }
  for (const auto& key : again) {
    auto it = numbers_.find(key);
    if (it == numbers_.end()) continue;  // an inline completion cannot erase, but be safe
    const base::TenantId t = it->second.tenant;
    const std::string e164 = *it->second.info.e164;
    start_lookup(key, t, e164);
  }
}

void RemoteInfoService::finish_lookup(const std::string& key, std::uint64_t gen, const LookupResult& r) {
  auto it = numbers_.find(key);
  if (it == numbers_.end() || it->second.info.lookup != RemoteLookup::pending || it->second.lookup_gen != gen)
    return;
  Number& n = it->second;
  n.info.lookup = RemoteLookup::done;
  ++stats_.lookups_done;
  n.info.contacts.clear();
  for (const auto& m : r.matches) {
    if (n.info.contacts.size() >= options_.max_contacts) break;
    n.info.contacts.push_back(RemoteContact{m.contact.contact_id, m.contact.display_name, m.contact.company,
                                            m.contact.source, std::string(to_string(m.kind)),
                                            m.contact.matched_number});
  }
  if (options_.trace)
    for (const auto& cid : n.calls) trace_lookup(cid, r, clock_.now());
  for (auto& h : held_)
    if (!h.ready && h.key == key) attach(h);
  // "pending" -> "done" is a change even when nobody was found (clients stop waiting).
  const base::TenantId tenant = n.tenant;
  const auto holders = n.holders;  // copied before on_changed may publish and change `n`
  if (options_.on_changed) {
    const auto calls = n.calls;  // on_changed publishes; it must not see us mid-iteration
    for (const auto& cid : calls)
      if (calls_.contains(key_of(tenant, cid))) options_.on_changed(tenant, cid);
  }
  if (options_.on_holder_changed)
    for (const auto& h : holders)
      if (holders_.contains(key_of(tenant, h))) options_.on_holder_changed(tenant, h);
  drain();
}

void RemoteInfoService::hold(const base::TenantId& tenant, const std::string& holder,
                             const std::vector<std::string>& remotes) {
  io_thread_ = std::this_thread::get_id();
  sweep();
  const std::string hk = key_of(tenant, holder);
  std::vector<std::pair<std::string, const std::string*>> want;  // key, remote
  for (const auto& r : remotes) {
    if (r.empty() || want.size() >= kMaxHeldPerHolder) continue;
    std::string k = key_of(tenant, r);
    if (std::none_of(want.begin(), want.end(), [&](const auto& w) { return w.first == k; })) want.emplace_back(k, &r);
  }
  auto it = holders_.find(hk);
  std::vector<std::string> had = it == holders_.end() ? std::vector<std::string>{} : it->second.keys;
  std::vector<std::string> keys;
  for (const auto& [k, r] : want) {
    keys.push_back(k);
    if (std::find(had.begin(), had.end(), k) != had.end()) continue;
    Number& n = acquire(tenant, *r, k);
    n.holders.push_back(holder);
  }
  for (const auto& k : had) {
    if (std::find(keys.begin(), keys.end(), k) != keys.end()) continue;
    if (auto n = numbers_.find(k); n != numbers_.end()) std::erase(n->second.holders, holder);
    release(k);
  }
  if (keys.empty()) {
    holders_.erase(hk);
    return;
  }
  auto [h, inserted] = holders_.try_emplace(hk, tenant);
  h->second.holder = holder;
  h->second.keys = std::move(keys);
}

void RemoteInfoService::observe(const base::TenantId& tenant, const std::string& call_id,
                                const model::CallModel& m) {
  io_thread_ = std::this_thread::get_id();
  sweep();
  const std::string ck = key_of(tenant, call_id);
  const model::Call* c = m.find_call(call_id);
  if (!c || c->connections.empty()) {  // the model drops a call right after its last connection
    release_call(ck);
    return;
  }
  auto [it, inserted] = calls_.try_emplace(ck, tenant);
  if (inserted) {
    it->second.call_id = call_id;
    it->second.model = &m;
  }
  for (const auto& conn : c->connections) {
    if (!conn.remote) {
      if (options_.trace && !it->second.traced_missing && conn.state != model::ConnectionState::initiated) {
        it->second.traced_missing = true;
        options_.trace->add(call_id, ports::TraceStage::number, clock_.now(), "no number",
                            "connection at " + conn.device + " has no remote number (withheld, or the PBX sent none): "
                            "nothing to normalize or look up");
      }
      continue;
    }
    std::string key = key_of(tenant, *conn.remote);
    auto cit = calls_.find(ck);  // re-looked-up: an inline lookup completion may publish
    if (cit == calls_.end()) break;
    auto& keys = cit->second.keys;
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
    keys.push_back(key);
    const bool fresh = !numbers_.contains(key);
    Number& n = acquire(tenant, *conn.remote, key);
    n.calls.push_back(call_id);
    if (options_.trace) trace_number(call_id, n, *conn.remote, fresh);
  }
}

void RemoteInfoService::trace_number(const std::string& call_id, const Number& n, const std::string& remote,
                                     bool fresh) {
  const auto now = clock_.now();
  const auto& i = n.info;
  std::string d = "remote \"" + remote + "\" as the PBX driver reported it -> " + std::string(to_string(i.kind));
  if (i.e164) d += ", E.164 " + *i.e164;
  if (!i.display.empty()) d += ", shown as \"" + i.display + "\"";
  if (!i.rule.empty()) d += "; rule: " + i.rule;
  if (const auto plan = plan_for(n.tenant)) {
    const auto& o = plan->options();
    d += "; dialing plan: country " + o.country_code;
    if (!o.area_code.empty()) d += ", area " + o.area_code;
    if (!o.base_number.empty()) d += ", base " + o.base_number;
    if (!options_.plan || !options_.plan(n.tenant)) d += " (no [dialing] configured: the default)";
  }
  options_.trace->add(call_id, ports::TraceStage::number, now, std::string(to_string(i.kind)), std::move(d));
  std::string what, why;
  switch (i.lookup) {
    case RemoteLookup::pending:
      what = fresh ? "lookup started" : "lookup running";
      why = fresh ? "asking the tenant's directories for " + i.e164.value_or(remote)
                  : "a lookup of this number started for another call is still running";
      break;
    case RemoteLookup::done:
      what = "known";
      why = "looked up for an earlier call still kept: " +
            (i.contacts.empty() ? std::string("nobody found")
                                : i.contacts.front().name + " (" + i.contacts.front().source + ", " +
                                      i.contacts.front().match + ")");
      break;
    case RemoteLookup::none:
      what = "no lookup";
      why = i.kind != RemoteKind::external ? "only external numbers are looked up"
            : !options_.lookup             ? "no directory is configured"
                                           : "too many numbers known at once (max_numbers)";
      break;
  }
  options_.trace->add(call_id, ports::TraceStage::directory, now, std::move(what), std::move(why));
}

void RemoteInfoService::trace_lookup(const std::string& call_id, const LookupResult& r, base::Timestamp at) {
  for (const auto& s : r.sources) {
    std::string what = s.state == SourceOutcome::State::timeout ? "timeout"
                       : s.state == SourceOutcome::State::error ? "error"
                       : s.matches > 0                           ? "match"
                                                                 : "no match";
    std::string d = "source " + s.source + ": " + std::to_string(s.took.count() / 1000) + " ms";
    if (s.state == SourceOutcome::State::ok) d += ", " + std::to_string(s.matches) + " match(es)";
    else if (!s.message.empty()) d += ", " + s.message;
    options_.trace->add(call_id, ports::TraceStage::directory, at, std::move(what), std::move(d));
  }
  std::string d = r.from_cache ? "from the lookup cache; " : "";
  if (r.matches.empty()) {
    d += r.sources.empty() ? "no directory source serves this tenant" : "nobody found for " + r.e164;
  } else {
    const auto& m = r.matches.front();
    d += "shown: " + m.contact.display_name + " (" + m.contact.source + ", " + std::string(to_string(m.kind)) +
         " match on " + m.contact.matched_number + ")";
    if (r.matches.size() > 1) d += ", " + std::to_string(r.matches.size() - 1) + " more";
  }
  if (!r.complete()) d += "; incomplete: a source did not answer in time, the result is not cached";
  options_.trace->add(call_id, ports::TraceStage::directory, at, r.matches.empty() ? "no match" : "match",
                      std::move(d));
}

void RemoteInfoService::annotate(model::JournalEntry entry, bool wait) {
  io_thread_ = std::this_thread::get_id();
  sweep();
  Held h{.id = next_held_++, .entry = std::move(entry)};
  const auto& e = h.entry;
  if (e.remote && !e.remote_withheld && e.direction != model::Direction::internal) {
    h.key = key_of(e.tenant, *e.remote);
    h.order_key = h.key;
    Number& n = acquire(e.tenant, *e.remote, h.key);
    if (n.info.lookup == RemoteLookup::pending && wait && options_.post_after) {
      ++stats_.journal_waited;
      std::weak_ptr<int> alive = alive_;
      options_.post_after(options_.journal_wait, [this, alive, id = h.id] {
        if (alive.lock()) on_timeout(id);
      });
      held_.push_back(std::move(h));
      drain();
      return;
    }
  }
  attach(h);
  held_.push_back(std::move(h));
  drain();
}

void RemoteInfoService::attach(Held& h) {
  h.ready = true;
  if (h.key.empty()) return;
  if (auto it = numbers_.find(h.key); it != numbers_.end() && !it->second.info.contacts.empty()) {
    const auto& best = it->second.info.contacts.front();
    h.entry.contact = model::ContactRef{best.id, best.name, best.company, best.source};
    if (!h.entry.remote_name || h.entry.remote_name->empty()) h.entry.remote_name = best.name;
  }
  std::string key = std::move(h.key);
  h.key.clear();
  release(key);
}

void RemoteInfoService::on_timeout(std::uint64_t held_id) {
  for (auto& h : held_) {
    if (h.id != held_id) continue;
    if (!h.ready) {
      ++stats_.journal_timeouts;
      attach(h);
      drain();
    }
    return;
  }
}

void RemoteInfoService::drain() {
  // Every ready entry leaves unless an earlier entry of its number still waits (then it follows
  // that one). Taken out first, handed out after: journal_out may call back into this service.
  std::vector<model::JournalEntry> out;
  std::vector<std::string_view> waiting;  // numbers of the waiting entries seen so far (few)
  for (auto& h : held_) {
    const bool behind = !h.order_key.empty() && std::find(waiting.begin(), waiting.end(), h.order_key) != waiting.end();
    if (h.ready && !behind) {
      out.push_back(std::move(h.entry));
      h.gone = true;
    } else if (!h.order_key.empty()) {
      waiting.push_back(h.order_key);
    }
  }
  if (out.empty()) return;
  std::erase_if(held_, [](const Held& h) { return h.gone; });
  if (options_.journal_out)
    for (auto& e : out) options_.journal_out(std::move(e));
}

void RemoteInfoService::flush_journal() {
  for (auto& h : held_)
    if (!h.ready) attach(h);
  drain();
}

void RemoteInfoService::sweep() {
  const auto now = clock_.now();
  while (!released_.empty() && released_.front().first + options_.keep_after_call <= now) {
    auto [at, key] = std::move(released_.front());
    released_.pop_front();
    auto it = numbers_.find(key);
    if (it != numbers_.end() && it->second.refs == 0 && it->second.released_at == at) numbers_.erase(it);
  }
  // Calls can vanish without an event of their own (merged into another on a transfer).
  if (now - last_gc_ >= kCallGcInterval) {
    last_gc_ = now;
    std::vector<std::string> gone;
    for (const auto& [ck, cr] : calls_)
      if (!cr.model->find_call(cr.call_id)) gone.push_back(ck);
    for (const auto& ck : gone) release_call(ck);
  }
}

const RemoteInfo* RemoteInfoService::find(const base::TenantId& tenant, std::string_view remote) const {
  auto it = numbers_.find(key_of(tenant, remote));
  return it == numbers_.end() ? nullptr : &it->second.info;
}

void RemoteInfoService::append_remote_info(std::string& out, const base::TenantId& tenant,
                                           const model::Connection& conn) const {
  if (!conn.remote) return append_remote_info_json(out, classify_missing_remote(conn.state));
  if (const auto* info = find(tenant, *conn.remote)) return append_remote_info_json(out, *info);
  // Not observed (yet): classified, no lookup.
  append_remote_info_json(out, classify_remote(*conn.remote, *plan_for(tenant)));
}

RemoteInfoService::Stats RemoteInfoService::stats() const {
  Stats s = stats_;
  s.numbers = numbers_.size();
  s.calls = calls_.size();
  s.held = held_.size();
  return s;
}

}  // namespace callbridge::core
