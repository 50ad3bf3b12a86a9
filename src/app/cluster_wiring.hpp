// Cluster mode in callbridged ([cluster], docs/cluster.md): this node's NATS connection, the lease
// bucket and the lease manager (src/cluster), and the PBX links of the configuration with their
// leases. A link's driver exists on this node only while the node owns the link: built and started
// when the lease is gained (so it loads the open-call state the previous owner left), stopped and
// destroyed when it is lost; it acts on the PBX only while its fence is valid. The App owns one
// ClusterWiring when [cluster] is set and drives it on the io thread (app/app.cpp); lease changes
// arrive on the lease manager's thread and are posted there.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "app/config.hpp"
#include "app/tenant_setup.hpp"
#include "base/error.hpp"
#include "base/tenant_id.hpp"
#include "cluster/command_relay.hpp"
#include "cluster/event_log.hpp"
#include "cluster/lease_manager.hpp"
#include "cluster/nats_connection.hpp"

namespace callbridge::storage::postgres {
class PgHealth;
}

namespace callbridge::app {

struct ClusterWiring {
  struct Link {
    Link(base::TenantId t, PbxConfig p, std::shared_ptr<const TenantSetup> s,
         std::shared_ptr<const cluster::LeaseFence> f)
        : tenant(t), pbx(std::move(p)), setup(std::move(s)), fence(std::move(f)) {}
    base::TenantId tenant;
    PbxConfig pbx;
    std::shared_ptr<const TenantSetup> setup;  // the driver context's [tenant.X] section
    std::shared_ptr<const cluster::LeaseFence> fence;
    bool driver = false;     // its driver is in the tenant's runtime
    bool removing = false;   // ... and being stopped (lease lost)
    bool start_after_removal = false;  // gained again meanwhile
    std::uint64_t token = 0;  // the current or last term's fencing token
    std::uint64_t terms = 0;  // terms this node held
    std::string last_change;  // "gained", "lost: <why>"
    std::chrono::steady_clock::time_point changed_at{};
  };

  std::string node;
  std::unique_ptr<cluster::NatsConnection> nats;
  std::unique_ptr<cluster::NatsConnection::KvBucket> bucket;
  std::unique_ptr<cluster::LeaseManager> leases;
  // Call control commands to the owner of a link, and those of the links this node owns
  // (docs/cluster.md "Commands on any node").
  std::unique_ptr<cluster::NatsCommandRelay> commands;
  // The tenants' live events (docs/cluster.md "Call events on every node"): the event hub appends to
  // it, and every record comes back to the hub through the reader given to open_cluster().
  std::unique_ptr<cluster::JetStreamEventLog> events;
  // [cluster] postgres answering? (diagnostics "postgres", /readyz); null without libpq.
  std::unique_ptr<storage::postgres::PgHealth> postgres;
  std::map<std::string, Link> links;  // by lease key
  std::uint64_t gained = 0, lost = 0;

  // The event log (its reader stops), the relay, the manager (it releases held leases), then bucket
  // and connection.
  ~ClusterWiring();
};

// Connects to [cluster] nats_url (an error when it cannot within the connect timeout), opens the
// lease bucket (same TTL on every node, or an error) and starts the lease manager; `on_change`
// runs on its notifier thread. Opens the event stream (created when missing) and reads it from its
// first message: `on_event` gets every record in order, on nats.c's delivery thread.
base::Result<std::unique_ptr<ClusterWiring>> open_cluster(const ClusterConfig& config,
                                                          std::function<void(const cluster::LeaseChange&)> on_change,
                                                          cluster::EventLogReader on_event);

// Opens `c.commands` on c's connection (its reply subjects: the lease manager's instance id).
// `post` / `post_after` run on the io thread.
base::Status open_command_relay(ClusterWiring& c, const ClusterConfig& config, cluster::NatsCommandRelay::Post post,
                                cluster::NatsCommandRelay::PostAfter post_after);
// The PBX link whose owner runs `tenant`'s commands when this node has no driver for them: the
// tenant's first [[pbx]] entry; "" when it has none.
std::string command_link(const ClusterWiring& c, const base::TenantId& tenant);

// Diagnostics "cluster": this node, NATS, the lease settings and every link's lease (owner, ours,
// token, revision, age, held for, deadline). A tenant's view: its links only.
boost::json::object cluster_json(const ClusterWiring& c, const std::optional<base::TenantId>& tenant);
// /readyz reasons: NATS not connected; the event stream not read up to where it was at start.
std::vector<std::string> cluster_not_ready(const ClusterWiring& c);

}  // namespace callbridge::app
