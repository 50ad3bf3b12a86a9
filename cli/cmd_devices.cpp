// `callbridge devices`: the device registry of a running callbridged (GET /api/v1/devices, admins;
// docs/devices.md) as a table or the API's JSON; `callbridge devices remove ID` removes one device
// until the PBX reports it again (DELETE /api/v1/devices/{id}).
#include <boost/json.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.hpp"
#include "cli/rest_client.hpp"

namespace callbridge::cli {
namespace {

namespace json = boost::json;

constexpr const char* kHelp =
    "The registry lists every SIP endpoint the PBX reports (PJSIPShowEndpoints/PJSIPShowContacts at\n"
    "every connect, ContactStatus live): model and firmware come from the phone's User-Agent.\n"
    "Removing a device forgets it (and its last call, last seen, user agent) until the PBX reports\n"
    "the endpoint again: its next registration or contact status, or the next reconnect's resync.\n"
    "Nothing changes in the PBX. Needs an admin token (CALLBRIDGE_URL and CALLBRIDGE_TOKEN, or\n"
    "~/.config/callbridge/cli.toml).";

struct Flags {
  std::string cli_config;
  bool json_out = false;
  std::string id;
};

std::string str(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string or_dash(std::string s) { return s.empty() ? "-" : s; }

int run_list(const Flags& f) {
  auto ep = endpoint_or_report(f.cli_config, "devices list");
  if (!ep) return 2;
  auto answer = get_list(*ep, "devices", "/api/v1/devices", "devices", f.json_out);
  if (!answer) return answer.error();
  const json::array* list = &answer->items();
  if (list->empty()) {
    std::printf("no devices\n");
    return 0;
  }
  std::printf("%-16s %-6s %-10s %-26s %-16s %-12s %-22s %-9s %s\n", "ID", "EXT", "SIP USER", "MODEL", "FIRMWARE",
              "REGISTRATION", "ADDRESS", "STATUS", "LAST SEEN");
  for (const auto& dv : *list) {
    if (!dv.is_object()) continue;
    const auto& d = dv.as_object();
    std::string model = str(d, "model");
    if (!model.empty() && !str(d, "vendor").empty()) model = str(d, "vendor") + " " + model;
    if (model.empty()) model = str(d, "user_agent");  // unknown format: the raw User-Agent
    std::printf("%-16s %-6s %-10s %-26s %-16s %-12s %-22s %-9s %s\n", str(d, "id").c_str(),
                or_dash(str(d, "extension")).c_str(), or_dash(str(d, "sip_user")).c_str(), or_dash(model).c_str(),
                or_dash(str(d, "firmware")).c_str(), str(d, "registration").c_str(), or_dash(str(d, "address")).c_str(),
                str(d, "status").c_str(), or_dash(str(d, "last_seen")).c_str());
  }
  return 0;
}

int run_remove(const Flags& f) {
  auto ep = endpoint_or_report(f.cli_config, "devices remove");
  if (!ep) return 2;
  auto r = http(*ep, "DELETE", "/api/v1/devices/" + path_segment(f.id), "");
  if (r.status != 204) return report_failure(*ep, "devices remove", r);
  std::printf("removed %s from the registry until the PBX reports it again\n", f.id.c_str());
  return 0;
}

}  // namespace

Command register_devices(CLI::App& app) {
  auto f = std::make_shared<Flags>();
  auto* c = app.add_subcommand("devices", "the PBX's SIP devices: model, firmware, registration, status (admin)");
  c->footer(kHelp);
  c->add_option("--cli-config", f->cli_config, "client config (default ~/.config/callbridge/cli.toml)")
      ->option_text("FILE");
  c->add_flag("--json", f->json_out, "print the API's JSON");
  auto* remove = c->add_subcommand("remove", "remove a device from the registry until the PBX reports it again");
  remove->add_option("id", f->id, "device id (<pbx>:<endpoint>, first column of the list)")->required();
  remove->add_option("--cli-config", f->cli_config, "client config (default ~/.config/callbridge/cli.toml)")
      ->option_text("FILE");
  Command cmd;
  cmd.app = c;
  cmd.run = [f, remove]() { return remove->parsed() ? run_remove(*f) : run_list(*f); };
  return cmd;
}

}  // namespace callbridge::cli
