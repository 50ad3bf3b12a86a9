// Commands against a running callbridged that wait for the PBX's final word: parked calls
// (docs/parking.md) and moving a call between your devices (docs/call-control.md "Moving a call"):
//   callbridge move CALL DEVICE  take your call on another of your devices ("mobile"), or back to
//                              your desk phone (your extension); POST /api/v1/calls/{id}/move;
//                              waits until the new device talks (or did not answer)
//   callbridge park CALL       park the other party of your call (POST /api/v1/calls/{id}/park) and
//                              print the space the PBX chose
//   callbridge parked          the tenant's parked calls (GET /api/v1/parking)
//   callbridge unpark SPACE    your phone rings and takes the call parked there
//                              (POST /api/v1/parking/{space}/pickup); waits for the outcome
// Server and token: cli/rest_client.hpp. Single-threaded.
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "base/device_name.hpp"
#include "cli/commands.hpp"
#include "cli/rest_client.hpp"

namespace callbridge::cli {
namespace {

namespace json = boost::json;

struct Common {
  std::string config;
};

void add_common(CLI::App* cmd, Common& c) {
  cmd->add_option("--cli-config", c.config, "client config (default ~/.config/callbridge/cli.toml)")
      ->option_text("FILE");
}

std::string str(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

bool device_ok(const std::string& d, const char* what) {
  if (d.empty() || base::is_device_name(d)) return true;
  std::fprintf(stderr, "callbridge %s: --device: not a device name: expected %s\n", what,
               std::string(base::kDeviceNameRule).c_str());
  return false;
}

// A space or lot: what res_parking names them (digits, letters, '-', '_').
bool parking_name(const std::string& v) {
  if (v.empty() || v.size() > 64) return false;
  for (char c : v)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_'))
      return false;
  return true;
}

// Follows command `id` (GET /api/v1/commands/{id}) until done or failed, at most `wait_s`
// seconds; `done(record)` prints the success. Exit code: 0 done, 1 failed or no outcome in time.
template <typename Done>
int follow(const Endpoint& ep, const char* what, const std::string& id, int wait_s, Done done) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(wait_s);
  boost::system::error_code ec;
  while (std::chrono::steady_clock::now() < until) {
    auto g = http(ep, "GET", "/api/v1/commands/" + path_segment(id), "");
    if (g.status != 200) return report_failure(ep, what, g);
    auto c = json::parse(g.body, ec);
    if (!ec && c.is_object()) {
      const auto& rec = c.as_object();
      const std::string state = str(rec, "state");
      if (state == "done") {
        done(rec);
        return 0;
      }
      if (state == "failed") {
        const std::string why = str(rec, "reason");
        std::fprintf(stderr, "callbridge %s: %s\n", what, why.empty() ? "the command failed" : why.c_str());
        return 1;
      }
    }
    // Polled: the PBX answers in milliseconds, a person answers a phone in seconds.
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  std::fprintf(stderr, "callbridge %s: no outcome within %d s (command %s is still under way)\n", what, wait_s,
               id.c_str());
  return 1;
}

std::string command_id(const HttpResult& r) {
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  return !ec && v.is_object() ? str(v.as_object(), "command_id") : std::string();
}

// "12s", "3m05s".
std::string duration_text(std::int64_t s) {
  if (s < 60) return std::to_string(s) + "s";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  return buf;
}

}  // namespace

Command register_park(CLI::App& app) {
  struct Opts {
    Common common;
    std::string call, device;
    int wait_s = 30;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "park",
      "park the other party of your call in the tenant's parking lot; prints the space (e.g. 701) anyone can pick "
      "it up from (`callbridge unpark 701`, or dial 701); your phone leaves the call and rings again when the "
      "parking time is over");
  cmd->add_option("call", o->call, "call id (`callbridge calls` lists your calls)")->required()->option_text("CALL");
  cmd->add_option("--device", o->device, "which of your extensions in the call parks it (default: the one in it)")
      ->option_text("EXT");
  cmd->add_option("--wait", o->wait_s, "seconds to wait for the PBX to name the space; 0 = do not wait")
      ->check(CLI::Range(0, 600))
      ->option_text("S");
  add_common(cmd, o->common);
  return {cmd, [o]() -> int {
            if (!device_ok(o->device, "park")) return 2;
            auto ep = endpoint_or_report(o->common.config, "park");
            if (!ep) return 2;
            json::object body;
            if (!o->device.empty()) body["device"] = o->device;
            auto r = http(*ep, "POST", "/api/v1/calls/" + path_segment(o->call) + "/park", json::serialize(body));
            if (r.status < 200 || r.status >= 300) return report_failure(*ep, "park", r);
            const std::string id = command_id(r);
            if (o->wait_s == 0 || id.empty()) {
              std::printf("park sent for %s\n", o->call.c_str());
              return 0;
            }
            return follow(*ep, "park", id, o->wait_s, [&](const json::object& rec) {
              const std::string space = str(rec, "space");
              std::printf("parked at %s: pick it up with `callbridge unpark %s` or by dialing %s\n", space.c_str(),
                          space.c_str(), space.c_str());
            });
          }};
}

Command register_move(CLI::App& app) {
  struct Opts {
    Common common;
    std::string call, device;
    int wait_s = 60;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "move",
      "take a call you are on to another of your devices: an external one (`move CALL mobile`: your mobile rings "
      "and takes the call over when you answer it) or back to your desk phone (`move CALL 103`, your extension); "
      "the other party stays on the line, the call keeps its id; if the device does not answer, nothing changes");
  cmd->add_option("call", o->call, "call id (`callbridge calls` lists your calls)")->required()->option_text("CALL");
  cmd->add_option("device", o->device,
                  "the device to move to: the name of one of your external devices (`callbridge device list`) or "
                  "your extension for the desk phone")
      ->required()
      ->option_text("DEVICE");
  cmd->add_option("--wait", o->wait_s, "seconds to wait for the new device to answer; 0 = do not wait")
      ->check(CLI::Range(0, 600))
      ->option_text("S");
  add_common(cmd, o->common);
  return {cmd, [o]() -> int {
            if (!base::is_device_name(o->device)) {
              std::fprintf(stderr, "callbridge move: DEVICE: not a device name: expected %s\n",
                           std::string(base::kDeviceNameRule).c_str());
              return 2;
            }
            auto ep = endpoint_or_report(o->common.config, "move");
            if (!ep) return 2;
            json::object body;
            body["device"] = o->device;
            auto r = http(*ep, "POST", "/api/v1/calls/" + path_segment(o->call) + "/move", json::serialize(body));
            if (r.status < 200 || r.status >= 300) return report_failure(*ep, "move", r);
            const std::string id = command_id(r);
            if (o->wait_s == 0 || id.empty()) {
              std::printf("%s is ringing; it takes call %s over when answered\n", o->device.c_str(), o->call.c_str());
              return 0;
            }
            std::printf("%s is ringing...\n", o->device.c_str());
            std::fflush(stdout);
            return follow(*ep, "move", id, o->wait_s, [&](const json::object&) {
              std::printf("call %s is on %s now\n", o->call.c_str(), o->device.c_str());
            });
          }};
}

Command register_parked(CLI::App& app) {
  struct Opts {
    Common common;
    bool as_json = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("parked",
                                 "the calls parked in the tenant's parking lots: space, caller, who parked it, for how "
                                 "long (pick one up with `callbridge unpark SPACE`)");
  cmd->add_flag("--json", o->as_json, "print the API's answer (GET /api/v1/parking) as it is");
  add_common(cmd, o->common);
  return {cmd, [o]() -> int {
            auto ep = endpoint_or_report(o->common.config, "parked");
            if (!ep) return 2;
            auto r = http(*ep, "GET", "/api/v1/parking", "");
            if (r.status != 200) return report_failure(*ep, "parked", r);
            if (o->as_json) {
              std::printf("%s\n", r.body.c_str());
              return 0;
            }
            boost::system::error_code ec;
            auto v = json::parse(r.body, ec);
            const json::array* list = nullptr;
            if (!ec && v.is_object())
              if (auto* p = v.as_object().if_contains("parked"); p && p->is_array()) list = &p->as_array();
            if (!list || list->empty()) {
              std::printf("nothing is parked\n");
              return 0;
            }
            for (const auto& item : *list) {
              if (!item.is_object()) continue;
              const auto& p = item.as_object();
              std::string caller = str(p, "number");
              if (const auto* ri = p.if_contains("remote_info"); ri && ri->is_object()) {
                if (const auto* cs = ri->as_object().if_contains("contacts"); cs && cs->is_array() && !cs->as_array().empty() &&
                                                                         cs->as_array()[0].is_object()) {
                  const std::string name = str(cs->as_array()[0].as_object(), "name");
                  if (!name.empty()) caller = name + ", " + caller;
                }
              }
              if (caller.empty()) caller = str(p, "name").empty() ? "withheld" : str(p, "name");
              std::string by = str(p, "parked_by");
              std::int64_t secs = 0;
              if (const auto* s = p.if_contains("parked_seconds"); s && s->is_int64()) secs = s->as_int64();
              std::printf("%-6s %-32s parked by %-6s %s ago (lot %s)\n", str(p, "space").c_str(), caller.c_str(),
                          by.empty() ? "?" : by.c_str(), duration_text(secs).c_str(), str(p, "lot").c_str());
            }
            return 0;
          }};
}

Command register_unpark(CLI::App& app) {
  struct Opts {
    Common common;
    std::string space, device, lot;
    int wait_s = 60;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("unpark",
                                 "pick up a parked call: your phone (or your active device) rings, answer it to talk "
                                 "to the parked caller; waits until you talk or says why not");
  cmd->add_option("space", o->space, "the parking space (`callbridge parked` lists them)")->required()->option_text("SPACE");
  cmd->add_option("--device", o->device, "which of your extensions rings (default: your active device)")
      ->option_text("EXT");
  cmd->add_option("--lot", o->lot, "another parking lot of the PBX (default: the tenant's)")->option_text("LOT");
  cmd->add_option("--wait", o->wait_s,
                  "seconds to wait for the outcome (your phone answered and took the call, or nothing parked there "
                  "any more); 0 = do not wait")
      ->check(CLI::Range(0, 600))
      ->option_text("S");
  add_common(cmd, o->common);
  return {cmd, [o]() -> int {
            if (!device_ok(o->device, "unpark")) return 2;
            if (!parking_name(o->space) || (!o->lot.empty() && !parking_name(o->lot))) {
              std::fprintf(stderr, "callbridge unpark: not a parking space or lot (letters, digits, '-', '_')\n");
              return 2;
            }
            auto ep = endpoint_or_report(o->common.config, "unpark");
            if (!ep) return 2;
            json::object body;
            if (!o->device.empty()) body["device"] = o->device;
            if (!o->lot.empty()) body["lot"] = o->lot;
            auto r = http(*ep, "POST", "/api/v1/parking/" + path_segment(o->space) + "/pickup", json::serialize(body));
            if (r.status < 200 || r.status >= 300) return report_failure(*ep, "unpark", r);
            std::printf("unpark sent for %s: your phone rings, answer it to talk to the parked caller\n", o->space.c_str());
            std::fflush(stdout);
            const std::string id = command_id(r);
            if (o->wait_s == 0 || id.empty()) return 0;
            return follow(*ep, "unpark", id, o->wait_s, [&](const json::object&) {
              std::printf("picked up: you are talking to the caller parked at %s\n", o->space.c_str());
            });
          }};
}

}  // namespace callbridge::cli
