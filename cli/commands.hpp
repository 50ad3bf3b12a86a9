// The `callbridge` command: each subcommand lives in its own cmd_*.cpp and registers itself
// through one function listed in main.cpp (explicit table, no static initializers).
// Each register_* adds a CLI11 subcommand and sets `run` to the code executed when chosen.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <string>

#include "base/tenant_id.hpp"
#include "base/time.hpp"

namespace callbridge::cli {

// --tenant: a tenant id, checked when the command line is parsed (so the commands can turn the
// text into a base::TenantId without failing later).
inline CLI::Validator tenant_id_check() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        auto t = base::TenantId::parse(s, "--tenant");
        return t ? std::string() : t.error().message();
      },
      "TENANT");
}

// --since/--until of the listing commands (journal, audit): an RFC 3339 time, a date (midnight
// UTC), or an age before `now`: "90s", "30m", "2h", "7d". nullopt: none of these (cmd_journal.cpp).
std::optional<base::Timestamp> parse_when(const std::string& s, base::Timestamp now);

// The chosen subcommand's body; returns the process exit code.
using Runner = std::function<int()>;

struct Command {
  CLI::App* app = nullptr;
  Runner run;
};

}  // namespace callbridge::cli
