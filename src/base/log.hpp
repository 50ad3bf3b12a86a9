// Logging setup (spdlog). Call init_logging() once from main; elsewhere use spdlog::info() etc.
// Thread-safe after init. Logs go to stderr: on a terminal or a file as timestamped lines, into
// systemd's journal (which stamps lines itself) as "<N>message" lines carrying the syslog priority.
#pragma once

#include <string>
#include <string_view>

#include "base/error.hpp"

namespace callbridge::base {

enum class LogFormat {
  automatic,  // journal when stderr is the journal's stream ($JOURNAL_STREAM), else text
  text,       // "2026-12-07T01:02:03.456 info message"
  journal,    // "<6>message": sd-daemon(3) priority prefix, no timestamp (journald adds its own)
};

// "auto", "text", "journal".
Result<LogFormat> parse_log_format(std::string_view s);

// level: trace, debug, info, warn, error, off.
Status init_logging(const std::string& level, LogFormat format = LogFormat::automatic);

// Changes the level of the running logger (SIGHUP reload); same names as init_logging.
Status set_log_level(const std::string& level);

}  // namespace callbridge::base
