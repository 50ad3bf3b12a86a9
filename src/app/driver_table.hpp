// The explicit table of PBX drivers (ARCHITECTURE.md: registration is a table in app/, not static
// initializers). A [[pbx]] entry names its driver (`driver = "ami"`); its row builds that driver
// on the App's io thread, delivering into the tenant runtime's sink. Adding a PBX protocol = a
// folder under src/drivers/ implementing ports::PbxDriver, plus a row here. Demo mode is no
// driver of its own: the simulator is an AMI server, reached through the "ami" row.
// Called on the io thread (App, at start-up and from add_tenant).
#pragma once

#include <memory>
#include <span>
#include <string_view>

#include <boost/asio/io_context.hpp>

#include "app/config.hpp"
#include "base/error.hpp"
#include "core/dialing_plan.hpp"
#include "ports/journal_store.hpp"
#include "ports/link_fence.hpp"
#include "ports/pbx_driver.hpp"

namespace callbridge::app {

// What a driver gets besides its [[pbx]] entry.
struct DriverContext {
  boost::asio::io_context& io;
  ports::PbxEventSink& sink;  // the tenant runtime
  // The tenant's [tenant.X] section (phones, call control); null when it has none.
  const TenantConfig* tenant = nullptr;
  // The tenant's dialing plan (built once by the runtime's owner); null: none.
  std::shared_ptr<const core::DialingPlan> plan = nullptr;
  // Where open calls are kept across restarts (the journal store); null: they end at stop.
  ports::JournalStore* open_state = nullptr;
  // Cluster mode: the lease of this link (docs/cluster.md); the driver acts on the PBX only while
  // it is valid. Null: not clustered.
  const ports::LinkFence* fence = nullptr;
};

using DriverFactory = base::Result<std::unique_ptr<ports::PbxDriver>> (*)(const PbxConfig& pbx,
                                                                          const DriverContext& context);

struct DriverRow {
  std::string_view name;  // the [[pbx]] driver value
  std::string_view what;  // for errors and --help texts
  DriverFactory make;
};

// Every driver callbridged knows, in the order errors list them.
std::span<const DriverRow> driver_table();
// The row of `name`; null when unknown.
const DriverRow* find_driver(std::string_view name);
// Error naming the entry and the known drivers when `pbx.driver` is no row of the table.
base::Status check_driver(const PbxConfig& pbx);
// Builds the driver `pbx.driver` names. Errors name the [[pbx]] entry ("pbx demo: ...").
base::Result<std::unique_ptr<ports::PbxDriver>> make_driver(const PbxConfig& pbx, const DriverContext& context);

}  // namespace callbridge::app
