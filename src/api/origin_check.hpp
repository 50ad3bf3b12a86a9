// The Origin check of requests authenticated by the browser session cookie (issue 12): a cookie is
// an ambient credential the browser attaches to requests any web page makes, so a state-changing
// request (not GET/HEAD) or a WebSocket upgrade that authenticates with it must come from a page of
// this server's own origin or of one listed in [server] allowed_origins (CSRF, cross-site WebSocket
// hijacking). Used by api/auth (Authenticator) on the io thread; pure functions over the request.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace callbridge::api {

struct HttpRequest;

struct OriginPolicy {
  // Normalised origins ("https://crm.example.com", "http://10.0.0.5:8080"; base::normalize_origin)
  // allowed besides the server's own: [server] allowed_origins.
  // Behind a TLS-terminating proxy the browser's origin is https://... while requests arrive in
  // plain HTTP: list it here.
  std::vector<std::string> allowed;
};

// Whether the request must pass the check when authenticated by cookie: a method other than GET
// and HEAD, or a WebSocket upgrade (`Upgrade: websocket`, a GET that opens a long-lived channel).
bool origin_checked(const HttpRequest& req);

// nullopt when the request's `Origin` is the server's own (scheme from the TLS state, host and
// port from `Host`) or in policy.allowed; else why not, naming the rejected origin (the 403's
// detail). A missing `Origin` is rejected: browsers send it on every such request.
std::optional<std::string> origin_rejection(const HttpRequest& req, const OriginPolicy& policy);

}  // namespace callbridge::api
