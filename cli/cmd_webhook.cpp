// `callbridge webhook list|add|show|remove|deliveries|ping`: a tenant's webhooks on a running
// callbridged, managed by one of its admins over the REST API (/api/v1/webhooks, docs/webhooks.md).
// Server and token: cli/rest_client.hpp (an admin token of the tenant).
#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/rest_client.hpp"

namespace callbridge::cli {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxTemplateFileBytes = 16 * 1024;

constexpr const char* kHelp = R"(
Event types: call.ringing, call.answered, call.ended, call.missed, journal.entry, presence.changed,
queue.changed, anydevice.changed.
A body template (--template FILE) is a JSON document whose string values may hold placeholders
into the event: {"phone": "{data.call.connections.0.remote}", "ref": "cb-{data.call.id}"}
(docs/webhooks.md "Body templates"). The hook's secret is printed once, by `add`: give it to the
receiver (contrib/webhooks/receiver.py shows how to verify the signature). Server and token:
$CALLBRIDGE_URL and $CALLBRIDGE_TOKEN (an admin of the tenant), or ~/.config/callbridge/cli.toml.)";

struct Flags {
  std::string cli_config;
  std::string id;
  std::string url;
  std::vector<std::string> events;
  std::string template_file;
  std::string description;
  int limit = 20;
  bool json_out = false;
};

int fail_msg(const std::string& what, const std::string& m, int rc = 2) {
  std::fprintf(stderr, "callbridge webhook %s: %s\n", what.c_str(), m.c_str());
  return rc;
}

std::optional<Endpoint> endpoint(const Flags& f, const char* what) {
  std::string err;
  auto ep = load_endpoint(f.cli_config, err);
  if (!ep) fail_msg(what, err);
  return ep;
}

std::string str(const json::object& o, const char* k) {
  auto* v = o.if_contains(k);
  if (!v || v->is_null()) return "";
  return v->is_string() ? std::string(v->get_string()) : json::serialize(*v);
}

std::string events_text(const json::object& h) {
  std::string s;
  if (auto* e = h.if_contains("events"); e && e->is_array())
    for (const auto& x : e->get_array())
      if (x.is_string()) s += (s.empty() ? "" : ",") + std::string(x.get_string());
  return s;
}

std::optional<json::object> object_of(const std::string& body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

int run_list(const Flags& f) {
  auto ep = endpoint(f, "list");
  if (!ep) return 2;
  auto r = http(*ep, "GET", "/api/v1/webhooks", "");
  if (r.status != 200) return report_failure(*ep, "webhook list", r);
  if (f.json_out) {
    std::printf("%s\n", r.body.c_str());
    return 0;
  }
  auto o = object_of(r.body);
  if (!o || !o->contains("webhooks") || !o->at("webhooks").is_array())
    return fail_msg("list", "unexpected response: " + r.body.substr(0, 200), 1);
  std::printf("%-20s %-40s %s\n", "ID", "EVENTS", "URL");
  for (const auto& hv : o->at("webhooks").get_array()) {
    if (!hv.is_object()) continue;
    const auto& h = hv.get_object();
    std::printf("%-20s %-40s %s\n", str(h, "id").c_str(), events_text(h).c_str(), str(h, "url").c_str());
  }
  return 0;
}

int run_show(const Flags& f) {
  auto ep = endpoint(f, "show");
  if (!ep) return 2;
  auto r = http(*ep, "GET", "/api/v1/webhooks/" + path_segment(f.id), "");
  if (r.status != 200) return report_failure(*ep, "webhook show", r);
  std::printf("%s\n", r.body.c_str());
  return 0;
}

int run_add(const Flags& f) {
  auto ep = endpoint(f, "add");
  if (!ep) return 2;
  json::object body{{"url", f.url}};
  json::array ev;
  for (const auto& e : f.events) ev.emplace_back(e);
  body["events"] = std::move(ev);
  if (!f.description.empty()) body["description"] = f.description;
  if (!f.template_file.empty()) {
    std::ifstream in(f.template_file, std::ios::binary);
    if (!in) return fail_msg("add", f.template_file + ": cannot be read");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.size() > kMaxTemplateFileBytes) return fail_msg("add", f.template_file + ": larger than 16 KiB");
    body["body_template"] = text;  // the daemon checks it and names what is wrong
  }
  auto r = http(*ep, "POST", "/api/v1/webhooks", json::serialize(body));
  if (r.status != 201) return report_failure(*ep, "webhook add", r);
  auto o = object_of(r.body);
  if (!o) return fail_msg("add", "unexpected response: " + r.body.substr(0, 200), 1);
  if (f.json_out) {
    std::printf("%s\n", r.body.c_str());
    return 0;
  }
  std::printf("added webhook %s (%s) -> %s\nsecret: %s\n", str(*o, "id").c_str(), events_text(*o).c_str(),
              str(*o, "url").c_str(), str(*o, "secret").c_str());
  std::fprintf(stderr, "The secret is shown only now: give it to the receiver to verify X-Callbridge-Signature.\n");
  return 0;
}

int run_remove(const Flags& f) {
  auto ep = endpoint(f, "remove");
  if (!ep) return 2;
  auto r = http(*ep, "DELETE", "/api/v1/webhooks/" + path_segment(f.id), "");
  if (r.status != 204) return report_failure(*ep, "webhook remove", r);
  std::printf("removed webhook %s (and its delivery log)\n", f.id.c_str());
  return 0;
}

int run_deliveries(const Flags& f) {
  auto ep = endpoint(f, "deliveries");
  if (!ep) return 2;
  auto r = http(*ep, "GET",
                "/api/v1/webhooks/" + path_segment(f.id) + "/deliveries?limit=" + std::to_string(f.limit), "");
  if (r.status != 200) return report_failure(*ep, "webhook deliveries", r);
  if (f.json_out) {
    std::printf("%s\n", r.body.c_str());
    return 0;
  }
  auto o = object_of(r.body);
  if (!o || !o->contains("deliveries") || !o->at("deliveries").is_array())
    return fail_msg("deliveries", "unexpected response: " + r.body.substr(0, 200), 1);
  std::printf("%-24s %-19s %-16s %-9s %-8s %-4s %s\n", "UPDATED", "DELIVERY", "EVENT", "STATE", "ATTEMPTS", "HTTP",
              "LAST ERROR");
  for (const auto& dv : o->at("deliveries").get_array()) {
    if (!dv.is_object()) continue;
    const auto& d = dv.get_object();
    std::printf("%-24s %-19s %-16s %-9s %-8s %-4s %s\n", str(d, "updated_at").c_str(), str(d, "id").c_str(),
                str(d, "event_type").c_str(), str(d, "state").c_str(), str(d, "attempts").c_str(),
                str(d, "http_status").c_str(), str(d, "last_error").c_str());
  }
  return 0;
}

int run_ping(const Flags& f) {
  auto ep = endpoint(f, "ping");
  if (!ep) return 2;
  auto r = http(*ep, "POST", "/api/v1/webhooks/" + path_segment(f.id) + "/ping", "{}");
  if (r.status != 202) return report_failure(*ep, "webhook ping", r);
  std::printf("queued a ping event for webhook %s (see `callbridge webhook deliveries %s`)\n", f.id.c_str(),
              f.id.c_str());
  return 0;
}

}  // namespace

Command register_webhook(CLI::App& app) {
  auto f = std::make_shared<Flags>();
  auto* c = app.add_subcommand("webhook", "a tenant's webhooks on a running callbridged (admin)");
  c->footer(kHelp);
  c->require_subcommand(1);
  auto common = [f](CLI::App* s) {
    s->add_option("--cli-config", f->cli_config, "client config (default ~/.config/callbridge/cli.toml)")
        ->option_text("FILE");
  };
  auto* list = c->add_subcommand("list", "the tenant's webhooks: id, events, URL");
  common(list);
  list->add_flag("--json", f->json_out, "print the API's JSON");
  auto* add = c->add_subcommand("add", "register a webhook; prints its secret (only now)");
  common(add);
  add->add_option("url", f->url, "where deliveries go (https://...)")->required();
  add->add_option("--event,-e", f->events, "an event type (repeat for several)")->required();
  add->add_option("--template", f->template_file, "a JSON body template file")->option_text("FILE");
  add->add_option("--description", f->description, "a note for admins");
  add->add_flag("--json", f->json_out, "print the API's JSON");
  add->footer(kHelp);
  auto* show = c->add_subcommand("show", "one webhook as JSON (without its secret)");
  common(show);
  show->add_option("id", f->id, "webhook id (wh_...)")->required();
  auto* remove = c->add_subcommand("remove", "delete a webhook and its delivery log");
  common(remove);
  remove->add_option("id", f->id, "webhook id")->required();
  auto* deliveries = c->add_subcommand("deliveries", "a webhook's delivery log, newest first");
  common(deliveries);
  deliveries->add_option("id", f->id, "webhook id")->required();
  deliveries->add_option("--limit", f->limit, "at most this many (1..1000, default 20)")->check(CLI::Range(1, 1000));
  deliveries->add_flag("--json", f->json_out, "print the API's JSON");
  auto* ping = c->add_subcommand("ping", "send the webhook a test event");
  common(ping);
  ping->add_option("id", f->id, "webhook id")->required();

  Command cmd;
  cmd.app = c;
  cmd.run = [f, list, add, show, remove, deliveries]() {
    if (list->parsed()) return run_list(*f);
    if (add->parsed()) return run_add(*f);
    if (show->parsed()) return run_show(*f);
    if (remove->parsed()) return run_remove(*f);
    if (deliveries->parsed()) return run_deliveries(*f);
    return run_ping(*f);
  };
  return cmd;
}

}  // namespace callbridge::cli
