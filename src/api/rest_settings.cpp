// REST: tenant UI settings for the web client's screen pop (docs/api.md "UI settings"):
// GET /api/v1/ui-settings (any user of the tenant), PUT (admin; validated, stored per tenant in
// identity.db), DELETE (admin; back to the default). Unset, GET answers the default from the served
// /ui-config.json (its tenant's or "*" entry). Handlers run on the REST workers (identity.db).
#include <algorithm>
#include <cctype>

#include "api/rest_common.hpp"

namespace callbridge::api::rest {

namespace json = boost::json;

namespace {

constexpr const char* kKey = "ui";
constexpr std::size_t kMaxLinks = 20;
constexpr std::size_t kMaxLabel = 64;
constexpr std::size_t kMaxUrl = 2048;
constexpr std::size_t kMaxTemplate = 16 * 1024;

// What the web client fills (web/src/lib/template.ts KNOWN_VARS).
constexpr std::string_view kPlaceholders[] = {
    "contact.id",   "contact.name",      "contact.company",      "contact.source", "contact.match",
    "contact.number", "remote.e164",     "remote.extension",     "remote.display", "remote.international",
    "remote.kind",  "remote.number",     "call.id"};

std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

// Every placeholder ({name} or {{name}}, name = [A-Za-z_][A-Za-z0-9_.]*, as the client's
// PLACEHOLDER pattern) must be a known one. Other braces are text. "" = fine.
std::string placeholder_problem(std::string_view t, std::string_view field) {
  auto ident_start = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; };
  auto ident = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.'; };
  for (std::size_t i = 0; (i = t.find('{', i)) != std::string_view::npos; ++i) {
    std::size_t j = i + 1;
    if (j < t.size() && t[j] == '{') ++j;
    while (j < t.size() && t[j] == ' ') ++j;
    if (j >= t.size() || !ident_start(t[j])) continue;
    std::size_t b = j;
    while (j < t.size() && ident(t[j])) ++j;
    std::string_view name = t.substr(b, j - b);
    while (j < t.size() && t[j] == ' ') ++j;
    if (j >= t.size() || t[j] != '}') continue;
    if (std::find(std::begin(kPlaceholders), std::end(kPlaceholders), name) == std::end(kPlaceholders))
      return std::string(field) + ": unknown placeholder {" + std::string(name.substr(0, 40)) +
             "} (known: contact.id, contact.name, contact.company, contact.source, contact.match, contact.number, "
             "remote.e164, remote.extension, remote.display, remote.international, remote.kind, remote.number, "
             "call.id)";
  }
  return {};
}

bool has_control(std::string_view s, bool allow_newlines) {
  return std::any_of(s.begin(), s.end(), [&](char c) {
    auto u = static_cast<unsigned char>(c);
    if (allow_newlines && (c == '\n' || c == '\r' || c == '\t')) return false;
    return u < 0x20 || u == 0x7f;
  });
}

// The body -> the normalized document to store, or a 400 problem naming the field.
std::expected<json::object, HttpResponse> validate(const json::object& body) {
  auto bad = [](std::string d) { return std::unexpected(problem(400, "bad-request", d)); };
  for (const auto& kv : body)
    if (kv.key() != "action_links" && kv.key() != "card_template")
      return bad("unknown field \"" + std::string(kv.key().substr(0, 40)) + "\" (expected action_links, card_template)");
  json::array links;
  if (auto it = body.find("action_links"); it != body.end() && !it->value().is_null()) {
    if (!it->value().is_array()) return bad("action_links: expected an array");
    const auto& a = it->value().as_array();
    if (a.size() > kMaxLinks) return bad("action_links: at most " + std::to_string(kMaxLinks) + " links");
    for (std::size_t i = 0; i < a.size(); ++i) {
      const std::string at = "action_links[" + std::to_string(i) + "]";
      if (!a[i].is_object()) return bad(at + ": expected {\"label\", \"url\"}");
      const auto& o = a[i].as_object();
      for (const auto& kv : o)
        if (kv.key() != "label" && kv.key() != "url")
          return bad(at + ": unknown field \"" + std::string(kv.key().substr(0, 40)) + "\"");
      auto label = o.if_contains("label");
      auto url = o.if_contains("url");
      if (!label || !label->is_string()) return bad(at + ".label: expected a string");
      if (!url || !url->is_string()) return bad(at + ".url: expected a string");
      std::string_view l = label->as_string(), u = url->as_string();
      if (l.empty() || l.size() > kMaxLabel || has_control(l, false))
        return bad(at + ".label: 1-" + std::to_string(kMaxLabel) + " characters, no control characters");
      if (u.empty() || u.size() > kMaxUrl || has_control(u, false) || u.find(' ') != std::string_view::npos)
        return bad(at + ".url: 1-" + std::to_string(kMaxUrl) + " characters, no spaces or control characters");
      const std::string lu = lower(u);
      if (!(lu.starts_with("https://") || lu.starts_with("http://") || lu.starts_with("tel:") ||
            lu.starts_with("callto:") || lu.starts_with("mailto:")))
        return bad(at + ".url: must start with https://, http://, tel:, callto: or mailto:");
      if (auto p = placeholder_problem(u, at + ".url"); !p.empty()) return bad(p);
      links.push_back(json::object{{"label", l}, {"url", u}});
    }
  }
  std::string tpl;
  if (auto it = body.find("card_template"); it != body.end() && !it->value().is_null()) {
    if (!it->value().is_string()) return bad("card_template: expected a string");
    tpl = std::string(it->value().as_string());
    if (tpl.size() > kMaxTemplate)
      return bad("card_template: " + std::to_string(tpl.size()) + " bytes, at most " + std::to_string(kMaxTemplate));
    if (has_control(tpl, true)) return bad("card_template: control characters");
    const std::string lt = lower(tpl);
    for (const char* no : {"<script", "<iframe", "<object", "<embed", "<style", "javascript:"})
      if (lt.find(no) != std::string::npos)
        return bad(std::string("card_template: \"") + no + "\" is not allowed (the client shows sanitized HTML only)");
    if (auto p = placeholder_problem(tpl, "card_template"); !p.empty()) return bad(p);
  }
  return json::object{{"action_links", std::move(links)}, {"card_template", std::move(tpl)}};
}

// The default: ui-config.json's entry for the tenant, else "*" ({"actions", "card_template"}).
json::object default_settings(const Ctx& ctx, const std::string& tenant) {
  json::object out{{"action_links", json::array()}, {"card_template", ""}, {"source", "default"}};
  if (!ctx.deps.ui_config_json) return out;
  auto text = ctx.deps.ui_config_json();
  if (!text) return out;
  std::error_code ec;
  auto v = json::parse(*text, ec);
  if (ec || !v.is_object()) return out;
  const auto* tenants = v.as_object().if_contains("tenants");
  if (!tenants || !tenants->is_object()) return out;
  const json::value* t = tenants->as_object().if_contains(tenant);
  if (!t) t = tenants->as_object().if_contains("*");
  if (!t || !t->is_object()) return out;
  json::object cand;
  if (auto* a = t->as_object().if_contains("actions")) cand["action_links"] = *a;
  if (auto* c = t->as_object().if_contains("card_template")) cand["card_template"] = *c;
  auto ok = validate(cand);
  if (!ok) return out;  // a default the API would refuse is not offered
  (*ok)["source"] = "default";
  return *ok;
}

}  // namespace

void add_settings_routes(HttpServer& s, const std::shared_ptr<Ctx>& ctx) {
  auto store = ctx->deps.identity;
  s.route("GET", "/api/v1/ui-settings", authed(ctx, [ctx, store](const HttpRequest&, const Principal& p) {
            auto v = store->get_setting(p.tenant, kKey);
            if (!v) return from_error(v.error());
            if (!*v) return reply(200, default_settings(*ctx, p.tenant));
            std::error_code ec;
            auto doc = json::parse((*v)->value, ec);
            if (ec || !doc.is_object()) return problem(500, "internal", "stored UI settings are not valid JSON");
            auto& o = doc.as_object();
            o["source"] = "tenant";
            o["updated_at"] = base::format_rfc3339_ms((*v)->updated_at);
            o["updated_by"] = (*v)->updated_by;
            return reply(200, o);
          }, On::worker));
  s.route("PUT", "/api/v1/ui-settings", admin_only(ctx, [ctx, store](const HttpRequest& req, const Principal& p) {
            auto body = body_object(req);
            if (!body) return body.error();
            // Which keys changed, never their values (a URL may carry a CRM's API key).
            json::array keys;
            for (const auto& kv : *body) keys.emplace_back(kv.key().substr(0, 40));
            auto doc = validate(*body);
            if (!doc) {
              audit(*ctx, p, req, "setting.change", std::string("setting:") + kKey, doc.error(),
                    json::object{{"keys", keys}});
              return doc.error();
            }
            ports::TenantSetting t{json::serialize(*doc), ctx->deps.clock->now(), p.user};
            if (auto st = store->put_setting(p.tenant, kKey, t); !st) {
              auto r = from_error(st.error());
              audit(*ctx, p, req, "setting.change", std::string("setting:") + kKey, r, json::object{{"keys", keys}});
              return r;
            }
            auto& o = *doc;
            o["source"] = "tenant";
            o["updated_at"] = base::format_rfc3339_ms(t.updated_at);
            o["updated_by"] = p.user;
            auto r = reply(200, o);
            audit(*ctx, p, req, "setting.change", std::string("setting:") + kKey, r, json::object{{"keys", std::move(keys)}});
            return r;
          }, On::worker));
  s.route("DELETE", "/api/v1/ui-settings", admin_only(ctx, [ctx, store](const HttpRequest& req, const Principal& p) {
            auto answer = [&] {
              if (auto st = store->delete_setting(p.tenant, kKey); !st) return from_error(st.error());
              HttpResponse r;
              r.status = 204;
              return r;
            }();
            audit(*ctx, p, req, "setting.delete", std::string("setting:") + kKey, answer);
            return answer;
          }, On::worker));
}

}  // namespace callbridge::api::rest
