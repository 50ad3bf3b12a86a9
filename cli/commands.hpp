// The `callbridge` command: each subcommand lives in its own cmd_*.cpp and registers itself
// through one function listed in main.cpp (explicit table, no static initializers).
// Each register_* adds a CLI11 subcommand and sets `run` to the code executed when chosen.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace callbridge::cli {

// The chosen subcommand's body; returns the process exit code.
using Runner = std::function<int()>;

struct Command {
  CLI::App* app = nullptr;
  Runner run;
};

}  // namespace callbridge::cli
