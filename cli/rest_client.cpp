#include "cli/rest_client.hpp"

#include <curl/curl.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <toml++/toml.h>

namespace callbridge::cli {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr std::size_t kMaxResponseBytes = 4 * 1024 * 1024;

std::string home_dir() {
  const char* h = std::getenv("HOME");
  return h ? h : ".";
}

size_t collect(char* data, size_t size, size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  if (out->size() + size * n > kMaxResponseBytes) return 0;  // aborts the transfer
  out->append(data, size * n);
  return size * n;
}

}  // namespace


fs::path config_home() {
  const char* x = std::getenv("XDG_CONFIG_HOME");
  return x && *x ? fs::path(x) : fs::path(home_dir()) / ".config";
}

fs::path data_home() {
  const char* x = std::getenv("XDG_DATA_HOME");
  return x && *x ? fs::path(x) : fs::path(home_dir()) / ".local" / "share";
}

std::optional<Endpoint> load_endpoint(const std::string& config_flag, std::string& error) {
  Endpoint e;
  fs::path file = config_flag.empty() ? config_home() / "callbridge" / "cli.toml" : fs::path(config_flag);
  std::error_code ec;
  if (fs::exists(file, ec)) {
    try {
      auto t = toml::parse_file(file.string());
      if (auto v = t["url"].value<std::string>()) e.url = *v;
      if (auto v = t["token"].value<std::string>()) e.token = *v;
    } catch (const toml::parse_error& pe) {
      std::ostringstream os;
      os << file.string() << ": " << pe.description() << " (line " << pe.source().begin.line << ")";
      error = os.str();
      return std::nullopt;
    }
  } else if (!config_flag.empty()) {
    error = file.string() + ": no such file";
    return std::nullopt;
  }
  if (const char* u = std::getenv("CALLBRIDGE_URL"); u && *u) e.url = u;
  if (const char* t = std::getenv("CALLBRIDGE_TOKEN"); t && *t) e.token = t;
  if (e.url.empty()) e.url = "http://127.0.0.1:8080";
  while (!e.url.empty() && e.url.back() == '/') e.url.pop_back();
  if (e.token.empty()) {
    error = "no API token: set CALLBRIDGE_TOKEN or `token = \"...\"` in " + file.string() +
            " (create one with `callbridge token create`)";
    return std::nullopt;
  }
  return e;
}


HttpResult http(const Endpoint& ep, const std::string& method, const std::string& path,
                const std::string& body) {
  HttpResult r;
  CURL* c = curl_easy_init();
  if (!c) {
    r.error = "cannot initialise libcurl";
    return r;
  }
  std::string url = ep.url + path;
  std::string auth = "Authorization: Bearer " + ep.token;
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, auth.c_str());
  headers = curl_slist_append(headers, "Accept: application/json");
  if (method != "GET") headers = curl_slist_append(headers, "Content-Type: application/json");
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method != "GET") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    r.error = *errbuf ? errbuf : curl_easy_strerror(rc);
    if (rc == CURLE_WRITE_ERROR) r.error = "response larger than 4 MiB";
  } else {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  return r;
}

std::optional<Endpoint> endpoint_or_report(const std::string& config_flag, const std::string& what) {
  std::string err;
  auto ep = load_endpoint(config_flag, err);
  if (!ep) std::fprintf(stderr, "callbridge %s: %s\n", what.c_str(), err.c_str());
  return ep;
}

std::expected<JsonList, int> get_list(const Endpoint& ep, const std::string& what, const std::string& path,
                                      std::string_view key, bool print_raw) {
  auto r = http(ep, "GET", path, "");
  if (r.status != 200) return std::unexpected(report_failure(ep, what, r));
  if (print_raw) {
    std::printf("%s\n", r.body.c_str());
    return std::unexpected(0);
  }
  boost::system::error_code ec;
  JsonList out{json::parse(r.body, ec), std::string(key)};
  if (ec || !out.doc.is_object() || !out.doc.as_object().contains(key) || !out.doc.as_object().at(key).is_array()) {
    std::fprintf(stderr, "callbridge %s: unexpected response: %s\n", what.c_str(), r.body.substr(0, 200).c_str());
    return std::unexpected(1);
  }
  return out;
}

int report_failure(const Endpoint& ep, const std::string& what, const HttpResult& r) {
  if (r.status == 0) {
    std::fprintf(stderr, "callbridge %s: cannot reach %s: %s\n", what.c_str(), ep.url.c_str(), r.error.c_str());
    return 3;
  }
  std::string msg = "HTTP " + std::to_string(r.status);
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  if (!ec && v.is_object()) {
    const auto& o = v.as_object();
    if (auto* t = o.if_contains("title"); t && t->is_string()) msg += " " + std::string(t->as_string());
    if (auto* d = o.if_contains("detail"); d && d->is_string() && !d->as_string().empty())
      msg += ": " + std::string(d->as_string());
  } else if (!r.body.empty()) {
    msg += ": " + r.body.substr(0, 200);
  }
  std::fprintf(stderr, "callbridge %s: %s\n", what.c_str(), msg.c_str());
  return 1;
}

std::string path_segment(std::string_view s) {
  std::string out;
  for (char ch : s) {
    if (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
      out.push_back(ch);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(ch));
      out += buf;
    }
  }
  return out;
}

}  // namespace callbridge::cli
