#include "webhooks/delivery/dispatcher.hpp"

#include <curl/curl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <deque>
#include <map>
#include <optional>
#include <random>

#include "webhooks/delivery/body_template.hpp"
#include "webhooks/delivery/signing.hpp"

namespace callbridge::webhooks {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kMaxUrlBytes = 2048;
// How long the delivery thread sleeps at most while nothing is in flight: the most a new event
// waits before its delivery starts (offer() does not wake the thread; see there).
constexpr std::chrono::milliseconds kIdlePoll{10};
// The delivery log is written in batches, one SQLite transaction each (a transaction per delivery
// was most of the engine's cost): at most this many rows, at most this late, and at once when the
// thread goes idle or stops. A kill -9 loses at most the rows of the last kLogDelay.
constexpr std::size_t kLogBatch = 256;
constexpr std::chrono::milliseconds kLogDelay{50};

std::uint8_t stream_bit(Stream s) { return static_cast<std::uint8_t>(1u << static_cast<unsigned>(s)); }

// The stream an event type comes from: which messages offer() has to keep for a hook.
std::uint8_t streams_of(const std::vector<std::string>& events) {
  std::uint8_t m = 0;
  for (const auto& e : events) {
    if (e.starts_with("call.") && e != "call.missed") m |= stream_bit(Stream::call);
    else if (e == "call.missed" || e == "journal.entry") m |= stream_bit(Stream::journal);
    else if (e == "presence.changed") m |= stream_bit(Stream::line);
    else if (e == "queue.changed") m |= stream_bit(Stream::queue);
    else if (e == "anydevice.changed") m |= stream_bit(Stream::any_device);
  }
  return m;
}

std::once_flag g_curl_init;

}  // namespace

struct Dispatcher::Hook {
  ports::Webhook hook;
  std::optional<json::value> tpl;  // parsed body template; none: the default body
  bool wants(std::string_view type) const {
    return type == "ping" || std::find(hook.events.begin(), hook.events.end(), type) != hook.events.end();
  }
};

struct Dispatcher::Inbound {
  base::TenantId tenant;
  Stream stream = Stream::call;
  std::string json;
  bool call_gone = false;
  std::string ping_hook;  // non-empty: a ping for this hook (json unused)
};

struct Dispatcher::Job {
  explicit Job(ports::WebhookDelivery r) : rec(std::move(r)) {}
  std::string chain;  // hook id + '\n' + order key
  std::string url, secret, body;
  ports::WebhookDelivery rec;
  Clock::time_point first_try{};
};

// One transfer in flight.
struct Attempt {
  Dispatcher::Job* job = nullptr;
  const AddressPolicy* policy = nullptr;
  curl_slist* headers = nullptr;
  curl_slist* resolve = nullptr;
  std::size_t received = 0, max_received = 0;
  bool too_big = false;
  std::string blocked;  // "address 10.0.0.1 is private", the last refused connection
  std::atomic<std::uint64_t>* blocked_count = nullptr;
  char error[CURL_ERROR_SIZE] = {0};
};

struct Dispatcher::Loop {
  CURLM* multi = nullptr;
  // Per hook and order key: the deliveries in order; the head is in flight, waiting for its retry,
  // or ready.
  std::unordered_map<std::string, std::deque<std::unique_ptr<Job>>> chains;
  std::deque<std::string> ready;                    // chains whose head may start now
  // Appends a delivery to its chain; a chain that was empty becomes ready.
  void enqueue(std::unique_ptr<Job> job) {
    auto& chain = chains[job->chain];
    if (chain.empty()) ready.push_back(job->chain);
    chain.push_back(std::move(job));
  }
  std::multimap<Clock::time_point, std::string> timers;  // chains whose head retries then
  std::unordered_map<CURL*, std::unique_ptr<Attempt>> in_flight;
  std::unordered_map<std::string, Clock::time_point> last_warning;  // per hook: logs stay readable
  std::mt19937_64 rng{std::random_device{}()};
  Clock::time_point next_prune = Clock::now();
  ~Loop() {
    for (auto& [e, a] : in_flight) {
      curl_multi_remove_handle(multi, e);
      curl_easy_cleanup(e);
      curl_slist_free_all(a->headers);
      curl_slist_free_all(a->resolve);
    }
    if (multi) curl_multi_cleanup(multi);
  }
};

namespace {

// CURLOPT_OPENSOCKETFUNCTION: every connection curl makes (first hop, redirects, happy-eyeballs
// candidates) passes here with the resolved address, so DNS answers cannot route around the policy.
curl_socket_t open_socket(void* clientp, curlsocktype purpose, curl_sockaddr* address) {
  auto* a = static_cast<Attempt*>(clientp);
  std::string text;
  if (auto why = a->policy->refusal(&address->addr, &text)) {
    a->blocked = "address " + text + " is " + std::string(*why) +
                 " (refused by the webhook address policy; [webhooks] allow lists ranges that may be reached)";
    a->blocked_count->fetch_add(1, std::memory_order_relaxed);
    return CURL_SOCKET_BAD;
  }
  return ::socket(address->family, address->socktype, address->protocol);
}

std::size_t on_body(char* p, std::size_t size, std::size_t n, void* userdata) {
  auto* a = static_cast<Attempt*>(userdata);
  a->received += size * n;
  if (a->received > a->max_received) {
    a->too_big = true;
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
  }
  return size * n;
}

enum class Verdict { delivered, retry, fail };

struct Outcome {
  Verdict verdict;
  int http_status = 0;
  std::string error;
};

Outcome classify(CURL* e, CURLcode rc, const Attempt& a, std::size_t max_bytes) {
  long code = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
  const int status = static_cast<int>(code);
  if (!a.blocked.empty() && rc != CURLE_OK) return {Verdict::fail, 0, a.blocked};
  if (a.too_big || rc == CURLE_FILESIZE_EXCEEDED)
    return {Verdict::fail, status, "response body larger than " + std::to_string(max_bytes) + " bytes"};
  if (rc == CURLE_OK) {
    if (status >= 200 && status < 300) return {Verdict::delivered, status, ""};
    const std::string err = "HTTP " + std::to_string(status);
    if (status >= 500 || status == 408 || status == 429) return {Verdict::retry, status, err};
    if (status >= 300 && status < 400) return {Verdict::fail, status, err + " (redirect without a usable Location)"};
    return {Verdict::fail, status, err};
  }
  std::string err = curl_easy_strerror(rc);
  if (a.error[0]) err += std::string(": ") + a.error;
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
      return {Verdict::retry, status, err};
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return {Verdict::fail, status, err};
    default:
      return {Verdict::retry, status, err};
  }
}

}  // namespace

Dispatcher::Dispatcher(ports::WebhookStore& store, DispatcherOptions options)
    : store_(store),
      options_(std::move(options)),
      policy_(options_.allow),
      clock_(options_.clock ? *options_.clock : system_clock_) {}

base::Result<std::unique_ptr<Dispatcher>> Dispatcher::start(ports::WebhookStore& store, DispatcherOptions options) {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (!options.ca_file.empty()) {
    std::ifstream ca(options.ca_file);
    std::string first;
    if (!ca || !std::getline(ca, first))
      return base::fail(base::Error::invalid_argument("webhooks: [webhooks] ca_file " + options.ca_file +
                                                      ": cannot be read (" + std::strerror(errno) + ")"));
    if (first.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
      return base::fail(base::Error::invalid_argument("webhooks: [webhooks] ca_file " + options.ca_file +
                                                      ": not a PEM certificate file (it must start with "
                                                      "-----BEGIN CERTIFICATE-----)"));
  }
  std::unique_ptr<Dispatcher> d(new Dispatcher(store, std::move(options)));
  d->loop_ = std::make_unique<Loop>();
  d->loop_->multi = curl_multi_init();
  if (!d->loop_->multi) return base::fail(base::Error::internal("webhooks: curl_multi_init failed"));
  curl_multi_setopt(d->loop_->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(d->options_.max_in_flight));
  if (auto st = d->load_all(); !st) return base::fail(st.error());
  d->resume_saved();
  d->thread_ = std::thread([p = d.get()] { p->run(); });
  return d;
}

Dispatcher::~Dispatcher() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  if (loop_ && loop_->multi) curl_multi_wakeup(loop_->multi);
  if (thread_.joinable()) thread_.join();
}

void Dispatcher::resume_saved() {
  auto saved = store_.take_pending(clock_.now(),
                                   "callbridged stopped before this delivery was made and did not save it "
                                   "(it did not stop cleanly)");
  if (!saved) {
    spdlog::error("webhooks: the deliveries saved at the last stop could not be read: {}", saved.error().message());
    return;
  }
  Loop& L = *loop_;
  std::size_t resumed = 0, gone = 0;
  const auto wall_now = clock_.now();
  for (auto& p : *saved) {
    const Hook* hook = nullptr;
    if (auto it = hooks_.find(p.rec.tenant); it != hooks_.end())
      for (const auto& h : *it->second)
        if (h.hook.id == p.rec.hook_id) hook = &h;
    const auto age = wall_now - p.rec.created_at;
    if (!hook || age > options_.retry_for || pending_.load() >= options_.pending_limit) {
      ++gone;
      continue;
    }
    auto job = std::make_unique<Job>(std::move(p.rec));
    job->chain = std::move(p.chain);
    job->url = hook->hook.url;
    job->secret = hook->hook.secret;
    job->body = std::move(p.body);
    // The retry window goes on from the event's time, not from the restart.
    job->first_try = Clock::now() - std::chrono::duration_cast<Clock::duration>(std::max(age, decltype(age)::zero()));
    pending_.fetch_add(1);
    L.enqueue(std::move(job));
    ++resumed;
  }
  if (resumed + gone > 0)
    spdlog::info("webhooks: resuming {} deliveries saved at the last stop ({} left out: hook removed, older than "
                 "retry_for or over the pending limit)",
                 resumed, gone);
}

void Dispatcher::save_unfinished() {
  Loop& L = *loop_;
  std::vector<ports::PendingDelivery> out;
  out.reserve(pending_.load());
  for (auto& [key, chain] : L.chains)
    for (auto& job : chain) {
      ports::PendingDelivery p{.rec = job->rec, .chain = job->chain, .body = job->body};
      out.push_back(std::move(p));
    }
  if (out.empty()) {
    (void)store_.save_pending(out);  // clears what a previous stop may have left
    return;
  }
  if (auto st = store_.save_pending(out); !st) {
    spdlog::error("webhooks: stopped with {} deliveries not made; saving them failed (they are lost): {}", out.size(),
                  st.error().message());
    return;
  }
  spdlog::info("webhooks: stopped with {} deliveries not made; saved, they go out after the next start",
               out.size());
}

namespace {
std::vector<Dispatcher::Hook> to_hooks(std::vector<ports::Webhook> hooks) {
  std::vector<Dispatcher::Hook> out;
  for (auto& h : hooks) {
    Dispatcher::Hook x{std::move(h), std::nullopt};
    if (!x.hook.body_template.empty()) {
      auto t = parse_body_template(x.hook.body_template);
      if (!t) {
        spdlog::error("webhook {} (tenant {}): {}; sending the default body", x.hook.id, x.hook.tenant.str(),
                      t.error().message());
      } else {
        x.tpl = std::move(*t);
      }
    }
    out.push_back(std::move(x));
  }
  return out;
}
}  // namespace

base::Status Dispatcher::load_all() {
  auto all = store_.list_all();
  if (!all) return base::fail(all.error());
  std::unordered_map<base::TenantId, std::vector<ports::Webhook>> by_tenant;
  for (auto& h : *all) by_tenant[h.tenant].push_back(std::move(h));
  std::lock_guard lk(mu_);
  for (auto& [t, hs] : by_tenant) {
    auto v = std::make_shared<const std::vector<Hook>>(to_hooks(std::move(hs)));
    std::uint8_t m = 0;
    for (const auto& h : *v) m |= streams_of(h.hook.events);
    wanted_.insert_or_assign(t, m);
    hooks_.insert_or_assign(t, std::move(v));
  }
  return {};
}

void Dispatcher::reload(const base::TenantId& tenant) {
  auto hs = store_.list(tenant);
  if (!hs) {
    spdlog::error("webhooks: reloading the hooks of tenant {}: {}", tenant.str(), hs.error().message());
    return;
  }
  auto v = std::make_shared<const std::vector<Hook>>(to_hooks(std::move(*hs)));
  std::uint8_t m = 0;
  for (const auto& h : *v) m |= streams_of(h.hook.events);
  bool wake = false;
  {
    std::lock_guard lk(mu_);
    wanted_.insert_or_assign(tenant, m);
    hooks_.insert_or_assign(tenant, std::move(v));
    wake = std::exchange(sleeping_, false);  // it may be in the long sleep of "no hooks at all"
  }
  if (wake) curl_multi_wakeup(loop_->multi);
}

void Dispatcher::offer(const base::TenantId& tenant, Stream stream, std::string_view json, bool call_gone) {
  {
    std::lock_guard lk(mu_);
    auto it = wanted_.find(tenant);
    if (it == wanted_.end() || !(it->second & stream_bit(stream))) return;
    if (inbound_.size() >= options_.queue_limit) {
      const auto n = overflow_.fetch_add(1, std::memory_order_relaxed);
      if (n % 1000 == 0)
        spdlog::warn("webhooks: queue full ({} messages); dropping events (dropped so far: {})", inbound_.size(),
                     n + 1);
      return;
    }
    inbound_.push_back(Inbound{tenant, stream, std::string(json), call_gone, {}});
    offered_.fetch_add(1, std::memory_order_relaxed);
  }
  // No wake-up from here: waking the delivery thread (a write to curl's socketpair) let the
  // scheduler run it on this core at once, and a paced publish took ~30 us instead of ~4
  // (bench/webhooks_deliver). The thread looks at the queue at least every kIdlePoll instead.
}

bool Dispatcher::ping(const base::TenantId& tenant, std::string_view hook_id) {
  bool wake = false;
  {
    std::lock_guard lk(mu_);
    auto it = hooks_.find(tenant);
    if (it == hooks_.end()) return false;
    const auto& hs = *it->second;
    if (std::none_of(hs.begin(), hs.end(), [&](const Hook& h) { return h.hook.id == hook_id; })) return false;
    if (inbound_.size() >= options_.queue_limit) {
      overflow_.fetch_add(1, std::memory_order_relaxed);
      return true;  // counted like any event; the log shows no delivery
    }
    inbound_.push_back(Inbound{tenant, Stream::call, {}, false, std::string(hook_id)});
    wake = std::exchange(sleeping_, false);
  }
  if (wake) curl_multi_wakeup(loop_->multi);
  return true;
}

std::string Dispatcher::url_problem(std::string_view url) const {
  if (url.empty() || url.size() > kMaxUrlBytes) return "url: 1-" + std::to_string(kMaxUrlBytes) + " characters";
  if (std::any_of(url.begin(), url.end(), [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; }))
    return "url: no spaces or control characters";
  CURLU* u = curl_url();
  std::string problem;
  char* scheme = nullptr;
  char* host = nullptr;
  char* user = nullptr;
  if (curl_url_set(u, CURLUPART_URL, std::string(url).c_str(), 0) != CURLUE_OK) {
    problem = "url: not a URL";
  } else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
             !(std::string_view(scheme) == "https" || std::string_view(scheme) == "http")) {
    problem = "url: must start with https://";
  } else if (std::string_view(scheme) == "http" && !options_.allow_http) {
    problem = "url: must start with https:// (plain http:// needs [webhooks] allow_http = true)";
  } else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
    problem = "url: no user name or password in the URL (the signature authenticates deliveries)";
  } else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0]) {
    problem = "url: no host";
  } else {
    std::string h(host);
    if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
    // An address literal is judged now; a name is judged on every connection, after DNS.
    if (base::Cidr::parse(h)) {
      if (auto why = policy_.refusal(h))
        problem = "url: address " + h + " is " + std::string(*why) +
                  " (refused by the webhook address policy; [webhooks] allow lists ranges that may be reached)";
    }
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(user);
  curl_url_cleanup(u);
  return problem;
}

std::string Dispatcher::template_problem(std::string_view body_template) const {
  if (body_template.empty()) return {};
  auto t = parse_body_template(body_template);
  return t ? std::string() : t.error().message();
}

std::string Dispatcher::new_hook_id() const { return random_token("wh_", 8); }
std::string Dispatcher::new_secret() const { return random_token("whsec_", 32); }

DispatcherStats Dispatcher::stats() const {
  DispatcherStats s;
  s.offered = offered_.load();
  s.overflow = overflow_.load();
  s.pending_overflow = pending_overflow_.load();
  s.events = events_.load();
  s.attempts = attempts_.load();
  s.delivered = delivered_.load();
  s.failed = failed_.load();
  s.retries = retries_.load();
  s.blocked = blocked_.load();
  s.pending = pending_.load();
  std::lock_guard lk(mu_);
  s.queued = inbound_.size();
  return s;
}

bool Dispatcher::wait_idle(Clock::time_point deadline) const {
  // Polls: used by tests and benchmarks only, never on a serving path.
  for (;;) {
    {
      std::lock_guard lk(mu_);
      if (inbound_.empty() && taken_.load() == 0 && pending_.load() == 0 && unlogged_.load() == 0) return true;
    }
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void Dispatcher::run() {
  Loop& L = *loop_;
  std::vector<ports::WebhookDelivery> log;
  Clock::time_point log_since{};
  auto record = [&](const ports::WebhookDelivery& d) {
    if (log.empty()) log_since = Clock::now();
    log.push_back(d);
    unlogged_.store(log.size());
  };
  auto flush_log = [&] {
    if (log.empty()) return;
    if (auto st = store_.record_all(log); !st) spdlog::error("webhooks: {}", st.error().message());
    log.clear();
    unlogged_.store(0);
  };
  auto finish_head = [&](const std::string& chain) {
    auto it = L.chains.find(chain);
    if (it == L.chains.end()) return;
    it->second.pop_front();
    pending_.fetch_sub(1);
    if (it->second.empty()) L.chains.erase(it);
    else L.ready.push_back(chain);
  };
  auto hook_alive = [this](const base::TenantId& tenant, const std::string& id) {
    std::lock_guard lk(mu_);
    auto it = hooks_.find(tenant);
    if (it == hooks_.end()) return false;
    return std::any_of(it->second->begin(), it->second->end(), [&](const Hook& h) { return h.hook.id == id; });
  };

  auto fan_out = [&](Inbound& in) {
    std::shared_ptr<const std::vector<Hook>> hooks;
    {
      std::lock_guard lk(mu_);
      if (auto it = hooks_.find(in.tenant); it != hooks_.end()) hooks = it->second;
    }
    if (!hooks || hooks->empty()) return;
    const auto now = clock_.now();
    std::vector<WebhookEvent> events;
    if (!in.ping_hook.empty()) events.push_back(ping_event(in.tenant, now));
    else events = webhook_events(in.tenant, in.stream, in.json, in.call_gone, now);
    for (auto& ev : events) {
      std::string default_body;
      for (const auto& h : *hooks) {
        if (!in.ping_hook.empty() ? h.hook.id != in.ping_hook : !h.wants(ev.type)) continue;
        if (pending_.load() >= options_.pending_limit) {
          const auto n = pending_overflow_.fetch_add(1);
          if (n % 1000 == 0)
            spdlog::warn("webhooks: {} deliveries waiting; dropping new ones (dropped so far: {})", pending_.load(),
                         n + 1);
          continue;
        }
        auto job = std::make_unique<Job>(
            ports::WebhookDelivery{.id = random_token("dl_", 8), .hook_id = h.hook.id, .tenant = in.tenant});
        job->chain = h.hook.id + '\n' + ev.order_key;
        job->url = h.hook.url;
        job->secret = h.hook.secret;
        if (h.tpl) {
          job->body = json::serialize(render_body(*h.tpl, ev.body));
        } else {
          if (default_body.empty()) default_body = json::serialize(ev.body);
          job->body = default_body;
        }
        job->rec.event_type = ev.type;
        job->rec.event_id = std::string(ev.body.at("id").as_string());
        job->rec.state = "pending";
        job->rec.created_at = now;
        job->first_try = Clock::now();
        events_.fetch_add(1);
        pending_.fetch_add(1);
        L.enqueue(std::move(job));
      }
    }
  };

  auto start_transfer = [&](Job& job) {
    CURL* e = curl_easy_init();
    if (!e) return false;
    auto a = std::make_unique<Attempt>();
    a->job = &job;
    a->policy = &policy_;
    a->max_received = options_.max_response_bytes;
    a->blocked_count = &blocked_;
    ++job.rec.attempts;
    attempts_.fetch_add(1);
    const std::int64_t ts =
        std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
    const std::vector<std::string> headers{std::string("Content-Type: application/json"), "User-Agent: callbridge-webhooks/1",
          "X-Callbridge-Event: " + job.rec.event_type, "X-Callbridge-Delivery: " + job.rec.id,
          "X-Callbridge-Hook: " + job.rec.hook_id, "X-Callbridge-Attempt: " + std::to_string(job.rec.attempts),
          "X-Callbridge-Timestamp: " + std::to_string(ts),
          "X-Callbridge-Signature: " + signature_header(job.secret, ts, job.body), std::string("Expect:")};
    for (const auto& h : headers)
      a->headers = curl_slist_append(a->headers, h.c_str());
    for (const auto& r : options_.resolve) a->resolve = curl_slist_append(a->resolve, r.c_str());
    const char* protocols = options_.allow_http ? "http,https" : "https";
    curl_easy_setopt(e, CURLOPT_URL, job.url.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, protocols);
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, protocols);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, static_cast<long>(options_.max_redirects));
    curl_easy_setopt(e, CURLOPT_POSTREDIR, static_cast<long>(CURL_REDIR_POST_ALL));  // a redirect still POSTs
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, job.body.c_str());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(job.body.size()));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, a->headers);
    if (a->resolve) curl_easy_setopt(e, CURLOPT_RESOLVE, a->resolve);
    curl_easy_setopt(e, CURLOPT_PROXY, "");  // never through an environment proxy: the policy checks the peer
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options_.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, options_.ca_file.c_str());
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options_.max_response_bytes));
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, a.get());
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, a.get());
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, a->error);
    curl_easy_setopt(e, CURLOPT_PRIVATE, a.get());
    if (curl_multi_add_handle(L.multi, e) != CURLM_OK) {
      curl_slist_free_all(a->headers);
      curl_slist_free_all(a->resolve);
      curl_easy_cleanup(e);
      return false;
    }
    L.in_flight.emplace(e, std::move(a));
    in_flight_.fetch_add(1);
    return true;
  };

  auto start_ready = [&] {
    while (!L.ready.empty() && L.in_flight.size() < options_.max_in_flight) {
      std::string chain = std::move(L.ready.front());
      L.ready.pop_front();
      auto it = L.chains.find(chain);
      if (it == L.chains.end() || it->second.empty()) continue;
      Job& job = *it->second.front();
      if (!hook_alive(job.rec.tenant, job.rec.hook_id)) {  // removed meanwhile: its chain goes
        pending_.fetch_sub(it->second.size());
        L.chains.erase(it);
        continue;
      }
      if (!start_transfer(job)) L.timers.emplace(Clock::now() + std::chrono::seconds(1), chain);
    }
  };

  auto complete = [&](CURL* e, CURLcode rc) {
    auto node = L.in_flight.extract(e);
    if (node.empty()) return;
    std::unique_ptr<Attempt> a = std::move(node.mapped());
    in_flight_.fetch_sub(1);
    Job& job = *a->job;
    const Outcome o = classify(e, rc, *a, options_.max_response_bytes);
    curl_multi_remove_handle(L.multi, e);
    curl_easy_cleanup(e);
    curl_slist_free_all(a->headers);
    curl_slist_free_all(a->resolve);
    job.rec.http_status = o.http_status;
    job.rec.last_error = o.error;
    job.rec.updated_at = clock_.now();
    const std::string chain = job.chain;
    if (o.verdict == Verdict::delivered) {
      job.rec.state = "delivered";
      delivered_.fetch_add(1);
      record(job.rec);
      finish_head(chain);
      return;
    }
    if (o.verdict == Verdict::retry) {
      // Exponential backoff with jitter: initial * 2^(attempt-1), capped, then scaled by [0.5, 1].
      auto d = options_.backoff_initial;
      for (int i = 1; i < job.rec.attempts && d < options_.backoff_max; ++i) d *= 2;
      d = std::min(d, options_.backoff_max);
      std::uniform_real_distribution<double> jitter(0.5, 1.0);
      const auto delay = std::chrono::milliseconds(static_cast<std::int64_t>(d.count() * jitter(L.rng)));
      const auto due = Clock::now() + delay;
      if (due - job.first_try <= options_.retry_for) {
        job.rec.state = "retrying";
        retries_.fetch_add(1);
        record(job.rec);
        L.timers.emplace(due, chain);
        return;
      }
      job.rec.last_error = "gave up after " + std::to_string(job.rec.attempts) + " attempts: " + o.error;
    }
    job.rec.state = "failed";
    failed_.fetch_add(1);
    record(job.rec);
    auto& warned = L.last_warning[job.rec.hook_id];
    if (Clock::now() - warned > std::chrono::minutes(1)) {
      warned = Clock::now();
      spdlog::warn("webhook {} (tenant {}): delivery {} of {} to {} failed: {}", job.rec.hook_id,
                   job.rec.tenant.str(), job.rec.id, job.rec.event_type, job.url, job.rec.last_error);
    }
    finish_head(chain);
  };

  std::vector<Inbound> in;
  for (;;) {
    {
      std::lock_guard lk(mu_);
      if (stopping_) break;
      in.swap(inbound_);  // `in` was cleared below: offer() pushes into its old capacity
      taken_.store(in.size());
    }
    for (auto& i : in) fan_out(i);
    in.clear();
    taken_.store(0);  // now counted in pending_ (or dropped, or matched no hook)
    const auto now = Clock::now();
    while (!L.timers.empty() && L.timers.begin()->first <= now) {
      L.ready.push_back(std::move(L.timers.begin()->second));
      L.timers.erase(L.timers.begin());
    }
    start_ready();
    int running = 0;
    curl_multi_perform(L.multi, &running);
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(L.multi, &left))
      if (m->msg == CURLMSG_DONE) complete(m->easy_handle, m->data.result);
    start_ready();
    if (log.size() >= kLogBatch || (!log.empty() && Clock::now() - log_since >= kLogDelay) ||
        (L.in_flight.empty() && L.ready.empty()))
      flush_log();
    if (Clock::now() >= L.next_prune) {
      L.next_prune = Clock::now() + std::chrono::hours(1);
      auto n = store_.prune_before(clock_.now() - options_.log_retention);
      if (!n) spdlog::error("webhooks: {}", n.error().message());
    }

    // Sleep until curl has work, a retry is due, ping()/reload() or the destructor wakes us, or
    // kIdlePoll (offer() does not wake us, see there).
    auto wait = kIdlePoll;
    if (!L.timers.empty())
      wait = std::min(wait, std::chrono::ceil<std::chrono::milliseconds>(
                                std::max(Clock::duration::zero(), L.timers.begin()->first - Clock::now())));
    if (!L.ready.empty() && L.in_flight.size() < options_.max_in_flight) wait = std::chrono::milliseconds(0);
    if (!log.empty())
      wait = std::min(wait, std::chrono::ceil<std::chrono::milliseconds>(
                                std::max(Clock::duration::zero(), log_since + kLogDelay - Clock::now())));
    {
      std::lock_guard lk(mu_);
      if (stopping_) break;
      if (!inbound_.empty()) continue;
      // No tenant wants any event: offer() queues nothing, so nothing needs the idle poll; sleep
      // until a retry or the hourly prune is due, or reload()/ping()/the destructor wakes us.
      if (L.in_flight.empty() && L.ready.empty() &&
          std::all_of(wanted_.begin(), wanted_.end(), [](const auto& w) { return w.second == 0; })) {
        auto until = L.next_prune;
        if (!L.timers.empty()) until = std::min(until, L.timers.begin()->first);
        wait = std::max(wait, std::chrono::ceil<std::chrono::milliseconds>(
                                  std::max(Clock::duration::zero(), until - Clock::now())));
      }
      sleeping_ = true;
    }
    curl_multi_poll(L.multi, nullptr, 0, static_cast<int>(wait.count()), nullptr);
    {
      std::lock_guard lk(mu_);
      sleeping_ = false;
    }
  }
  // Stopping: the log written, events still queued become deliveries, and everything not yet
  // delivered is saved.
  flush_log();
  {
    std::lock_guard lk(mu_);
    in.swap(inbound_);
  }
  for (auto& i : in) fan_out(i);
  save_unfinished();
}

}  // namespace callbridge::webhooks
