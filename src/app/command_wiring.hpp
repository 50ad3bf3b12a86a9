// Call control in callbridged: one core::CallControlService per tenant over the first PBX link of
// that tenant that can control calls (ports::PbxDriver::commands()), with the tenant's dialing plan, and the
// REST command routes (api/rest_commands) on the App's HTTP server. Built once on the io thread
// before the server starts; services are created on first use, after the links were added.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "api/http_server.hpp"
#include "api/principal.hpp"
#include "app/config.hpp"
#include "ports/pbx_driver.hpp"
#include "core/event_hub.hpp"
#include "ports/journal_store.hpp"
#include "base/error.hpp"
#include "base/worker_pool.hpp"

namespace callbridge::app {

struct CommandWiring;  // keep alive as long as the routes (the App owns it)

// `links` lists the App's PBX links when asked (io thread). Error: an invalid dialing plan.
// `hub`: where command outcomes are published ({"type":"command"} to the issuing user); null: not.
// `offload`: where the callback's journal lookup runs (empty: inline on the io thread).
base::Result<std::shared_ptr<CommandWiring>> wire_command_routes(api::HttpServer& server,
                                                                 api::PrincipalResolver& auth,
                                                                 const Config& config,
                                                                 std::function<std::vector<ports::PbxDriver*>()> links,
                                                                 ports::JournalStore* journal = nullptr,
                                                                 core::EventHub* hub = nullptr,
                                                                 base::Offload offload = {});

}  // namespace callbridge::app
