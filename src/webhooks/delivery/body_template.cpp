#include "webhooks/delivery/body_template.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cctype>
#include <charconv>
#include <optional>

namespace callbridge::webhooks {

namespace json = boost::json;

namespace {

constexpr std::string_view kRoots[] = {"id", "type", "tenant", "created_at", "seq", "data"};

struct Placeholder {
  std::size_t begin = 0, end = 0;  // [begin, end) in the text, braces included
  std::string_view name;
};

// The next placeholder at or after `from`, as web/src/lib/template.ts PLACEHOLDER matches them:
// "{" ["{"] spaces name spaces "}" ["}"].
std::optional<Placeholder> next_placeholder(std::string_view t, std::size_t from) {
  auto ident_start = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; };
  auto ident = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.'; };
  for (std::size_t i = from; (i = t.find('{', i)) != std::string_view::npos; ++i) {
    std::size_t j = i + 1;
    if (j < t.size() && t[j] == '{') ++j;
    while (j < t.size() && t[j] == ' ') ++j;
    if (j >= t.size() || !ident_start(t[j])) continue;
    const std::size_t b = j;
    while (j < t.size() && ident(t[j])) ++j;
    const std::string_view name = t.substr(b, j - b);
    while (j < t.size() && t[j] == ' ') ++j;
    if (j >= t.size() || t[j] != '}') continue;
    ++j;
    if (j < t.size() && t[j] == '}' && t[i + 1] == '{') ++j;
    return Placeholder{i, j, name};
  }
  return std::nullopt;
}

std::string_view root_of(std::string_view name) { return name.substr(0, name.find('.')); }

// Every placeholder of every string value (not keys) is rooted in the event; "" when all are.
std::string check(const json::value& v, const std::string& at) {
  if (v.is_string()) {
    std::string_view s = v.as_string();
    for (auto p = next_placeholder(s, 0); p; p = next_placeholder(s, p->end)) {
      bool known = false;
      for (auto r : kRoots) known = known || root_of(p->name) == r;
      if (!known)
        return at + ": unknown placeholder {" + std::string(p->name.substr(0, 40)) +
               "} (placeholders start with id, type, tenant, created_at, seq or data)";
    }
  } else if (v.is_object()) {
    for (const auto& kv : v.as_object())
      if (auto e = check(kv.value(), at + "." + std::string(kv.key())); !e.empty()) return e;
  } else if (v.is_array()) {
    const auto& a = v.as_array();
    for (std::size_t i = 0; i < a.size(); ++i)
      if (auto e = check(a[i], at + "[" + std::to_string(i) + "]"); !e.empty()) return e;
  }
  return {};
}

// The value at a dotted path ("data.call.connections.0.device"); null when any step is missing.
const json::value* lookup(const json::object& event, std::string_view path) {
  const json::value* cur = nullptr;
  const json::object* obj = &event;
  while (!path.empty()) {
    const auto dot = path.find('.');
    const std::string_view step = path.substr(0, dot);
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    if (obj) {
      cur = obj->if_contains(step);
    } else if (cur && cur->is_array()) {
      std::size_t idx = 0;
      auto [p, ec] = std::from_chars(step.data(), step.data() + step.size(), idx);
      if (ec != std::errc() || p != step.data() + step.size() || idx >= cur->as_array().size()) return nullptr;
      cur = &cur->as_array()[idx];
    } else {
      return nullptr;
    }
    if (!cur) return nullptr;
    obj = cur->is_object() ? &cur->as_object() : nullptr;
  }
  return cur;
}

std::string as_text(const json::value* v) {
  if (!v || v->is_null()) return {};
  if (v->is_string()) return std::string(v->as_string());
  return json::serialize(*v);
}

json::value fill(const json::value& v, const json::object& event) {
  if (v.is_string()) {
    std::string_view s = v.as_string();
    auto p = next_placeholder(s, 0);
    if (!p) return v;
    if (p->begin == 0 && p->end == s.size()) {  // the whole string: the value itself, typed
      const json::value* found = lookup(event, p->name);
      return found ? *found : json::value(nullptr);
    }
    std::string out;
    std::size_t pos = 0;
    for (; p; p = next_placeholder(s, p->end)) {
      out.append(s.substr(pos, p->begin - pos));
      out += as_text(lookup(event, p->name));
      pos = p->end;
    }
    out.append(s.substr(pos));
    return json::value(json::string(out));
  }
  if (v.is_object()) {
    json::object o;
    for (const auto& kv : v.as_object()) o[kv.key()] = fill(kv.value(), event);
    return o;
  }
  if (v.is_array()) {
    json::array a;
    for (const auto& e : v.as_array()) a.push_back(fill(e, event));
    return a;
  }
  return v;
}

}  // namespace

base::Result<json::value> parse_body_template(std::string_view text) {
  if (text.size() > kMaxBodyTemplateBytes)
    return base::fail(base::Error::invalid_argument("body_template: " + std::to_string(text.size()) +
                                                    " bytes, at most " + std::to_string(kMaxBodyTemplateBytes)));
  std::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return base::fail(base::Error::invalid_argument("body_template: not JSON (" + ec.message() + ")"));
  if (auto e = check(v, "body_template"); !e.empty()) return base::fail(base::Error::invalid_argument(e));
  return v;
}

json::value render_body(const json::value& tpl, const json::object& event) { return fill(tpl, event); }

}  // namespace callbridge::webhooks
