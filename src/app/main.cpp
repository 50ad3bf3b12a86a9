// callbridged: the callbridge server. Parses flags, loads the configuration, builds the App and
// runs it on the main thread. Exit codes: 0 clean stop, 1 start-up or runtime failure, 2 bad
// configuration or flags. Under systemd (docs/install.md): Type=notify, the watchdog, SIGHUP reload.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>

#include "app/app.hpp"
#include "app/config.hpp"
#include "app/demo.hpp"
#include "app/driver_table.hpp"
#include "base/log.hpp"
#include "base/private_dir.hpp"

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
  base::restrict_umask();  // databases, -wal/-shm, recordings: owner-only (docs/security.md)
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
  std::string log_format = "auto";
  cli.add_option("--log-format", log_format,
                 "text (timestamped lines), journal (<N> priority prefix, no timestamp: systemd's journal adds "
                 "them) or auto (journal when stderr is the journal's stream, else text)")
      ->type_name("FORMAT");
  bool demo_flag = false;
  int demo_speed = 0;
  cli.add_flag("--demo", demo_flag,
               "demo mode: a built-in PBX simulator with live calls, demo contacts and the demo users of team "
               "Sales; prints sign-in links for Anna (extension 100, her phone rings within seconds) and the "
               "admin (config: [demo] enabled = true)");
  auto* o_demo_speed = cli.add_option("--demo-speed", demo_speed,
                                      "demo simulator speed (simulated seconds per second; the times it reports "
                                      "stay on the wall clock)")
                           ->type_name("N")
                           ->check(CLI::Range(1, 10000));
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
  if (demo_flag) config.demo.enabled = true;
  if (*o_demo_speed) config.demo.speed = demo_speed;

  for (const auto& pbx : config.pbx)  // a [[pbx]] driver must be a row of the driver table
    if (auto st = app::check_driver(pbx); !st) return config_error(st.error().message());
  auto format = base::parse_log_format(log_format);
  if (!format) return config_error("--log-format: " + format.error().message());
  if (auto st = base::init_logging(config.server.log_level, *format); !st)
    return config_error(st.error().message());

  // Demo mode: the simulator and its link exist before the App (the link is part of the config),
  // contacts and token are seeded into the data dir before the App opens it.
  std::unique_ptr<app::DemoPbx> demo;
  std::string demo_token, focus_token;
  if (config.demo.enabled) {
    auto started = app::DemoPbx::start(config.demo);
    if (!started) {
      spdlog::critical("cannot start demo mode: {}", started.error().message());
      return kExitFailure;
    }
    demo = std::move(*started);
    if (auto st = app::add_demo_link(config, *demo); !st) return config_error(st.error().message());
    auto dir = app::effective_data_dir(config);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    const base::TenantId tenant(config.pbx.back().tenant);  // validated by the config loader
    auto seeded = app::seed_demo_contacts(dir, tenant,
                                          app::demo_traffic_profile(config.demo.calls_per_minute, config.demo.seed));
    if (!seeded) {
      spdlog::critical("cannot start demo mode: contacts: {}", seeded.error().message());
      return kExitFailure;
    }
    if (*seeded > 0) spdlog::info("demo: {} demo contacts added to {}/contacts.db", *seeded, dir);
    auto users = app::seed_demo_users(dir, tenant);
    if (!users) {
      spdlog::critical("cannot start demo mode: users: {}", users.error().message());
      return kExitFailure;
    }
    if (*users > 0) spdlog::info("demo: {} demo users of team {} added to {}/identity.db", *users, app::kDemoTeam, dir);
    auto token = app::demo_admin_token(dir, tenant);
    auto focus = token ? app::demo_focus_token(dir, tenant) : token;
    if (!token || !focus) {
      spdlog::critical("cannot start demo mode: token: {}", (token ? focus : token).error().message());
      return kExitFailure;
    }
    demo_token = std::move(*token);
    focus_token = std::move(*focus);
  }

  // SIGHUP reads the file again with the same flags on top (and the demo's link), as at start.
  app::AppOptions options;
  if (!config_path.empty()) {
    options.reload_config = [config_path, o, demo_flag, o_demo_speed_set = bool(*o_demo_speed), demo_speed,
                             &demo]() -> base::Result<app::Config> {
      auto next = app::load_config_file(config_path);
      if (!next) return next;
      if (auto st = app::apply_overrides(*next, o); !st) return base::fail(st.error());
      if (demo_flag) next->demo.enabled = true;
      if (o_demo_speed_set) next->demo.speed = demo_speed;
      for (const auto& pbx : next->pbx)
        if (auto st = app::check_driver(pbx); !st) return base::fail(st.error());
      if (demo)
        if (auto st = app::add_demo_link(*next, *demo); !st) return base::fail(st.error());
      return next;
    };
  }
  auto created = app::App::create(config, options);
  if (!created) {
    spdlog::critical("cannot start: {}", created.error().message());
    return kExitFailure;
  }
  auto& a = **created;  // one runtime per tenant, each with its [[pbx]] drivers
  if (demo) {
    // Two links: the person whose phone rings within seconds, and the admin (docs/pbxsim.md).
    const auto& anna = app::kDemoFocus;
    std::printf("\ncallbridge demo mode: simulated PBX with live calls, demo contacts, team %s.\n"
                "Open as %s (extension %s, her phone rings within seconds): %s\n"
                "Open as the admin (%s: users, teams, diagnostics): %s\n\n",
                app::kDemoTeam, anna.display_name, anna.extension,
                app::demo_url(config.server.listen, a.http_port(), focus_token).c_str(), app::kDemoAdminUser,
                app::demo_url(config.server.listen, a.http_port(), demo_token).c_str());
    std::fflush(stdout);
  }
  // Demo: whoever opens a link sees something happen within seconds. A new event stream (a
  // snapshot sent) means a browser was opened; then Anna's phone rings soon (DemoPbx).
  boost::asio::steady_timer viewers(a.io());
  std::function<void(std::uint64_t)> watch = [&](std::uint64_t seen) {
    viewers.expires_after(std::chrono::milliseconds(250));
    viewers.async_wait([&, seen](boost::system::error_code ec) {
      if (ec) return;
      auto now = a.event_hub().stats().snapshots;
      if (now > seen) demo->viewer_arrived();
      watch(now);
    });
  };
  if (demo) watch(a.event_hub().stats().snapshots);
  int rc = a.run();
  if (demo) demo->stop();
  return rc;
}
