// callbridged: the callbridge server. Parses flags, loads the configuration, builds the App and
// runs it on the main thread. Exit codes: 0 clean stop, 1 start-up or runtime failure, 2 bad
// configuration or flags.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <string>

#include "app/app.hpp"
#include "app/config.hpp"
#include "app/pbx_links.hpp"
#include "base/log.hpp"

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitConfig = 2;

int config_error(const std::string& message) {
  std::fprintf(stderr, "config error: %s\n", message.c_str());
  return kExitConfig;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace callbridge;
  CLI::App cli{
      "callbridged - the callbridge CTI server (Asterisk AMI -> call model, journal, HTTP API).\n"
      "Without --config it runs on the built-in defaults; flags override the file."};
  cli.set_version_flag("--version", std::string("callbridged ") + CALLBRIDGE_VERSION);
  std::string config_path;
  bool print_default = false;
  std::string ami, ami_user, ami_secret, listen, data_dir, record_dir, log_level;
  cli.add_option("-c,--config", config_path, "TOML configuration file (see --print-default-config)")
      ->type_name("FILE");
  cli.add_flag("--print-default-config", print_default,
               "print the commented default configuration and exit");
  auto* o_ami = cli.add_option("--ami", ami, "Asterisk AMI address HOST:PORT (one PBX link)")->type_name("HOST:PORT");
  auto* o_user = cli.add_option("--ami-user", ami_user, "AMI user (manager.conf)")->type_name("USER");
  auto* o_secret = cli.add_option("--ami-secret", ami_secret, "AMI secret")->type_name("SECRET");
  auto* o_listen = cli.add_option("--listen", listen, "HTTP API address HOST:PORT (default 127.0.0.1:8080; port 0 = any)")
                       ->type_name("HOST:PORT");
  auto* o_data = cli.add_option("--data-dir", data_dir,
                                "state directory (default /var/lib/callbridge as root, else ./data)")
                     ->type_name("DIR");
  auto* o_record = cli.add_option("--record", record_dir, "record the raw AMI traffic into DIR")->type_name("DIR");
  auto* o_level = cli.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")->type_name("LEVEL");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = cli.exit(e);
    return rc == 0 ? 0 : kExitConfig;
  }
  if (print_default) {
    std::fputs(app::default_config_toml().c_str(), stdout);
    return 0;
  }

  app::Config config;
  if (!config_path.empty()) {
    auto loaded = app::load_config_file(config_path);
    if (!loaded) return config_error(loaded.error().message());
    config = std::move(*loaded);
  }
  app::Overrides o;
  if (*o_ami) o.ami = ami;
  if (*o_user) o.ami_user = ami_user;
  if (*o_secret) o.ami_secret = ami_secret;
  if (*o_listen) o.listen = listen;
  if (*o_data) o.data_dir = data_dir;
  if (*o_record) o.record_dir = record_dir;
  if (*o_level) o.log_level = log_level;
  if (auto st = app::apply_overrides(config, o); !st) return config_error(st.error().message());

  if (auto st = base::init_logging(config.server.log_level); !st)
    return config_error(st.error().message());

  auto created = app::App::create(config);
  if (!created) {
    spdlog::critical("cannot start: {}", created.error().message());
    return kExitFailure;
  }
  auto& a = **created;
  for (const auto& pbx : config.pbx) {
    auto link = app::make_pbx_link(pbx, a);
    if (!link) {
      spdlog::critical("cannot start: {}", link.error().message());
      return kExitFailure;
    }
    a.add_pbx_link(std::move(*link));
  }
  return a.run();
}
