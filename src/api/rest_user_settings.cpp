// REST: each user's own settings of the web client and favorites (docs/api.md "Own settings and
// favorites"): GET/PUT /api/v1/me/settings (ring sound, browser notifications, language, theme),
// GET/PUT /api/v1/me/favorites (speed dials). Stored per user in identity.db (user_settings),
// validated here: 422 naming the field for a bad value. Handlers run on the REST workers.
#include <algorithm>
#include <array>
#include <cctype>

#include "api/rest_common.hpp"

namespace callbridge::api::rest {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxSettingsBody = 4 * 1024;
constexpr std::size_t kMaxFavoritesBody = 32 * 1024;
constexpr std::size_t kMaxFavorites = 100;

HttpResponse invalid(std::string detail) { return problem(422, "validation-failed", detail); }

// One setting: its key, what it may be, its default.
struct SettingSpec {
  const char* key;
  bool is_bool;
  std::array<const char*, 4> choices;  // strings: the allowed values (nullptr-terminated)
  const char* default_string;
  bool default_bool;
};
constexpr SettingSpec kSettings[] = {
    {"ring_sound", true, {}, nullptr, true},
    // Off until the user turns it on: the browser shows nothing before it asked for permission,
    // and it asks only in answer to a click (the web client's switch); web/src/lib/settings.ts
    // has the same defaults.
    {"notifications", true, {}, nullptr, false},
    {"language", false, {"auto", "de", "en", nullptr}, "auto", false},
    {"theme", false, {"auto", "light", "dark", nullptr}, "auto", false},
};

json::object default_settings() {
  json::object o;
  for (const auto& s : kSettings) {
    if (s.is_bool) o[s.key] = s.default_bool;
    else o[s.key] = s.default_string;
  }
  return o;
}

std::string choices_text(const SettingSpec& s) {
  std::string out;
  for (const char* c : s.choices) {
    if (!c) break;
    if (!out.empty()) out += ", ";
    out += c;
  }
  return out;
}

// The body -> the complete settings (keys not given take their defaults), or 422.
std::expected<json::object, HttpResponse> validate_settings(const json::object& body) {
  json::object out = default_settings();
  for (const auto& kv : body) {
    const auto* spec = std::find_if(std::begin(kSettings), std::end(kSettings),
                                    [&](const SettingSpec& s) { return kv.key() == s.key; });
    if (spec == std::end(kSettings))
      return std::unexpected(invalid("unknown setting \"" + std::string(kv.key().substr(0, 40)) +
                                     "\" (known: ring_sound, notifications, language, theme)"));
    const auto& v = kv.value();
    if (spec->is_bool) {
      if (!v.is_bool()) return std::unexpected(invalid(std::string(spec->key) + ": expected true or false"));
      out[spec->key] = v.as_bool();
      continue;
    }
    const bool known = v.is_string() && std::any_of(spec->choices.begin(), spec->choices.end(), [&](const char* c) {
                         return c && v.as_string() == c;
                       });
    if (!known) return std::unexpected(invalid(std::string(spec->key) + ": one of " + choices_text(*spec)));
    out[spec->key] = v.as_string();
  }
  return out;
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// A number as people dial it: digits, '+' first, '*', '#', and the separators people write.
bool dialable(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  bool digit = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (std::isdigit(static_cast<unsigned char>(c))) digit = true;
    else if (c == '+' && i == 0) continue;
    else if (c != '*' && c != '#' && c != ' ' && c != '-' && c != '/' && c != '(' && c != ')' && c != '.') return false;
  }
  return digit;
}

// {"favorites": [{"label", "number", "contact"?: {"id", "source"}}]} -> the list to store, or 422.
std::expected<json::array, HttpResponse> validate_favorites(const json::object& body) {
  for (const auto& kv : body)
    if (kv.key() != "favorites")
      return std::unexpected(invalid("unknown field \"" + std::string(kv.key().substr(0, 40)) + "\" (expected favorites)"));
  auto it = body.find("favorites");
  if (it == body.end() || !it->value().is_array()) return std::unexpected(invalid("favorites: expected an array"));
  const auto& a = it->value().as_array();
  if (a.size() > kMaxFavorites) return std::unexpected(invalid("favorites: at most " + std::to_string(kMaxFavorites)));
  json::array out;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::string at = "favorites[" + std::to_string(i) + "]";
    if (!a[i].is_object()) return std::unexpected(invalid(at + ": expected {\"label\", \"number\"}"));
    const auto& f = a[i].as_object();
    for (const auto& kv : f)
      if (kv.key() != "label" && kv.key() != "number" && kv.key() != "contact")
        return std::unexpected(invalid(at + ": unknown field \"" + std::string(kv.key().substr(0, 40)) +
                                       "\" (expected label, number, contact)"));
    auto label = opt_string(f, "label", 64);
    auto number = opt_string(f, "number", 64);
    if (!label || !*label || (*label)->empty() || has_control(**label))
      return std::unexpected(invalid(at + ".label: 1-64 characters, no control characters"));
    if (!number || !*number || !dialable(**number))
      return std::unexpected(invalid(at + ".number: a number to dial (digits, a leading +, * # and separators; at most 64)"));
    json::object fav{{"label", **label}, {"number", **number}};
    if (auto c = f.find("contact"); c != f.end() && !c->value().is_null()) {
      if (!c->value().is_object()) return std::unexpected(invalid(at + ".contact: expected {\"id\", \"source\"} or null"));
      auto id = opt_string(c->value().as_object(), "id", 200);
      auto source = opt_string(c->value().as_object(), "source", 64);
      if (!id || !*id || (*id)->empty() || !source || !*source || (*source)->empty() || c->value().as_object().size() != 2)
        return std::unexpected(invalid(at + ".contact: {\"id\": 1-200 characters, \"source\": 1-64 characters}"));
      fav["contact"] = json::object{{"id", **id}, {"source", **source}};
    }
    out.push_back(std::move(fav));
  }
  return out;
}

// The stored document of `key` for the principal, parsed; nullopt when never stored.
std::expected<std::optional<std::pair<json::value, base::Timestamp>>, HttpResponse> load(Ctx& ctx, const Principal& p,
                                                                                        const std::string& key) {
  auto got = ctx.deps.identity->get_user_setting(p.tenant, p.user, key);
  if (!got) return std::unexpected(from_error(got.error()));
  if (!*got) return std::optional<std::pair<json::value, base::Timestamp>>();
  std::error_code ec;
  auto v = json::parse((*got)->value, ec);
  if (ec) return std::unexpected(problem(500, "internal", "stored " + key + " of " + p.user + " is not JSON"));
  return std::optional<std::pair<json::value, base::Timestamp>>(std::make_pair(std::move(v), (*got)->updated_at));
}

json::value stamp(const std::optional<base::Timestamp>& t) {
  return t ? json::value(base::format_rfc3339_ms(*t)) : json::value(nullptr);
}

}  // namespace

void add_user_settings_routes(HttpServer& s, const std::shared_ptr<Ctx>& ctx) {
  s.route("GET", "/api/v1/me/settings", authed(ctx, [ctx](const HttpRequest&, const Principal& p) {
            auto stored = load(*ctx, p, "settings");
            if (!stored) return stored.error();
            json::object o = default_settings();
            std::optional<base::Timestamp> at;
            if (*stored && (*stored)->first.is_object()) {
              // Stored settings were validated; a key a later build dropped is ignored.
              for (const auto& kv : (*stored)->first.as_object())
                if (o.contains(kv.key())) o[kv.key()] = kv.value();
              at = (*stored)->second;
            }
            o["updated_at"] = stamp(at);
            return reply(200, o);
          }, On::worker));

  s.route("PUT", "/api/v1/me/settings", authed(ctx, [ctx](const HttpRequest& req, const Principal& p) {
            if (req.body.size() > kMaxSettingsBody)
              return problem(413, "payload-too-large", "settings: at most " + std::to_string(kMaxSettingsBody) + " bytes");
            auto body = body_object(req);
            if (!body) return body.error();
            auto v = validate_settings(*body);
            if (!v) return v.error();
            const auto now = ctx->deps.clock->now();
            if (auto st = ctx->deps.identity->put_user_setting(p.tenant, p.user, "settings",
                                                               {json::serialize(*v), now, p.user});
                !st)
              return from_error(st.error());
            json::object o = *v;
            o["updated_at"] = base::format_rfc3339_ms(now);
            return reply(200, o);
          }, On::worker));

  s.route("GET", "/api/v1/me/favorites", authed(ctx, [ctx](const HttpRequest&, const Principal& p) {
            auto stored = load(*ctx, p, "favorites");
            if (!stored) return stored.error();
            json::object o{{"favorites", json::array()}};
            std::optional<base::Timestamp> at;
            if (*stored && (*stored)->first.is_array()) {
              o["favorites"] = (*stored)->first;
              at = (*stored)->second;
            }
            o["updated_at"] = stamp(at);
            return reply(200, o);
          }, On::worker));

  s.route("PUT", "/api/v1/me/favorites", authed(ctx, [ctx](const HttpRequest& req, const Principal& p) {
            if (req.body.size() > kMaxFavoritesBody)
              return problem(413, "payload-too-large", "favorites: at most " + std::to_string(kMaxFavoritesBody) + " bytes");
            auto body = body_object(req);
            if (!body) return body.error();
            auto v = validate_favorites(*body);
            if (!v) return v.error();
            const auto now = ctx->deps.clock->now();
            if (auto st = ctx->deps.identity->put_user_setting(p.tenant, p.user, "favorites",
                                                               {json::serialize(*v), now, p.user});
                !st)
              return from_error(st.error());
            return reply(200, json::object{{"favorites", *v}, {"updated_at", base::format_rfc3339_ms(now)}});
          }, On::worker));
}

}  // namespace callbridge::api::rest
