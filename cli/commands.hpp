// The `callbridge` command: each subcommand lives in its own cmd_*.cpp and registers itself
// through one function listed in main.cpp (explicit table, no static initializers).
// Each register_* adds a CLI11 subcommand and sets `run` to the code executed when chosen.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "base/tenant_id.hpp"

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

// The chosen subcommand's body; returns the process exit code.
using Runner = std::function<int()>;

struct Command {
  CLI::App* app = nullptr;
  Runner run;
};

}  // namespace callbridge::cli
