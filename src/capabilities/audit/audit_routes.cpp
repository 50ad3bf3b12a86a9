// The audit capability's REST resource: GET /api/v1/audit. Parses the filters and renders JSON
// here; who reads what is audit_service's (the visibility policy: a tenant admin their tenant, the
// operator any tenant or all). Registered once on the io thread; the handler runs on a REST worker
// (the store blocks).
#include "capabilities/audit/audit_routes.hpp"

#include <algorithm>
#include <charconv>

#include "api/rest_common.hpp"
#include "capabilities/audit/audit_service.hpp"

namespace callbridge::capabilities::audit {

namespace json = boost::json;
using namespace api;
using namespace api::rest;

namespace {

constexpr std::size_t kMaxLimit = 500;
constexpr std::size_t kDefaultLimit = 100;

// "session", "token.create": lower-case letters, digits, '_' and '.'.
bool valid_kind(std::string_view k) {
  return !k.empty() && k.size() <= 64 && std::all_of(k.begin(), k.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
  });
}

// The filters; error = a 400 problem. `tenant` is only asked for here: who may read it is the
// policy's (audit_service, core::audit_query).
std::expected<ports::AuditQuery, HttpResponse> parse_filters(const HttpRequest& req) {
  ports::AuditQuery q{.tenant = std::nullopt};
  q.limit = kDefaultLimit;
  for (const auto& [k, v] : parse_query(req.query)) {
    if (k == "since" || k == "until") {
      auto t = query_time(v);
      if (!t) return std::unexpected(problem(400, "bad-request", k + ": expected RFC 3339 or epoch seconds"));
      (k == "since" ? q.since : q.until) = t;
    } else if (k == "actor") {
      if (v.empty() || v.size() > 128) return std::unexpected(problem(400, "bad-request", "actor: 1-128 characters"));
      q.actor = v;
    } else if (k == "kind") {
      if (!valid_kind(v))
        return std::unexpected(problem(400, "bad-request", "kind: an action or its kind (token, token.create), a-z 0-9 _ ."));
      q.kind = v;
    } else if (k == "limit") {
      auto n = query_int(v);
      if (!n || *n < 1 || static_cast<std::size_t>(*n) > kMaxLimit)
        return std::unexpected(problem(400, "bad-request", "limit: 1.." + std::to_string(kMaxLimit)));
      q.limit = static_cast<std::size_t>(*n);
    } else if (k == "before") {
      auto n = query_int(v);
      if (!n || *n < 1) return std::unexpected(problem(400, "bad-request", "before: a positive record id"));
      q.before_id = *n;
    } else if (k == "tenant") {
      auto t = base::TenantId::parse(v, "tenant");
      if (!t) return std::unexpected(problem(400, "bad-request", t.error().message()));
      q.tenant = *t;
    }
  }
  return q;
}

}  // namespace

void register_audit(CapabilityContext& cap) {
  HttpServer& s = cap.server;
  const std::shared_ptr<Ctx>& ctx = cap.rest;
  // anyone(): the operator too (every tenant's records); the policy refuses the rest.
  s.route("GET", "/api/v1/audit", anyone(ctx, [ctx](const HttpRequest& req, const Principal& p) {
            if (!ctx->deps.audit) return problem(503, "unavailable", "no audit log");
            auto q = parse_filters(req);
            if (!q) return q.error();
            auto r = visible_records(*ctx->deps.audit, *q, p.viewer());
            if (!r) {
              if (r.error().forbidden) return problem(403, "forbidden", r.error().error.message());
              return from_error(r.error().error);
            }
            json::array a;
            for (const auto& rec : *r) a.push_back(record_json(rec));
            json::object o{{"records", std::move(a)}};
            o["next_before"] = r->size() == q->limit && !r->empty() ? json::value(r->back().id) : json::value(nullptr);
            auto res = reply(200, o);
            res.headers.emplace_back("Cache-Control", "no-store");
            return res;
          }, On::worker));
}

}  // namespace callbridge::capabilities::audit
