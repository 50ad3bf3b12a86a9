// The journal capability's REST resources: GET /api/v1/journal (+ .csv), PATCH /api/v1/journal/{id}
// (note). Parses filters and renders JSON here; what a caller sees is journal_service's (the
// visibility policy: the tenant always the principal's, users only entries whose party is one of
// their extensions). Registered once on the io thread; every handler runs on a REST worker.
#include "capabilities/journal/journal_routes.hpp"

#include <algorithm>
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
  return out;
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
            auto note = opt_string(*body, "note", 4096);
            if (!note) return problem(400, "bad-request", note.error());
            if (!*note) return problem(400, "bad-request", "note: required");
            auto updated = set_note(*ctx->deps.journal, p.viewer(), *id, **note);
            if (!updated) return from_error(updated.error());
            if (!*updated) return problem(404, "not-found", "no journal entry " + std::to_string(*id));
            return reply(200, entry_json(**updated));
          }, On::worker));
}

}  // namespace callbridge::capabilities::journal
