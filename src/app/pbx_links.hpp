// The explicit table of PBX drivers (ARCHITECTURE.md: registration is a table in app/, not static
// initializers): turns one [[pbx]] entry into a PbxLink running on the App's io thread, feeding
// its journal entries to App::journal_sink(). Called by main before App::run().
#pragma once

#include <memory>

#include "app/app.hpp"
#include "app/config.hpp"
#include "app/pbx_link.hpp"
#include "base/error.hpp"

namespace callbridge::app {

base::Result<std::unique_ptr<PbxLink>> make_pbx_link(const PbxConfig& pbx, App& app);

}  // namespace callbridge::app
