// The explicit table of subcommands.
#include "cli/commands.hpp"

#include <vector>

namespace callbridge::cli {

Command register_number(CLI::App& app);  // cmd_number.cpp

std::vector<Command> register_all(CLI::App& app) {
  std::vector<Command> out;
  out.push_back(register_number(app));
  return out;
}

}  // namespace callbridge::cli
