#include "base/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>

#include "base/service_notify.hpp"

namespace callbridge::base {

namespace {

Result<spdlog::level::level_enum> parse_level(const std::string& level) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off")
    return fail(Error::invalid_argument("log level '" + level + "' is not one of trace, debug, info, warn, error, off"));
  return lvl;
}

// %* -> "<N>", the syslog priority journald reads from the start of a stream line (sd-daemon(3)).
class PriorityFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const char* p = "<6>";
    switch (msg.level) {
      case spdlog::level::trace:
      case spdlog::level::debug: p = "<7>"; break;
      case spdlog::level::info: p = "<6>"; break;
      case spdlog::level::warn: p = "<4>"; break;
      case spdlog::level::err: p = "<3>"; break;
      case spdlog::level::critical: p = "<2>"; break;
      default: break;
    }
    dest.append(p, p + 3);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<PriorityFlag>(); }
};

}  // namespace

Result<LogFormat> parse_log_format(std::string_view s) {
  if (s == "auto") return LogFormat::automatic;
  if (s == "text") return LogFormat::text;
  if (s == "journal") return LogFormat::journal;
  return fail(Error::invalid_argument("log format '" + std::string(s) + "' is not one of auto, text, journal"));
}

Status init_logging(const std::string& level, LogFormat format) {
  auto lvl = parse_level(level);
  if (!lvl) return fail(lvl.error());
  auto logger = spdlog::stderr_color_mt("callbridge");
  spdlog::set_default_logger(logger);
  spdlog::set_level(*lvl);
  if (format == LogFormat::automatic) format = stderr_is_journal() ? LogFormat::journal : LogFormat::text;
  if (format == LogFormat::journal) {
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<PriorityFlag>('*').set_pattern("%*%v");
    spdlog::set_formatter(std::move(f));
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  }
  return {};
}

Status set_log_level(const std::string& level) {
  auto lvl = parse_level(level);
  if (!lvl) return fail(lvl.error());
  spdlog::set_level(*lvl);
  return {};
}

}  // namespace callbridge::base
