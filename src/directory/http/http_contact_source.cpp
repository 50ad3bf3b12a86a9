// The only translation unit of the HTTP source that sees Boost.Beast (compile cost, STACK.md).
#include "directory/http/http_contact_source.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <optional>

namespace callbridge::directory {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using base::Error;
using base::fail;
using Steady = std::chrono::steady_clock;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

struct ParsedUrl {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;
};

base::Result<ParsedUrl> parse_url(std::string_view u) {
  ParsedUrl p;
  if (u.rfind("https://", 0) == 0) {
    p.tls = true;
    u.remove_prefix(8);
  } else if (u.rfind("http://", 0) == 0) {
    u.remove_prefix(7);
  } else {
    return fail(Error::invalid_argument("http source: URL must start with http:// or https://"));
  }
  std::size_t end = u.find_first_of("/?");
  std::string_view authority = u.substr(0, end);
  p.target = end == std::string_view::npos ? "/" : std::string(u.substr(end));
  if (!p.target.empty() && p.target[0] == '?') p.target = "/" + p.target;
  if (authority.find('@') != std::string_view::npos)
    return fail(Error::invalid_argument("http source: credentials in the URL are not supported; use a header"));
  std::string_view host = authority;
  std::string_view port;
  if (!host.empty() && host[0] == '[') {
    auto close = host.find(']');
    if (close == std::string_view::npos) return fail(Error::invalid_argument("http source: bad IPv6 host"));
    port = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!port.empty()) {
      if (port[0] != ':') return fail(Error::invalid_argument("http source: bad host"));
      port.remove_prefix(1);
    }
  } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (host.empty()) return fail(Error::invalid_argument("http source: URL has no host"));
  for (char c : port)
    if (c < '0' || c > '9') return fail(Error::invalid_argument("http source: bad port"));
  p.host = std::string(host);
  p.port = port.empty() ? (p.tls ? "443" : "80") : std::string(port);
  for (char c : p.target)
    if (static_cast<unsigned char>(c) <= ' ') return fail(Error::invalid_argument("http source: space in URL"));
  return p;
}

std::string replace_all(std::string s, std::string_view what, std::string_view with) {
  for (std::size_t pos = 0; (pos = s.find(what, pos)) != std::string::npos; pos += with.size())
    s.replace(pos, what.size(), with);
  return s;
}

std::string percent_encode(std::string_view v) {
  static const char* hex = "0123456789ABCDEF";
  std::string o;
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      o.push_back(c);
    } else {
      o.push_back('%');
      o.push_back(hex[u >> 4]);
      o.push_back(hex[u & 0xF]);
    }
  }
  return o;
}

base::Error net_error(const std::string& what, const boost::system::error_code& ec) {
  if (ec == beast::error::timeout || ec == asio::error::operation_aborted)
    return Error::timeout("http source: " + what + " timed out");
  if (ec == bhttp::error::body_limit) return Error::protocol("http source: response body over the limit");
  if (ec == bhttp::error::header_limit) return Error::protocol("http source: response header over the limit");
  if (ec.category() == asio::error::get_ssl_category())
    return Error::unavailable("http source: TLS " + what + ": " + ec.message());
  return Error::unavailable("http source: " + what + ": " + ec.message());
}

struct Fetched {
  unsigned status = 0;
  std::string body;
};

template <class Stream>
asio::awaitable<base::Result<Fetched>> exchange(Stream& s, const bhttp::request<bhttp::empty_body>& req,
                                                std::size_t body_limit) {
  auto [wec, wn] = co_await bhttp::async_write(s, req, kTuple);
  if (wec) co_return fail(net_error("write", wec));
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(body_limit);
  parser.header_limit(16 * 1024);
  auto [rec, rn] = co_await bhttp::async_read(s, buf, parser, kTuple);
  if (rec) co_return fail(net_error("read", rec));
  co_return Fetched{parser.get().result_int(), std::move(parser.get().body())};
}

asio::awaitable<base::Result<Fetched>> fetch(ParsedUrl url, const HttpSourceOptions* opts, ssl::context* tls,
                                             Steady::time_point deadline) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  auto [rec, eps] = co_await resolver.async_resolve(url.host, url.port, kTuple);
  if (rec) co_return fail(net_error("resolve " + url.host, rec));
  beast::tcp_stream stream(ex);
  stream.expires_at(deadline);
  auto [cec, ep] = co_await stream.async_connect(eps, kTuple);
  if (cec) co_return fail(net_error("connect to " + url.host + ":" + url.port, cec));

  bhttp::request<bhttp::empty_body> req{bhttp::verb::get, url.target, 11};
  bool default_port = url.port == (url.tls ? "443" : "80");
  req.set(bhttp::field::host, default_port ? url.host : url.host + ":" + url.port);
  req.set(bhttp::field::user_agent, "callbridge");
  req.set(bhttp::field::accept, "application/json");
  req.set(bhttp::field::connection, "close");
  for (const auto& [k, v] : opts->headers) req.set(k, v);

  if (!tls) co_return co_await exchange(stream, req, opts->max_body_bytes);
  beast::ssl_stream<beast::tcp_stream> s(std::move(stream), *tls);
  if (!SSL_set_tlsext_host_name(s.native_handle(), url.host.c_str()))
    co_return fail(Error::internal("http source: cannot set TLS SNI"));
  if (opts->tls_verify) s.set_verify_callback(ssl::host_name_verification(url.host));
  auto [hec] = co_await s.async_handshake(ssl::stream_base::client, kTuple);
  if (hec) co_return fail(net_error("handshake with " + url.host, hec));
  co_return co_await exchange(s, req, opts->max_body_bytes);
}

const json::value* at_path(const json::value& root, std::string_view path) {
  const json::value* v = &root;
  while (!path.empty()) {
    auto dot = path.find('.');
    std::string_view key = path.substr(0, dot);
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    if (v->is_object()) {
      v = v->as_object().if_contains(key);
    } else if (v->is_array()) {
      std::size_t i = 0;
      for (char c : key) {
        if (c < '0' || c > '9') return nullptr;
        i = i * 10 + static_cast<std::size_t>(c - '0');
      }
      v = i < v->as_array().size() ? &v->as_array()[i] : nullptr;
    } else {
      return nullptr;
    }
    if (!v) return nullptr;
  }
  return v;
}

std::string text_at(const json::value& obj, const std::string& path) {
  if (path.empty()) return {};
  const json::value* v = at_path(obj, path);
  if (!v) return {};
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_int64()) return std::to_string(v->as_int64());
  if (v->is_uint64()) return std::to_string(v->as_uint64());
  if (v->is_bool()) return v->as_bool() ? "true" : "false";
  if (v->is_double()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.15g", v->as_double());
    return buf;
  }
  return {};
}

}  // namespace

struct HttpContactSource::Impl {
  std::unique_ptr<ssl::context> tls;
};

HttpContactSource::HttpContactSource(HttpSourceOptions opts, std::unique_ptr<Impl> impl)
    : opts_(std::move(opts)), impl_(std::move(impl)) {}
HttpContactSource::~HttpContactSource() = default;

std::string HttpContactSource::url_for(const std::string& e164) const {
  std::string digits = !e164.empty() && e164[0] == '+' ? e164.substr(1) : e164;
  return replace_all(replace_all(opts_.url_template, "{e164}", percent_encode(e164)), "{digits}",
                     percent_encode(digits));
}

std::string HttpContactSource::search_url_for(const std::string& text, std::size_t limit) const {
  return replace_all(replace_all(opts_.search_url_template, "{text}", percent_encode(text)), "{limit}",
                     std::to_string(limit));
}

base::Result<std::unique_ptr<HttpContactSource>> HttpContactSource::create(HttpSourceOptions opts) {
  if (opts.url_template.find("{e164}") == std::string::npos && opts.url_template.find("{digits}") == std::string::npos)
    return fail(Error::invalid_argument("http source: url template needs {e164} or {digits}"));
  if (!opts.search_url_template.empty()) {
    if (opts.search_url_template.find("{text}") == std::string::npos)
      return fail(Error::invalid_argument("http source: search url needs {text}"));
    auto su = parse_url(replace_all(opts.search_url_template, "{text}", "x"));
    if (!su) return fail(su.error());
    auto lu = parse_url(replace_all(replace_all(opts.url_template, "{e164}", "x"), "{digits}", "x"));
    // One TLS context serves both: the search URL may not switch between http and https.
    if (lu && su->tls != lu->tls)
      return fail(Error::invalid_argument("http source: search url and url must both be http:// or both https://"));
  }
  if (opts.name_field.empty()) return fail(Error::invalid_argument("http source: name_field is required"));
  for (const auto& [k, v] : opts.headers) {
    auto bad = [](const std::string& s) { return s.find_first_of("\r\n") != std::string::npos; };
    if (k.empty() || bad(k) || bad(v) || k.find(':') != std::string::npos)
      return fail(Error::invalid_argument("http source: bad header '" + k + "'"));
  }
  auto impl = std::make_unique<Impl>();
  std::unique_ptr<HttpContactSource> src(new HttpContactSource(std::move(opts), std::move(impl)));
  auto url = parse_url(src->url_for("+10000000000"));
  if (!url) return fail(url.error());
  if (url->tls) {
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
    boost::system::error_code ec;
    if (!src->opts_.tls_verify) {
      ctx->set_verify_mode(ssl::verify_none);
    } else {
      ctx->set_verify_mode(ssl::verify_peer, ec);
      if (src->opts_.ca_file.empty())
        ctx->set_default_verify_paths(ec);
      else
        ctx->load_verify_file(src->opts_.ca_file, ec);
      if (ec)
        return fail(Error::invalid_argument("http source: CA file '" + src->opts_.ca_file + "': " + ec.message()));
    }
    src->impl_->tls = std::move(ctx);
  }
  return src;
}

base::Result<std::vector<ports::ContactMatch>> parse_crm_json(std::string_view body, const HttpSourceOptions& opts,
                                                              const std::string& e164) {
  boost::system::error_code ec;
  json::value root = json::parse(body, ec);
  if (ec) return fail(Error::protocol("http source: response is not JSON: " + ec.message()));
  const json::value* results = opts.results_path.empty() ? &root : at_path(root, opts.results_path);
  std::vector<ports::ContactMatch> out;
  if (!results || results->is_null()) return out;
  std::vector<const json::value*> items;
  if (results->is_array()) {
    for (const auto& v : results->as_array()) items.push_back(&v);
  } else if (results->is_object()) {
    items.push_back(results);
  } else {
    return fail(Error::protocol("http source: '" + opts.results_path + "' is neither an array nor an object"));
  }
  for (const auto* item : items) {
    if (out.size() >= opts.max_results) break;
    if (!item->is_object()) return fail(Error::protocol("http source: a result is not a JSON object"));
    ports::ContactMatch m;
    m.source = opts.name;
    m.priority = opts.priority;
    m.display_name = text_at(*item, opts.name_field);
    if (m.display_name.empty()) continue;  // nothing a phone could show
    m.contact_id = text_at(*item, opts.id_field);
    m.company = text_at(*item, opts.company_field);
    m.label = text_at(*item, opts.label_field);
    std::string kind = text_at(*item, opts.kind_field);
    if (kind == "company" || kind == "organization" || kind == "organisation" || kind == "account")
      m.kind = ports::ContactKind::company;
    m.matched_number = e164;
    if (m.display_name.size() > 4096 || m.company.size() > 4096 || m.contact_id.size() > 1024)
      return fail(Error::protocol("http source: a result field is too long"));
    out.push_back(std::move(m));
  }
  return out;
}

namespace {

// A number as the CRM wrote it -> E.164: the tenant's plan, else only "+<digits>" (separators
// dropped).
std::string e164_of(const std::string& raw, const HttpSourceOptions& opts) {
  if (opts.to_e164) return opts.to_e164(raw).value_or("");
  std::string out;
  for (char c : raw) {
    if (c == '+' && out.empty()) out += c;
    else if (c >= '0' && c <= '9') out += c;
    else if (c == ' ' || c == '-' || c == '/' || c == '(' || c == ')' || c == '.') continue;
    else return {};
  }
  return out.size() > 1 && out[0] == '+' ? out : std::string();
}

}  // namespace

base::Result<std::vector<ports::ContactHit>> parse_crm_search_json(std::string_view body, const HttpSourceOptions& opts,
                                                                   std::size_t limit) {
  // The contact fields exactly as a lookup reads them; the numbers on top.
  auto matches = parse_crm_json(body, opts, "");
  if (!matches) return fail(matches.error());
  boost::system::error_code ec;
  json::value root = json::parse(body, ec);  // parsed fine above
  const json::value* results = opts.results_path.empty() ? &root : at_path(root, opts.results_path);
  std::vector<const json::value*> items;
  if (results && results->is_array()) {
    for (const auto& v : results->as_array()) items.push_back(&v);
  } else if (results && results->is_object()) {
    items.push_back(results);
  }
  std::vector<ports::ContactHit> out;
  std::size_t m = 0;
  for (const auto* item : items) {
    if (out.size() >= std::min(limit, opts.max_results) || m >= matches->size()) break;
    if (text_at(*item, opts.name_field).empty()) continue;  // skipped by parse_crm_json as well
    auto& match = (*matches)[m++];
    ports::ContactHit h;
    h.source = std::move(match.source);
    h.priority = match.priority;
    h.contact_id = std::move(match.contact_id);
    h.kind = match.kind;
    h.display_name = std::move(match.display_name);
    h.company = std::move(match.company);
    const json::value* nums = opts.numbers_field.empty() ? nullptr : at_path(*item, opts.numbers_field);
    auto add = [&](std::string raw, std::string label) {
      if (raw.empty() || raw.size() > 64 || label.size() > 256 || h.numbers.size() >= 20) return;
      h.numbers.push_back(ports::PhoneNumber{std::move(label), raw, e164_of(raw, opts)});
    };
    if (nums && nums->is_string()) {
      add(std::string(nums->as_string()), "");
    } else if (nums && nums->is_array()) {
      for (const auto& n : nums->as_array()) {
        if (n.is_string()) add(std::string(n.as_string()), "");
        else if (n.is_object()) add(text_at(n, opts.number_field), text_at(n, opts.number_label_field));
      }
    }
    out.push_back(std::move(h));
  }
  return out;
}

namespace {

// One GET within the source's timeout and the caller's deadline: the status and body.
base::Result<Fetched> get_once(const ParsedUrl& url, const HttpSourceOptions& opts, ssl::context* tls,
                               Steady::time_point caller_deadline) {
  auto deadline = Steady::now() + opts.timeout;
  if (caller_deadline != Steady::time_point{} && caller_deadline < deadline) deadline = caller_deadline;
  if (Steady::now() >= deadline) return fail(Error::timeout("http source: deadline passed"));
  asio::io_context ioc(1);
  std::optional<base::Result<Fetched>> result;
  asio::co_spawn(ioc, fetch(url, &opts, tls, deadline), [&](std::exception_ptr e, base::Result<Fetched> r) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        result = fail(Error::internal(std::string("http source: ") + ex.what()));
      }
    } else {
      result = std::move(r);
    }
  });
  // The stream's expiry ends connect/read/write; this also bounds name resolution.
  ioc.run_until(deadline + std::chrono::milliseconds(50));
  if (!result) {
    ioc.stop();
    return fail(Error::timeout("http source: no answer from " + url.host + " in time"));
  }
  return std::move(*result);
}

}  // namespace

base::Result<std::vector<ports::ContactHit>> HttpContactSource::search(const ports::SearchQuery& q) {
  if (opts_.search_url_template.empty()) return std::vector<ports::ContactHit>{};
  auto url = parse_url(search_url_for(q.text, q.limit));
  if (!url) return fail(url.error());
  auto f = get_once(*url, opts_, impl_->tls.get(), q.deadline);
  if (!f) return fail(f.error());
  if (f->status == 404 || f->status == 204) return std::vector<ports::ContactHit>{};
  if (f->status != 200)
    return fail(Error::unavailable("http source: " + url->host + " answered HTTP " + std::to_string(f->status)));
  return parse_crm_search_json(f->body, opts_, q.limit);
}

base::Result<std::vector<ports::ContactMatch>> HttpContactSource::lookup(const ports::LookupQuery& q) {
  auto url = parse_url(url_for(q.e164));
  if (!url) return fail(url.error());
  auto f = get_once(*url, opts_, impl_->tls.get(), q.deadline);
  if (!f) return fail(f.error());
  if (f->status == 404 || f->status == 204) return std::vector<ports::ContactMatch>{};
  if (f->status != 200)
    return fail(Error::unavailable("http source: " + url->host + " answered HTTP " + std::to_string(f->status)));
  return parse_crm_json(f->body, opts_, q.e164);
}

}  // namespace callbridge::directory
