// `callbridge device list|use|add|remove`: the caller's own devices on a running callbridged
// (AnyDevice, docs/call-control.md): the desk extensions and named external devices, and which one
// make call rings first. Speaks /api/v1/me/devices (docs/api.md "Devices"); with --user an admin
// does the same for a user of their tenant (/api/v1/users/{user}/devices). Server and token:
// cli/rest_client.hpp.
#include <boost/json.hpp>
#include <cstdio>
#include <optional>
#include <string>

#include "cli/commands.hpp"
#include "cli/rest_client.hpp"

namespace callbridge::cli {
namespace {

namespace json = boost::json;

constexpr const char* kHelp = R"(
The active device is the phone a make call (click-to-dial, `callbridge dial`) rings first: a desk
extension, or an external device such as your mobile, which the PBX calls first and then connects
to the destination, who sees your office number. Examples:
  callbridge device add mobile "0170 1234567"    # a name (a-z, 0-9, - and _) and a number
  callbridge device add work "0171 7654321" --company   # a phone the company pays for
  callbridge device use mobile                   # calls now ring the mobile first
  callbridge device use 100                      # back to the desk phone
  callbridge device use --default                # the tenant's default again
  callbridge device remove mobile
A new device is private (your own phone) unless you say --company; the journal marks the calls a
device carries as private or company calls, so the costs can be told apart. `add` on an existing
name changes its number and, with --company or --private, that flag (else it keeps it).
The tenant's policy decides which numbers may be devices (e.g. mobiles only, no premium or
international numbers); a refused number is answered with the reason. (The PBX's SIP phones of the
tenant are another matter: `callbridge devices`, admins.) Server and token:
$CALLBRIDGE_URL and $CALLBRIDGE_TOKEN, or ~/.config/callbridge/cli.toml (url, token).)";

struct Flags {
  std::string cli_config;
  std::string user;  // "" = the caller; else an admin acting for this user
  std::string name;
  std::string number;
  bool reset = false;
  bool company = false;
  bool is_private = false;
  bool json_out = false;
};

int fail_msg(const std::string& what, const std::string& m, int rc = 2) {
  std::fprintf(stderr, "callbridge device %s: %s\n", what.c_str(), m.c_str());
  return rc;
}

std::string base_path(const Flags& f) {
  return f.user.empty() ? "/api/v1/me/devices" : "/api/v1/users/" + path_segment(f.user) + "/devices";
}

std::string str(const json::object& o, const char* k) {
  auto* v = o.if_contains(k);
  if (!v || v->is_null()) return "";
  return v->is_string() ? std::string(v->get_string()) : json::serialize(*v);
}

// The devices as a table, the active one marked.
int print_state(const std::string& what, const std::string& body, bool json_out) {
  if (json_out) {
    std::printf("%s\n", body.c_str());
    return 0;
  }
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("devices") || !v.at("devices").is_array())
    return fail_msg(what, "unexpected response: " + body.substr(0, 200), 1);
  const auto& o = v.as_object();
  const std::string active = str(o, "active");
  std::printf("  %-16s %-9s %-18s %s\n", "DEVICE", "KIND", "NUMBER", "NOTE");
  for (const auto& dv : o.at("devices").get_array()) {
    if (!dv.is_object()) continue;
    const auto& d = dv.get_object();
    std::string note;
    if (auto* pv = d.if_contains("private"); pv && pv->is_bool()) note = pv->as_bool() ? "private" : "company";
    auto also = [&note](const std::string& s) { note += (note.empty() ? "" : "; ") + s; };
    if (auto rf = str(d, "rings_first"); !rf.empty()) also("rings " + rf + " first (tenant default)");
    if (auto* a = d.if_contains("allowed"); a && a->is_bool() && !a->as_bool()) also("not allowed: " + str(d, "reason"));
    std::printf("%s %-16s %-9s %-18s %s\n", str(d, "name") == active ? "*" : " ", str(d, "name").c_str(),
                str(d, "kind").c_str(), str(d, "number").c_str(), note.c_str());
  }
  auto* chosen = o.if_contains("chosen");
  if (active.empty()) std::printf("no active device (no extension, nothing chosen)\n");
  else if (chosen && chosen->is_bool() && chosen->as_bool())
    std::printf("active: %s (chosen by %s)\n", active.c_str(), str(o, "updated_by").c_str());
  else
    std::printf("active: %s (the tenant's default; `callbridge device use NAME` chooses)\n", active.c_str());
  return 0;
}

int run(const Flags& f, const std::string& what, const std::string& method, const std::string& path,
        const std::string& body, long want) {
  std::string err;
  auto ep = load_endpoint(f.cli_config, err);
  if (!ep) return fail_msg(what, err);
  auto r = http(*ep, method, path, body);
  if (r.status != want && !(want == 200 && r.status == 201)) return report_failure(*ep, "device " + what, r);
  return print_state(what, r.body, f.json_out);
}

}  // namespace

Command register_device(CLI::App& app) {
  auto f = std::make_shared<Flags>();
  auto* c = app.add_subcommand("device", "your devices and the active one (AnyDevice: ring your mobile first)");
  c->footer(kHelp);
  c->require_subcommand(1);
  auto common = [f](CLI::App* s) {
    s->add_option("--cli-config", f->cli_config, "client config (default ~/.config/callbridge/cli.toml)")
        ->option_text("FILE");
    s->add_option("--user", f->user, "act for this user of your tenant (admins)")->option_text("USER");
    s->add_flag("--json", f->json_out, "print the API's JSON");
  };
  auto* list = c->add_subcommand("list", "your devices; * marks the active one");
  common(list);
  auto* use = c->add_subcommand("use", "make NAME the active device (an extension or an external device)");
  common(use);
  use->add_option("name", f->name, "device name (\"mobile\", \"100\")");
  use->add_flag("--default", f->reset, "no choice: the tenant's default (your first extension)");
  use->footer(kHelp);
  auto* add = c->add_subcommand("add", "add an external device, or give it a new number (--company, --private)");
  common(add);
  add->add_option("name", f->name, "device name: 1-32 of a-z, 0-9, - and _, starting with a letter")->required();
  add->add_option("number", f->number, "its phone number, as you would dial it")->required();
  auto* company = add->add_flag("--company", f->company, "a company device: its calls are company costs in the journal");
  add->add_flag("--private", f->is_private, "your own phone (the default for a new device)")->excludes(company);
  add->footer(kHelp);
  auto* remove = c->add_subcommand("remove", "remove an external device (if active, the default applies again)");
  common(remove);
  remove->add_option("name", f->name, "device name")->required();

  Command cmd;
  cmd.app = c;
  cmd.run = [f, list, use, add]() {
    const std::string base = base_path(*f);
    if (list->parsed()) return run(*f, "list", "GET", base, "", 200);
    if (use->parsed()) {
      if (f->reset == !f->name.empty()) return fail_msg("use", "give a device NAME or --default (not both)");
      json::object body{{"device", f->reset ? json::value(nullptr) : json::value(f->name)}};
      return run(*f, "use", "PUT", base + "/active", json::serialize(body), 200);
    }
    if (add->parsed()) {
      json::object body{{"number", f->number}};
      if (f->company || f->is_private) body["private"] = f->is_private;  // else: new private, existing kept
      return run(*f, "add", "PUT", base + "/" + path_segment(f->name), json::serialize(body), 200);
    }
    return run(*f, "remove", "DELETE", base + "/" + path_segment(f->name), "", 200);
  };
  return cmd;
}

}  // namespace callbridge::cli
