// Cluster events benchmark (issue 19, docs/cluster.md "Call events on every node"), in one process
// and one run: messages of one tenant from the hub that produces them to a WebSocket subscription
//  1. on one node: core::EventHub in local mode (numbered and delivered in the publish call);
//  2. on another node of a cluster: the producing node's hub hands each message to its
//     cluster::JetStreamEventLog, which publishes batches to a real `nats-server -js` (file storage,
//     compare-and-set numbering); the other node's log reads the stream and applies every record to
//     its hub, whose subscription counts them.
// Messages are published as fast as the producer can; the figure is messages delivered per second
// from the first publish to the last delivery, and CPU time per message of the whole process (both
// nodes' work, the NATS server is a child process and not counted). Printed as a table with the
// cluster case as a ratio of the local one measured in the same run.
//   cluster_events [--messages 20000] [--reps 3] [--nats-server /usr/sbin/nats-server] [--smoke]
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cluster/event_log.hpp"
#include "cluster/nats_connection.hpp"
#include "core/event_hub.hpp"
#include "support/nats_server.hpp"

namespace {

using namespace callbridge;
using Clock = std::chrono::steady_clock;
const base::TenantId kTenant("default");

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// A call-sized message body (the JSON of a call event is ~600 bytes).
std::string tail_of(std::size_t i) {
  std::string t = ",\"event\":\"delivered\",\"n\":" + std::to_string(i) + ",\"call\":{\"id\":\"17335";
  t += std::to_string(i);
  t += "\",\"connections\":[";
  for (int c = 0; c < 2; ++c) {
    if (c) t += ',';
    t += "{\"device\":\"10" + std::to_string(c) +
         "\",\"state\":\"alerting\",\"remote\":\"+4989123456\",\"since\":\"2026-12-07T13:00:00.000Z\","
         "\"remote_info\":{\"kind\":\"external\",\"e164\":\"+4989123456\",\"contacts\":[]}}";
  }
  t += "],\"allowed_actions\":{\"100\":[\"answer\",\"hangup\"],\"101\":[\"hangup\"]}}}";
  return t;
}

struct Count final : core::EventSubscriber {
  std::atomic<std::uint64_t> n{0};
  std::uint64_t bytes = 0;
  void on_message(const core::HubMessage& m) override {
    bytes += m.frame->size();
    n.fetch_add(1, std::memory_order_release);
  }
};

struct Result {
  double per_second = 0;
  double cpu_us = 0;
};

Result run_local(std::size_t messages, const std::vector<std::string>& tails) {
  core::EventHub hub;
  Count sink;
  auto sub = hub.subscribe(kTenant, core::EventFilter{core::EventScope::tenant, {}, {}}, std::nullopt, &sink);
  const double c0 = cpu_seconds();
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < messages; ++i)
    hub.publish_raw(kTenant, core::HubMessage::Kind::call, {"100", "101"}, "call", tails[i % tails.size()]);
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu = cpu_seconds() - c0;
  hub.unsubscribe(kTenant, sub.id);
  if (sink.n != messages) std::fprintf(stderr, "local: %llu of %zu delivered\n", (unsigned long long)sink.n.load(), messages);
  return {static_cast<double>(messages) / s, cpu / static_cast<double>(messages) * 1e6};
}

// Two nodes in one process: each its own NATS connection and log; the producer's hub publishes,
// the other's hub (touched by its log's reader thread only) delivers.
bool run_cluster(const testing::NatsServer& server, std::size_t messages, const std::vector<std::string>& tails,
                 int rep, Result& out) {
  cluster::NatsOptions no;
  no.url = server.url();
  auto na = cluster::NatsConnection::connect(no);
  auto nb = cluster::NatsConnection::connect(no);
  if (!na || !nb) {
    std::fprintf(stderr, "cluster: cannot connect to %s\n", no.url.c_str());
    return false;
  }
  cluster::EventLogOptions lo;
  lo.stream = "bench_events_" + std::to_string(rep);  // a fresh stream per repetition
  lo.subject_prefix = "bench" + std::to_string(rep);
  lo.max_queued = messages + 1;
  core::EventHub producer, other;
  Count sink;
  std::mutex mu;
  std::condition_variable cv;
  auto la = cluster::JetStreamEventLog::open(**na, lo, [](const base::TenantId&, std::uint64_t, std::string_view, bool) {});
  auto lb = cluster::JetStreamEventLog::open(**nb, lo, [&](const base::TenantId& t, std::uint64_t seq,
                                                           std::string_view r, bool own) {
    other.apply_logged(t, seq, r, own);
    if (sink.n.load(std::memory_order_acquire) >= messages) {
      std::lock_guard lk(mu);
      cv.notify_all();
    }
  });
  if (!la || !lb) {
    std::fprintf(stderr, "cluster: %s\n", (!la ? la.error() : lb.error()).message().c_str());
    return false;
  }
  producer.set_event_log(la->get());
  other.set_event_log(lb->get());
  auto sub = other.subscribe(kTenant, core::EventFilter{core::EventScope::tenant, {}, {}}, std::nullopt, &sink);
  const double c0 = cpu_seconds();
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < messages; ++i)
    producer.publish_raw(kTenant, core::HubMessage::Kind::call, {"100", "101"}, "call", tails[i % tails.size()]);
  bool done = false;
  {
    std::unique_lock lk(mu);
    done = cv.wait_for(lk, std::chrono::seconds(120), [&] { return sink.n.load() >= messages; });
  }
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu = cpu_seconds() - c0;
  const auto st = (*la)->stats();
  lb->reset();  // its reader stops before `other` goes
  la->reset();
  if (!done) {
    std::fprintf(stderr, "cluster: %llu of %zu delivered in 120 s\n", (unsigned long long)sink.n.load(), messages);
    return false;
  }
  out = {static_cast<double>(messages) / s, cpu / static_cast<double>(messages) * 1e6};
  std::fprintf(stderr, "  rep %d: %zu messages in %llu NATS messages (%.1f per batch)\n", rep, messages,
               (unsigned long long)st.batches, st.batches ? static_cast<double>(messages) / st.batches : 0.0);
  (void)sub;
  return true;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Cluster events: messages to a client on another node through JetStream vs on one node"};
  std::size_t messages = 20000;
  int reps = 3;
  bool smoke = false;
  app.add_option("--messages", messages, "messages per repetition")->check(CLI::Range(1, 10'000'000));
  app.add_option("--reps", reps, "repetitions (the median is printed)")->check(CLI::Range(1, 50));
  app.add_flag("--smoke", smoke, "a few messages, one repetition: checks the harness, not the speed");
  CLI11_PARSE(app, argc, argv);
  if (smoke) {
    messages = 500;
    reps = 1;
  }
  spdlog::set_level(spdlog::level::warn);
  std::vector<std::string> tails;
  for (std::size_t i = 0; i < 64; ++i) tails.push_back(tail_of(i));

  testing::NatsServer server;
  if (!server.ok()) {
    std::fprintf(stderr, "cluster_events: nats-server did not start: %s\n", server.log().c_str());
    return 1;
  }
  std::vector<double> local_rate, local_cpu, cluster_rate, cluster_cpu;
  for (int r = 0; r < reps; ++r) {
    auto l = run_local(messages, tails);
    local_rate.push_back(l.per_second);
    local_cpu.push_back(l.cpu_us);
    Result c;
    if (!run_cluster(server, messages, tails, r, c)) return 1;
    cluster_rate.push_back(c.per_second);
    cluster_cpu.push_back(c.cpu_us);
  }
  const double lr = median(local_rate), cr = median(cluster_rate);
  const double lc = median(local_cpu), cc = median(cluster_cpu);
  std::printf("| path (%zu messages of one tenant, %d reps, median) | messages/s | CPU us per message | vs one node |\n",
              messages, reps);
  std::printf("|---|---|---|---|\n");
  std::printf("| one node: EventHub publish -> subscription | %.0f | %.2f | 1.00x |\n", lr, lc);
  std::printf("| cluster: hub -> JetStream (nats-server -js, file) -> other node's hub -> subscription | %.0f | %.2f | "
              "%.3fx rate, %.1fx CPU |\n",
              cr, cc, cr / lr, cc / lc);
  return 0;
}
