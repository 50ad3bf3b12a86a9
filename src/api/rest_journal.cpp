// REST: GET /api/v1/journal (+ .csv), PATCH /api/v1/journal/{id} (note). What a caller sees is the
// visibility policy's (core/visibility.hpp: journal_queries(), find_journal_entry()): the tenant
// always the principal's, users only entries whose party is one of their extensions.
#include <algorithm>
#include <charconv>

#include "api/rest_common.hpp"
#include "base/csv_text.hpp"

namespace callbridge::api::rest {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxJsonLimit = 500;
constexpr std::size_t kMaxCsvLimit = 10'000;

std::optional<std::int64_t> to_int(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<base::Timestamp> to_time(std::string_view s) {
  if (auto t = base::parse_rfc3339(s)) return t;
  if (auto t = base::parse_epoch_seconds(s)) return t;
  return std::nullopt;
}

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
      auto t = to_time(v);
      if (!t) return std::unexpected(problem(400, "bad-request", k + ": expected RFC 3339 or epoch seconds"));
      (k == "since" ? q.since : q.until) = t;
    } else if (k == "q" || k == "text") {
      if (v.size() > 200) return std::unexpected(problem(400, "bad-request", "q: at most 200 characters"));
      if (!v.empty()) q.text = v;
    } else if (k == "limit") {
      auto n = to_int(v);
      if (!n || *n < 1 || static_cast<std::size_t>(*n) > max_limit)
        return std::unexpected(problem(400, "bad-request", "limit: 1.." + std::to_string(max_limit)));
      q.limit = static_cast<std::size_t>(*n);
    } else if (k == "before") {
      auto n = to_int(v);
      if (!n || *n < 1) return std::unexpected(problem(400, "bad-request", "before: a positive entry id"));
      q.before_id = *n;
    }
  }
  return q;
}

// Runs q within what p may see, newest first; 403 when p asked for a party that is not theirs.
std::expected<std::vector<ports::StoredEntry>, HttpResponse> run(ports::JournalStore& store, const ports::JournalQuery& q,
                                                                 const Principal& p) {
  auto queries = core::journal_queries(p.viewer(), q);
  if (!queries) return std::unexpected(problem(403, "forbidden", queries.error()));
  auto r = core::run_journal_queries(store, *queries, q.limit);
  if (!r) return std::unexpected(from_error(r.error()));
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

std::string fmt1(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// "answered_at ended_at": the estimated fields, space-separated (docs/journal.md).
std::string estimated_list(std::uint8_t bits) {
  std::string out;
  for (auto n : model::estimated_names(bits)) {
    if (!out.empty()) out += ' ';
    out += n;
  }
  return out;
}

std::string to_csv(const std::vector<ports::StoredEntry>& entries) {
  std::string out =
      "id,call_id,party,direction,remote,remote_name,disposition,started_at,answered_at,ended_at,ring_s,talk_s,"
      "hold_s,transferred_to,transferred_from,contact,note,estimated\r\n";
  for (const auto& se : entries) {
    const auto& e = se.entry;
    std::vector<std::string> f{std::to_string(se.id),
                               e.call_id,
                               e.party,
                               std::string(model::to_string(e.direction)),
                               e.remote_withheld ? "withheld" : e.remote.value_or(""),
                               e.remote_name.value_or(""),
                               std::string(model::to_string(e.disposition)),
                               base::format_rfc3339_ms(e.started_at),
                               e.answered_at ? base::format_rfc3339_ms(*e.answered_at) : "",
                               base::format_rfc3339_ms(e.ended_at),
                               fmt1(e.ring_s()),
                               fmt1(e.talk_s()),
                               fmt1(e.hold_s),
                               e.transferred_to.value_or(""),
                               e.transferred_from.value_or(""),
                               e.contact ? e.contact->name : "",
                               e.note,
                               estimated_list(e.estimated)};
    out += base::csv_record(f);  // formula-safe (shared with `callbridge journal --format csv`)
    out += "\r\n";
  }
  return out;
}

}  // namespace

void add_journal_routes(HttpServer& s, const std::shared_ptr<Ctx>& ctx) {
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
            auto id = to_int(path_segment(req, "/api/v1/journal/", &rest));
            if (!id || *id < 1 || !rest.empty()) return problem(404, "not-found", "no journal entry at " + req.path);
            auto body = body_object(req);
            if (!body) return body.error();
            auto note = opt_string(*body, "note", 4096);
            if (!note) return problem(400, "bad-request", note.error());
            if (!*note) return problem(400, "bad-request", "note: required");
            auto found = core::find_journal_entry(*ctx->deps.journal, p.viewer(), *id);
            if (!found) return from_error(found.error());
            if (!*found) return problem(404, "not-found", "no journal entry " + std::to_string(*id));
            if (auto st = ctx->deps.journal->set_note(p.tenant, *id, **note); !st) return from_error(st.error());
            (*found)->entry.note = **note;
            return reply(200, entry_json(**found));
          }, On::worker));
}

}  // namespace callbridge::api::rest
