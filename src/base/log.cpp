#include "base/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace callbridge::base {

Status init_logging(const std::string& level) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    return fail(Error::invalid_argument("log level '" + level +
                                        "' is not one of trace, debug, info, warn, error, off"));
  }
  auto logger = spdlog::stderr_color_mt("callbridge");
  spdlog::set_default_logger(logger);
  spdlog::set_level(lvl);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  return {};
}

}  // namespace callbridge::base
