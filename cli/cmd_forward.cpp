// `callbridge dnd`, `callbridge forward`, `callbridge followme`: your do-not-disturb, call
// forwarding and follow-me, carried out by the PBX (docs/dialplan.md), through a running
// callbridged (/api/v1/me/dnd, /forwarding, /follow-me; --user NAME for an admin acting for a user).
#include <boost/json.hpp>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/rest_client.hpp"

namespace callbridge::cli {
namespace {

namespace json = boost::json;

struct Flags {
  std::string cli_config;
  std::string user;
  bool json_out = false;
  std::string dnd_state;  // on, off, status
  std::string kind;       // always, busy, no-answer
  std::vector<std::string> destination;  // "0170 1234567" may come as two words
  int seconds = 0;
  std::string mode;
  int desk_seconds = 0;
};

std::string query(const Flags& f) { return f.user.empty() ? "" : "?user=" + path_segment(f.user); }

std::string text_of(const json::value* v) {
  if (!v || v->is_null()) return "off";
  return v->is_string() ? std::string(v->get_string()) : json::serialize(*v);
}

// The state in words (what GET answers), or the JSON with --json.
int print_state(const std::string& body, bool raw, const char* what) {
  if (raw) {
    std::printf("%s\n", body.c_str());
    return 0;
  }
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) {
    std::fprintf(stderr, "callbridge %s: unexpected response: %s\n", what, body.substr(0, 200).c_str());
    return 1;
  }
  const auto& o = v.as_object();
  std::string lines;
  if (auto* l = o.if_contains("lines"); l && l->is_array())
    for (const auto& x : l->as_array()) lines += (lines.empty() ? "" : ", ") + text_of(&x);
  std::printf("%s (%s)\n", text_of(o.if_contains("user")).c_str(), lines.empty() ? "no extension" : lines.c_str());
  if (auto* a = o.if_contains("available"); a && a->is_bool() && !a->as_bool())
    std::printf("  UNAVAILABLE: %s\n", text_of(o.if_contains("reason")).c_str());
  auto* dnd = o.if_contains("dnd");
  std::printf("  do not disturb: %s\n", dnd && dnd->is_bool() && dnd->as_bool() ? "on" : "off");
  if (auto* fw = o.if_contains("forwarding"); fw && fw->is_object()) {
    const auto& w = fw->as_object();
    std::printf("  forward always: %s\n", text_of(w.if_contains("unconditional")).c_str());
    std::printf("  forward on busy: %s\n", text_of(w.if_contains("busy")).c_str());
    std::string na = text_of(w.if_contains("no_answer"));
    if (na != "off") na += " after " + text_of(w.if_contains("no_answer_seconds")) + " s";
    std::printf("  forward on no answer: %s\n", na.c_str());
  }
  if (auto* fm = o.if_contains("follow_me"); fm && fm->is_object()) {
    const auto& m = fm->as_object();
    auto* en = m.if_contains("enabled");
    if (en && en->is_bool() && en->as_bool())
      std::printf("  follow-me: %s (%s)\n", text_of(m.if_contains("number")).c_str(), text_of(m.if_contains("mode")).c_str());
    else
      std::printf("  follow-me: off\n");
  }
  return 0;
}

int call(const Flags& f, const char* what, const std::string& method, const std::string& path, const std::string& body) {
  auto ep = endpoint_or_report(f.cli_config, what);
  if (!ep) return 2;
  auto r = http(*ep, method, path + query(f), body);
  if (r.status != 200) return report_failure(*ep, what, r);
  return print_state(r.body, f.json_out, what);
}

void common(CLI::App* c, Flags& f) {
  c->add_option("--user", f.user, "act for this user of your tenant (admins)")->option_text("NAME");
  c->add_option("--cli-config", f.cli_config, "client config (default ~/.config/callbridge/cli.toml)")
      ->option_text("FILE");
  c->add_flag("--json", f.json_out, "print the API's JSON");
}

constexpr const char* kFooter =
    "The PBX carries these out (it needs callbridge's dialplan include, docs/dialplan.md); they\n"
    "apply to all your extensions and keep working while callbridged is down.\n"
    "Uses CALLBRIDGE_URL and CALLBRIDGE_TOKEN, or ~/.config/callbridge/cli.toml.";

}  // namespace

Command register_dnd(CLI::App& app) {
  auto f = std::make_shared<Flags>();
  auto* c = app.add_subcommand("dnd", "do not disturb: callers hear busy (on, off, status)");
  c->footer(std::string("  callbridge dnd on\n  callbridge dnd off\n  callbridge dnd status\n") + kFooter);
  c->add_option("state", f->dnd_state, "on, off or status (default status)")
      ->check(CLI::IsMember({"on", "off", "status"}));
  common(c, *f);
  Command cmd;
  cmd.app = c;
  cmd.run = [f]() -> int {
    if (f->dnd_state == "on" || f->dnd_state == "off")
      return call(*f, "dnd", "PUT", "/api/v1/me/dnd",
                  json::serialize(json::object{{"dnd", f->dnd_state == "on"}}));
    return call(*f, "dnd", "GET", "/api/v1/me/dnd", "");
  };
  return cmd;
}

Command register_forward(CLI::App& app) {
  auto f = std::make_shared<Flags>();
  auto* c = app.add_subcommand("forward", "call forwarding: always, on busy, on no answer");
  c->footer(std::string("  callbridge forward always 102             every call goes to extension 102\n"
                        "  callbridge forward busy 0170 1234567      when you are busy, to a mobile\n"
                        "  callbridge forward no-answer +4989123456 --seconds 15\n"
                        "  callbridge forward off busy               turn one off;  callbridge forward off: all\n"
                        "  callbridge forward                        show\n"
                        "A destination is an extension of your company or a number your company allows\n"
                        "(the same rules as AnyDevice devices).\n") +
            kFooter);
  common(c, *f);
  auto* set_always = c->add_subcommand("always", "forward every call at once");
  auto* set_busy = c->add_subcommand("busy", "forward when you are busy");
  auto* set_na = c->add_subcommand("no-answer", "forward when you do not answer in time");
  for (auto* s : {set_always, set_busy, set_na}) {
    s->add_option("destination", f->destination, "extension or phone number")->required()->expected(1, 8);
    common(s, *f);
  }
  set_na->add_option("--seconds", f->seconds, "ring time before forwarding (5..120, default 20)")
      ->check(CLI::Range(5, 120));
  auto* off = c->add_subcommand("off", "turn forwarding off (all, or one kind)");
  off->add_option("kind", f->kind, "always, busy or no-answer (default: all)")
      ->check(CLI::IsMember({"always", "busy", "no-answer"}));
  common(off, *f);
  Command cmd;
  cmd.app = c;
  cmd.run = [f, set_always, set_busy, set_na, off]() -> int {
    auto key = [](const std::string& k) {
      return k == "always" ? "unconditional" : k == "busy" ? "busy" : "no_answer";
    };
    if (off->parsed()) {
      if (f->kind.empty()) return call(*f, "forward off", "DELETE", "/api/v1/me/forwarding", "");
      return call(*f, "forward off", "PUT", "/api/v1/me/forwarding",
                  json::serialize(json::object{{key(f->kind), nullptr}}));
    }
    for (auto [s, k] : {std::pair{set_always, "always"}, std::pair{set_busy, "busy"}, std::pair{set_na, "no-answer"}}) {
      if (!s->parsed()) continue;
      std::string dest;
      for (const auto& part : f->destination) dest += (dest.empty() ? "" : " ") + part;
      json::object body{{key(k), dest}};
      if (f->seconds) body["no_answer_seconds"] = f->seconds;
      return call(*f, "forward", "PUT", "/api/v1/me/forwarding", json::serialize(body));
    }
    return call(*f, "forward", "GET", "/api/v1/me/forwarding", "");
  };
  return cmd;
}

Command register_followme(CLI::App& app) {
  auto f = std::make_shared<Flags>();
  auto* c = app.add_subcommand("followme", "follow-me: your calls also ring your active external device");
  c->footer(std::string("  callbridge device use mobile && callbridge followme on   desk phone and mobile ring\n"
                        "  callbridge followme on --mode sequential --desk-seconds 10\n"
                        "  callbridge followme off\n"
                        "Modes: parallel (both ring), sequential (desk phone first), device (only the device).\n") +
            kFooter);
  c->add_option("state", f->dnd_state, "on, off or status (default status)")
      ->check(CLI::IsMember({"on", "off", "status"}));
  c->add_option("--mode", f->mode, "parallel, sequential or device")
      ->check(CLI::IsMember({"parallel", "sequential", "device"}));
  c->add_option("--desk-seconds", f->desk_seconds, "sequential: how long the desk phone rings first (5..120)")
      ->check(CLI::Range(5, 120));
  common(c, *f);
  Command cmd;
  cmd.app = c;
  cmd.run = [f]() -> int {
    if (f->dnd_state == "off") return call(*f, "followme", "DELETE", "/api/v1/me/follow-me", "");
    if (f->dnd_state == "on") {
      json::object body{{"enabled", true}};
      if (!f->mode.empty()) body["mode"] = f->mode;
      if (f->desk_seconds) body["desk_seconds"] = f->desk_seconds;
      return call(*f, "followme", "PUT", "/api/v1/me/follow-me", json::serialize(body));
    }
    return call(*f, "followme", "GET", "/api/v1/me/follow-me", "");
  };
  return cmd;
}

}  // namespace callbridge::cli
