#include "app/cluster_wiring.hpp"

#include <spdlog/spdlog.h>

#include <boost/json/array.hpp>

#ifdef CALLBRIDGE_HAVE_PG_HEALTH
#include "storage/postgres/pg_health.hpp"
#endif

namespace callbridge::app {

using std::chrono::milliseconds;

ClusterWiring::~ClusterWiring() {
  postgres.reset();
  commands.reset();
  events.reset();
  leases.reset();
  bucket.reset();
  nats.reset();
}

base::Result<std::unique_ptr<ClusterWiring>> open_cluster(const ClusterConfig& config,
                                                          std::function<void(const cluster::LeaseChange&)> on_change,
                                                          cluster::EventLogReader on_event) {
  auto c = std::make_unique<ClusterWiring>();
  c->node = config.node;
  cluster::NatsOptions no;
  no.url = config.nats_url;
  no.name = "callbridged " + config.node;
  no.request_timeout = milliseconds(500);
  cluster::LeaseOptions lo;
  lo.node = config.node;
  lo.bucket = config.lease_bucket;
  lo.ttl = milliseconds(config.lease_ttl_ms);
  lo.renew_every = milliseconds(config.lease_renew_ms);
  lo.margin = milliseconds(config.lease_margin_ms);
  if (auto st = cluster::check_lease_options(lo, no.request_timeout); !st) return base::fail(st.error());
  auto nats = cluster::NatsConnection::connect(no, [node = config.node](const cluster::NatsStatus& s) {
    if (s.state == cluster::NatsState::connected)
      spdlog::info("cluster: NATS connection of node {} up ({})", node, s.server);
    else if (s.state == cluster::NatsState::reconnecting)
      spdlog::warn("cluster: NATS connection lost ({}); reconnecting. Links this node owns stop when their "
                   "leases run out",
                   s.last_error);
  });
  if (!nats) return base::fail(base::Error(nats.error().code(), "cluster: " + nats.error().message()));
  c->nats = std::move(*nats);
  auto bucket = c->nats->key_value(lo.bucket, lo.ttl);
  if (!bucket) return base::fail(base::Error(bucket.error().code(), "cluster: " + bucket.error().message()));
  c->bucket = std::move(*bucket);
  cluster::EventLogOptions eo;
  eo.stream = config.events_stream;
  eo.max_age = std::chrono::seconds(config.events_max_age_s);
  eo.max_msgs_per_tenant = config.events_max_per_tenant;
  auto events = cluster::JetStreamEventLog::open(*c->nats, eo, std::move(on_event));
  if (!events) return base::fail(base::Error(events.error().code(), "cluster: " + events.error().message()));
  c->events = std::move(*events);
  c->leases = std::make_unique<cluster::LeaseManager>(*c->nats, *c->bucket, lo, std::move(on_change));
#ifdef CALLBRIDGE_HAVE_PG_HEALTH
  if (!config.postgres.empty()) c->postgres = std::make_unique<storage::postgres::PgHealth>(config.postgres);
#endif
  spdlog::info("cluster: node {} on {} (lease bucket {}, ttl {} ms, renewed every {} ms, margin {} ms)", config.node,
               config.nats_url, lo.bucket, lo.ttl.count(), lo.renew_every.count(), lo.margin.count());
  return c;
}

base::Status open_command_relay(ClusterWiring& c, const ClusterConfig& config, cluster::NatsCommandRelay::Post post,
                                cluster::NatsCommandRelay::PostAfter post_after) {
  cluster::CommandRelayOptions o;
  o.instance = c.leases->instance();
  o.timeout = milliseconds(config.command_timeout_ms);
  auto* leases = c.leases.get();
  // Someone holds the link's lease (or held it when last seen): else no node can answer.
  auto owned = [leases](const std::string& link) {
    const std::string key = cluster::lease_key(link);
    for (const auto& i : leases->snapshot())
      if (i.key == key) return !i.owner.empty();
    return false;
  };
  auto r = cluster::NatsCommandRelay::create(*c.nats, o, std::move(post), std::move(post_after), std::move(owned));
  if (!r) return base::fail(base::Error(r.error().code(), "cluster: " + r.error().message()));
  c.commands = std::move(*r);
  return {};
}

std::string command_link(const ClusterWiring& c, const base::TenantId& tenant) {
  for (const auto& [key, l] : c.links)
    if (l.tenant == tenant && l.setup && !l.setup->pbx.empty()) return l.setup->pbx.front().name;
  return {};
}

boost::json::object cluster_json(const ClusterWiring& c, const std::optional<base::TenantId>& tenant) {
  namespace json = boost::json;
  json::object o;
  o["node"] = c.node;
  auto ns = c.nats->status();
  o["nats"] = json::object{{"state", cluster::to_string(ns.state)},
                           {"server", ns.server},
                           {"disconnects", ns.disconnects},
                           {"reconnects", ns.reconnects},
                           {"last_error", ns.last_error}};
  const auto& lo = c.leases->options();
  o["lease"] = json::object{{"bucket", lo.bucket},
                            {"ttl_ms", lo.ttl.count()},
                            {"renew_ms", lo.renew_every.count()},
                            {"margin_ms", lo.margin.count()},
                            {"instance", c.leases->instance()}};
  std::map<std::string, cluster::LeaseInfo> infos;
  for (auto& i : c.leases->snapshot()) infos.emplace(i.key, std::move(i));
  auto now = std::chrono::steady_clock::now();
  json::array links;
  for (const auto& [key, l] : c.links) {
    if (tenant && l.tenant != *tenant) continue;
    json::object j{{"name", l.pbx.name}, {"tenant", l.tenant.str()}, {"key", key}, {"driver", l.driver}};
    if (auto it = infos.find(key); it != infos.end()) {
      const auto& i = it->second;
      j["owner"] = i.owner.empty() ? json::value(nullptr) : json::value(i.owner);
      j["ours"] = i.ours;
      j["token"] = i.ours ? json::value(i.token) : json::value(nullptr);
      j["revision"] = i.revision;
      j["lease_age_ms"] = i.age_ms >= 0 ? json::value(i.age_ms) : json::value(nullptr);
      j["held_ms"] = i.held_ms >= 0 ? json::value(i.held_ms) : json::value(nullptr);
      j["deadline_in_ms"] = i.deadline_in_ms >= 0 ? json::value(i.deadline_in_ms) : json::value(nullptr);
      j["last_error"] = i.last_error;
    }
    j["terms"] = l.terms;
    j["last_change"] = l.last_change;
    j["last_change_ago_ms"] =
        l.last_change.empty()
            ? json::value(nullptr)
            : json::value(std::chrono::duration_cast<milliseconds>(now - l.changed_at).count());
    links.push_back(std::move(j));
  }
  o["links"] = std::move(links);
#ifdef CALLBRIDGE_HAVE_PG_HEALTH
  if (c.postgres) {
    const auto p = c.postgres->state();
    auto ago = [&](const std::optional<std::chrono::steady_clock::time_point>& at) {
      return at ? json::value(std::chrono::duration_cast<milliseconds>(now - *at).count()) : json::value(nullptr);
    };
    o["postgres"] = json::object{{"state", !p.checked ? "checking" : p.ok ? "ok" : "unreachable"},
                                 {"server", p.server},
                                 {"latency_ms", p.latency_ms},
                                 {"checks", p.checks},
                                 {"failures", p.failures},
                                 {"last_error", p.last_error},
                                 {"checked_ago_ms", ago(p.last_check)},
                                 {"last_ok_ago_ms", ago(p.last_ok)}};
  }
#endif
  o["leases_gained"] = c.gained;
  o["leases_lost"] = c.lost;
  if (c.commands) {
    auto s = c.commands->stats();
    o["commands"] = json::object{{"sent", s.sent},         {"answered", s.answered}, {"no_owner", s.no_owner},
                                 {"timeouts", s.timeouts}, {"served", s.served},     {"dropped", s.dropped},
                                 {"pending", s.pending},   {"serving", s.serving}};
  }
  if (c.events) {
    const auto e = c.events->stats();
    o["events"] = json::object{{"stream", c.events->options().stream},
                               {"appended", e.appended},
                               {"published", e.published},
                               {"batches", e.batches},
                               {"conflicts", e.conflicts},
                               {"retries", e.retries},
                               {"dropped", e.dropped},
                               {"queued", e.queued},
                               {"received", e.received},
                               {"bad", e.bad},
                               {"stream_seq", e.stream_seq},
                               {"caught_up", e.caught_up},
                               {"last_error", e.last_error}};
  }
  return o;
}

std::vector<std::string> cluster_not_ready(const ClusterWiring& c) {
  std::vector<std::string> r;
  auto s = c.nats->status();
  if (s.state != cluster::NatsState::connected)
    r.push_back(std::string("cluster: NATS ") + cluster::to_string(s.state) +
                (s.last_error.empty() ? "" : " (" + s.last_error + ")"));
#ifdef CALLBRIDGE_HAVE_PG_HEALTH
  if (c.postgres) {
    const auto p = c.postgres->state();
    if (p.checked && !p.ok) r.push_back("cluster: PostgreSQL " + p.server + " unreachable (" + p.last_error + ")");
  }
#endif
  if (c.events && !c.events->caught_up()) {
    const auto e = c.events->stats();
    r.push_back("cluster: reading the event stream (message " + std::to_string(e.stream_seq) + " of " +
                std::to_string(e.replay_until) + ")");
  }
  return r;
}

}  // namespace callbridge::app
