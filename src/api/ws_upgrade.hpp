// The handshake of the event stream (GET /api/v1/events, RFC 6455 4.2): checks the upgrade
// headers, and once the request is authenticated, turns its query (scope, since) and the principal
// into a hub subscription or a problem. No I/O, no state: api/ws_event_stream calls it on the io
// thread (authentication itself runs in the PrincipalResolver, off the io thread when it blocks).
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "api/http_server.hpp"
#include "api/principal.hpp"
#include "core/event_hub.hpp"
#include "core/visibility.hpp"
#include "ports/identity_store.hpp"

namespace callbridge::api::ws {

// The users of a tenant (identity store); blocking, called on the io thread for scope=team only.
using TenantUsers = std::function<base::Result<std::vector<ports::User>>(const base::TenantId& tenant)>;

struct Subscription {
  base::TenantId tenant;  // the principal's
  core::EventFilter filter{};
  std::optional<std::uint64_t> since{};
  std::string accept{};  // Sec-WebSocket-Accept
};

// 426/400 when the request is no valid WebSocket handshake; nullopt when it is.
std::optional<HttpResponse> check_handshake(const HttpRequest& req);
// 401/429/503 problem (with Retry-After when the failure names one).
HttpResponse auth_problem(const AuthFailure& f);
// The subscription of an authenticated handshake, or a 400/403 problem: what it sees is the
// visibility policy's core::event_filter(). `tenant_users` (may be unset) gives the team for
// scope=team.
std::expected<Subscription, HttpResponse> subscription_for(const HttpRequest& req, const Principal& who,
                                                           const TenantUsers& tenant_users);
// The 101 answer's headers.
HttpResponse switching_protocols(const Subscription& s);

}  // namespace callbridge::api::ws
