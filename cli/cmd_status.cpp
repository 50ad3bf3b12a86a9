// `callbridge status`: your own status on the presence board of a running callbridged
// (GET/PUT/DELETE /api/v1/me/status, docs/api.md "Presence"): show it, `set STATUS [--note TEXT]
// [--until WHEN]`, `clear`. WHEN is a local clock time ("14:00": today, or tomorrow when that has
// passed), a duration from now ("30m", "2h", "1d") or an RFC 3339 time.
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <string>

#include "base/time.hpp"
#include "cli/commands.hpp"
#include "cli/rest_client.hpp"

namespace callbridge::cli {
namespace {

namespace json = boost::json;

struct Flags {
  std::string cli_config;
  std::string status;
  std::string note;
  std::string until;
  bool json_out = false;
};

std::optional<Endpoint> endpoint(const Flags& f, const char* what) {
  return endpoint_or_report(f.cli_config, std::string("status ") + what);
}

// "14:00" (local, next occurrence), "30m"/"2h"/"1d" (from now), else RFC 3339 as given.
std::optional<std::string> until_text(const std::string& s, std::chrono::system_clock::time_point now) {
  int hh = 0, mm = 0;
  char tail = 0;
  if (std::sscanf(s.c_str(), "%d:%d%c", &hh, &mm, &tail) == 2 && hh >= 0 && hh < 24 && mm >= 0 && mm < 60) {
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm local{};
    localtime_r(&t, &local);
    local.tm_hour = hh;
    local.tm_min = mm;
    local.tm_sec = 0;
    local.tm_isdst = -1;
    auto at = std::chrono::system_clock::from_time_t(std::mktime(&local));
    if (at <= now) {
      local.tm_mday += 1;
      local.tm_isdst = -1;
      at = std::chrono::system_clock::from_time_t(std::mktime(&local));
    }
    return base::format_rfc3339_ms(std::chrono::time_point_cast<std::chrono::microseconds>(at));
  }
  long long n = 0;
  char unit = 0;
  if (std::sscanf(s.c_str(), "%lld%c%c", &n, &unit, &tail) == 2 && n > 0 && n < 100000) {
    std::chrono::seconds d{0};
    if (unit == 'm') d = std::chrono::minutes(n);
    else if (unit == 'h') d = std::chrono::hours(n);
    else if (unit == 'd') d = std::chrono::hours(24 * n);
    else return std::nullopt;
    return base::format_rfc3339_ms(std::chrono::time_point_cast<std::chrono::microseconds>(now + d));
  }
  if (s.size() >= 20 && s[4] == '-' && s[10] == 'T') return s;  // RFC 3339: the server checks it
  return std::nullopt;
}

int print_status(const std::string& body, bool raw) {
  if (raw) {
    std::printf("%s\n", body.c_str());
    return 0;
  }
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  const json::object* s = nullptr;
  if (!ec && v.is_object())
    if (auto* u = v.as_object().if_contains("user_status"); u && u->is_object()) s = &u->as_object();
  if (!s) {
    std::fprintf(stderr, "callbridge status: unexpected response: %s\n", body.substr(0, 200).c_str());
    return 1;
  }
  auto str = [&](const char* k) {
    auto* x = s->if_contains(k);
    return x && x->is_string() ? std::string(x->get_string()) : std::string();
  };
  std::string line = str("status");
  if (!str("note").empty()) line += " (" + str("note") + ")";
  if (!str("until").empty()) line += " until " + str("until");
  std::printf("%s\n", line.c_str());
  return 0;
}

}  // namespace

Command register_status(CLI::App& app) {
  auto f = std::make_shared<Flags>();
  auto* c = app.add_subcommand("status", "your own status on the presence board: show, set, clear");
  c->footer("Colleagues who see your line see it on the presence board and in call pops, e.g.\n"
            "  callbridge status set away --note \"in a meeting\" --until 14:00\n"
            "It ends by itself at --until (a local time, next occurrence; 30m, 2h, 1d; or RFC 3339).\n"
            "Uses CALLBRIDGE_URL and CALLBRIDGE_TOKEN, or ~/.config/callbridge/cli.toml.");
  c->add_option("--cli-config", f->cli_config, "client config (default ~/.config/callbridge/cli.toml)")
      ->option_text("FILE");
  c->add_flag("--json", f->json_out, "print the API's JSON");
  auto* set = c->add_subcommand("set", "set your status");
  set->add_option("status", f->status, "available, away, busy, dnd or offline")
      ->required()
      ->check(CLI::IsMember({"available", "away", "busy", "dnd", "offline"}));
  set->add_option("--note", f->note, "what colleagues read, e.g. \"in a meeting\" (at most 200 bytes)");
  set->add_option("--until", f->until, "when it ends: 14:00, 30m, 2h, 1d or an RFC 3339 time")->option_text("WHEN");
  set->add_option("--cli-config", f->cli_config, "client config")->option_text("FILE");
  auto* clear = c->add_subcommand("clear", "clear your status (available again)");
  clear->add_option("--cli-config", f->cli_config, "client config")->option_text("FILE");
  Command cmd;
  cmd.app = c;
  cmd.run = [f, set, clear]() -> int {
    if (set->parsed()) {
      json::object body{{"status", f->status}};
      if (!f->note.empty()) body["note"] = f->note;
      if (!f->until.empty()) {
        auto u = until_text(f->until, std::chrono::system_clock::now());
        if (!u) {
          std::fprintf(stderr, "callbridge status set: --until '%s' is not a time (14:00), a duration (30m, 2h, 1d) "
                               "or an RFC 3339 time\n", f->until.c_str());
          return 2;
        }
        body["until"] = *u;
      }
      auto ep = endpoint(*f, "set");
      if (!ep) return 2;
      auto r = http(*ep, "PUT", "/api/v1/me/status", json::serialize(body));
      if (r.status != 200) return report_failure(*ep, "status set", r);
      return print_status(r.body, f->json_out);
    }
    if (clear->parsed()) {
      auto ep = endpoint(*f, "clear");
      if (!ep) return 2;
      auto r = http(*ep, "DELETE", "/api/v1/me/status", "");
      if (r.status != 204) return report_failure(*ep, "status clear", r);
      std::printf("available\n");
      return 0;
    }
    auto ep = endpoint(*f, "show");
    if (!ep) return 2;
    auto r = http(*ep, "GET", "/api/v1/me/status", "");
    if (r.status != 200) return report_failure(*ep, "status", r);
    return print_status(r.body, f->json_out);
  };
  return cmd;
}

}  // namespace callbridge::cli
