// The relay node's counters, rendered for Prometheus by the server's /metrics (docs/relay.md
// "Metrics"). Counts and sizes only, never payloads, client ids or edge names beyond the gauges'
// totals. Not thread-safe; the node's io thread owns it.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace callbridge::relay::node {

struct Metrics {
  std::uint64_t frames_to_clients = 0;   // edge->client frames accepted from edges or the bus
  std::uint64_t bytes_to_clients = 0;
  std::uint64_t frames_to_edges = 0;     // client->edge frames accepted
  std::uint64_t bytes_to_edges = 0;
  std::uint64_t frames_delivered = 0;    // frames written towards local clients (resume included)
  std::uint64_t duplicates = 0;          // edge->client frames already seen (outbox replays)
  std::uint64_t client_connections = 0;  // accepted client connections since start
  // reason -> count: malformed, oversized, wrong-kind, wrong-client, bad-control
  std::map<std::string, std::uint64_t> rejected;
  // reason -> count: slow-client, flood, edge-offline, slow-edge, client-limit, dropped-by-edge
  std::map<std::string, std::uint64_t> drops;
  // result -> count: ok or the refusal code
  std::map<std::string, std::uint64_t> edge_logins;
  // reason -> count: client connections refused before the upgrade (bad-edge, bad-client,
  // bad-since, unknown-edge)
  std::map<std::string, std::uint64_t> client_refusals;
  std::uint64_t call_summaries = 0;      // call summaries accepted from privacy-relaxed edges
  std::uint64_t bus_published = 0;
  std::uint64_t bus_received = 0;
};

}  // namespace callbridge::relay::node
