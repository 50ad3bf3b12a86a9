#include "api/ws_upgrade.hpp"

#include <algorithm>

#include "api/ws_frames.hpp"

namespace callbridge::api::ws {

std::optional<HttpResponse> check_handshake(const HttpRequest& req) {
  if (!header_has_token(req.header("upgrade"), "websocket"))
    return HttpResponse::problem(426, "Upgrade Required", "this resource is a WebSocket (Upgrade: websocket)");
  if (req.header("sec-websocket-version") != "13") {
    auto r = HttpResponse::problem(426, "Upgrade Required", "WebSocket version 13 is required");
    r.headers.emplace_back("Sec-WebSocket-Version", "13");
    return r;
  }
  const auto key = req.header("sec-websocket-key");
  if (key.empty() || key.size() > 64) return HttpResponse::problem(400, "Bad Request", "Sec-WebSocket-Key is missing");
  return std::nullopt;
}

HttpResponse auth_problem(const AuthFailure& f) {
  const char* title = f.status == 429   ? "Too Many Requests"
                      : f.status == 503 ? "Service Unavailable"
                      : f.status == 403 ? "Forbidden"  // a session cookie from another origin
                                        : "Unauthorized";
  auto r = HttpResponse::problem(f.status, title, f.detail);
  if (f.retry_after_s > 0) r.headers.emplace_back("Retry-After", std::to_string(f.retry_after_s));
  return r;
}

std::expected<Subscription, HttpResponse> subscription_for(const HttpRequest& req, const Principal& who,
                                                           const TenantUsers& tenant_users) {
  Subscription s{.tenant = who.tenant};
  core::EventScope scope = core::EventScope::own;
  for (const auto& [k, v] : parse_query(req.query)) {
    if (k == "scope") {
      if (v == "own") scope = core::EventScope::own;
      else if (v == "team") scope = core::EventScope::team;
      else if (v == "tenant") scope = core::EventScope::tenant;
      else return std::unexpected(HttpResponse::problem(400, "Bad Request", "scope must be own, team or tenant"));
    } else if (k == "since") {
      std::uint64_t n = 0;
      if (v.empty() || v.size() > 19 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::unexpected(HttpResponse::problem(400, "Bad Request", "since must be a sequence number"));
      for (char c : v) n = n * 10 + static_cast<std::uint64_t>(c - '0');
      s.since = n;
    }
  }
  if (who.is_operator())  // operators manage tenants; no tenant's events are theirs
    return std::unexpected(HttpResponse::problem(403, "Forbidden", "operators do not receive a tenant's events"));
  const core::Viewer viewer = who.viewer();
  std::vector<std::string> team;
  if (scope == core::EventScope::team && !viewer.team.empty() && tenant_users) {
    if (auto users = tenant_users(viewer.tenant)) team = core::team_extensions(viewer, *users);
  }
  auto filter = core::event_filter(viewer, scope, std::move(team));
  if (!filter) return std::unexpected(HttpResponse::problem(403, "Forbidden", filter.error()));
  s.filter = std::move(*filter);
  s.accept = accept_key(req.header("sec-websocket-key"));
  return s;
}

HttpResponse switching_protocols(const Subscription& s) {
  HttpResponse r;
  r.status = 101;
  r.headers = {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}, {"Sec-WebSocket-Accept", s.accept}};
  return r;
}

}  // namespace callbridge::api::ws
