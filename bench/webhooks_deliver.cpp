// bench/webhooks_deliver: what webhooks cost (docs/performance.md "Webhooks", docs/webhooks.md).
// 1. The call path: EventHub publishes of a ~700-byte call message (as on_call_event builds it), per
//    publish time (mean, p50, p99) with no tap (the baseline, measured in the same run), with the
//    delivery engine's tap and no hooks, and with 10 hooks of the tenant that want every call event
//    (each publish is copied into the engine's queue while its thread delivers to a local receiver
//    that refuses connections: the engine's own work competes for the CPU as it would in service).
// 2. Deliveries per second to a local receiver (Python's http.server, src/webhooks/delivery/
//    test_receiver.py, HTTP/1.1 keep-alive: it bounds both clients), against
//    the same number of plain libcurl POSTs to the same receiver from one easy handle (baseline); the
//    engine with 1 transfer in flight (its own overhead: signing, the log in webhooks.db) and 16.
// --smoke: small counts, checks that every delivery arrived and nothing overflowed.
#include <CLI/CLI.hpp>
#include <curl/curl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "core/event_hub.hpp"
#include "webhooks/delivery/dispatcher.hpp"
#include "webhooks/sqlite/sqlite_webhook_store.hpp"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace callbridge;

const base::TenantId kTenant("bench");

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

// The tail of a call message after "seq": what EventHub::on_call_event builds for a ringing call.
std::string call_tail(int i) {
  const std::string id = "1795382753." + std::to_string(i);
  return R"(,"event":"delivered","call":{"id":")" + id +
         R"(","tenant":"bench","created_at":"2026-12-07T01:00:00.000Z","connections":[{"device":"101","state":"alerting",)"
         R"("remote":"+4989123456","remote_info":{"e164":"+4989123456","extension":null,"kind":"external",)"
         R"("display":"089 123456","international":"+49 89 123456","lookup":"done","contacts":[{"id":"17",)"
         R"("name":"Max Muster","company":"ACME GmbH","source":"store","match":"exact","number":"+4989123456"}]},)"
         R"("since":"2026-12-07T01:00:00.000Z"},{"device":"+4989123456","state":"connected","remote":"101"}],)"
         R"("allowed_actions":{"101":["answer","hangup","deflect"]},"unavailable_actions":{}},"device":"101",)"
         R"("state":"alerting","at":"2026-12-07T01:00:00.000Z","cause":null})";
}

class ReceiverProcess {
 public:
  explicit ReceiverProcess(const std::string& script) {
    int fds[2];
    if (::pipe(fds) != 0) std::exit(1);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::dup2(fds[1], 1);
      ::close(fds[0]);
      ::close(fds[1]);
      ::execlp("python3", "python3", script.c_str(), "127.0.0.1", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    out_ = ::fdopen(fds[0], "r");
    char* line = nullptr;
    std::size_t cap = 0;
    if (::getline(&line, &cap, out_) > 0 && std::string_view(line).starts_with("PORT ")) port_ = std::atoi(line + 5);
    std::free(line);
    // The request lines go to a reader that only counts them (the pipe must not fill up).
    reader_ = std::thread([this] {
      char* l = nullptr;
      std::size_t c = 0;
      while (::getline(&l, &c, out_) > 0) ++lines_;
      std::free(l);
    });
  }
  ~ReceiverProcess() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    reader_.join();
    std::fclose(out_);
  }
  int port() const { return port_; }
  std::size_t lines() const { return lines_.load(); }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  int port_ = 0;
  std::atomic<std::size_t> lines_{0};
  std::thread reader_;
};

struct PathResult {
  double mean_ns, p50_ns, p99_ns;
};

// Publishes `n` call messages through a hub whose tap (if any) feeds `d`; time per publish.
// `per_s` > 0: paced at that rate (a real PBX's pace), else back to back (a flood).
PathResult publish_times(int n, webhooks::Dispatcher* d, int per_s = 0) {
  core::EventHub hub;
  if (d)
    hub.set_tap([d](const core::TappedMessage& m) {
      d->offer(m.tenant, webhooks::Stream::call, m.json, m.call_gone);
    });
  std::vector<std::string> tails;
  for (int i = 0; i < 64; ++i) tails.push_back(call_tail(i));
  std::vector<double> ns;
  ns.reserve(static_cast<std::size_t>(n));
  const auto all0 = Clock::now();
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    if (per_s > 0) std::this_thread::sleep_until(all0 + std::chrono::microseconds(1'000'000LL * i / per_s));
    const auto t0 = Clock::now();
    hub.publish_raw(kTenant, core::HubMessage::Kind::call, {"101"}, "call", tails[static_cast<std::size_t>(i) % 64]);
    ns.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t0).count());
    sum += ns.back();
  }
  const double mean = sum / n;
  return {mean, pct(ns, 0.5), pct(ns, 0.99)};
}

std::size_t sink(char*, std::size_t s, std::size_t n, void*) { return s * n; }

// The baseline of part 2: n sequential POSTs of `body` from one easy handle (keep-alive).
double plain_curl_per_s(const std::string& url, const std::string& body, int n) {
  CURL* e = curl_easy_init();
  curl_slist* h = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  const auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) curl_easy_perform(e);
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  curl_slist_free_all(h);
  curl_easy_cleanup(e);
  return n / s;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"webhooks_deliver - webhook call-path cost and deliveries/s"};
  int publishes = 200'000, deliveries = 3'000;
  bool smoke = false;
  app.add_option("--publishes", publishes, "call messages published per case (part 1)");
  app.add_option("--deliveries", deliveries, "deliveries to the local receiver (part 2)");
  app.add_flag("--smoke", smoke, "small counts, correctness checks");
  CLI11_PARSE(app, argc, argv);
  if (smoke) publishes = 5'000, deliveries = 200;
  spdlog::set_level(spdlog::level::err);
  curl_global_init(CURL_GLOBAL_DEFAULT);

  const fs::path dir = fs::temp_directory_path() / ("cb_bench_webhooks_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  int status = 0;
  {
    auto store = std::move(*webhooks::SqliteWebhookStore::open((dir / "webhooks.db").string()));
    webhooks::DispatcherOptions o;
    o.allow = {*base::Cidr::parse("127.0.0.1")};
    o.allow_http = true;
    // Room for every message of part 1 even if the delivery thread never ran meanwhile (a loaded
    // machine): the smoke's check is that nothing overflowed.
    const int paced_n = smoke ? 50 : 500, rate = 100;
    o.queue_limit = static_cast<std::size_t>(publishes + paced_n) + 1;
    o.retry_for = std::chrono::milliseconds(0);  // refused connections: given up at once
    auto d = std::move(*webhooks::Dispatcher::start(*store, o));
    store->set_on_change([p = d.get()](const base::TenantId& t) { p->reload(t); });

    // Part 1: the call path. A warm-up round first (allocator, caches), then each case.
    publish_times(publishes / 4 + 1, nullptr);
    auto none_paced = publish_times(paced_n, nullptr, rate);
    auto none = publish_times(publishes, nullptr);
    auto tap_no_hooks = publish_times(publishes, d.get());
    for (int i = 0; i < 10; ++i) {
      ports::Webhook h{.id = d->new_hook_id(), .tenant = kTenant};
      h.url = "http://127.0.0.1:9/refused";  // discard port: nothing listens, the connection is refused
      h.events = {"call.answered", "call.ended", "call.ringing"};
      h.secret = d->new_secret();
      store->add(h);
    }
    auto ten_hooks_paced = publish_times(paced_n, d.get(), rate);
    auto ten_hooks = publish_times(publishes, d.get());
    const auto s1 = d->stats();
    std::printf("## Webhooks: the call path (EventHub publish of a ringing call, %d publishes per case)\n\n", publishes);
    std::printf("| case | mean ns | p50 ns | p99 ns | mean vs no tap |\n|---|---:|---:|---:|---:|\n");
    auto row = [&](const char* name, const PathResult& r) {
      std::printf("| %s | %.0f | %.0f | %.0f | %.2fx |\n", name, r.mean_ns, r.p50_ns, r.p99_ns, r.mean_ns / none.mean_ns);
    };
    row("no tap (baseline)", none);
    row("tap, no hooks", tap_no_hooks);
    row("tap, 10 hooks want the event", ten_hooks);
    std::printf("\nPaced at %d publishes/s (%d per case), as a PBX delivers events:\n\n", rate, paced_n);
    std::printf("| case | mean ns | p50 ns | p99 ns | mean vs no tap |\n|---|---:|---:|---:|---:|\n");
    std::printf("| no tap (baseline) | %.0f | %.0f | %.0f | 1.00x |\n", none_paced.mean_ns, none_paced.p50_ns,
                none_paced.p99_ns);
    std::printf("| tap, 10 hooks want the event | %.0f | %.0f | %.0f | %.2fx |\n", ten_hooks_paced.mean_ns,
                ten_hooks_paced.p50_ns, ten_hooks_paced.p99_ns, ten_hooks_paced.mean_ns / none_paced.mean_ns);
    std::printf("\nqueued %llu messages, overflow %llu; the engine made %llu deliveries meanwhile\n\n",
                static_cast<unsigned long long>(s1.offered), static_cast<unsigned long long>(s1.overflow),
                static_cast<unsigned long long>(s1.events));
    if (s1.overflow != 0 || s1.offered != static_cast<std::uint64_t>(publishes + paced_n)) status = 1;
  }
  {
    // Part 2: deliveries per second to a local receiver.
    ReceiverProcess r(CALLBRIDGE_WEBHOOK_RECEIVER);
    if (r.port() == 0) {
      std::fprintf(stderr, "webhooks_deliver: the receiver did not start\n");
      return 1;
    }
    const std::string base = "http://127.0.0.1:" + std::to_string(r.port());
    const std::string body = "{\"type\":\"call.ringing\"" + call_tail(1) ;
    const double plain = plain_curl_per_s(base + "/plain", body, deliveries);

    std::printf("## Webhooks: deliveries per second to a local receiver (Python http.server, %d deliveries)\n\n",
                deliveries);
    std::printf("| client | deliveries/s | vs plain libcurl |\n|---|---:|---:|\n");
    std::printf("| plain libcurl, one handle, sequential (baseline) | %.0f | 1.00x |\n", plain);
    for (std::size_t in_flight : {std::size_t{1}, std::size_t{16}}) {
      const fs::path sub = dir / ("d2-" + std::to_string(in_flight));
      fs::create_directories(sub);
      auto store = std::move(*webhooks::SqliteWebhookStore::open((sub / "webhooks.db").string()));
      webhooks::DispatcherOptions o;
      o.allow = {*base::Cidr::parse("127.0.0.1")};
      o.allow_http = true;
      o.queue_limit = static_cast<std::size_t>(deliveries) + 1;
      o.max_in_flight = in_flight;
      auto d = std::move(*webhooks::Dispatcher::start(*store, o));
      store->set_on_change([p = d.get()](const base::TenantId& t) { p->reload(t); });
      ports::Webhook h{.id = d->new_hook_id(), .tenant = kTenant};
      h.url = base + "/hook";
      h.events = {"call.ringing"};
      h.secret = d->new_secret();
      store->add(h);
      core::EventHub hub;
      hub.set_tap([p = d.get()](const core::TappedMessage& m) {
        p->offer(m.tenant, webhooks::Stream::call, m.json, m.call_gone);
      });
      const auto t0 = Clock::now();
      // Every message its own call: deliveries are independent (up to `in_flight` at once).
      for (int i = 0; i < deliveries; ++i)
        hub.publish_raw(kTenant, core::HubMessage::Kind::call, {"101"}, "call", call_tail(i));
      const bool idle = d->wait_idle(Clock::now() + std::chrono::minutes(5));
      const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
      const auto s = d->stats();
      const double rate = static_cast<double>(s.delivered) / secs;
      std::printf("| callbridge engine (signed, logged in webhooks.db), %zu in flight | %.0f | %.2fx |\n", in_flight,
                  rate, rate / plain);
      if (!idle || s.delivered != static_cast<std::uint64_t>(deliveries) || s.failed != 0) {
        std::fprintf(stderr, "webhooks_deliver: delivered %llu of %d (failed %llu)\n",
                     static_cast<unsigned long long>(s.delivered), deliveries,
                     static_cast<unsigned long long>(s.failed));
        status = 1;
      }
    }
    std::printf("\n");
    // Every POST reached the receiver: the plain ones and both engine runs (its lines may lag a bit).
    const auto want = static_cast<std::size_t>(3 * deliveries);
    for (auto until = Clock::now() + std::chrono::seconds(10); r.lines() < want && Clock::now() < until;)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (r.lines() != want) {
      std::fprintf(stderr, "webhooks_deliver: the receiver saw %zu of %zu POSTs\n", r.lines(), want);
      status = 1;
    }
  }
  {
    // Part 3: the delivery log, which was most of the engine's own cost per delivery: one row per
    // transaction (what the engine did before) against the engine's batches (record_all).
    const int rows = smoke ? 2'000 : 20'000;
    std::printf("## Webhooks: delivery log writes (%d rows, one hook, log bounded at 1000 rows)\n\n", rows);
    std::printf("| writes | rows/s | vs one per transaction |\n|---|---:|---:|\n");
    double single = 0;
    for (std::size_t batch : {std::size_t{1}, std::size_t{16}, std::size_t{256}}) {
      const fs::path sub = dir / ("d3-" + std::to_string(batch));
      fs::create_directories(sub);
      auto store = std::move(*webhooks::SqliteWebhookStore::open((sub / "webhooks.db").string()));
      ports::Webhook h{.id = "wh_0000000000000001", .tenant = kTenant};
      h.url = "https://crm.example/hook";
      h.events = {"call.ringing"};
      h.secret = "whsec_x";
      store->add(h);
      std::vector<ports::WebhookDelivery> pending;
      std::uint64_t written = 0;
      const auto t0 = Clock::now();
      for (int i = 0; i < rows; ++i) {
        ports::WebhookDelivery d{.id = "dl_" + std::to_string(i), .hook_id = h.id, .tenant = kTenant};
        d.event_type = "call.ringing";
        d.event_id = "ev_" + std::to_string(i);
        d.state = "delivered";
        d.attempts = 1;
        d.http_status = 204;
        pending.push_back(std::move(d));
        if (pending.size() == batch || i + 1 == rows) {
          if (batch == 1 ? store->record(pending[0]) : store->record_all(pending)) written += pending.size();
          pending.clear();
        }
      }
      const double rate = static_cast<double>(written) / std::chrono::duration<double>(Clock::now() - t0).count();
      if (batch == 1) single = rate;
      std::printf("| %s | %.0f | %.2fx |\n",
                  batch == 1 ? "one row per transaction (baseline)" : ("batches of " + std::to_string(batch)).c_str(),
                  rate, rate / single);
      auto kept = store->deliveries(kTenant, h.id, 5000);
      if (written != static_cast<std::uint64_t>(rows) || !kept || kept->size() != std::min<std::size_t>(rows, 1000)) {
        std::fprintf(stderr, "webhooks_deliver: log of %zu rows wrote %llu, kept %zu (want %d, at most 1000)\n", batch,
                     static_cast<unsigned long long>(written), kept ? kept->size() : 0, rows);
        status = 1;
      }
    }
    std::printf("\n");
  }
  fs::remove_all(dir);
  return status;
}
