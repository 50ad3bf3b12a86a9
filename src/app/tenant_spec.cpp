#include "app/tenant_spec.hpp"

#include <boost/json.hpp>
#include <set>

#include "app/config_tables.hpp"
#include "app/dialing_config.hpp"

namespace callbridge::app {

namespace json = boost::json;
using base::Error;
using base::fail;

namespace {

// JSON -> the TOML tree the file's readers take. null members are left out (absent = default).
base::Status to_toml(const json::value& v, const std::string& path, toml::table& parent, std::string_view key);
base::Status to_toml(const json::value& v, const std::string& path, toml::array& parent);

template <typename Put>
base::Status convert(const json::value& v, const std::string& path, Put put) {
  switch (v.kind()) {
    case json::kind::null: return {};
    case json::kind::bool_: put(v.get_bool()); return {};
    case json::kind::int64: put(v.get_int64()); return {};
    case json::kind::uint64:
      if (v.get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return fail(Error::invalid_argument(path + ": number out of range"));
      put(static_cast<std::int64_t>(v.get_uint64()));
      return {};
    case json::kind::double_: put(v.get_double()); return {};
    case json::kind::string: put(std::string(v.get_string())); return {};
    case json::kind::array: {
      toml::array a;
      for (std::size_t i = 0; i < v.get_array().size(); ++i)
        if (auto st = to_toml(v.get_array()[i], path + "[" + std::to_string(i) + "]", a); !st) return st;
      put(std::move(a));
      return {};
    }
    case json::kind::object: {
      toml::table t;
      for (const auto& [k, m] : v.get_object())
        if (auto st = to_toml(m, path.empty() ? std::string(k) : path + "." + std::string(k), t, k); !st) return st;
      put(std::move(t));
      return {};
    }
  }
  return {};
}

base::Status to_toml(const json::value& v, const std::string& path, toml::table& parent, std::string_view key) {
  return convert(v, path, [&](auto&& x) { parent.insert_or_assign(key, std::forward<decltype(x)>(x)); });
}

base::Status to_toml(const json::value& v, const std::string& path, toml::array& parent) {
  if (v.is_null()) return fail(Error::invalid_argument(path + ": null is not allowed in an array"));
  return convert(v, path, [&](auto&& x) { parent.push_back(std::forward<decltype(x)>(x)); });
}

base::Result<json::object> parse_object(std::string_view text) {
  // Twice the client's limit: a spec sent at the limit may grow by the stored secrets it keeps.
  if (text.size() > 2 * kMaxTenantSpecBytes)
    return fail(Error::invalid_argument("tenant spec larger than " + std::to_string(kMaxTenantSpecBytes) + " bytes"));
  boost::system::error_code ec;
  json::parse_options po;
  po.max_depth = 16;
  auto v = json::parse(text, ec, {}, po);
  if (ec) return fail(Error::invalid_argument("tenant spec: invalid JSON: " + ec.message()));
  if (!v.is_object()) return fail(Error::invalid_argument("tenant spec: expected a JSON object"));
  return std::move(v.as_object());
}

json::array strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

json::object pairs(const std::vector<std::pair<std::string, std::string>>& v) {
  json::object o;
  for (const auto& [k, x] : v) o[k] = x;
  return o;
}

// The name a spec entry gets: its "name", else the default parse_tenant_spec gives it.
std::string entry_name(const json::object& e, const std::string& fallback) {
  if (auto* n = e.if_contains("name"); n && n->is_string()) return std::string(n->get_string());
  return fallback;
}

std::string numbered(const std::string& base, std::size_t i, std::size_t n) {
  return n == 1 ? base : base + "-" + std::to_string(i + 1);
}

}  // namespace

base::Result<TenantSpec> parse_tenant_spec(std::string_view text, std::optional<std::string_view> id_from_path) {
  auto body = parse_object(text);
  if (!body) return fail(body.error());
  std::string id;
  if (id_from_path) {
    id = std::string(*id_from_path);
  } else if (auto* v = body->if_contains("id"); v && v->is_string()) {
    id = std::string(v->get_string());
  } else {
    return fail(Error::invalid_argument("id: required (a tenant id: letters, digits, '-' and '_')"));
  }
  toml::table t;
  for (const auto& [k, v] : *body)
    if (auto st = to_toml(v, std::string(k), t, k); !st) return fail(st.error());
  auto spec = read_tenant_spec(t, id, "tenant spec");
  if (!spec) return fail(spec.error());
  // The file's cross-field rules: links complete (host, user, secret), backoff order, names.
  Config c = tenant_config_of(*spec);
  if (auto st = validate(c); !st) return fail(st.error());
  // The dialing plan must build (the same function callbridged uses).
  if (auto plan = tenant_dialing_plan(c, spec->id); !plan) {
    std::string m = plan.error().message();
    const std::string file_prefix = "tenant." + spec->id + ".";
    if (m.starts_with(file_prefix)) m.erase(0, file_prefix.size());
    return fail(Error::invalid_argument(m));
  }
  return spec;
}

Config tenant_config_of(const TenantSpec& spec) {
  Config c;
  c.pbx = spec.pbx;
  c.tenants[spec.id] = spec.settings;
  c.directory.ldap = spec.ldap;
  c.directory.http = spec.http;
  return c;
}

std::vector<std::string> file_tenants(const Config& config) {
  std::set<std::string> ids;
  for (const auto& [id, tc] : config.tenants) ids.insert(id);
  for (const auto& p : config.pbx) ids.insert(p.tenant);
  for (const auto& l : config.directory.ldap) ids.insert(l.tenant);
  for (const auto& h : config.directory.http) ids.insert(h.tenant);
  return {ids.begin(), ids.end()};
}

std::string tenant_spec_json(const TenantSpec& s, bool with_secrets) {
  json::array links;
  for (const auto& p : s.pbx) {
    json::object o{{"name", p.name},
                   {"host", p.host},
                   {"port", p.port},
                   {"user", p.user},
                   {"auth", p.auth == AmiAuth::md5 ? "md5" : "plain"},
                   {"keepalive_s", p.keepalive_s},
                   {"connect_timeout_s", p.connect_timeout_s},
                   {"reconnect_min_ms", p.reconnect_min_ms},
                   {"reconnect_max_ms", p.reconnect_max_ms}};
    if (with_secrets) o["secret"] = p.secret;
    links.push_back(std::move(o));
  }
  const auto& d = s.settings.dialing;
  json::object dialing{{"country_code", d.country_code},
                       {"area_code", d.area_code},
                       {"base_number", d.base_number},
                       {"outside_prefix", d.outside_prefix},
                       {"trunk_prefix", d.trunk_prefix},
                       {"international_prefix", d.international_prefix},
                       {"extension_ranges", strings(d.extension_ranges)},
                       {"pbx_reports_outside_prefix", d.pbx_reports_outside_prefix}};
  // Unset values the reader would refuse as set ones: left out.
  if (d.extension_length > 0) dialing["extension_length"] = d.extension_length;  // 0 = unknown
  if (!d.region.empty()) dialing["region"] = d.region;
  const auto& cc = s.settings.call_control;
  json::object any;
  for (const auto& [dev, num] : cc.any_device) any[dev] = num;
  json::object call_control{{"context", cc.context},
                            {"conference_context", cc.conference_context},
                            {"click_to_dial_caller_id", cc.click_to_dial_caller_id},
                            {"office_number", cc.office_number},
                            {"parking_lot", cc.parking_lot},
                            {"max_trunk_channels", cc.max_trunk_channels},
                            {"atxfer_swap", cc.atxfer_swap},
                            {"atxfer_threeway", cc.atxfer_threeway},
                            {"any_device", std::move(any)}};
  const auto& ad = s.settings.any_device;
  json::object any_device{{"allow", strings(ad.allow)}, {"deny", strings(ad.deny)}, {"max_devices", ad.max_devices}};
  json::array phones;
  for (const auto& p : s.settings.phones)
    phones.push_back(json::object{{"devices", strings(p.devices)},
                                  {"answer_event", p.answer_event},
                                  {"hold_event", p.hold_event},
                                  {"retrieve_event", p.retrieve_event}});
  json::array ldap;
  for (const auto& l : s.ldap) {
    json::object o{{"name", l.name},
                   {"uri", l.uri},
                   {"bind_dn", l.bind_dn},
                   {"base_dn", l.base_dn},
                   {"filter", l.filter},
                   {"name_attributes", strings(l.name_attributes)},
                   {"given_name_attribute", l.given_name_attribute},
                   {"family_name_attribute", l.family_name_attribute},
                   {"company_attribute", l.company_attribute},
                   {"number_attributes", pairs(l.number_attributes)},
                   {"size_limit", l.size_limit},
                   {"timeout_ms", l.timeout_ms},
                   {"priority", l.priority}};
    if (with_secrets) o["bind_password"] = l.bind_password;
    ldap.push_back(std::move(o));
  }
  json::array http;
  for (const auto& h : s.http) {
    json::object o{{"name", h.name},
                   {"url", h.url},
                   {"results_path", h.results_path},
                   {"id_field", h.id_field},
                   {"name_field", h.name_field},
                   {"company_field", h.company_field},
                   {"label_field", h.label_field},
                   {"kind_field", h.kind_field},
                   {"search_url", h.search_url},
                   {"numbers_field", h.numbers_field},
                   {"number_field", h.number_field},
                   {"number_label_field", h.number_label_field},
                   {"tls_verify", h.tls_verify},
                   {"ca_file", h.ca_file},
                   {"timeout_ms", h.timeout_ms},
                   {"priority", h.priority}};
    if (with_secrets) o["headers"] = pairs(h.headers);
    http.push_back(std::move(o));
  }
  json::object o{{"id", s.id},
                 {"display_name", s.display_name},
                 {"pbx", std::move(links)},
                 {"dialing", std::move(dialing)},
                 {"call_control", std::move(call_control)},
                 {"any_device", std::move(any_device)},
                 {"phones", std::move(phones)},
                 {"directory", json::object{{"ldap", std::move(ldap)}, {"http", std::move(http)}}}};
  return json::serialize(o);
}

std::string keep_stored_secrets(std::string_view incoming, const TenantSpec& stored) {
  auto body = parse_object(incoming);
  if (!body) return std::string(incoming);
  // For each array of entries: an entry without `key` gets the stored entry's value (same name).
  auto fill = [](json::value* arr, const std::string& default_base, const char* key, auto stored_value) {
    if (!arr || !arr->is_array()) return;
    auto& a = arr->get_array();
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!a[i].is_object() || a[i].get_object().contains(key)) continue;
      auto v = stored_value(entry_name(a[i].get_object(), numbered(default_base, i, a.size())));
      if (v) a[i].get_object()[key] = std::move(*v);
    }
  };
  const std::string& id = stored.id;
  fill(body->if_contains("pbx"), id, "secret", [&](const std::string& name) -> std::optional<json::value> {
    for (const auto& p : stored.pbx)
      if (p.name == name) return json::value(p.secret);
    return std::nullopt;
  });
  if (auto* dir = body->if_contains("directory"); dir && dir->is_object()) {
    fill(dir->get_object().if_contains("ldap"), id + "-ldap", "bind_password",
         [&](const std::string& name) -> std::optional<json::value> {
           for (const auto& l : stored.ldap)
             if (l.name == name) return json::value(l.bind_password);
           return std::nullopt;
         });
    fill(dir->get_object().if_contains("http"), id + "-crm", "headers",
         [&](const std::string& name) -> std::optional<json::value> {
           for (const auto& h : stored.http)
             if (h.name == name) return json::value(pairs(h.headers));
           return std::nullopt;
         });
  }
  return json::serialize(*body);
}

}  // namespace callbridge::app
