// `callbridge queue`: the PBX's queues of a running callbridged (docs/queues.md):
// `queue list` (GET /api/v1/queues: waiting callers, agents and their state, today's counts),
// `queue login|logout|pause|unpause QUEUE` (POST/DELETE/PATCH /api/v1/queues/{queue}/members...):
// an agent logs in and out and pauses with a reason through the PBX (QueueAdd/QueueRemove/
// QueuePause). Without --extension: the caller's own extension (when they have exactly one).
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
    "Agents: a user changes only their own extensions, a supervisor also their team's, an admin\n"
    "anyone of the tenant. Static members (queues.conf) can be paused but not logged out. Wrap-up\n"
    "time is the PBX's (queues.conf wrapuptime). Needs a token (CALLBRIDGE_URL and CALLBRIDGE_TOKEN,\n"
    "or ~/.config/callbridge/cli.toml).\n"
    "Examples:\n"
    "  callbridge queue list\n"
    "  callbridge queue login support\n"
    "  callbridge queue pause support --reason 'lunch break'\n"
    "  callbridge queue unpause support\n"
    "  callbridge queue logout support --extension 103     (a supervisor for a team mate)";

struct Flags {
  std::string cli_config;
  bool json_out = false;
  std::string queue;
  std::string extension;
  std::string reason;
  std::string name;
  bool paused = false;
};

std::string str(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}
std::int64_t num(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_int64() ? v->as_int64() : 0;
}

std::string mmss(std::int64_t s) {
  char b[32];
  std::snprintf(b, sizeof b, "%lld:%02lld", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  return b;
}

int run_list(const Flags& f) {
  auto ep = endpoint_or_report(f.cli_config, "queue list");
  if (!ep) return 2;
  auto answer = get_list(*ep, "queue list", "/api/v1/queues", "queues", f.json_out);
  if (!answer) return answer.error();
  const json::array* list = &answer->items();
  if (list->empty()) {
    std::printf("no queues\n");
    return 0;
  }
  for (const auto& qv : *list) {
    if (!qv.is_object()) continue;
    const auto& q = qv.as_object();
    std::printf("%s (%s)  waiting %lld, longest %s, answered today %lld, abandoned today %lld\n", str(q, "name").c_str(),
                str(q, "pbx").c_str(), static_cast<long long>(num(q, "waiting")), mmss(num(q, "longest_wait")).c_str(),
                static_cast<long long>(num(q, "answered_today")), static_cast<long long>(num(q, "abandoned_today")));
    if (auto* cs = q.if_contains("callers"); cs && cs->is_array())
      for (const auto& cv : cs->as_array()) {
        if (!cv.is_object()) continue;
        const auto& c = cv.as_object();
        std::string who = str(c, "number");
        if (auto* ri = c.if_contains("remote_info"); ri && ri->is_object()) {
          if (auto* cts = ri->as_object().if_contains("contacts"); cts && cts->is_array() && !cts->as_array().empty() &&
                                                                    cts->as_array()[0].is_object())
            who += " " + str(cts->as_array()[0].as_object(), "name");
        }
        std::printf("  caller %lld  %-30s waiting %s\n", static_cast<long long>(num(c, "position")),
                    who.empty() ? "(withheld)" : who.c_str(), mmss(num(c, "wait")).c_str());
      }
    if (auto* as = q.if_contains("agents"); as && as->is_array())
      for (const auto& av : as->as_array()) {
        if (!av.is_object()) continue;
        const auto& a = av.as_object();
        std::string state = str(a, "state");
        if (state == "paused" && !str(a, "paused_reason").empty()) state += " (" + str(a, "paused_reason") + ")";
        if (state == "wrap_up") state += " until " + str(a, "wrapup_until");
        std::string ext = str(a, "extension");
        std::printf("  agent  %-6s %-24s %-9s %s\n", ext.empty() ? "-" : ext.c_str(), str(a, "name").c_str(),
                    str(a, "membership").c_str(), state.c_str());
      }
  }
  return 0;
}

// --extension, else the caller's only extension (GET /api/v1/me).
std::optional<std::string> extension(const Endpoint& ep, const Flags& f, const char* what) {
  if (!f.extension.empty()) return f.extension;
  auto r = http(ep, "GET", "/api/v1/me", "");
  if (r.status != 200) {
    report_failure(ep, std::string("queue ") + what, r);
    return std::nullopt;
  }
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  if (!ec && v.is_object())
    if (auto* e = v.as_object().if_contains("extensions"); e && e->is_array() && e->as_array().size() == 1 &&
                                                           e->as_array()[0].is_string())
      return std::string(e->as_array()[0].as_string());
  std::fprintf(stderr, "callbridge queue %s: say which extension (--extension): you have none or several\n", what);
  return std::nullopt;
}

int run_change(const Flags& f, const char* what) {
  auto ep = endpoint_or_report(f.cli_config, std::string("queue ") + what);
  if (!ep) return 2;
  const std::string base = "/api/v1/queues/" + path_segment(f.queue) + "/members";
  const std::string op = what;
  HttpResult r;
  if (op == "login") {
    json::object body;
    if (!f.extension.empty()) body["extension"] = f.extension;
    if (f.paused || !f.reason.empty()) body["paused"] = true;
    if (!f.reason.empty()) body["reason"] = f.reason;
    if (!f.name.empty()) body["name"] = f.name;
    r = http(*ep, "POST", base, json::serialize(body));
  } else {
    auto ext = extension(*ep, f, what);
    if (!ext) return 1;
    const std::string path = base + "/" + path_segment(*ext);
    if (op == "logout") {
      r = http(*ep, "DELETE", path, "");
    } else {
      json::object body{{"paused", op == "pause"}};
      if (!f.reason.empty()) body["reason"] = f.reason;
      r = http(*ep, "PATCH", path, json::serialize(body));
    }
  }
  if (r.status != 204) return report_failure(*ep, std::string("queue ") + what, r);
  const std::string who = f.extension.empty() ? std::string("you") : f.extension;
  if (op == "login") std::printf("%s logged in to %s%s\n", who.c_str(), f.queue.c_str(), f.paused || !f.reason.empty() ? " (paused)" : "");
  else if (op == "logout") std::printf("logged out of %s\n", f.queue.c_str());
  else if (op == "pause") std::printf("paused in %s%s\n", f.queue.c_str(), f.reason.empty() ? "" : (" (" + f.reason + ")").c_str());
  else std::printf("unpaused in %s\n", f.queue.c_str());
  return 0;
}

}  // namespace

Command register_queue(CLI::App& app) {
  auto f = std::make_shared<Flags>();
  auto* c = app.add_subcommand("queue", "the PBX's queues: waiting callers and agents; log in/out, pause agents");
  c->footer(kHelp);
  c->require_subcommand(1);
  auto config = [f](CLI::App* s) {
    s->add_option("--cli-config", f->cli_config, "client config (default ~/.config/callbridge/cli.toml)")
        ->option_text("FILE");
  };
  auto* list = c->add_subcommand("list", "queues you may see: waiting callers, agents and their state, today's counts");
  config(list);
  list->add_flag("--json", f->json_out, "print the API's JSON");
  auto member = [&](const char* name, const char* help) {
    auto* s = c->add_subcommand(name, help);
    config(s);
    s->add_option("queue", f->queue, "the queue's name (queue list)")->required();
    s->add_option("--extension", f->extension, "the agent's extension (default: your own)")->option_text("EXT");
    return s;
  };
  auto* login = member("login", "log an agent in to a queue (QueueAdd)");
  login->add_flag("--paused", f->paused, "log in paused");
  login->add_option("--reason", f->reason, "pause reason (implies --paused; at most 80 bytes)");
  login->add_option("--name", f->name, "member name the PBX shows (default: your display name)");
  auto* logout = member("logout", "log an agent out of a queue (QueueRemove; not for static members)");
  auto* pause = member("pause", "pause an agent in a queue (QueuePause)");
  pause->add_option("--reason", f->reason, "why (shown on the queue board; at most 80 bytes)");
  auto* unpause = member("unpause", "unpause an agent in a queue");
  Command cmd;
  cmd.app = c;
  cmd.run = [f, list, login, logout, pause, unpause]() {
    if (list->parsed()) return run_list(*f);
    if (login->parsed()) return run_change(*f, "login");
    if (logout->parsed()) return run_change(*f, "logout");
    if (pause->parsed()) return run_change(*f, "pause");
    if (unpause->parsed()) return run_change(*f, "unpause");
    return 2;
  };
  return cmd;
}

}  // namespace callbridge::cli
