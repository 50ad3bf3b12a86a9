// The journal capability's REST resources: GET /api/v1/journal (+ .csv), PATCH /api/v1/journal/{id}
// (note). Parses filters and renders JSON here; what a caller sees is journal_service's (the
// visibility policy: the tenant always the principal's, users only entries whose party is one of
// their extensions). Registered once on the io thread; every handler runs on a REST worker.
#include "capabilities/journal/journal_routes.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "api/rest_common.hpp"
#include "capabilities/journal/journal_service.hpp"

namespace callbridge::capabilities::journal {

namespace json = boost::json;
using namespace api;
using namespace api::rest;

namespace {

constexpr std::size_t kMaxJsonLimit = 500;
constexpr std::size_t kMaxCsvLimit = 10'000;

// Parses the filters; error = a 400 problem.
std::expected<ports::JournalQuery, HttpResponse> parse_filters(const HttpRequest& req, const Principal& p,
                                                               std::size_t max_limit) {
  ports::JournalQuery q{.tenant = p.tenant};
  q.limit = std::min<std::size_t>(100, max_limit);
  for (const auto& [k, v] : parse_query(req.query)) {
    if (k == "party") {
      if (v.empty() || v.size() > 64) return std::unexpected(problem(400, "bad-request", "party: 1-64 characters"));
      q.party = v;
    } else if (k == "direction") {
      q.direction = model::parse_direction(v);
      if (!q.direction) return std::unexpected(problem(400, "bad-request", "direction: inbound, outbound or internal"));
    } else if (k == "disposition") {
      if (v == "missed") q.missed_only = true;
      q.disposition = model::parse_disposition(v);
      if (!q.disposition) return std::unexpected(problem(400, "bad-request", "disposition: unknown value '" + v.substr(0, 40) + "'"));
    } else if (k == "since" || k == "until") {
      auto t = query_time(v);
      if (!t) return std::unexpected(problem(400, "bad-request", k + ": expected RFC 3339 or epoch seconds"));
      (k == "since" ? q.since : q.until) = t;
    } else if (k == "q" || k == "text") {
      if (v.size() > 200) return std::unexpected(problem(400, "bad-request", "q: at most 200 characters"));
      if (!v.empty()) q.text = v;
    } else if (k == "limit") {
      auto n = query_int(v);
      if (!n || *n < 1 || static_cast<std::size_t>(*n) > max_limit)
        return std::unexpected(problem(400, "bad-request", "limit: 1.." + std::to_string(max_limit)));
      q.limit = static_cast<std::size_t>(*n);
    } else if (k == "done") {
      if (v != "true" && v != "false") return std::unexpected(problem(400, "bad-request", "done: true or false"));
      q.done = v == "true";
    } else if (k == "before") {
      auto n = query_int(v);
      if (!n || *n < 1) return std::unexpected(problem(400, "bad-request", "before: a positive entry id"));
      q.before_id = *n;
    }
  }
  return q;
}

// Runs q within what p may see, newest first; 403 when p asked for a party that is not theirs.
std::expected<std::vector<ports::StoredEntry>, HttpResponse> run(ports::JournalStore& store, const ports::JournalQuery& q,
                                                                 const Principal& p) {
  auto r = visible_entries(store, q, p.viewer());
  if (!r) {
    if (r.error().forbidden) return std::unexpected(problem(403, "forbidden", r.error().error.message()));
    return std::unexpected(from_error(r.error().error));
  }
  return std::move(*r);
}

json::value entry_json(const ports::StoredEntry& e) {
  std::error_code ec;
  auto v = json::parse(model::to_json_line(e.entry), ec);
  if (ec || !v.is_object()) return json::object{{"id", e.id}};
  auto& o = v.as_object();
  json::object out{{"id", e.id}};
  for (auto& kv : o) out[kv.key()] = std::move(kv.value());
  out["done"] = e.entry.done;
  return out;
}

bool source_name_ok(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

// PATCH body -> the update; `contacts` resolves a contact of the built-in store. Error: a 400 (or
// the store's) problem.
std::expected<ports::EntryUpdate, HttpResponse> parse_update(const json::object& body, ports::ContactStore* contacts,
                                                             const base::TenantId& tenant) {
  auto bad = [](std::string d) { return std::unexpected(problem(400, "bad-request", d)); };
  ports::EntryUpdate u;
  for (const auto& kv : body)
    if (kv.key() != "note" && kv.key() != "done" && kv.key() != "contact")
      return bad("unknown field \"" + std::string(kv.key().substr(0, 40)) + "\" (expected note, done, contact)");
  auto note = opt_string(body, "note", 4096);
  if (!note) return bad(note.error());
  u.note = *note;
  if (auto it = body.find("done"); it != body.end()) {
    if (!it->value().is_bool()) return bad("done: expected true or false");
    u.done = it->value().as_bool();
  }
  if (auto it = body.find("contact"); it != body.end()) {
    if (it->value().is_null()) {
      u.contact = std::optional<model::ContactRef>();
    } else {
      if (!it->value().is_object()) return bad("contact: expected {\"id\", \"source\"} or null");
      const auto& c = it->value().as_object();
      auto id = opt_string(c, "id", 200);
      auto source = opt_string(c, "source", 64);
      auto name = opt_string(c, "name", 200);
      auto company = opt_string(c, "company", 200);
      for (auto* f : {&id, &source, &name, &company})
        if (!*f) return bad("contact." + f->error());
      if (!*id || (*id)->empty()) return bad("contact.id: required");
      if (!*source || !source_name_ok(**source)) return bad("contact.source: required, a directory source's name");
      model::ContactRef ref{**id, name->value_or(""), company->value_or(""), **source};
      if (ref.source == "store") {
        // The built-in store's contact is looked up: its name and company are the stored ones.
        if (!contacts) return std::unexpected(problem(503, "unavailable", "no contact store"));
        std::int64_t cid = 0;
        auto [p, ec] = std::from_chars(ref.id.data(), ref.id.data() + ref.id.size(), cid);
        if (ec != std::errc() || p != ref.id.data() + ref.id.size() || cid < 1)
          return bad("contact.id: no contact " + ref.id.substr(0, 40) + " in the contact store");
        auto got = contacts->get(tenant, cid);
        if (!got) {
          if (got.error().code() == base::Errc::not_found)
            return bad("contact.id: no contact " + ref.id + " in the contact store");
          return std::unexpected(from_error(got.error()));
        }
        ref.name = got->display_name;
        ref.company = got->company;
      } else if (ref.name.empty()) {
        return bad("contact.name: required for a contact of source " + ref.source);
      }
      u.contact = std::move(ref);
    }
  }
  if (u.empty()) return bad("nothing to change: give note, done or contact");
  return u;
}

}  // namespace

void register_journal(CapabilityContext& cap) {
  HttpServer& s = cap.server;
  const std::shared_ptr<Ctx>& ctx = cap.rest;
  s.route("GET", "/api/v1/journal", authed(ctx, [ctx](const HttpRequest& req, const Principal& p) {
            if (!ctx->deps.journal) return problem(503, "unavailable", "no journal store");
            auto q = parse_filters(req, p, kMaxJsonLimit);
            if (!q) return q.error();
            auto r = run(*ctx->deps.journal, *q, p);
            if (!r) return r.error();
            json::array a;
            for (const auto& e : *r) a.push_back(entry_json(e));
            json::object o{{"entries", std::move(a)}};
            o["next_before"] = r->size() == q->limit && !r->empty() ? json::value(r->back().id) : json::value(nullptr);
            return reply(200, o);
          }, On::worker));
  s.route("GET", "/api/v1/journal.csv", authed(ctx, [ctx](const HttpRequest& req, const Principal& p) {
            if (!ctx->deps.journal) return problem(503, "unavailable", "no journal store");
            auto q = parse_filters(req, p, kMaxCsvLimit);
            if (!q) return q.error();
            if (!query_of(req).get("limit")) q->limit = kMaxCsvLimit;
            auto r = run(*ctx->deps.journal, *q, p);
            if (!r) return r.error();
            HttpResponse res;
            res.status = 200;
            res.content_type = "text/csv; charset=utf-8";
            res.body = to_csv(*r);
            res.headers.emplace_back("Content-Disposition", "attachment; filename=\"journal.csv\"");
            return res;
          }, On::worker));
  s.route("PATCH", "/api/v1/journal/*", authed(ctx, [ctx](const HttpRequest& req, const Principal& p) {
            if (!ctx->deps.journal) return problem(503, "unavailable", "no journal store");
            std::string rest;
            auto id = query_int(path_segment(req, "/api/v1/journal/", &rest));
            if (!id || *id < 1 || !rest.empty()) return problem(404, "not-found", "no journal entry at " + req.path);
            auto body = body_object(req);
            if (!body) return body.error();
            auto answer = [&]() -> HttpResponse {
              auto u = parse_update(*body, ctx->deps.contacts, p.tenant);
              if (!u) return u.error();
              auto updated = update_entry(*ctx->deps.journal, p.viewer(), *id, *u);
              if (!updated) return from_error(updated.error());
              if (!*updated) return problem(404, "not-found", "no journal entry " + std::to_string(*id));
              return reply(200, entry_json(**updated));
            }();
            // Which fields changed (a note is the user's text: its key only); the done mark as set.
            json::object details;
            json::array keys;
            for (const auto& kv : *body) keys.emplace_back(std::string(kv.key().substr(0, 40)));
            details["keys"] = std::move(keys);
            if (auto it = body->find("done"); it != body->end() && it->value().is_bool()) details["done"] = it->value();
            audit(*ctx, p, req, "journal.change", "journal:" + std::to_string(*id), answer, std::move(details));
            return answer;
          }, On::worker));
  // The caller's open missed calls (docs/api.md "Journal"): the counter of the web client.
  s.route("GET", "/api/v1/journal/missed-count", authed(ctx, [ctx](const HttpRequest& req, const Principal& p) {
            if (!ctx->deps.journal) return problem(503, "unavailable", "no journal store");
            std::optional<base::Timestamp> since;
            for (const auto& [k, v] : parse_query(req.query)) {
              if (k != "since") return problem(400, "bad-request", "unknown parameter " + k.substr(0, 40) + " (expected since)");
              since = query_time(v);
              if (!since) return problem(400, "bad-request", "since: expected RFC 3339 or epoch seconds");
            }
            auto n = open_missed(*ctx->deps.journal, p.viewer(), since);
            if (!n) return from_error(n.error());
            json::array parties;
            for (const auto& d : p.devices) parties.emplace_back(d);
            return reply(200, json::object{{"missed", *n}, {"parties", std::move(parties)}});
          }, On::worker));
}

}  // namespace callbridge::capabilities::journal
