// The shape every capability folder (src/capabilities/<name>/) shares: a name, one function that
// registers its REST resources, what it consumes from the PBX side, which client events it emits,
// and its OpenAPI fragment. The app lists them in one table (app/capability_table.cpp) and
// registers them once, on the io thread, before the HTTP server starts. docs/architecture.md,
// "Adding a capability", says how to add one.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "api/http_server.hpp"
#include "core/event_hub.hpp"

namespace callbridge::api::rest {
struct Ctx;  // api/rest_common.hpp: the dependencies every REST handler shares
}

namespace callbridge::capabilities {

// What a capability takes from the PBX side (the drivers deliver into the tenant runtime,
// ports::PbxEventSink; a capability reads the result, never a driver), or from the daemon's own
// record of what its clients did (the audit log).
enum class Consumes : std::uint8_t {
  call_events,      // PbxEventSink::on_call_event: CSTA events applied to a tenant's CallModel
  line_changes,     // PbxEventSink::on_lines_changed: PBX device, extension and presence state
  journal_entries,  // PbxEventSink::on_journal_entry: finished conversations, stored by the runtime
  call_models,      // the tenant's CallModels as they are now (REST reads, io thread)
  directories,      // the tenant's contact store and lookup engine
  audit_records,    // ports::AuditLog: sign-ins, tokens, users, settings, tenants, commands the API recorded
  device_registries,  // ports::PbxDriver::devices() and PbxEventSink::on_devices_changed: the PBX's SIP devices
  queue_states,       // ports::PbxDriver::queues()/queue_member() and PbxEventSink::on_queues_changed
  line_features,      // ports::PbxDriver::features() and PbxEventSink::on_line_features_changed
  parking_states,     // ports::PbxDriver::parking() and PbxEventSink::on_parking_changed
};

constexpr std::string_view to_string(Consumes c) {
  switch (c) {
    case Consumes::call_events: return "call_events";
    case Consumes::line_changes: return "line_changes";
    case Consumes::journal_entries: return "journal_entries";
    case Consumes::call_models: return "call_models";
    case Consumes::directories: return "directories";
    case Consumes::audit_records: return "audit_records";
    case Consumes::device_registries: return "device_registries";
    case Consumes::queue_states: return "queue_states";
    case Consumes::line_features: return "line_features";
    case Consumes::parking_states: return "parking_states";
  }
  return "?";
}

// The WebSocket {"type": ...} of a hub message kind (docs/api.md "Event stream").
constexpr std::string_view to_string(core::HubMessage::Kind k) {
  switch (k) {
    case core::HubMessage::Kind::call: return "call";
    case core::HubMessage::Kind::line: return "line";
    case core::HubMessage::Kind::journal: return "journal";
    case core::HubMessage::Kind::command: return "command";
    case core::HubMessage::Kind::device: return "device";
    case core::HubMessage::Kind::status: return "user_status";
    case core::HubMessage::Kind::queue: return "queue";
    case core::HubMessage::Kind::user_devices: return "user_devices";
    case core::HubMessage::Kind::features: return "line_features";
    case core::HubMessage::Kind::parking: return "parking";
    case core::HubMessage::Kind::calls_resynced: return "calls_resynced";
  }
  return "?";
}

// What register_routes gets: the HTTP server and the dependencies the REST handlers share (stores,
// authentication, workers, call models; api/rest_common.hpp).
struct CapabilityContext {
  api::HttpServer& server;
  std::shared_ptr<api::rest::Ctx> rest;
};

// One row of the capability table.
struct Capability {
  std::string_view name;                             // "journal"; the folder's name
  void (*register_routes)(CapabilityContext&);       // its REST resources
  std::span<const Consumes> consumes;                // from the PBX side (above)
  std::span<const core::HubMessage::Kind> emits;     // client events it is the source of
  std::string_view openapi_fragment;                 // repo-relative: src/capabilities/<name>/openapi.json
};

}  // namespace callbridge::capabilities
