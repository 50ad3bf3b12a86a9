// The explicit table of subcommands.
#include "cli/commands.hpp"

#include <vector>

namespace callbridge::cli {

std::vector<Command> register_all(CLI::App& app) {
  std::vector<Command> out;
  return out;
}

}  // namespace callbridge::cli
