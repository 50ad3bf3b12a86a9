// Logging setup (spdlog). Call init_logging() once from main; elsewhere use spdlog::info() etc.
// Thread-safe after init.
#pragma once

#include <string>

#include "base/error.hpp"

namespace callbridge::base {

// level: trace, debug, info, warn, error, off. Logs go to stderr.
Status init_logging(const std::string& level);

}  // namespace callbridge::base
