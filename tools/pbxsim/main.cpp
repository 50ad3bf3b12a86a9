// `callbridge-pbxsim`: an AMI server that behaves like the lab's Asterisk 22 (see docs/pbxsim.md).
// Thin: parses options (CLI11, TOML traffic profile via toml++) and runs sim/.
#include <CLI/CLI.hpp>
#include <toml++/toml.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "sim/flows.hpp"
#include "sim/scenarios.hpp"
#include "sim/sim_server.hpp"
#include "sim/traffic.hpp"

namespace sim = callbridge::sim;
namespace base = callbridge::base;

namespace {

// Reads a traffic profile; every key is a TrafficProfile field, unknown keys are errors.
base::Status load_profile(const std::string& path, sim::TrafficProfile& p) {
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return base::fail(base::Error::invalid_argument(path + ": " + std::string(e.description())));
  }
  const toml::table* tbl = &t;
  if (auto* traffic = t["traffic"].as_table()) tbl = traffic;  // [traffic] table or top level
  static const std::set<std::string> known = {
      "seats", "cps", "answer_ratio", "miss_ratio", "busy_ratio", "inbound", "outbound", "internal", "queue",
      "hold_ratio", "transfer_ratio", "attended_ratio", "ring_min_s", "ring_max_s", "talk_mean_s", "talk_min_s", "talk_max_s",
      "external_prefix", "external_pool", "seed", "max_calls"};
  for (const auto& [k, v] : *tbl) {
    if (!known.contains(std::string(k.str())) && !(tbl == &t && k.str() == "traffic")) {
      return base::fail(base::Error::invalid_argument(path + ": unknown key '" + std::string(k.str()) + "'"));
    }
  }
  auto num = [&](const char* key, double& out) -> base::Status {
    if (auto n = (*tbl)[key]) {
      auto v = n.value<double>();
      if (!v) return base::fail(base::Error::invalid_argument(path + ": '" + key + "' must be a number"));
      out = *v;
    }
    return {};
  };
  auto integer = [&](const char* key, auto& out) -> base::Status {
    if (auto n = (*tbl)[key]) {
      auto v = n.value<std::int64_t>();
      if (!v || *v < 0) return base::fail(base::Error::invalid_argument(path + ": '" + key + "' must be an integer >= 0"));
      out = static_cast<std::remove_reference_t<decltype(out)>>(*v);
    }
    return {};
  };
  for (auto [key, field] : {std::pair{"cps", &p.cps}, {"answer_ratio", &p.answer_ratio}, {"miss_ratio", &p.miss_ratio},
                            {"busy_ratio", &p.busy_ratio}, {"inbound", &p.inbound}, {"outbound", &p.outbound},
                            {"internal", &p.internal}, {"queue", &p.queue}, {"hold_ratio", &p.hold_ratio},
                            {"transfer_ratio", &p.transfer_ratio}, {"attended_ratio", &p.attended_ratio},
                            {"ring_min_s", &p.ring_min_s},
                            {"ring_max_s", &p.ring_max_s}, {"talk_mean_s", &p.talk_mean_s},
                            {"talk_min_s", &p.talk_min_s}, {"talk_max_s", &p.talk_max_s}}) {
    if (auto st = num(key, *field); !st) return st;
  }
  if (auto st = integer("seats", p.seats); !st) return st;
  if (auto st = integer("external_pool", p.external_pool); !st) return st;
  if (auto st = integer("seed", p.seed); !st) return st;
  if (auto st = integer("max_calls", p.max_calls); !st) return st;
  if (auto s = (*tbl)["external_prefix"].value<std::string>()) p.external_prefix = *s;
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  std::string scenario_list;
  for (const auto& s : sim::scenarios()) scenario_list += "\n  " + s.name + ": " + s.summary;
  CLI::App app{
      "callbridge-pbxsim - an AMI server that behaves like Asterisk 22 (the lab of tests/fixtures/asterisk-22):\n"
      "same banner, login (plain and MD5 challenge), responses, events, field sets and order, Uniqueids\n"
      "ctilab-<epoch>.<n>. Calls come from a traffic profile (Poisson arrivals, seeded), from --scenario,\n"
      "or from AMI actions (Originate, Hangup, Redirect, BlindTransfer, Atxfer).\n\n"
      "Examples:\n"
      "  callbridge-pbxsim --listen 127.0.0.1:5038 --cps 2 --seats 50 --seed 7\n"
      "  callbridge-pbxsim --listen 127.0.0.1:0 --scenario queue --exit-when-done\n"
      "  callbridge-pbxsim --profile load.toml --speed 0 --max-calls 10000 --dump stream.ami\n\n"
      "Scenarios (start when the first client has logged in):" + scenario_list};
  std::string listen = "127.0.0.1:5038";
  sim::AmiServerConfig ami;
  std::string profile_path, scenario, dump;
  double speed = 1.0;
  bool exit_when_done = false;
  bool control_stdin = false;
  bool wait_login = false;
  bool callbridge_dialplan = false;
  std::string system_name = sim::LabConfig{}.system_name;
  std::string outside_prefix;
  sim::TrafficProfile cli_profile;
  std::optional<double> cps, answer, miss, busy, hold, transfer, attended, talk_mean;
  std::optional<int> seats;
  std::optional<std::uint64_t> seed, max_calls;

  app.add_option("--listen", listen, "HOST:PORT to serve AMI on; port 0 picks a free port and prints it")
      ->capture_default_str();
  app.add_option("--user", ami.username, "AMI username clients must log in with")->capture_default_str();
  app.add_option("--secret", ami.secret, "AMI secret (plain Secret or MD5 Key)")->capture_default_str();
  app.add_option("--profile", profile_path, "traffic profile (TOML; keys as the --flags, snake_case)")
      ->check(CLI::ExistingFile);
  app.add_option("--seats", seats, "phones 100.. (first six are the lab's named phones)")->check(CLI::Range(2, 9000));
  app.add_option("--cps", cps, "new calls per second (Poisson); enables generated traffic")->check(CLI::PositiveNumber);
  app.add_option("--answer-ratio", answer, "share of ringing calls answered")->check(CLI::Range(0.0, 1.0));
  app.add_option("--miss-ratio", miss, "share of ringing calls the caller gives up on")->check(CLI::Range(0.0, 1.0));
  app.add_option("--busy-ratio", busy, "share of ringing calls rejected busy (486)")->check(CLI::Range(0.0, 1.0));
  app.add_option("--hold-ratio", hold, "share of answered inbound calls put on hold once")->check(CLI::Range(0.0, 1.0));
  app.add_option("--transfer-ratio", transfer, "share of answered inbound calls blind-transferred")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--attended-ratio", attended, "share of answered inbound calls attended-transferred")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--talk-mean", talk_mean, "mean talk time in seconds (exponential)")->check(CLI::PositiveNumber);
  app.add_option("--seed", seed, "random seed: same seed, same AMI stream");
  app.add_option("--max-calls", max_calls, "stop generating after this many calls (0 = never)");
  app.add_option("--speed", speed, "simulated seconds per real second; 0 = as fast as possible")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e6));
  app.add_option("--scenario", scenario, "play one captured flow once (see the list above)");
  app.add_flag("--exit-when-done", exit_when_done, "with --scenario/--max-calls: exit once nothing is left to do");
  app.add_flag("--callbridge-dialplan", callbridge_dialplan,
               "behave as a PBX with contrib/asterisk/callbridge.conf installed (docs/dialplan.md): ShowDialPlan "
               "finds [callbridge-version] (version 2), and the AstDB keys callbridged writes (DBPut/DBDel) give DND, "
               "forwarding and follow-me; Setvar, Redirect into [callbridge-hold] and Bridge hold and retrieve a call "
               "in the PBX (docs/pbxsim.md). Default: the stock lab dialplan of the captures (the include missing)");
  app.add_option("--outside-prefix", outside_prefix,
                 "what users dial for an outside line before a number, as the tenant's [dialing] outside_prefix "
                 "(e.g. 0): \"0\" + \"0170...\" is then the national 0170..., not +170...; default none")
      ->check([](const std::string& v) -> std::string {
        if (v.size() > 4) return "at most 4 digits";
        for (char c : v)
          if (c < '0' || c > '9') return "digits only";
        return {};
      });
  app.add_option("--system-name", system_name,
                 "the PBX's systemname: SystemName of every event and the prefix of Uniqueids/Linkedids "
                 "(<name>-<epoch>.<n>, so two simulators in one test have different call ids); [a-z0-9-], 1..32")
      ->capture_default_str()
      ->check([](const std::string& v) -> std::string {
        if (v.empty() || v.size() > 32) return "1..32 characters";
        for (char c : v)
          if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return "only a-z, 0-9 and '-'";
        return {};
      });
  app.add_flag("--wait-login", wait_login,
               "generated traffic starts when the first client has logged in (an observer that must see every call)");
  app.add_flag("--control-stdin", control_stdin,
               "read commands from stdin, one per line: 'drain' = start no new calls and exit once the calls "
               "in progress have ended (fault campaigns end their traffic this way); 'scenario NAME' = play "
               "one captured flow now, printing 'scenario NAME done' once the simulator is idle again; 'ring EXT "
               "SECONDS' = an outside caller rings phone EXT that long, then gives up, unless the phone is answered "
               "first (by hand or remotely), printing 'scenario ring EXT done' once idle");
  app.add_option("--dump", dump,
                 "do not serve: run the scenario/traffic to the end and write the AMI stream (banner + events) "
                 "to FILE ('-' = stdout); needs --scenario or --max-calls");
  CLI11_PARSE(app, argc, argv);

  sim::TrafficProfile profile = cli_profile;
  bool traffic = false;
  if (!profile_path.empty()) {
    if (auto st = load_profile(profile_path, profile); !st) {
      std::fprintf(stderr, "callbridge-pbxsim: %s\n", st.error().to_string().c_str());
      return 2;
    }
    traffic = true;
  }
  if (seats) profile.seats = *seats;
  if (cps) {
    profile.cps = *cps;
    traffic = true;
  }
  if (answer) profile.answer_ratio = *answer;
  if (miss) profile.miss_ratio = *miss;
  if (busy) profile.busy_ratio = *busy;
  if (hold) profile.hold_ratio = *hold;
  if (transfer) profile.transfer_ratio = *transfer;
  if (attended) profile.attended_ratio = *attended;
  if (talk_mean) profile.talk_mean_s = *talk_mean;
  if (seed) profile.seed = *seed;
  if (max_calls) profile.max_calls = *max_calls;
  if (auto st = profile.validate(); traffic && !st) {
    std::fprintf(stderr, "callbridge-pbxsim: %s\n", st.error().to_string().c_str());
    return 2;
  }
  if (!scenario.empty()) {
    bool known = false;
    for (const auto& s : sim::scenarios()) known = known || s.name == scenario;
    if (!known) {
      std::fprintf(stderr, "callbridge-pbxsim: unknown scenario '%s'; see --help\n", scenario.c_str());
      return 2;
    }
  }

  auto start = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  sim::LabConfig lab = traffic ? sim::lab_with_seats(profile.seats) : sim::LabConfig{};
  lab.callbridge_dialplan = callbridge_dialplan;
  lab.system_name = system_name;
  lab.outside_prefix = outside_prefix;
  sim::TrafficGenerator generator(profile);

  if (!dump.empty()) {
    if (scenario.empty() && (!traffic || profile.max_calls == 0)) {
      std::fprintf(stderr, "callbridge-pbxsim: --dump needs --scenario or traffic with --max-calls\n");
      return 2;
    }
    std::ofstream file;
    std::ostream* out = &std::cout;
    if (dump != "-") {
      file.open(dump, std::ios::binary);
      if (!file) {
        std::fprintf(stderr, "callbridge-pbxsim: cannot write %s\n", dump.c_str());
        return 1;
      }
      out = &file;
    }
    std::string buf = ami.banner + "\r\n";
    sim::SimEngine engine(lab, start, [&](const sim::SimMessage& m) {
      m.append_wire(buf);
      if (buf.size() > (1 << 20)) {
        out->write(buf.data(), static_cast<std::streamsize>(buf.size()));
        buf.clear();
      }
    });
    if (!scenario.empty()) (void)sim::start_scenario(engine, scenario);
    if (traffic) generator.start(engine);
    engine.run_all(std::numeric_limits<std::size_t>::max());
    out->write(buf.data(), static_cast<std::streamsize>(buf.size()));
    out->flush();
    return out->good() ? 0 : 1;
  }

  auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "callbridge-pbxsim: --listen wants HOST:PORT, got '%s'\n", listen.c_str());
    return 2;
  }
  sim::SimServerOptions opts;
  opts.host = listen.substr(0, colon);
  try {
    int port = std::stoi(listen.substr(colon + 1));
    if (port < 0 || port > 65535) throw std::out_of_range("port");
    opts.port = static_cast<std::uint16_t>(port);
  } catch (const std::exception&) {
    std::fprintf(stderr, "callbridge-pbxsim: bad port in --listen '%s'\n", listen.c_str());
    return 2;
  }
  opts.speed = speed;
  opts.ami = ami;
  sim::SimEngine engine(lab, start, nullptr);
  sim::SimServer server(opts, engine);
  auto port = server.listen();
  if (!port) {
    std::fprintf(stderr, "callbridge-pbxsim: %s\n", port.error().to_string().c_str());
    return 1;
  }
  std::printf("callbridge-pbxsim: AMI on %s:%u (user %s)%s%s\n", opts.host.c_str(), static_cast<unsigned>(*port),
              ami.username.c_str(), traffic ? ", traffic on" : "", scenario.empty() ? "" : (", scenario " + scenario).c_str());
  std::fflush(stdout);
  if (traffic && !wait_login) server.post([&](sim::SimEngine& e) { generator.start(e); });
  bool started = scenario.empty();
  if (!scenario.empty() || (traffic && wait_login)) {
    server.on_first_login([&](sim::SimEngine& e) {
      if (!scenario.empty()) (void)sim::start_scenario(e, scenario);
      if (traffic && wait_login) generator.start(e);
      started = true;
    });
  }
  bool draining = false;  // engine thread only
  std::string playing;    // engine thread only: a scenario started by the 'scenario' command
  if (exit_when_done || control_stdin) {
    server.on_idle([&](sim::SimEngine&) {
      if (!playing.empty()) {
        std::printf("callbridge-pbxsim: scenario %s done\n", playing.c_str());
        std::fflush(stdout);
        playing.clear();
      }
      bool traffic_done = !traffic || (profile.max_calls != 0 && generator.started() >= profile.max_calls);
      if (draining || (exit_when_done && started && traffic_done)) server.stop();
    });
  }
  if (control_stdin) {
    // Detached: it blocks in getline until the process exits; it only posts to the engine thread.
    std::thread([&server, &generator, &draining, &playing] {
      std::string line;
      while (std::getline(std::cin, line)) {
        if (line.starts_with("scenario ")) {
          server.post([name = line.substr(9), &playing](sim::SimEngine& e) {
            if (auto st = sim::start_scenario(e, name); !st) {
              std::printf("callbridge-pbxsim: %s\n", st.error().to_string().c_str());
            } else {
              playing = name;
              std::printf("callbridge-pbxsim: scenario %s started\n", name.c_str());
            }
            std::fflush(stdout);
          });
        } else if (line.starts_with("ring ")) {
          // ring EXT SECONDS: an outside call to EXT that rings until answered (remote control:
          // PJSIPNotify talk) or until the caller gives up after SECONDS.
          std::string ext;
          int secs = 0;
          std::istringstream in(line.substr(5));
          in >> ext >> secs;
          if (ext.empty() || secs < 1 || secs > 3600 || !in.eof()) {
            std::fprintf(stderr, "callbridge-pbxsim: usage: ring EXT SECONDS (1..3600)\n");
            continue;
          }
          server.post([ext, secs, &playing](sim::SimEngine& e) {
            if (!e.model().phone(ext)) {
              std::printf("callbridge-pbxsim: ring: no phone %s\n", ext.c_str());
            } else {
              sim::InboundCall c;
              c.ext = ext;
              c.outcome = sim::Outcome::missed;
              c.ring = std::chrono::seconds(secs);
              sim::start_inbound(e, c);
              playing = "ring " + ext;
              std::printf("callbridge-pbxsim: scenario ring %s started\n", ext.c_str());
            }
            std::fflush(stdout);
          });
        } else if (line == "drain") {
          server.post([&server, &generator, &draining](sim::SimEngine& e) {
            generator.stop();
            draining = true;
            if (e.idle()) server.stop();  // nothing in progress: on_idle would not come again
          });
        } else if (!line.empty()) {
          std::fprintf(stderr, "callbridge-pbxsim: unknown control command '%s' (known: drain, scenario NAME, ring EXT SECONDS)\n", line.c_str());
        }
      }
    }).detach();
  }
  server.run();
  if (control_stdin) {
    std::fflush(stdout);
    std::_Exit(0);  // the control thread may still block in getline on locals of main()
  }
  return 0;
}
