// EventLog: the shared, ordered log of each tenant's live events in cluster mode (docs/cluster.md
// "Call events on every node"). Every node's event hub hands the messages it produces to the log
// instead of delivering them itself; the log gives each one the tenant's next sequence number (one
// sequence per tenant for the whole cluster, continued by whichever node publishes next) and
// delivers every record, this node's own included, to every node's reader in that order. The hub
// then sends it to its WebSocket clients with that number, so a client may resume on any node.
// The records are opaque bytes to the log (core/event_hub encodes them). Implemented by
// cluster::JetStreamEventLog (a JetStream stream, subjects per tenant); the reader is the
// implementation's constructor argument (app/ wires it to the hub's io thread), which also says
// whether a record is this process's own (the hub's node-local side effects, webhooks, run for own
// records only).
#pragma once

#include <cstdint>
#include <string>

#include "base/tenant_id.hpp"

namespace callbridge::ports {

class EventLog {
 public:
  virtual ~EventLog() = default;
  // Queues `record` for the tenant's log; never blocks. Records of one tenant appended by this node
  // keep their order. Any thread.
  virtual void append(const base::TenantId& tenant, std::string record) = 0;
};

}  // namespace callbridge::ports
