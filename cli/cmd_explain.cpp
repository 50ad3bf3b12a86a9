// `callbridge explain CALL_ID`: the explain trace of one call from a running callbridged
// (GET /api/v1/calls/{id}/trace, tenant admins; docs/troubleshooting.md): what the PBX reported,
// how the number was read, which directories were asked, who got the call's events and why the
// journal entry reads as it does. Text grouped by part, or the API's JSON with --json.
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
    "Answers \"why did Anna get no pop?\" for one call: the call id is the journal entry's call_id\n"
    "(`callbridge journal`, the web client's Explain button) or a live call's id (`callbridge calls`).\n"
    "Traces are kept in memory for live calls and for ended calls during [trace] retention_minutes\n"
    "(default 30); a restart of callbridged starts empty. Parts, in order:\n"
    "  pbx        the PBX events that built the call (call fields only, never credentials)\n"
    "  number     how the remote number was read under the tenant's dialing plan\n"
    "  directory  the directory sources asked, their timings and results, the contact shown\n"
    "  delivery   whose clients got each event, who did not and why\n"
    "  journal    why the journal entry reads as it does, the journal policy\n"
    "Needs an admin token (CALLBRIDGE_URL and CALLBRIDGE_TOKEN, or ~/.config/callbridge/cli.toml).\n"
    "Exit codes: 0 trace printed, 1 not found or refused, 2 usage or no server configured, 3 server\n"
    "unreachable.";

struct Flags {
  std::string cli_config;
  bool json_out = false;
  std::string id;
};

std::string str(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string_view title(std::string_view stage) {
  if (stage == "pbx") return "PBX events";
  if (stage == "number") return "Number";
  if (stage == "directory") return "Directory lookups";
  if (stage == "delivery") return "Event delivery";
  if (stage == "journal") return "Journal";
  return stage;
}

int run(const Flags& f) {
  auto ep = endpoint_or_report(f.cli_config, "explain");
  if (!ep) return 2;
  auto answer = get_list(*ep, "explain", "/api/v1/calls/" + path_segment(f.id) + "/trace", "steps", f.json_out);
  if (!answer) return answer.error();
  const json::array* steps = &answer->items();
  const auto& o = answer->object();
  std::printf("call %s, %s .. %s\n", str(o, "call_id").c_str(), str(o, "first").c_str(), str(o, "last").c_str());
  std::string stage;
  for (const auto& sv : *steps) {
    if (!sv.is_object()) continue;
    const auto& s = sv.as_object();
    if (str(s, "stage") != stage) {
      stage = str(s, "stage");
      std::printf("\n%s\n", std::string(title(stage)).c_str());
    }
    // "2026-12-07T10:01:02.120Z" -> "10:01:02.120": the date is in the header.
    std::string at = str(s, "at");
    if (auto t = at.find('T'); t != std::string::npos) at = at.substr(t + 1);
    std::string detail = str(s, "detail");
    std::printf("  %-13s %-16s %s\n", at.c_str(), str(s, "what").c_str(), detail.c_str());
  }
  if (auto* d = o.if_contains("dropped"); d && d->is_int64() && d->as_int64() > 0)
    std::printf("\n(%lld later steps not kept: the per-call limit)\n", static_cast<long long>(d->as_int64()));
  return 0;
}

}  // namespace

Command register_explain(CLI::App& app) {
  auto f = std::make_shared<Flags>();
  auto* c = app.add_subcommand("explain", "why a call went as it did: PBX events, number, directories, "
                                          "deliveries, journal (admin)");
  c->footer(kHelp);
  c->add_option("call_id", f->id, "the call's id (journal call_id or live call id)")->required();
  c->add_option("--cli-config", f->cli_config, "client config (default ~/.config/callbridge/cli.toml)")
      ->option_text("FILE");
  c->add_flag("--json", f->json_out, "print the API's JSON");
  Command cmd;
  cmd.app = c;
  cmd.run = [f]() { return run(*f); };
  return cmd;
}

}  // namespace callbridge::cli
