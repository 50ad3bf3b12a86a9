// Desktop integration against a running callbridged (HTTP API, docs/api.md):
//   callbridge dial NUMBER|tel:URI   make a call from the user's phone (POST /api/v1/calls)
//   callbridge calls                  the live calls the user may see (GET /api/v1/calls): id, remote
//                                     (contact and number), device=state per connection
//   callbridge hangup CALL            hang up (POST /api/v1/calls/{id}/hangup)
//   callbridge pickup CALL            pick up a colleague's ringing call and wait for the outcome
//   callbridge url-handler install|uninstall   tel:/callto: links in any desktop app dial
// Server and token: cli/rest_client.hpp. Single-threaded.
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/device_name.hpp"
#include "cli/commands.hpp"
#include "cli/rest_client.hpp"

namespace callbridge::cli {
namespace {

// --extension/--from: a device name the PBX dials (base/device_name), checked at parse time.
CLI::Validator device_name_check() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        return base::is_device_name(s) ? std::string()
                                       : "'" + s.substr(0, 40) + "' is not an extension: expected " +
                                             std::string(base::kDeviceNameRule);
      },
      "EXT");
}


namespace fs = std::filesystem;
namespace json = boost::json;

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

// "tel:+49-89-123456;phone-context=..." / "callto://0211%20339903" / "0211 339903" -> what to dial.
std::string dial_target_from(std::string_view in) {
  std::string s(in);
  auto lower = [](std::string v) {
    for (auto& ch : v) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return v;
  };
  for (std::string scheme : {"tel:", "callto:", "sip:"}) {
    if (lower(s.substr(0, scheme.size())) == scheme) {
      s = s.substr(scheme.size());
      if (s.starts_with("//")) s = s.substr(2);
      s = percent_decode(s);
      if (auto cut = s.find_first_of(";?"); cut != std::string::npos) s.resize(cut);
      break;
    }
  }
  auto b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t/");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

namespace {

struct Common {
  std::string config;
};

void add_common(CLI::App* cmd, Common& c) {
  cmd->add_option("--cli-config", c.config, "client config (default ~/.config/callbridge/cli.toml)")
      ->option_text("FILE");
}

// Who a connection talks to, as `callbridge calls` prints it: the best contact and the number as
// people read it ("Max Muster, 089 123456"), else the number, else "withheld"; "" when the API
// gives nothing (docs/api.md "Calls": remote, remote_info).
std::string remote_text(const json::object& conn) {
  auto str = [](const json::object& o, const char* key) -> std::string {
    const auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  std::string number = str(conn, "remote"), name;
  if (const auto* ri = conn.if_contains("remote_info"); ri && ri->is_object()) {
    const auto& info = ri->as_object();
    if (str(info, "kind") == "withheld") return "withheld";
    if (auto display = str(info, "display"); !display.empty()) number = display;
    if (const auto* cs = info.if_contains("contacts"); cs && cs->is_array() && !cs->as_array().empty() &&
                                                        cs->as_array().front().is_object())
      name = str(cs->as_array().front().as_object(), "name");
  }
  if (name.empty()) return number;
  return number.empty() ? name : name + ", " + number;
}

}  // namespace

Command register_dial(CLI::App& app) {
  struct Opts {
    Common common;
    std::string number, from;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("dial", "call a number from your phone via callbridged (click-to-dial)");
  cmd->add_option("number", o->number, "any notation, or a tel:/callto: URI")->required()->option_text("NUMBER|URI");
  cmd->add_option("--from", o->from, "your extension to call from (default: your first)")
      ->check(device_name_check())
      ->option_text("EXT");
  add_common(cmd, o->common);
  return {cmd, [o]() -> int {
            auto to = dial_target_from(o->number);
            if (to.empty()) {
              std::fprintf(stderr, "callbridge dial: '%s' holds no number\n", o->number.c_str());
              return 2;
            }
            auto ep = endpoint_or_report(o->common.config, "dial");
            if (!ep) return 2;
            json::object body{{"to", to}};
            if (!o->from.empty()) body["from"] = o->from;
            auto r = http(*ep, "POST", "/api/v1/calls", json::serialize(body));
            if (r.status < 200 || r.status >= 300) return report_failure(*ep, "dial", r);
            boost::system::error_code ec;
            auto v = json::parse(r.body, ec);
            std::string id;
            if (!ec && v.is_object())
              if (auto* c = v.as_object().if_contains("call_id"); c && c->is_string()) id = c->as_string();
            std::printf("dialing %s%s%s\n", to.c_str(), id.empty() ? "" : " call ", id.c_str());
            return 0;
          }};
}

Command register_calls(CLI::App& app) {
  auto o = std::make_shared<Common>();
  auto* cmd = app.add_subcommand(
      "calls", "list the live calls you may see (from callbridged): call id, who is on the other side "
               "(contact, number), and device=state of each connection");
  auto j = std::make_shared<bool>(false);
  cmd->add_flag("--json", *j, "print the API's JSON");
  add_common(cmd, *o);
  return {cmd, [o, j]() -> int {
            auto ep = endpoint_or_report(o->config, "calls");
            if (!ep) return 2;
            auto r = http(*ep, "GET", "/api/v1/calls", "");
            if (r.status != 200) return report_failure(*ep, "calls", r);
            if (*j) {
              std::printf("%s\n", r.body.c_str());
              return 0;
            }
            boost::system::error_code ec;
            auto v = json::parse(r.body, ec);
            const json::array* calls = nullptr;
            if (!ec && v.is_array()) calls = &v.as_array();
            if (!ec && v.is_object())
              if (auto* c = v.as_object().if_contains("calls"); c && c->is_array()) calls = &c->as_array();
            if (!calls) {
              std::fprintf(stderr, "callbridge calls: unexpected response: %s\n", r.body.substr(0, 200).c_str());
              return 1;
            }
            if (calls->empty()) std::printf("no calls\n");
            for (const auto& cv : *calls) {
              if (!cv.is_object()) continue;
              const auto& c = cv.as_object();
              std::string id = c.contains("id") && c.at("id").is_string() ? std::string(c.at("id").as_string()) : "?";
              // The remote is per connection (each device of a call has its own); the call's is the
              // first connection's that has one.
              std::string remote, conns;
              if (auto* cs = c.if_contains("connections"); cs && cs->is_array())
                for (const auto& x : cs->as_array()) {
                  if (!x.is_object()) continue;
                  const auto& conn = x.as_object();
                  if (remote.empty()) remote = remote_text(conn);
                  const auto* dev = conn.if_contains("device");
                  const auto* st = conn.if_contains("state");
                  if (dev && dev->is_string() && st && st->is_string())
                    conns += (conns.empty() ? "" : " ") + std::string(dev->as_string()) + "=" +
                             std::string(st->as_string());
                }
              if (remote.empty()) remote = "-";
              std::printf("%-28s %-32s %s\n", id.c_str(), remote.c_str(), conns.c_str());
            }
            return 0;
          }};
}

Command register_hangup(CLI::App& app) {
  struct Opts {
    Common common;
    std::string call;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("hangup", "hang up one of your calls (id from `callbridge calls`)");
  cmd->add_option("call", o->call, "call id")->required()->option_text("CALL");
  add_common(cmd, o->common);
  return {cmd, [o]() -> int {
            auto ep = endpoint_or_report(o->common.config, "hangup");
            if (!ep) return 2;
            const std::string id = path_segment(o->call);
            auto r = http(*ep, "POST", "/api/v1/calls/" + id + "/hangup", "{}");
            if (r.status < 200 || r.status >= 300) return report_failure(*ep, "hangup", r);
            std::printf("hangup sent for %s\n", o->call.c_str());
            return 0;
          }};
}

// `callbridge pickup CALL [--device EXT] [--wait S]`: take over a colleague's ringing call (directed
// pickup, POST /api/v1/calls/{id}/pickup): your phone rings first, then you talk to the caller. The
// PBX accepts the request whatever it will find, so the command then follows it
// (GET /api/v1/commands/{id}) until it is done (you talk to the caller) or failed ("Nothing to pick
// up: ..." when the call stopped ringing before your phone answered), at most --wait seconds.
Command register_pickup(CLI::App& app) {
  struct Opts {
    Common common;
    std::string call;
    std::string device;
    int wait_s = 60;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("pickup", "pick up a call ringing at a colleague's phone (your phone rings first)");
  cmd->add_option("call", o->call, "call id (a supervisor sees it in `callbridge calls`; the web client's presence page offers it)")
      ->required()
      ->option_text("CALL");
  cmd->add_option("--device", o->device, "which of your extensions takes the call (default: your first)")
      ->option_text("EXT");
  cmd->add_option("--wait", o->wait_s,
                  "seconds to wait for the outcome (your phone answered and took the call, or nothing to pick up); "
                  "0 = do not wait")
      ->check(CLI::Range(0, 600))
      ->option_text("S");
  add_common(cmd, o->common);
  return {cmd, [o]() -> int {
            if (!o->device.empty() && !base::is_device_name(o->device)) {
              std::fprintf(stderr, "callbridge pickup: --device: not a device name: expected %s\n",
                           std::string(base::kDeviceNameRule).c_str());
              return 2;
            }
            auto ep = endpoint_or_report(o->common.config, "pickup");
            if (!ep) return 2;
            json::object body;
            if (!o->device.empty()) body["device"] = o->device;
            auto r = http(*ep, "POST", "/api/v1/calls/" + path_segment(o->call) + "/pickup", json::serialize(body));
            if (r.status < 200 || r.status >= 300) return report_failure(*ep, "pickup", r);
            std::printf("pickup sent for %s: your phone rings, answer it to talk to the caller\n", o->call.c_str());
            std::fflush(stdout);
            boost::system::error_code ec;
            auto v = json::parse(r.body, ec);
            std::string cid;
            if (!ec && v.is_object())
              if (auto* c = v.as_object().if_contains("command_id"); c && c->is_string()) cid = c->as_string();
            if (o->wait_s == 0 || cid.empty()) return 0;
            // Polled: a person answers a phone in seconds; the server keeps the record for minutes.
            const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(o->wait_s);
            while (std::chrono::steady_clock::now() < until) {
              auto g = http(*ep, "GET", "/api/v1/commands/" + path_segment(cid), "");
              if (g.status != 200) return report_failure(*ep, "pickup", g);
              auto c = json::parse(g.body, ec);
              const json::object* rec = !ec && c.is_object() ? &c.as_object() : nullptr;
              const json::value* st = rec ? rec->if_contains("state") : nullptr;
              std::string state = st && st->is_string() ? std::string(st->as_string()) : "";
              if (state == "done") {
                std::printf("picked up: you are talking to the caller of %s\n", o->call.c_str());
                return 0;
              }
              if (state == "failed") {
                const json::value* why = rec->if_contains("reason");
                std::fprintf(stderr, "callbridge pickup: %s\n",
                             why && why->is_string() ? std::string(why->as_string()).c_str() : "the pickup failed");
                return 1;
              }
              std::this_thread::sleep_for(std::chrono::milliseconds(250));
            }
            std::fprintf(stderr, "callbridge pickup: no outcome within %d s (command %s still waits for your phone)\n",
                         o->wait_s, cid.c_str());
            return 1;
          }};
}

namespace {

constexpr const char* kDesktopName = "callbridge-dial.desktop";
constexpr const char* kSchemes[] = {"x-scheme-handler/tel", "x-scheme-handler/callto"};

std::string self_path() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("callbridge") : p.string();
}

bool have_program(const char* name) {
  const char* path = std::getenv("PATH");
  if (!path) return false;
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':'))
    if (!dir.empty() && ::access((fs::path(dir) / name).c_str(), X_OK) == 0) return true;
  return false;
}

// Sets or removes "scheme=desktop" in [Default Applications] of mimeapps.list (used when
// xdg-mime is not installed, and to clean up on uninstall).
bool edit_mimeapps(const fs::path& file, bool install, std::string& err) {
  std::vector<std::string> lines;
  {
    std::ifstream in(file);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
  }
  std::vector<std::string> out;
  bool in_defaults = false, saw_defaults = false;
  for (const auto& l : lines) {
    if (!l.empty() && l[0] == '[') {
      if (in_defaults && install)
        for (auto* s : kSchemes) out.push_back(std::string(s) + "=" + kDesktopName);
      in_defaults = l == "[Default Applications]";
      saw_defaults |= in_defaults;
      out.push_back(l);
      continue;
    }
    bool ours = false;
    for (auto* s : kSchemes)
      if (l.starts_with(std::string(s) + "=")) ours = in_defaults;
    if (ours) {
      if (!install && l.find(kDesktopName) == std::string::npos) out.push_back(l);  // someone else's
      continue;
    }
    out.push_back(l);
  }
  if (in_defaults && install)
    for (auto* s : kSchemes) out.push_back(std::string(s) + "=" + kDesktopName);
  if (!saw_defaults && install) {
    out.push_back("[Default Applications]");
    for (auto* s : kSchemes) out.push_back(std::string(s) + "=" + kDesktopName);
  }
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  std::ofstream o(file, std::ios::trunc);
  for (const auto& l : out) o << l << "\n";
  if (!o) {
    err = "cannot write " + file.string();
    return false;
  }
  return true;
}

}  // namespace

Command register_url_handler(CLI::App& app) {
  struct Opts {
    std::string action;
    bool no_xdg = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "url-handler", "make tel:/callto: links in desktop apps dial through callbridge (current user)");
  cmd->add_option("action", o->action, "install or uninstall")
      ->required()
      ->check(CLI::IsMember({"install", "uninstall"}))
      ->option_text("install|uninstall");
  cmd->add_flag("--no-xdg-mime", o->no_xdg, "edit mimeapps.list directly instead of calling xdg-mime");
  return {cmd, [o]() -> int {
            fs::path apps = data_home() / "applications";
            fs::path desktop = apps / kDesktopName;
            fs::path mimeapps = config_home() / "mimeapps.list";
            std::error_code ec;
            std::string err;
            if (o->action == "install") {
              fs::create_directories(apps, ec);
              if (ec) {
                std::fprintf(stderr, "callbridge url-handler: cannot create %s: %s\n", apps.c_str(), ec.message().c_str());
                return 1;
              }
              std::ofstream f(desktop, std::ios::trunc);
              f << "[Desktop Entry]\nType=Application\nName=callbridge dial\n"
                   "Comment=Dial tel: and callto: links through callbridge\n"
                << "Exec=\"" << self_path() << "\" dial %u\n"
                << "Terminal=false\nNoDisplay=true\nMimeType=x-scheme-handler/tel;x-scheme-handler/callto;\n";
              f.close();
              if (!f) {
                std::fprintf(stderr, "callbridge url-handler: cannot write %s\n", desktop.c_str());
                return 1;
              }
              bool done = false;
              if (!o->no_xdg && have_program("xdg-mime")) {
                done = true;
                for (auto* s : kSchemes) {
                  std::string c = std::string("xdg-mime default ") + kDesktopName + " " + s;
                  if (std::system(c.c_str()) != 0) done = false;
                }
                if (!done) std::fprintf(stderr, "callbridge url-handler: xdg-mime failed; editing %s\n", mimeapps.c_str());
              }
              if (!done && !edit_mimeapps(mimeapps, true, err)) {
                std::fprintf(stderr, "callbridge url-handler: %s\n", err.c_str());
                return 1;
              }
              if (have_program("update-desktop-database"))
                (void)std::system(("update-desktop-database -q '" + apps.string() + "' 2>/dev/null").c_str());
              std::printf("installed %s; tel: and callto: links now run `callbridge dial`\n", desktop.c_str());
              return 0;
            }
            fs::remove(desktop, ec);
            if (fs::exists(mimeapps, ec) && !edit_mimeapps(mimeapps, false, err)) {
              std::fprintf(stderr, "callbridge url-handler: %s\n", err.c_str());
              return 1;
            }
            std::printf("removed %s and its tel:/callto: associations\n", desktop.c_str());
            return 0;
          }};
}

}  // namespace callbridge::cli
