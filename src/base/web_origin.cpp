#include "base/web_origin.hpp"

#include <algorithm>
#include <cctype>

namespace callbridge::base {

std::expected<std::string, std::string> normalize_origin(std::string_view text) {
  if (text.size() > 300) return std::unexpected("longer than 300 characters");
  std::string t(text);
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto sep = t.find("://");
  if (sep == std::string::npos) return std::unexpected("expected scheme://host[:port], e.g. \"https://crm.example.com\"");
  const std::string scheme = t.substr(0, sep);
  if (scheme != "http" && scheme != "https") return std::unexpected("the scheme must be http or https");
  std::string_view a = std::string_view(t).substr(sep + 3);
  if (a.find_first_of("/?#@ ") != std::string_view::npos)
    return std::unexpected("an origin has no path, query, user or trailing slash (scheme://host[:port])");
  std::string host, port;
  bool has_port = false;
  if (a.starts_with('[')) {  // [IPv6]
    const auto close = a.find(']');
    if (close == std::string_view::npos || close < 3) return std::unexpected("not a host[:port]");
    host = std::string(a.substr(0, close + 1));
    if (!std::all_of(host.begin() + 1, host.end() - 1,
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.'; }))
      return std::unexpected("not a host[:port]");
    a.remove_prefix(close + 1);
    if (!a.empty()) {
      if (a.front() != ':') return std::unexpected("not a host[:port]");
      has_port = true;
      port = std::string(a.substr(1));
    }
  } else {
    const auto colon = a.find(':');
    host = std::string(a.substr(0, colon));
    if (colon != std::string_view::npos) {
      has_port = true;
      port = std::string(a.substr(colon + 1));
    }
    if (host.empty() || !std::all_of(host.begin(), host.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
        }))
      return std::unexpected("not a host[:port]");
  }
  if (has_port && (port.empty() || port.size() > 5 ||
                   !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
                   std::stoi(port) > 65535 || std::stoi(port) == 0))
    return std::unexpected("the port must be 1..65535");
  if (has_port) port = std::to_string(std::stoi(port));  // "0080" -> "80": equal origins, equal text
  if ((scheme == "http" && port == "80") || (scheme == "https" && port == "443")) port.clear();
  return scheme + "://" + host + (port.empty() ? std::string() : ":" + port);
}

}  // namespace callbridge::base
