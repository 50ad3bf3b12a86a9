// libFuzzer target: HTTP/1.1 requests as a client sends them on a keep-alive connection, read by
// the server's own parser and limits (api::parse_request) and routed (HttpServer::dispatch) over a
// route table shaped like callbridged's: exact and prefix routes, HEAD via GET, an async route,
// 404/405 problems, query decoding. Checks: the parser never takes more bytes than it was given,
// answers carry valid HTTP statuses, and problem+json bodies are JSON whatever the path held.
// The server is never started: no socket is opened.
#include <boost/asio/io_context.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/http_server.hpp"
#include "base/json_text.hpp"
#include "fuzz_check.hpp"

namespace api = callbridge::api;
using callbridge::fuzz::check;

namespace {

api::HttpResponse echo(const api::HttpRequest& r) {
  std::string body = "{\"path\": ";
  callbridge::base::append_json_string(body, r.path);
  body += ", \"query\": {";
  bool first = true;
  for (const auto& [k, v] : api::parse_query(r.query)) {
    body += first ? "" : ", ";
    first = false;
    callbridge::base::append_json_string(body, k);
    body += ": ";
    callbridge::base::append_json_string(body, v);
  }
  body += "}, \"auth\": ";
  callbridge::base::append_json_string(body, r.header("authorization"));
  body += "}";
  return api::HttpResponse::json(200, std::move(body));
}

const api::HttpServer& server() {
  static boost::asio::io_context io;
  static api::HttpServer* s = [] {
    auto* p = new api::HttpServer(io, api::HttpServerOptions{});
    p->route("GET", "/healthz", [](const api::HttpRequest&) { return api::HttpResponse::text(200, "ok"); });
    p->route("GET", "/api/v1/calls", api::HttpHandler(echo));
    p->route("GET", "/api/v1/journal/*", api::HttpHandler(echo));
    p->route("PATCH", "/api/v1/journal/*", api::HttpHandler(echo));
    p->route("POST", "/api/v1/contacts", api::HttpHandler(echo));
    p->route("DELETE", "/api/v1/contacts/*", api::HttpHandler(echo));
    p->route("GET", "/*", api::HttpHandler(echo));  // the web client's fallback
    p->route("POST", "/api/v1/calls/*",
             api::AsyncHttpHandler([](api::HttpRequest r, api::Respond respond) { respond(echo(r)); }));
    return p;
  }();
  return *s;
}

void check_response(const api::HttpResponse& r, bool head = false) {
  check(r.status >= 100 && r.status <= 599, "status out of range");
  if (head) {
    check(r.body.empty(), "HEAD answered with a body");
    return;
  }
  if (r.content_type == "application/problem+json" || r.content_type == "application/json")
    callbridge::fuzz::check_json_object(r.body);
}

bool mentions_transfer_encoding(std::string_view bytes) {
  static constexpr std::string_view name = "transfer-encoding";
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  for (std::size_t i = 0; i + name.size() <= bytes.size(); ++i) {
    std::size_t k = 0;
    while (k < name.size() && lower(bytes[i + k]) == name[k]) ++k;
    if (k == name.size()) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  api::HttpServerOptions limits;
  limits.max_header_bytes = 2048;
  limits.max_body_bytes = 1024;
  // Pipelined requests, as on one keep-alive connection.
  for (int i = 0; i < 8 && !rest.empty(); ++i) {
    auto p = api::parse_request(rest, limits);
    if (p.status == api::ParsedRequest::Status::need_more) break;
    if (p.status == api::ParsedRequest::Status::problem) {
      // 501: a Transfer-Encoding other than chunked (request smuggling, http_server.cpp).
      check(p.problem.status == 400 || p.problem.status == 413 || p.problem.status == 431 ||
                (p.problem.status == 501 && mentions_transfer_encoding(rest)),
            "unexpected read problem", std::to_string(p.problem.status));
      check_response(p.problem);
      break;
    }
    check(p.consumed > 0 && p.consumed <= rest.size(), "consumed outside the bytes given");
    check(p.request.body.size() <= limits.max_body_bytes, "body above the limit");
    check_response(server().dispatch(p.request), p.request.method == "HEAD");
    rest.remove_prefix(p.consumed);
  }
  return 0;
}
