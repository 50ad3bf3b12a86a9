// `callbridge tenant list|show|add|set|remove`: tenants of a running callbridged, managed by an
// operator over the REST API (/api/v1/tenants, docs/api.md "Tenants"); the daemon starts, restarts
// or stops the tenant's PBX links, dialing plan and directories at once, without a restart. A spec
// is JSON with the keys of the configuration file's sections (docs/configuration.md); flags fill in
// the common ones. Server and token: cli/rest_client.hpp (an operator token).
#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>

#include "cli/commands.hpp"
#include "cli/rest_client.hpp"

namespace callbridge::cli {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxSpecFileBytes = 64 * 1024;

constexpr const char* kSpecHelp = R"(
A tenant spec is JSON with the keys of the configuration file's sections (docs/configuration.md):
  {"display_name": "ACME GmbH",
   "pbx": [{"host": "pbx.acme.example", "port": 5038, "user": "cti", "secret": "..."}],
   "dialing": {"country_code": "49", "area_code": "211", "base_number": "339903", "extension_length": 2},
   "call_control": {"context": "from-internal"},
   "phones": [{"devices": ["1*"], "answer_event": "talk", "hold_event": "hold", "retrieve_event": "talk"}],
   "directory": {"ldap": [{"uri": "ldap://ldap.acme", "base_dn": "dc=acme"}],
                 "http": [{"url": "https://crm.acme/lookup?number={e164}"}]}}
Secrets (pbx secret, LDAP bind_password, HTTP headers) are never shown; a `set` that leaves them out
keeps the stored ones. Server and token: $CALLBRIDGE_URL and $CALLBRIDGE_TOKEN (an operator token:
`callbridge token create --role operator --user NAME`), or ~/.config/callbridge/cli.toml.)";

struct Flags {
  std::string cli_config;
  std::string id;
  bool json_out = false;
  std::string file;  // "-" = stdin
  std::optional<std::string> display_name, ami, ami_user, ami_secret, ami_auth;
  std::optional<std::string> country, area, base, outside, context;
  std::optional<int> ext_len;
};

int fail_msg(const std::string& what, const std::string& m, int rc = 2) {
  std::fprintf(stderr, "callbridge tenant %s: %s\n", what.c_str(), m.c_str());
  return rc;
}

// Indented JSON, so `tenant show ID > acme.json` gives a file to edit.
void pretty(std::ostream& os, const json::value& v, int indent = 0) {
  const std::string pad(static_cast<std::size_t>(indent) * 2, ' '), in(static_cast<std::size_t>(indent + 1) * 2, ' ');
  if (v.is_object() && !v.get_object().empty()) {
    os << "{\n";
    bool first = true;
    for (const auto& [k, x] : v.get_object()) {
      os << (first ? "" : ",\n") << in << json::serialize(json::string(k)) << ": ";
      pretty(os, x, indent + 1);
      first = false;
    }
    os << "\n" << pad << "}";
  } else if (v.is_array() && !v.get_array().empty() && !v.get_array().front().is_string()) {
    os << "[\n";
    bool first = true;
    for (const auto& x : v.get_array()) {
      os << (first ? "" : ",\n") << in;
      pretty(os, x, indent + 1);
      first = false;
    }
    os << "\n" << pad << "]";
  } else {
    os << json::serialize(v);
  }
}

std::optional<json::object> parse_object(const std::string& text, std::string& err) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    err = ec ? "invalid JSON: " + ec.message() : "expected a JSON object";
    return std::nullopt;
  }
  return std::move(v.as_object());
}

std::optional<json::object> read_spec_file(const std::string& file, std::string& err) {
  std::string text;
  if (file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream f(file, std::ios::binary);
    if (!f) {
      err = file + ": cannot be read";
      return std::nullopt;
    }
    text.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  if (text.size() > kMaxSpecFileBytes) {
    err = file + ": larger than 64 KiB";
    return std::nullopt;
  }
  auto o = parse_object(text, err);
  if (!o) err = file + ": " + err;
  return o;
}

json::object& member_object(json::object& o, const char* key) {
  auto& v = o[key];
  if (!v.is_object()) v = json::object{};
  return v.get_object();
}

// The flags on top of a spec: --ami & co. set the first PBX link (created if there is none).
bool apply_flags(const Flags& f, json::object& spec, std::string& err) {
  if (f.display_name) spec["display_name"] = *f.display_name;
  if (f.ami || f.ami_user || f.ami_secret || f.ami_auth) {
    auto& links = spec["pbx"];
    if (!links.is_array()) links = json::array{};
    if (links.get_array().empty()) links.get_array().push_back(json::object{});
    if (links.get_array().size() > 1) {
      err = "--ami/--ami-user/--ami-secret: the spec has several PBX links; edit them in the JSON";
      return false;
    }
    if (!links.get_array()[0].is_object()) links.get_array()[0] = json::object{};
    auto& link = links.get_array()[0].get_object();
    if (f.ami) {
      auto colon = f.ami->rfind(':');
      if (colon == std::string::npos || colon == 0) {
        err = "--ami: expected HOST:PORT, got " + *f.ami;
        return false;
      }
      link["host"] = f.ami->substr(0, colon);
      try {
        link["port"] = std::stoi(f.ami->substr(colon + 1));
      } catch (...) {
        err = "--ami: expected HOST:PORT, got " + *f.ami;
        return false;
      }
    }
    if (f.ami_user) link["user"] = *f.ami_user;
    if (f.ami_secret) link["secret"] = *f.ami_secret;
    if (f.ami_auth) link["auth"] = *f.ami_auth;
  }
  if (f.country || f.area || f.base || f.outside || f.ext_len) {
    auto& d = member_object(spec, "dialing");
    if (f.country) d["country_code"] = *f.country;
    if (f.area) d["area_code"] = *f.area;
    if (f.base) d["base_number"] = *f.base;
    if (f.outside) d["outside_prefix"] = *f.outside;
    if (f.ext_len) d["extension_length"] = *f.ext_len;
  }
  if (f.context) member_object(spec, "call_control")["context"] = *f.context;
  return true;
}

void add_spec_flags(CLI::App* c, Flags& f) {
  c->add_option("--file", f.file, "the spec as JSON (\"-\" = stdin); flags below go on top")->option_text("SPEC.json");
  c->add_option("--display-name", f.display_name, "the tenant's name as shown")->option_text("NAME");
  c->add_option("--ami", f.ami, "its (first) PBX link: Asterisk AMI address")->option_text("HOST:PORT");
  c->add_option("--ami-user", f.ami_user, "AMI user (manager.conf)")->option_text("USER");
  c->add_option("--ami-secret", f.ami_secret, "AMI secret")->option_text("SECRET");
  c->add_option("--ami-auth", f.ami_auth, "md5 (default) or plain")
      ->check(CLI::IsMember({"md5", "plain"}))
      ->option_text("md5|plain");
  c->add_option("--country", f.country, "dialing plan: country calling code, e.g. 49")->option_text("CC");
  c->add_option("--area", f.area, "dialing plan: area code without trunk prefix, e.g. 211")->option_text("AREA");
  c->add_option("--base", f.base, "dialing plan: company base number (DID block), e.g. 339903")->option_text("NUMBER");
  c->add_option("--ext-len", f.ext_len, "dialing plan: extension length, e.g. 2")->option_text("N");
  c->add_option("--outside-prefix", f.outside, "dialing plan: outside-line access code, e.g. 0")->option_text("DIGITS");
  c->add_option("--context", f.context, "call control: dialplan context for make call and transfers")
      ->option_text("CONTEXT");
}

std::optional<Endpoint> endpoint(const Flags& f, const char* what) {
  std::string err;
  auto ep = load_endpoint(f.cli_config, err);
  if (!ep) fail_msg(what, err);
  return ep;
}

int run_list(const Flags& f) {
  auto ep = endpoint(f, "list");
  if (!ep) return 2;
  auto r = http(*ep, "GET", "/api/v1/tenants", "");
  if (r.status != 200) return report_failure(*ep, "tenant list", r);
  if (f.json_out) {
    std::printf("%s\n", r.body.c_str());
    return 0;
  }
  std::string err;
  auto o = parse_object(r.body, err);
  if (!o || !o->contains("tenants") || !o->at("tenants").is_array()) {
    std::fprintf(stderr, "callbridge tenant list: unexpected response: %s\n", r.body.substr(0, 200).c_str());
    return 1;
  }
  std::printf("%-24s %-7s %-9s %-9s %s\n", "ID", "SOURCE", "STATE", "LINKS UP", "NAME");
  auto str = [](const json::object& t, const char* k) {
    auto* v = t.if_contains(k);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  for (const auto& tv : o->at("tenants").get_array()) {
    if (!tv.is_object()) continue;
    const auto& t = tv.get_object();
    std::size_t up = 0, all = 0;
    if (auto* links = t.if_contains("links"); links && links->is_array())
      for (const auto& l : links->get_array()) {
        ++all;
        if (l.is_object() && l.get_object().contains("connected") && l.at("connected").is_bool() &&
            l.at("connected").get_bool())
          ++up;
      }
    std::printf("%-24s %-7s %-9s %-9s %s\n", str(t, "id").c_str(), str(t, "source").c_str(), str(t, "state").c_str(),
                (std::to_string(up) + "/" + std::to_string(all)).c_str(), str(t, "display_name").c_str());
  }
  return 0;
}

int run_show(const Flags& f) {
  auto ep = endpoint(f, "show");
  if (!ep) return 2;
  auto r = http(*ep, "GET", "/api/v1/tenants/" + path_segment(f.id), "");
  if (r.status != 200) return report_failure(*ep, "tenant show", r);
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  if (ec) {
    std::printf("%s\n", r.body.c_str());
    return 0;
  }
  std::ostringstream os;
  pretty(os, v);
  std::printf("%s\n", os.str().c_str());
  return 0;
}

// add: POST the spec; set: PUT it (without --file: the current spec with the flags on top).
int run_write(const Flags& f, bool create) {
  const char* what = create ? "add" : "set";
  auto ep = endpoint(f, what);
  if (!ep) return 2;
  std::string err;
  json::object spec;
  if (!f.file.empty()) {
    auto s = read_spec_file(f.file, err);
    if (!s) return fail_msg(what, err);
    spec = std::move(*s);
  } else if (!create) {
    auto r = http(*ep, "GET", "/api/v1/tenants/" + path_segment(f.id), "");
    if (r.status != 200) return report_failure(*ep, "tenant set", r);
    auto s = parse_object(r.body, err);
    if (!s || !s->contains("spec") || !s->at("spec").is_object())
      return fail_msg(what, "unexpected response: " + r.body.substr(0, 200), 1);
    spec = s->at("spec").get_object();  // secrets are left out: the daemon keeps the stored ones
  }
  if (!apply_flags(f, spec, err)) return fail_msg(what, err);
  spec["id"] = f.id;
  auto r = create ? http(*ep, "POST", "/api/v1/tenants", json::serialize(spec))
                  : http(*ep, "PUT", "/api/v1/tenants/" + path_segment(f.id), json::serialize(spec));
  if (r.status < 200 || r.status >= 300) return report_failure(*ep, std::string("tenant ") + what, r);
  auto o = parse_object(r.body, err);
  std::string state = o && o->contains("state") && o->at("state").is_string() ? std::string(o->at("state").get_string()) : "?";
  std::printf("%s tenant %s (%s)\n", create ? "added" : "changed", f.id.c_str(), state.c_str());
  if (o)
    if (auto* e = o->if_contains("error"); e && e->is_string() && !e->get_string().empty())
      std::fprintf(stderr, "callbridge tenant %s: the daemon could not start it: %s\n", what,
                   std::string(e->get_string()).c_str());
  return 0;
}

int run_remove(const Flags& f) {
  auto ep = endpoint(f, "remove");
  if (!ep) return 2;
  auto r = http(*ep, "DELETE", "/api/v1/tenants/" + path_segment(f.id), "");
  if (r.status != 204) return report_failure(*ep, "tenant remove", r);
  std::printf("removed tenant %s (its runtime is stopped; journal, contacts and users stay)\n", f.id.c_str());
  return 0;
}

}  // namespace

Command register_tenant(CLI::App& app) {
  auto f = std::make_shared<Flags>();
  auto* c = app.add_subcommand("tenant", "tenants of a running callbridged (operator; takes effect at once)");
  c->footer(kSpecHelp);
  c->require_subcommand(1);
  auto common = [f](CLI::App* s) {
    s->add_option("--cli-config", f->cli_config, "client config (default ~/.config/callbridge/cli.toml)")
        ->option_text("FILE");
  };
  auto* list = c->add_subcommand("list", "every tenant: id, source (config file or api), state, links up");
  common(list);
  list->add_flag("--json", f->json_out, "print the API's JSON");
  auto* show = c->add_subcommand("show", "one tenant's spec and state as JSON (secrets left out)");
  common(show);
  show->add_option("id", f->id, "tenant id")->required();
  auto* add = c->add_subcommand("add", "create a tenant and start it (its PBX links connect at once)");
  common(add);
  add->add_option("id", f->id, "tenant id: letters, digits, '-' and '_'")->required();
  add_spec_flags(add, *f);
  add->footer(kSpecHelp);
  auto* set = c->add_subcommand("set", "change a tenant (the whole spec, or its current spec with the flags on top); "
                                       "restarts only this tenant");
  common(set);
  set->add_option("id", f->id, "tenant id")->required();
  add_spec_flags(set, *f);
  set->footer(kSpecHelp);
  auto* remove = c->add_subcommand("remove", "stop a tenant and delete its spec (journal, contacts, users stay)");
  common(remove);
  remove->add_option("id", f->id, "tenant id")->required();

  Command cmd;
  cmd.app = c;
  cmd.run = [f, list, show, add, set]() {
    if (list->parsed()) return run_list(*f);
    if (show->parsed()) return run_show(*f);
    if (add->parsed()) return run_write(*f, true);
    if (set->parsed()) return run_write(*f, false);
    return run_remove(*f);
  };
  return cmd;
}

}  // namespace callbridge::cli
