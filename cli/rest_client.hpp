// The CLI's client of a running callbridged (HTTP API, docs/api.md): where the server is and which
// token to send ($CALLBRIDGE_URL / $CALLBRIDGE_TOKEN, else ~/.config/callbridge/cli.toml with
// `url = "http://127.0.0.1:8080"` and `token = "cbt_..."`), one request at a time over libcurl,
// and the error report. Used by the commands that speak the REST API (dial, calls, hangup,
// tenant). Single-threaded.
#pragma once

#include <boost/json/value.hpp>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace callbridge::cli {

struct Endpoint {
  std::string url;    // no trailing '/'
  std::string token;
};

std::filesystem::path config_home();  // $XDG_CONFIG_HOME or ~/.config
std::filesystem::path data_home();    // $XDG_DATA_HOME or ~/.local/share

// Env first, then the file (`config_flag`, else ~/.config/callbridge/cli.toml); a clear error
// naming both when something is missing.
std::optional<Endpoint> load_endpoint(const std::string& config_flag, std::string& error);

struct HttpResult {
  long status = 0;
  std::string body;
  std::string error;  // transport error (status 0)
};

// One request (bearer token, JSON body unless GET); responses are limited to 4 MiB.
HttpResult http(const Endpoint& ep, const std::string& method, const std::string& path, const std::string& body);

// load_endpoint, printing "callbridge WHAT: <why>" when it fails (then exit with 2).
std::optional<Endpoint> endpoint_or_report(const std::string& config_flag, const std::string& what);

// A JSON object answer holding an array under `key` ({"devices": [...]}).
struct JsonList {
  boost::json::value doc;
  std::string key;
  const boost::json::object& object() const { return doc.as_object(); }
  const boost::json::array& items() const { return doc.as_object().at(key).as_array(); }
};

// GET `path` and its array under `key`. Or the exit code, all said already: with `print_raw`
// (--json) the body printed as it came (0); the failure reported (report_failure); an answer
// without the array reported as "unexpected response" (1).
std::expected<JsonList, int> get_list(const Endpoint& ep, const std::string& what, const std::string& path,
                                      std::string_view key, bool print_raw);

// Prints "callbridge WHAT: HTTP 403 Forbidden: detail" (problem+json title/detail when present) or
// the transport error; returns the exit code (3 = server not reachable, else 1).
int report_failure(const Endpoint& ep, const std::string& what, const HttpResult& r);

// A URL path segment: everything but unreserved characters percent-encoded.
std::string path_segment(std::string_view s);

}  // namespace callbridge::cli
