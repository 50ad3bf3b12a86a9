// The contacts capability's REST resources: the built-in store's contacts (create, read, edit,
// delete, list) and number lookup over all the tenant's directories. Parses and renders JSON here;
// contacts_service completes contacts and runs lookups. Every call passes the principal's tenant to
// the store, and what comes back is shown or changed only when the visibility policy agrees
// (core/visibility.hpp: any user of the tenant may read and edit its contacts). Registered once on
// the io thread; every handler runs on a REST worker.
#include "capabilities/contacts/contacts_routes.hpp"

#include <charconv>

#include "api/rest_common.hpp"
#include "capabilities/contacts/contacts_service.hpp"

namespace callbridge::capabilities::contacts {

namespace json = boost::json;
using namespace api;
using namespace api::rest;

namespace {

json::object contact_json(const ports::Contact& c) {
  json::array nums;
  for (const auto& n : c.numbers) nums.push_back(json::object{{"label", n.label}, {"number", n.raw}, {"e164", n.e164}});
  return {{"id", std::to_string(c.id)},   {"kind", ports::to_string(c.kind)}, {"display_name", c.display_name},
          {"given_name", c.given_name},   {"family_name", c.family_name},      {"company", c.company},
          {"email", c.email},             {"note", c.note},                    {"numbers", std::move(nums)}};
}

// Applies the fields present in `o` to c; error text on a bad field.
std::optional<std::string> apply(const json::object& o, ports::Contact& c) {
  struct F {
    const char* key;
    std::string* dst;
    std::size_t max;
  } fields[] = {{"display_name", &c.display_name, 200}, {"given_name", &c.given_name, 100},
                {"family_name", &c.family_name, 100},   {"company", &c.company, 200},
                {"email", &c.email, 200},               {"note", &c.note, 4096}};
  for (const auto& f : fields) {
    auto v = opt_string(o, f.key, f.max);
    if (!v) return v.error();
    if (*v) *f.dst = **v;
  }
  auto kind = opt_string(o, "kind", 16);
  if (!kind) return kind.error();
  if (*kind) {
    auto k = ports::parse_contact_kind(**kind);
    if (!k) return "kind: person or company";
    c.kind = *k;
  }
  if (auto it = o.find("numbers"); it != o.end()) {
    if (!it->value().is_array()) return "numbers: expected an array";
    const auto& arr = it->value().as_array();
    if (arr.size() > 32) return "numbers: at most 32";
    c.numbers.clear();
    for (const auto& n : arr) {
      if (!n.is_object()) return "numbers: expected objects {label, number}";
      auto num = opt_string(n.as_object(), "number", 64);
      auto label = opt_string(n.as_object(), "label", 32);
      if (!num) return num.error();
      if (!label) return label.error();
      if (!*num || (*num)->empty()) return "numbers[].number: required";
      c.numbers.push_back({label->value_or(""), **num, ""});
    }
  }
  return complete(c);
}

// The fields a body named (the audit records keys, never a contact's data).
json::array keys_of(const json::object& o) {
  json::array a;
  for (const auto& kv : o) a.emplace_back(std::string(kv.key().substr(0, 40)));
  return a;
}

std::optional<std::int64_t> contact_id(const HttpRequest& req, std::string* rest) {
  auto seg = path_segment(req, "/api/v1/contacts/", rest);
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(seg.data(), seg.data() + seg.size(), v);
  if (ec != std::errc() || p != seg.data() + seg.size() || v < 1) return std::nullopt;
  return v;
}

}  // namespace

void register_contacts(CapabilityContext& cap) {
  HttpServer& s = cap.server;
  const std::shared_ptr<Ctx>& ctx = cap.rest;
  auto store = [ctx]() { return ctx->deps.contacts; };
  auto changed = [ctx](const base::TenantId& tenant) {
    if (!ctx->deps.lookup) return;
    if (auto l = ctx->deps.lookup(tenant)) l->invalidate(tenant);
  };

  s.route("GET", "/api/v1/contacts/lookup", authed(ctx, [ctx](const HttpRequest& req, const Principal& p) {
            auto number = query_of(req).get("number");
            if (!number || number->empty() || number->size() > 64)
              return problem(400, "bad-request", "number: required, at most 64 characters");
            auto e164 = to_e164(ctx->deps.to_e164, p.tenant, *number);
            if (!e164) return problem(400, "invalid-number", "'" + *number + "' is not a usable external number");
            auto engine = ctx->deps.lookup ? ctx->deps.lookup(p.tenant) : nullptr;
            auto found = lookup(engine.get(), ctx->deps.contacts, p.tenant, *e164);
            if (!found) return from_error(found.error());
            json::array matches;
            for (const auto& m : *found)
              matches.push_back(json::object{{"id", m.contact.contact_id},
                                             {"source", m.contact.source},
                                             {"name", m.contact.display_name},
                                             {"company", m.contact.company},
                                             {"kind", ports::to_string(m.contact.kind)},
                                             {"matched_number", m.contact.matched_number},
                                             {"label", m.contact.label},
                                             {"match", core::to_string(m.kind)}});
            return reply(200, json::object{{"number", json::object{{"input", *number}, {"e164", *e164}}},
                                          {"matches", std::move(matches)}});
          }, On::worker));

  // Every directory, by name, company or number (docs/api.md "Contacts"): the dial box.
  s.route("GET", "/api/v1/contacts/search", authed(ctx, [ctx](const HttpRequest& req, const Principal& p) {
            std::string text;
            std::size_t limit = 20;
            for (const auto& [k, v] : parse_query(req.query)) {
              if (k == "q") {
                text = v;
              } else if (k == "limit") {
                auto n = query_int(v);
                if (!n || *n < 1 || *n > 100) return problem(400, "bad-request", "limit: 1..100");
                limit = static_cast<std::size_t>(*n);
              } else {
                return problem(400, "bad-request", "unknown parameter " + k.substr(0, 40) + " (expected q, limit)");
              }
            }
            while (!text.empty() && text.back() == ' ') text.pop_back();
            while (!text.empty() && text.front() == ' ') text.erase(0, 1);
            if (text.empty() || text.size() > 100) return problem(400, "bad-request", "q: 1-100 characters");
            auto engine = ctx->deps.lookup ? ctx->deps.lookup(p.tenant) : nullptr;
            auto r = search(engine.get(), ctx->deps.contacts, ctx->deps.to_e164, p.tenant, text, limit);
            if (!r) return from_error(r.error());
            json::array hits;
            for (const auto& h : r->hits) {
              json::array nums;
              for (const auto& n : h.numbers) nums.push_back(json::object{{"label", n.label}, {"number", n.raw}, {"e164", n.e164}});
              hits.push_back(json::object{{"id", h.contact_id},
                                          {"source", h.source},
                                          {"kind", ports::to_string(h.kind)},
                                          {"name", h.display_name},
                                          {"company", h.company},
                                          {"numbers", std::move(nums)},
                                          // Only the built-in store is edited through this API.
                                          {"editable", ctx->deps.contacts && h.source == ctx->deps.contacts->name()}});
            }
            json::array sources;
            for (const auto& s : r->sources) {
              json::object o{{"name", s.source}, {"state", std::string(core::to_string(s.state))}};
              if (!s.message.empty()) o["message"] = s.message;
              sources.push_back(std::move(o));
            }
            json::object body{{"query", text}, {"contacts", std::move(hits)}, {"sources", std::move(sources)}};
            body["e164"] = r->e164 ? json::value(*r->e164) : json::value(nullptr);
            return reply(200, body);
          }, On::worker));

  s.route("GET", "/api/v1/contacts", authed(ctx, [store](const HttpRequest& req, const Principal& p) {
            if (!store()) return problem(503, "unavailable", "no contact store");
            auto q = query_of(req);
            auto text = q.get("q").value_or("");
            if (text.size() > 200) return problem(400, "bad-request", "q: at most 200 characters");
            std::size_t limit = 100;
            if (auto l = q.get("limit")) {
              std::size_t v = 0;
              auto [e, ec] = std::from_chars(l->data(), l->data() + l->size(), v);
              if (ec != std::errc() || e != l->data() + l->size() || v < 1 || v > 1000)
                return problem(400, "bad-request", "limit: 1..1000");
              limit = v;
            }
            auto r = store()->list(p.tenant, text, limit);
            if (!r) return from_error(r.error());
            const core::Viewer v = p.viewer();
            json::array a;
            for (const auto& c : *r)
              if (core::may_see(v, c)) a.push_back(contact_json(c));
            return reply(200, json::object{{"contacts", std::move(a)}});
          }, On::worker));

  s.route("POST", "/api/v1/contacts", authed(ctx, [ctx, store, changed](const HttpRequest& req, const Principal& p) {
            if (!store()) return problem(503, "unavailable", "no contact store");
            auto body = body_object(req);
            if (!body) return body.error();
            std::string target = "contact:new";
            auto answer = [&]() -> HttpResponse {
              ports::Contact c{.tenant = p.tenant};
              c.origin = "api";
              if (auto err = apply(*body, c)) return problem(400, "bad-request", *err);
              auto id = store()->create(c);
              if (!id) return from_error(id.error());
              target = "contact:" + std::to_string(*id);
              changed(p.tenant);
              auto got = store()->get(p.tenant, *id);
              if (!got) return from_error(got.error());
              auto r = reply(201, contact_json(*got));
              r.headers.emplace_back("Location", "/api/v1/contacts/" + std::to_string(*id));
              return r;
            }();
            audit(*ctx, p, req, "contact.create", target, answer, json::object{{"keys", keys_of(*body)}});
            return answer;
          }, On::worker));

  s.route("GET", "/api/v1/contacts/*", authed(ctx, [store](const HttpRequest& req, const Principal& p) {
            if (!store()) return problem(503, "unavailable", "no contact store");
            std::string rest;
            auto id = contact_id(req, &rest);
            if (!id || !rest.empty()) return problem(404, "not-found", "no contact at " + req.path);
            auto c = store()->get(p.tenant, *id);
            if (!c) return from_error(c.error());
            if (!core::may_see(p.viewer(), *c)) return problem(404, "not-found", "no contact " + std::to_string(*id));
            return reply(200, contact_json(*c));
          }, On::worker));

  s.route("PATCH", "/api/v1/contacts/*", authed(ctx, [ctx, store, changed](const HttpRequest& req, const Principal& p) {
            if (!store()) return problem(503, "unavailable", "no contact store");
            std::string rest;
            auto id = contact_id(req, &rest);
            if (!id || !rest.empty()) return problem(404, "not-found", "no contact at " + req.path);
            auto body = body_object(req);
            if (!body) return body.error();
            auto answer = [&]() -> HttpResponse {
              auto c = store()->get(p.tenant, *id);
              if (!c) return from_error(c.error());
              if (!core::may_edit(p.viewer(), *c)) return problem(404, "not-found", "no contact " + std::to_string(*id));
              for (auto& n : c->numbers) n.e164.clear();  // re-normalized by the store
              if (auto err = apply(*body, *c)) return problem(400, "bad-request", *err);
              c->tenant = p.tenant;
              if (auto st = store()->update(*c); !st) return from_error(st.error());
              changed(p.tenant);
              auto got = store()->get(p.tenant, *id);
              if (!got) return from_error(got.error());
              return reply(200, contact_json(*got));
            }();
            audit(*ctx, p, req, "contact.change", "contact:" + std::to_string(*id), answer,
                  json::object{{"keys", keys_of(*body)}});
            return answer;
          }, On::worker));

  s.route("DELETE", "/api/v1/contacts/*", authed(ctx, [ctx, store, changed](const HttpRequest& req, const Principal& p) {
            if (!store()) return problem(503, "unavailable", "no contact store");
            std::string rest;
            auto id = contact_id(req, &rest);
            if (!id || !rest.empty()) return problem(404, "not-found", "no contact at " + req.path);
            auto answer = [&]() -> HttpResponse {
              if (auto st = store()->remove(p.tenant, *id); !st) return from_error(st.error());
              changed(p.tenant);
              HttpResponse r;
              r.status = 204;
              return r;
            }();
            audit(*ctx, p, req, "contact.remove", "contact:" + std::to_string(*id), answer);
            return answer;
          }, On::worker));
}

}  // namespace callbridge::capabilities::contacts
