#include "api/origin_check.hpp"

#include <algorithm>
#include <cctype>

#include "api/http_server.hpp"
#include "base/web_origin.hpp"

namespace callbridge::api {

bool origin_checked(const HttpRequest& req) {
  if (req.method != "GET" && req.method != "HEAD") return true;
  std::string up(req.header("upgrade").substr(0, 64));
  for (auto& c : up) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return up.find("websocket") != std::string::npos;
}

std::optional<std::string> origin_rejection(const HttpRequest& req, const OriginPolicy& policy) {
  const std::string_view raw = req.header("origin");
  if (raw.empty())
    return std::string("a request authenticated by the session cookie must carry an Origin header (none was sent)");
  // The origin as sent, quoted in the answer: printable ASCII only, bounded.
  std::string shown(raw.substr(0, 200));
  for (auto& c : shown)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  const auto origin = base::normalize_origin(raw);
  const auto rejected = "origin " + shown +
                        " may not use this server's session cookie (it is neither the server's own origin nor "
                        "in [server] allowed_origins)";
  if (!origin) return rejected;  // "null" (sandboxed pages, file:), garbage
  if (std::find(policy.allowed.begin(), policy.allowed.end(), *origin) != policy.allowed.end()) return std::nullopt;
  // The own origin: what the browser used to reach us, as Host says, with the scheme the
  // connection has. A DNS-rebound page has a matching Host and Origin, but the browser keys
  // cookies by host name, so it never holds our cookie under the attacker's name.
  const auto own = base::normalize_origin(std::string(req.secure ? "https://" : "http://") + std::string(req.header("host")));
  if (own && *origin == *own) return std::nullopt;
  return rejected;
}

}  // namespace callbridge::api
