// `callbridge-relay`: the cloud relay node (docs/relay.md). Thin: options and configuration (CLI11,
// TOML), the edge registry commands, and `serve`, which wires Registry, Router, Server and (with
// [cluster] nats_url) the NATS bus on one io thread.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>

#include "api/static_files.hpp"
#include "base/log.hpp"
#include "relay/app/relay_config.hpp"
#include "relay/node/nats_bus.hpp"
#include "relay/node/registry.hpp"
#include "relay/node/server.hpp"

namespace asio = boost::asio;
namespace base = callbridge::base;
namespace relay = callbridge::relay;

namespace {

int die(const std::string& message, int code = 2) {
  std::fprintf(stderr, "callbridge-relay: %s\n", message.c_str());
  return code;
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "relay";
  return buf;
}

// Once a second: the router's clock (heartbeats, window ages, idle windows, dead nodes).
void tick(asio::steady_timer& t, relay::node::Router& router) {
  t.expires_after(std::chrono::seconds(1));
  t.async_wait([&t, &router](boost::system::error_code ec) {
    if (ec) return;
    router.tick(relay::node::Clock::now());
    tick(t, router);
  });
}

int serve(relay::app::RelayConfig config) {
  if (auto st = base::init_logging(config.log_level); !st) return die(st.error().to_string());
  if (config.name.empty()) config.name = host_name();
  config.router.node = config.name;
  auto registry = relay::node::Registry::load(config.registry);
  if (!registry) return die(registry.error().message());
  if (registry->edges().empty()) {
    spdlog::warn("relay: no edges in {} yet (callbridge-relay edge add NAME)", config.registry);
  }
  if (!config.diagnostics_token_file.empty()) {
    std::ifstream in(config.diagnostics_token_file, std::ios::binary);
    std::string token;
    if (!in || !std::getline(in, token)) return die(config.diagnostics_token_file + ": cannot be read ([diagnostics] token_file)");
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
    if (token.size() < 16 || token.size() > 512)
      return die(config.diagnostics_token_file + ": the diagnostics token must have 16 to 512 characters");
    config.server.diagnostics_token = std::move(token);
  }
  asio::io_context io(1);
  relay::node::Metrics metrics;
  relay::node::Router router(config.router, metrics);
  std::unique_ptr<relay::node::NatsBus> bus;
  if (!config.nats_url.empty()) {
    auto b = relay::node::NatsBus::create(io, config.nats_url, config.name, [&router](std::string_view s, std::string_view d) {
      router.bus_message(s, d, relay::node::Clock::now());
    });
    if (!b) return die(b.error().message());
    bus = std::move(*b);
    router.set_bus(bus.get());
  }
  const std::string web_root = config.web_root.empty() ? callbridge::api::default_web_root() : config.web_root;
  config.server.static_files = [web_root](std::string_view path) {
    auto r = callbridge::api::serve_static(callbridge::api::StaticFilesOptions{web_root}, path, true);
    return relay::node::StaticReply{r.status, r.content_type, std::move(r.body)};
  };
  relay::node::Server server(io, config.server, router, *registry, metrics,
                             [&bus] { return !bus || bus->connected(); });
  if (auto st = server.start(); !st) return die(st.error().message(), 1);
  spdlog::info("relay: node {} listening on {}:{} ({} edges registered{})", config.name, config.server.host,
               server.port(), registry->edges().size(), bus ? ", cluster " + config.nats_url : "");
  // The line tests and scripts wait for (port 0 picks a free port).
  std::printf("callbridge-relay: node %s listening on %s:%u\n", config.name.c_str(), config.server.host.c_str(),
              static_cast<unsigned>(server.port()));
  std::fflush(stdout);
  asio::steady_timer ticker(io);
  tick(ticker, router);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (ec) return;
    spdlog::info("relay: stopping");
    server.stop();
    ticker.cancel();
    io.stop();
  });
  io.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "callbridge-relay - the cloud relay between callbridge edges (each company's callbridged, which\n"
      "connects out to it) and their browsers and apps. It routes end-to-end encrypted frames by edge\n"
      "and client id, keeps recent frames in memory for client resume, and stores nothing but its\n"
      "configuration and the edge registry (docs/relay.md).\n\n"
      "Examples:\n"
      "  callbridge-relay --print-config > /etc/callbridge-relay/relay.toml\n"
      "  callbridge-relay -c /etc/callbridge-relay/relay.toml edge add acme    # prints the join token\n"
      "  callbridge-relay -c /etc/callbridge-relay/relay.toml serve\n"
      "  callbridge-relay -c relay.toml serve --listen 0.0.0.0:8443 --name relay-2 --nats nats://10.0.0.5:4222"};
  app.require_subcommand(0, 1);
  std::string config_path;
  std::string registry_override;
  bool print_config = false;
  app.add_option("-c,--config", config_path, "the relay's TOML configuration (see --print-config)")
      ->check(CLI::ExistingFile);
  app.add_option("--registry", registry_override, "the edge registry file (overrides registry in the configuration)");
  app.add_flag("--print-config", print_config, "print a commented sample configuration and exit");

  auto* serve_cmd = app.add_subcommand("serve", "run the relay node (TLS port, edges and clients, /healthz /readyz /metrics)");
  std::string listen, name, nats, log_level;
  serve_cmd->add_option("--listen", listen, "HOST:PORT to serve on (port 0: any free port, printed)");
  serve_cmd->add_option("--name", name, "this node's name (default: the host name)");
  serve_cmd->add_option("--nats", nats, "NATS URL of the relay cluster (nats://HOST:PORT)");
  serve_cmd->add_option("--log-level", log_level, "trace, debug, info, warn, error or off");

  auto* edge_cmd = app.add_subcommand("edge", "manage the edge registry (edges: the companies' callbridged)");
  edge_cmd->require_subcommand(1);
  std::string edge_name;
  auto* add = edge_cmd->add_subcommand("add", "register an edge and print its one-time join token");
  add->add_option("NAME", edge_name, "edge name: lower-case letters, digits and '-' (e.g. acme)")->required();
  auto* reset = edge_cmd->add_subcommand("reset", "print a new join token for an edge and forget its key (a new machine)");
  reset->add_option("NAME", edge_name, "edge name")->required();
  auto* remove = edge_cmd->add_subcommand("remove", "remove an edge (its connections are refused from the next login)");
  remove->add_option("NAME", edge_name, "edge name")->required();
  auto* list = edge_cmd->add_subcommand("list", "list the registered edges and whether they joined");
  CLI11_PARSE(app, argc, argv);

  if (print_config) {
    std::fwrite(relay::app::sample_relay_config().data(), 1, relay::app::sample_relay_config().size(), stdout);
    return 0;
  }
  auto config = relay::app::load_relay_config(config_path);
  if (!config) return die(config.error().message());
  if (!registry_override.empty()) config->registry = registry_override;

  if (*serve_cmd) {
    if (!listen.empty()) {
      if (auto st = relay::app::apply_listen(*config, listen); !st) return die("--" + st.error().message());
    }
    if (!name.empty()) config->name = name;
    if (!nats.empty()) config->nats_url = nats;
    if (!log_level.empty()) config->log_level = log_level;
    return serve(std::move(*config));
  }
  if (*edge_cmd) {
    auto registry = relay::node::Registry::load(config->registry);
    if (!registry) return die(registry.error().message());
    if (*list) {
      if (registry->edges().empty()) std::printf("no edges in %s\n", config->registry.c_str());
      for (const auto& [id, e] : registry->edges()) {
        std::printf("%-24s %s  added %s%s\n", id.c_str(), e.public_key.empty() ? "not joined" : "joined    ",
                    e.added.c_str(), e.joined.empty() ? "" : ("  joined " + e.joined).c_str());
      }
      return 0;
    }
    if (*remove) {
      if (auto st = registry->update([&](relay::node::Registry& r) { return r.remove(edge_name); }); !st)
        return die(st.error().message(), 1);
      std::printf("removed edge %s\n", edge_name.c_str());
      return 0;
    }
    std::string token;
    auto st = registry->update([&](relay::node::Registry& r) -> base::Status {
      auto t = *add ? r.add(edge_name) : r.reset(edge_name);
      if (!t) return base::fail(t.error());
      token = std::move(*t);
      return {};
    });
    if (!st) return die(st.error().message(), 1);
    std::printf("%s\n", token.c_str());
    std::fflush(stdout);  // the token first, then the words on stderr
    std::fprintf(stderr,
                 "callbridge-relay: edge %s registered in %s. Put the token above into the edge's callbridge.toml\n"
                 "  [relay] url = \"wss://THIS-RELAY\", edge_id = \"%s\", join_token = \"...\"\n"
                 "It works once; the relay keeps only its digest.\n",
                 edge_name.c_str(), config->registry.c_str(), edge_name.c_str());
    return 0;
  }
  std::fputs(app.help().c_str(), stdout);
  return 0;
}
