// `callbridge`: the command-line client. Thin: parses arguments and dispatches to cmd_*.cpp.
#include <cstdio>
#include <vector>

#include "base/private_dir.hpp"
#include "cli/commands.hpp"

namespace callbridge::cli {
// One line per subcommand file (see commands.hpp).
std::vector<Command> register_all(CLI::App& app);
}  // namespace callbridge::cli

int main(int argc, char** argv) {
  // identity.db, contacts.db, journal exports, recordings the CLI writes: owner-only, as callbridged's.
  callbridge::base::restrict_umask();
  CLI::App app{
      "callbridge - command-line client of the callbridge CTI server.\n"
      "Run 'callbridge SUBCOMMAND --help' for the options of each subcommand."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("callbridge ") + CALLBRIDGE_VERSION);
  auto commands = callbridge::cli::register_all(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  for (auto& c : commands) {
    if (c.app->parsed()) return c.run();
  }
  std::fprintf(stderr, "callbridge: no subcommand given; see --help\n");
  return 2;
}
