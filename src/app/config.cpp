#include "app/config.hpp"

#include "app/config_tables.hpp"
#include "base/device_name.hpp"
#include "core/any_device.hpp"
#include "base/tenant_id.hpp"
#include "base/web_origin.hpp"
#include "relay/wire/control.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <toml++/toml.h>

namespace callbridge::app {

using base::Error;
using base::fail;
using base::Result;
using base::Status;

namespace {

constexpr std::size_t kMaxConfigBytes = 1 << 20;

std::string quote(std::string_view s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      o += '?';
      continue;
    }
    o += c;
  }
  return o + "\"";
}

// What a value is, for "expected X, got Y".
std::string describe(const toml::node& n) {
  if (auto s = n.as_string()) return quote(s->get());
  if (auto i = n.as_integer()) return std::to_string(i->get());
  if (auto f = n.as_floating_point()) {
    std::ostringstream o;
    o << f->get();
    return o.str();
  }
  if (auto b = n.as_boolean()) return b->get() ? "true" : "false";
  if (n.is_array()) return "an array";
  if (n.is_table()) return "a table";
  return "a date/time";
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Reads one TOML table: every getter records the key as known; finish() rejects the rest.
class TableReader {
 public:
  TableReader(const toml::table& t, std::string path, std::string_view source)
      : t_(t), path_(std::move(path)), source_(source) {}

  std::string key_path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  Error bad(std::string_view key, const toml::node& n, std::string_view expected) const {
    return Error::invalid_argument(key_path(key) + ": expected " + std::string(expected) + ", got " +
                                   describe(n) + where(n));
  }

  const toml::node* get(std::string_view key) {
    known_.insert(std::string(key));
    return t_.get(key);
  }

  Status string(std::string_view key, std::string& out, bool non_empty = false) {
    auto* n = get(key);
    if (!n) return {};
    auto s = n->as_string();
    if (!s || (non_empty && s->get().empty()))
      return fail(bad(key, *n, non_empty ? "a non-empty string" : "a string"));
    out = s->get();
    return {};
  }

  Status digits(std::string_view key, std::string& out, bool allow_plus = false) {
    auto* n = get(key);
    if (!n) return {};
    auto s = n->as_string();
    std::string v = s ? s->get() : std::string();
    if (allow_plus && !v.empty() && v.front() == '+') v.erase(0, 1);
    if (!s || !all_digits(v) || v.size() > 15)
      return fail(bad(key, *n, "a string of digits (e.g. \"49\")"));
    out = v;
    return {};
  }

  Status boolean(std::string_view key, bool& out) {
    auto* n = get(key);
    if (!n) return {};
    auto b = n->as_boolean();
    if (!b) return fail(bad(key, *n, "true or false"));
    out = b->get();
    return {};
  }

  template <typename Int>
  Status integer(std::string_view key, Int& out, std::int64_t min, std::int64_t max,
                 std::string_view expected) {
    auto* n = get(key);
    if (!n) return {};
    auto i = n->as_integer();
    if (!i || i->get() < min || i->get() > max) return fail(bad(key, *n, expected));
    out = static_cast<Int>(i->get());
    return {};
  }

  Status one_of(std::string_view key, std::string& out, std::initializer_list<std::string_view> allowed) {
    auto* n = get(key);
    if (!n) return {};
    auto s = n->as_string();
    if (s && std::find(allowed.begin(), allowed.end(), s->get()) != allowed.end()) {
      out = s->get();
      return {};
    }
    std::string list;
    for (auto a : allowed) list += (list.empty() ? "" : " or ") + quote(a);
    return fail(bad(key, *n, list));
  }

  Status string_list(std::string_view key, std::vector<std::string>& out) {
    auto* n = get(key);
    if (!n) return {};
    auto arr = n->as_array();
    if (!arr) return fail(bad(key, *n, "an array of strings"));
    out.clear();
    for (std::size_t i = 0; i < arr->size(); ++i) {
      auto s = (*arr)[i].as_string();
      if (!s || s->get().empty())
        return fail(Error::invalid_argument(key_path(key) + "[" + std::to_string(i) +
                                            "]: expected a non-empty string, got " +
                                            describe((*arr)[i]) + where((*arr)[i])));
      out.push_back(s->get());
    }
    return {};
  }

  // A sub-table key (e.g. "dialing"): nullptr when absent; error when not a table.
  Result<const toml::table*> table(std::string_view key) {
    auto* n = get(key);
    if (!n) return nullptr;
    if (!n->is_table()) return fail(bad(key, *n, "a table"));
    return n->as_table();
  }

  Status finish() const {
    for (auto&& [k, v] : t_) {
      if (known_.count(std::string(k.str()))) continue;
      std::string msg = key_path(k.str()) + ": unknown key";
      std::string best;
      std::size_t best_d = 3;
      for (auto& known : known_) {
        auto d = edit_distance(k.str(), known);
        if (d < best_d) best_d = d, best = known;
      }
      if (!best.empty()) msg += " (did you mean " + quote(best) + "?)";
      return fail(Error::invalid_argument(msg + where(v)));
    }
    return {};
  }

  std::string_view source() const { return source_; }

  std::string where(const toml::node& n) const {
    auto line = n.source().begin.line;
    if (line == 0) return "";
    return " (" + std::string(source_) + " line " + std::to_string(line) + ")";
  }

 private:
  const toml::table& t_;
  std::string path_;
  std::string_view source_;
  std::set<std::string> known_;
};

#define CB_TRY(expr)                  \
  do {                                \
    if (auto st_ = (expr); !st_)      \
      return fail(st_.error());       \
  } while (0)

Status read_server(TableReader r, ServerConfig& s, std::string_view source) {
  CB_TRY(r.string("listen", s.listen, true));
  if (auto* n = r.get("listen"); n && !parse_host_port(s.listen))
    return fail(r.bad("listen", *n, "HOST:PORT (e.g. \"127.0.0.1:8080\")"));
  CB_TRY(r.string("data_dir", s.data_dir));
  CB_TRY(r.one_of("log_level", s.log_level, {"trace", "debug", "info", "warn", "error", "off"}));
  CB_TRY(r.integer("max_connections", s.max_connections, 1, 1'000'000, "an integer 1..1000000"));
  CB_TRY(r.integer("max_connections_per_address", s.max_connections_per_address, 1, 1'000'000,
                   "an integer 1..1000000"));
  if (s.max_connections_per_address > s.max_connections)
    return fail(Error::invalid_argument(r.key_path("max_connections_per_address") + ": " +
                                        std::to_string(s.max_connections_per_address) +
                                        " is more than max_connections (" +
                                        std::to_string(s.max_connections) + ")"));
  CB_TRY(r.integer("first_request_timeout_s", s.first_request_timeout_s, 1, 300, "an integer 1..300 (seconds)"));
  std::vector<std::string> allow;
  CB_TRY(r.string_list("metrics_allow", allow));
  s.metrics_allow.clear();
  for (std::size_t i = 0; i < allow.size(); ++i) {
    auto c = base::Cidr::parse(allow[i]);
    if (!c)
      return fail(Error::invalid_argument(r.key_path("metrics_allow") + "[" + std::to_string(i) + "]: " +
                                          c.error().message() + r.where((*r.get("metrics_allow")->as_array())[i])));
    s.metrics_allow.push_back(std::move(*c));
  }
  std::vector<std::string> origins;
  CB_TRY(r.string_list("allowed_origins", origins));
  s.allowed_origins.clear();
  for (std::size_t i = 0; i < origins.size(); ++i) {
    auto o = base::normalize_origin(origins[i]);
    if (!o)
      return fail(Error::invalid_argument(r.key_path("allowed_origins") + "[" + std::to_string(i) + "]: " +
                                          quote(origins[i]) + ": " + o.error() +
                                          r.where((*r.get("allowed_origins")->as_array())[i])));
    s.allowed_origins.push_back(std::move(*o));
  }
  auto tls = r.table("tls");
  if (!tls) return fail(tls.error());
  if (*tls) {
    TableReader t(**tls, r.key_path("tls"), source);
    CB_TRY(t.string("cert_file", s.tls_cert_file, true));
    CB_TRY(t.string("key_file", s.tls_key_file, true));
    if (s.tls_cert_file.empty() != s.tls_key_file.empty())
      return fail(Error::invalid_argument(t.key_path(s.tls_cert_file.empty() ? "cert_file" : "key_file") +
                                          ": required when [server.tls] names the other file"));
    CB_TRY(t.finish());
  }
  return r.finish();
}

bool valid_tenant_id(std::string_view id) { return base::TenantId::valid(id); }

Status read_relay(TableReader r, RelayConfig& c) {
  CB_TRY(r.string("url", c.url, true));
  if (auto* n = r.get("fallback_urls")) {
    CB_TRY(r.string_list("fallback_urls", c.fallback_urls));
    for (const auto& u : c.fallback_urls)
      if (!u.starts_with("wss://")) return fail(r.bad("fallback_urls", *n, "a list of wss:// URLs"));
  }
  CB_TRY(r.string("edge_id", c.edge_id, true));
  CB_TRY(r.string("edge_key_file", c.edge_key_file, true));
  CB_TRY(r.string("join_token", c.join_token, true));
  CB_TRY(r.string("ca_file", c.ca_file, true));
  CB_TRY(r.string("privacy", c.privacy, true));
  if (auto* n = r.get("privacy"); n && c.privacy != "strict" && c.privacy != "relaxed")
    return fail(r.bad("privacy", *n, "\"strict\" or \"relaxed\""));
  CB_TRY(r.integer("outbox_frames", c.outbox_frames, 1, 1'000'000, "an integer 1..1000000"));
  CB_TRY(r.integer("outbox_bytes", c.outbox_bytes, 65536, 1LL << 30, "an integer 65536..1073741824 (bytes)"));
  if (auto* n = r.get("url"); n && !c.url.starts_with("wss://"))
    return fail(r.bad("url", *n, "a wss:// URL (e.g. \"wss://relay.example.com\")"));
  if (auto* n = r.get("edge_id"); n && !relay::wire::valid_edge_id(c.edge_id))
    return fail(r.bad("edge_id", *n, "an edge name: lower-case letters, digits and '-', 1 to 63, not starting with '-'"));
  if (!c.url.empty() && c.edge_id.empty())
    return fail(Error::invalid_argument(r.key_path("edge_id") + ": required when [relay] url is set"));
  return r.finish();
}

Status read_csta(TableReader r, CstaConfig& c, std::string_view source) {
  CB_TRY(r.string("listen", c.listen, true));
  if (auto* n = r.get("listen"); n && !parse_host_port(c.listen))
    return fail(r.bad("listen", *n, "HOST:PORT (e.g. \"0.0.0.0:1040\")"));
  CB_TRY(r.integer("max_clients", c.max_clients, 1, 100'000, "an integer 1..100000"));
  CB_TRY(r.integer("max_frame_bytes", c.max_frame_bytes, 1024, 1 << 20, "an integer 1024..1048576 (bytes)"));
  CB_TRY(r.integer("requests_per_second", c.requests_per_second, 1, 100'000, "an integer 1..100000"));
  CB_TRY(r.integer("session_start_timeout_s", c.session_start_timeout_s, 1, 300, "an integer 1..300 (seconds)"));
  if (auto* n = r.get("start_styles")) {
    CB_TRY(r.string_list("start_styles", c.start_styles));
    for (const auto& st : c.start_styles)
      if (st != "ecma354" && st != "osv") return fail(r.bad("start_styles", *n, "a list of \"ecma354\" and \"osv\""));
    if (c.start_styles.empty()) return fail(r.bad("start_styles", *n, "at least one of \"ecma354\" and \"osv\""));
  }
  auto tls = r.table("tls");
  if (!tls) return fail(tls.error());
  if (*tls) {
    TableReader t(**tls, r.key_path("tls"), source);
    CB_TRY(t.string("cert_file", c.tls_cert_file, true));
    CB_TRY(t.string("key_file", c.tls_key_file, true));
    if (c.tls_cert_file.empty() != c.tls_key_file.empty())
      return fail(Error::invalid_argument(t.key_path(c.tls_cert_file.empty() ? "cert_file" : "key_file") +
                                          ": required when [csta.tls] names the other file"));
    CB_TRY(t.finish());
  }
  if (auto* n = r.get("client")) {
    auto arr = n->as_array();
    if (!arr || !arr->is_array_of_tables()) return fail(r.bad("client", *n, "[[csta.client]] tables"));
    std::set<std::string> names;
    for (std::size_t i = 0; i < arr->size(); ++i) {
      TableReader cr(*(*arr)[i].as_table(), r.key_path("client[" + std::to_string(i) + "]"), source);
      CstaClientConfig cc;
      CB_TRY(cr.string("name", cc.name, true));
      CB_TRY(cr.string("secret_sha256", cc.secret_sha256, true));
      CB_TRY(cr.string("secret_file", cc.secret_file, true));
      CB_TRY(cr.string("tenant", cc.tenant, true));
      CB_TRY(cr.finish());
      if (cc.name.empty()) return fail(Error::invalid_argument(cr.key_path("name") + ": required"));
      if (cc.name.size() > 64 || cc.name.find_first_of(" \t\r\n<>&\"'") != std::string::npos)
        return fail(Error::invalid_argument(cr.key_path("name") + ": " + quote(cc.name) +
                                            " (at most 64 characters, no spaces or XML specials)"));
      if (!names.insert(cc.name).second)
        return fail(Error::invalid_argument(cr.key_path("name") + ": " + quote(cc.name) + " is used by two clients"));
      if (cc.secret_sha256.empty() == cc.secret_file.empty())
        return fail(Error::invalid_argument(cr.key_path("secret_sha256") +
                                            ": give exactly one of secret_sha256 and secret_file"));
      if (!cc.secret_sha256.empty()) {
        bool hex = cc.secret_sha256.size() == 64 &&
                   std::all_of(cc.secret_sha256.begin(), cc.secret_sha256.end(),
                               [](char ch) { return std::isxdigit(static_cast<unsigned char>(ch)) != 0; });
        if (!hex)
          return fail(Error::invalid_argument(cr.key_path("secret_sha256") +
                                              ": expected 64 hex digits (printf %s SECRET | sha256sum)"));
        std::transform(cc.secret_sha256.begin(), cc.secret_sha256.end(), cc.secret_sha256.begin(),
                       [](char ch) { return static_cast<char>(std::tolower(static_cast<unsigned char>(ch))); });
      }
      if (!valid_tenant_id(cc.tenant))
        return fail(Error::invalid_argument(cr.key_path("tenant") + ": " + quote(cc.tenant) + " is not a tenant id"));
      c.clients.push_back(std::move(cc));
    }
  }
  return r.finish();
}

Status read_pbx(TableReader r, PbxConfig& p) {
  CB_TRY(r.string("name", p.name, true));
  CB_TRY(r.string("driver", p.driver, true));
  CB_TRY(r.string("host", p.host, true));
  CB_TRY(r.integer("port", p.port, 1, 65535, "a port number 1..65535"));
  CB_TRY(r.string("user", p.user, true));
  CB_TRY(r.string("secret", p.secret));
  std::string auth = p.auth == AmiAuth::md5 ? "md5" : "plain";
  CB_TRY(r.one_of("auth", auth, {"md5", "plain"}));
  p.auth = auth == "md5" ? AmiAuth::md5 : AmiAuth::plain;
  CB_TRY(r.integer("keepalive_s", p.keepalive_s, 0, 3600, "an integer 0..3600 (0 = off)"));
  CB_TRY(r.integer("connect_timeout_s", p.connect_timeout_s, 1, 300, "an integer 1..300"));
  CB_TRY(r.integer("reconnect_min_ms", p.reconnect_min_ms, 1, 3'600'000, "an integer 1..3600000"));
  CB_TRY(r.integer("reconnect_max_ms", p.reconnect_max_ms, 1, 3'600'000, "an integer 1..3600000"));
  CB_TRY(r.string("record_dir", p.record_dir));
  CB_TRY(r.string("tenant", p.tenant, true));
  CB_TRY(r.boolean("tls", p.tls));
  CB_TRY(r.string("tls_ca_file", p.tls_ca_file));
  CB_TRY(r.boolean("tls_verify", p.tls_verify));
  CB_TRY(r.one_of("session_start", p.session_start, {"ecma354", "osv"}));
  CB_TRY(r.integer("edition", p.edition, 3, 6, "an ECMA-323 edition 3..6"));
  CB_TRY(r.one_of("framing", p.framing, {"header", "headerless"}));
  CB_TRY(r.string_list("devices", p.devices));
  if (p.driver == "csta" && !r.get("port")) p.port = 1040;
  if (auto* n = r.get("tenant"); n && !valid_tenant_id(p.tenant))
    return fail(r.bad("tenant", *n, "a tenant id (letters, digits, '-' and '_')"));
  if (auto* n = r.get("tenant"); n && p.tenant == base::kOperatorTenant)
    return fail(r.bad("tenant", *n, "a tenant id other than the operator's reserved \"_operator\""));
  return r.finish();  // completeness (host, user, secret) is validate()'s job, after the flags
}

Status read_demo(TableReader r, DemoConfig& d) {
  CB_TRY(r.boolean("enabled", d.enabled));
  CB_TRY(r.integer("speed", d.speed, 1, 10'000, "an integer 1..10000"));
  CB_TRY(r.integer("calls_per_minute", d.calls_per_minute, 1, 600, "an integer 1..600"));
  CB_TRY(r.integer("seed", d.seed, 0, std::numeric_limits<std::int64_t>::max(), "a non-negative integer"));
  return r.finish();
}


// key = { name = "value", ... }: a table of non-empty strings, kept in the file's key order.
Status string_map(TableReader& r, std::string_view key, std::vector<std::pair<std::string, std::string>>& out,
                  bool allow_empty_values) {
  auto t = r.table(key);
  if (!t) return fail(t.error());
  if (!*t) return {};
  out.clear();
  for (auto&& [k, v] : **t) {
    auto s = v.as_string();
    if (!s || (!allow_empty_values && s->get().empty()))
      return fail(r.bad(std::string(key) + "." + std::string(k.str()), v, "a non-empty string"));
    out.emplace_back(std::string(k.str()), s->get());
  }
  return {};
}

// [[directory.<kind>]]: each element is a table; `read` fills one entry.
template <typename Entry, typename Read>
Status read_source_array(TableReader& r, std::string_view key, std::vector<Entry>& out, Read read) {
  auto* n = r.get(key);
  if (!n) return {};
  auto* arr = n->as_array();
  if (!arr || !arr->is_array_of_tables())
    return fail(r.bad(key, *n, "[[" + r.key_path(key) + "]] tables"));
  for (std::size_t i = 0; i < arr->size(); ++i) {
    Entry e;
    CB_TRY(read(TableReader(*(*arr)[i].as_table(), r.key_path(key) + "[" + std::to_string(i) + "]", r.source()), e));
    out.push_back(std::move(e));
  }
  return {};
}

Status read_source_common(TableReader& r, std::string& name, std::string& tenant, int& timeout_ms, int& priority) {
  CB_TRY(r.string("name", name, true));
  CB_TRY(r.string("tenant", tenant, true));
  if (auto* n = r.get("tenant"); n && !valid_tenant_id(tenant))
    return fail(r.bad("tenant", *n, "a tenant id (letters, digits, '-' and '_')"));
  if (auto* n = r.get("tenant"); n && tenant == base::kOperatorTenant)
    return fail(r.bad("tenant", *n, "a tenant id other than the operator's reserved \"_operator\""));
  CB_TRY(r.integer("timeout_ms", timeout_ms, 1, 60'000, "an integer 1..60000 (milliseconds)"));
  CB_TRY(r.integer("priority", priority, -1000, 1000, "an integer -1000..1000 (lower ranks first)"));
  return {};
}

Status read_ldap(TableReader r, LdapDirectoryConfig& l) {
  CB_TRY(read_source_common(r, l.name, l.tenant, l.timeout_ms, l.priority));
  CB_TRY(r.string("uri", l.uri, true));
  if (!r.get("uri")) return fail(Error::invalid_argument(r.key_path("uri") + ": required (e.g. \"ldap://ldap.example.com\")"));
  if (!(l.uri.starts_with("ldap://") || l.uri.starts_with("ldaps://") || l.uri.starts_with("ldapi://")))
    return fail(r.bad("uri", *r.get("uri"), "an ldap://, ldaps:// or ldapi:// URI"));
  CB_TRY(r.string("bind_dn", l.bind_dn));
  CB_TRY(r.string("bind_password", l.bind_password));
  CB_TRY(r.string("base_dn", l.base_dn, true));
  if (!r.get("base_dn"))
    return fail(Error::invalid_argument(r.key_path("base_dn") + ": required (e.g. \"ou=people,dc=example,dc=com\")"));
  CB_TRY(r.string("filter", l.filter, true));
  if (l.filter.find("{e164}") == std::string::npos && l.filter.find("{digits}") == std::string::npos)
    return fail(r.bad("filter", *r.get("filter"), "a search filter containing {e164} or {digits}"));
  CB_TRY(r.string_list("name_attributes", l.name_attributes));
  CB_TRY(r.string("given_name_attribute", l.given_name_attribute));
  CB_TRY(r.string("family_name_attribute", l.family_name_attribute));
  CB_TRY(r.string("company_attribute", l.company_attribute));
  CB_TRY(string_map(r, "number_attributes", l.number_attributes, false));
  if (r.get("number_attributes") && l.number_attributes.empty())
    return fail(Error::invalid_argument(r.key_path("number_attributes") + ": expected at least one attribute"));
  CB_TRY(r.integer("size_limit", l.size_limit, 1, 1000, "an integer 1..1000"));
  return r.finish();
}

Status read_http(TableReader r, HttpDirectoryConfig& h) {
  CB_TRY(read_source_common(r, h.name, h.tenant, h.timeout_ms, h.priority));
  CB_TRY(r.string("url", h.url, true));
  if (!r.get("url"))
    return fail(Error::invalid_argument(r.key_path("url") + ": required (e.g. \"https://crm.example.com/api/lookup?number={e164}\")"));
  if (!(h.url.starts_with("http://") || h.url.starts_with("https://")) ||
      (h.url.find("{e164}") == std::string::npos && h.url.find("{digits}") == std::string::npos))
    return fail(r.bad("url", *r.get("url"), "an http:// or https:// URL containing {e164} or {digits}"));
  CB_TRY(string_map(r, "headers", h.headers, true));
  for (const auto& [k, v] : h.headers)
    if (k.empty() || k.find_first_of(" :\r\n") != std::string::npos || v.find_first_of("\r\n") != std::string::npos)
      return fail(Error::invalid_argument(r.key_path("headers." + k) + ": header names must not contain spaces or ':', "
                                          "values no CR or LF"));
  CB_TRY(r.string("results_path", h.results_path));
  CB_TRY(r.string("id_field", h.id_field));
  CB_TRY(r.string("name_field", h.name_field, true));
  CB_TRY(r.string("company_field", h.company_field));
  CB_TRY(r.string("label_field", h.label_field));
  CB_TRY(r.string("kind_field", h.kind_field));
  CB_TRY(r.string("search_url", h.search_url));
  if (!h.search_url.empty()) {
    const bool tls = h.url.starts_with("https://");
    if (!h.search_url.starts_with(tls ? "https://" : "http://") || h.search_url.find("{text}") == std::string::npos)
      return fail(r.bad("search_url", *r.get("search_url"),
                        std::string("an ") + (tls ? "https://" : "http://") + " URL (as url) containing {text}"));
  }
  CB_TRY(r.string("numbers_field", h.numbers_field));
  CB_TRY(r.string("number_field", h.number_field));
  CB_TRY(r.string("number_label_field", h.number_label_field));
  CB_TRY(r.boolean("tls_verify", h.tls_verify));
  CB_TRY(r.string("ca_file", h.ca_file));
  return r.finish();
}

Status check_source_names(const TableReader& r, const DirectoryConfig& d);

Status read_directory(TableReader r, std::string_view source, DirectoryConfig& d) {
  auto store = r.table("store");
  if (!store) return fail(store.error());
  if (*store) {
    TableReader s(**store, r.key_path("store"), source);
    CB_TRY(s.boolean("memory_index", d.memory_index));
    CB_TRY(s.finish());
  }
  CB_TRY(read_source_array(r, "ldap", d.ldap, read_ldap));
  CB_TRY(read_source_array(r, "http", d.http, read_http));
  CB_TRY(check_source_names(r, d));
  return r.finish();
}

// Names identify a source in results, diagnostics and metrics: unique, never the store's.
Status check_source_names(const TableReader& r, const DirectoryConfig& d) {
  std::set<std::string> names;
  auto check = [&](const std::string& kind, std::size_t i, const std::string& name) -> Status {
    std::string at = r.key_path(kind) + "[" + std::to_string(i) + "].name";
    if (name == "store")
      return fail(Error::invalid_argument(at + ": \"store\" is the built-in contact store's name; choose another"));
    if (!names.insert(name).second)
      return fail(Error::invalid_argument(at + ": " + quote(name) +
                                          " is used by another directory source (names are unique across tenants)"));
    return {};
  };
  for (std::size_t i = 0; i < d.ldap.size(); ++i) CB_TRY(check("ldap", i, d.ldap[i].name));
  for (std::size_t i = 0; i < d.http.size(); ++i) CB_TRY(check("http", i, d.http[i].name));
  return {};
}

// `backend` ("sqlite" or "postgres") and `dsn` of a store's table ([journal], [identity], [audit],
// [webhooks]): dsn is required with "postgres" and refused with "sqlite".
Status read_backend(TableReader& r, std::string& backend, std::string& dsn) {
  CB_TRY(r.one_of("backend", backend, {"sqlite", "postgres"}));
  CB_TRY(r.string("dsn", dsn));
  if (backend == "postgres" && dsn.empty())
    return fail(Error::invalid_argument(r.key_path("dsn") +
                                        ": required with backend = \"postgres\" (e.g. \"host=db.example "
                                        "dbname=callbridge user=callbridge\" or \"postgresql://callbridge@db/callbridge\")"));
  if (backend == "sqlite" && !dsn.empty())
    return fail(Error::invalid_argument(r.key_path("dsn") + ": only used with backend = \"postgres\" (backend is \"sqlite\")"));
  return {};
}

Status read_journal(TableReader r, JournalConfig& j) {
  CB_TRY(r.boolean("exclude_internal", j.exclude_internal));
  CB_TRY(r.string_list("excluded_numbers", j.excluded_numbers));
  CB_TRY(r.integer("retention_days", j.retention_days, 0, 36'500,
                   "a non-negative integer"));
  std::string sync = j.synchronous_full ? "full" : "normal";
  CB_TRY(r.one_of("synchronous", sync, {"normal", "full"}));
  j.synchronous_full = sync == "full";
  CB_TRY(read_backend(r, j.backend, j.dsn));
  return r.finish();
}

Status read_identity(TableReader r, IdentityConfig& i) {
  CB_TRY(read_backend(r, i.backend, i.dsn));
  return r.finish();
}

// Cluster mode: every tenant-scoped store in PostgreSQL. A store's backend not set in the file
// becomes "postgres" on [cluster] postgres (its own dsn, if set, wins); one set to "sqlite" is an
// error, since a node-local file would split the tenants' data between the nodes.
Status apply_cluster(const toml::table& root, Config& c, std::string_view source) {
  if (!c.cluster.enabled) return {};
  struct Store {
    const char* table;
    std::string& backend;
    std::string& dsn;
    const char* holds;
  };
  Store stores[] = {
      {"journal", c.journal.backend, c.journal.dsn, "the journal and the built-in contacts"},
      {"identity", c.identity.backend, c.identity.dsn, "users, tokens, sessions, settings and tenants"},
      {"audit", c.audit.backend, c.audit.dsn, "the audit log"},
      {"webhooks", c.webhooks.backend, c.webhooks.dsn, "webhooks and their deliveries"},
  };
  for (auto& st : stores) {
    const toml::node* set = nullptr;
    if (auto* t = root.get_as<toml::table>(st.table)) set = t->get("backend");
    if (set && st.backend == "sqlite") {
      auto line = set->source().begin.line;
      return fail(Error::invalid_argument(
          std::string(st.table) + ".backend = \"sqlite\": cluster mode ([cluster]) keeps " + st.holds +
          " in PostgreSQL for every node; remove the key or set \"postgres\"" +
          (line ? " (" + std::string(source) + " line " + std::to_string(line) + ")" : std::string())));
    }
    st.backend = "postgres";
    if (st.dsn.empty()) st.dsn = c.cluster.postgres;
  }
  // The relay knows an edge by one key; whichever node is the edge (docs/cluster.md "The cloud
  // relay's edge") must log in with it, so no node may make its own.
  if (!c.relay.url.empty() && c.relay.edge_key_file.empty())
    return fail(Error::invalid_argument(
        "relay.edge_key_file: required in cluster mode ([cluster] with [relay]): every node must log in to the relay "
        "with the same edge key; point it at one key file copied to every node (a node makes it when missing: start "
        "one node first, then copy its file)"));
  return {};
}

Status read_audit(TableReader r, AuditConfig& a) {
  CB_TRY(r.integer("retention_days", a.retention_days, 0, 36'500, "0 (keep forever) or a number of days, 1..36500"));
  CB_TRY(read_backend(r, a.backend, a.dsn));
  return r.finish();
}

// [cluster]: node name, NATS URL, the shared PostgreSQL database (all three required); the lease
// timing (docs/cluster.md "Leases"), whose relations src/cluster checks again at start.
Status read_cluster(TableReader r, ClusterConfig& c) {
  c.enabled = true;
  CB_TRY(r.string("node", c.node, true));
  CB_TRY(r.string("nats_url", c.nats_url, true));
  CB_TRY(r.string("postgres", c.postgres, true));
  CB_TRY(r.integer("lease_ttl_ms", c.lease_ttl_ms, 500, 60'000, "milliseconds, 500..60000"));
  CB_TRY(r.integer("lease_renew_ms", c.lease_renew_ms, 50, 30'000, "milliseconds, 50..30000"));
  CB_TRY(r.integer("lease_margin_ms", c.lease_margin_ms, 50, 30'000, "milliseconds, 50..30000"));
  CB_TRY(r.string("lease_bucket", c.lease_bucket, true));
  CB_TRY(r.integer("command_timeout_ms", c.command_timeout_ms, 100, 60'000, "milliseconds, 100..60000"));
  CB_TRY(r.string("events_stream", c.events_stream, true));
  CB_TRY(r.integer("events_max_age_s", c.events_max_age_s, 60, 31'536'000, "seconds, 60..31536000 (a year)"));
  CB_TRY(r.integer("events_max_per_tenant", c.events_max_per_tenant, 100, 100'000'000, "messages, 100..100000000"));
  auto missing = [&](std::string_view key, std::string_view example) {
    return fail(Error::invalid_argument(r.key_path(key) + ": required in cluster mode (e.g. " + std::string(example) + ")"));
  };
  if (c.node.empty()) return missing("node", "node = \"cb1\"");
  if (c.nats_url.empty()) return missing("nats_url", "nats_url = \"nats://10.0.0.5:4222\"");
  if (c.postgres.empty())
    return missing("postgres", "postgres = \"host=db.example dbname=callbridge user=callbridge\"");
  const bool node_ok = c.node.size() <= 64 && std::all_of(c.node.begin(), c.node.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-';
  });
  if (!node_ok)
    return fail(Error::invalid_argument(r.key_path("node") + ": expected 1-64 of [A-Za-z0-9._-], got " + quote(c.node) +
                                        r.where(*r.get("node"))));
  for (std::string_view url : {std::string_view(c.nats_url)}) {
    std::size_t start = 0;
    while (start <= url.size()) {
      auto comma = url.find(',', start);
      auto one = url.substr(start, comma == std::string_view::npos ? url.npos : comma - start);
      if (!(one.starts_with("nats://") || one.starts_with("tls://")) || one.size() < 8)
        return fail(Error::invalid_argument(r.key_path("nats_url") + ": expected nats://HOST:PORT or tls://HOST:PORT "
                                            "(several: comma-separated), got " + quote(std::string(one)) +
                                            r.where(*r.get("nats_url"))));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  }
  for (auto [key, value] : {std::pair<std::string_view, const std::string*>{"lease_bucket", &c.lease_bucket},
                            {"events_stream", &c.events_stream}}) {
    const bool name_ok = !value->empty() && value->size() <= 64 &&
                         std::all_of(value->begin(), value->end(), [](char ch) {
                           return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-';
                         });
    if (!name_ok)
      return fail(Error::invalid_argument(r.key_path(key) + ": expected 1-64 of [A-Za-z0-9_-], got " + quote(*value)));
  }
  if (c.lease_margin_ms >= c.lease_ttl_ms)
    return fail(Error::invalid_argument(r.key_path("lease_margin_ms") + ": must be less than lease_ttl_ms (" +
                                        std::to_string(c.lease_ttl_ms) + ")"));
  return r.finish();
}

Status read_trace(TableReader r, TraceConfig& t) {
  CB_TRY(r.integer("max_calls", t.max_calls, 1, 100'000, "calls kept per tenant, 1..100000"));
  CB_TRY(r.integer("retention_minutes", t.retention_minutes, 1, 10'080, "minutes, 1..10080 (a week)"));
  return r.finish();
}

Status read_webhooks(TableReader r, WebhooksConfig& w) {
  std::vector<std::string> allow;
  CB_TRY(r.string_list("allow", allow));
  w.allow.clear();
  for (std::size_t i = 0; i < allow.size(); ++i) {
    auto c = base::Cidr::parse(allow[i]);
    if (!c)
      return fail(Error::invalid_argument(r.key_path("allow") + "[" + std::to_string(i) + "]: " + c.error().message() +
                                          r.where((*r.get("allow")->as_array())[i])));
    w.allow.push_back(std::move(*c));
  }
  CB_TRY(r.boolean("allow_http", w.allow_http));
  CB_TRY(r.string("ca_file", w.ca_file));
  CB_TRY(r.integer("connect_timeout_s", w.connect_timeout_s, 1, 60, "an integer 1..60 (seconds)"));
  CB_TRY(r.integer("timeout_s", w.timeout_s, 1, 300, "an integer 1..300 (seconds)"));
  CB_TRY(r.integer("retry_for_s", w.retry_for_s, 0, 7 * 86'400, "an integer 0..604800 (seconds)"));
  CB_TRY(r.integer("queue", w.queue, 1, 1'000'000, "an integer 1..1000000"));
  CB_TRY(r.integer("log_retention_days", w.log_retention_days, 1, 3650, "an integer 1..3650 (days)"));
  CB_TRY(read_backend(r, w.backend, w.dsn));
  return r.finish();
}

Status read_dialing(TableReader r, DialingConfig& d) {
  CB_TRY(r.digits("country_code", d.country_code, true));
  CB_TRY(r.digits("area_code", d.area_code));
  CB_TRY(r.digits("base_number", d.base_number));
  CB_TRY(r.integer("extension_length", d.extension_length, 1, 10, "an integer 1..10"));
  CB_TRY(r.digits("outside_prefix", d.outside_prefix));
  CB_TRY(r.digits("trunk_prefix", d.trunk_prefix));
  CB_TRY(r.digits("international_prefix", d.international_prefix));
  CB_TRY(r.string("region", d.region));
  if (auto* n = r.get("region");
      n && !(d.region.size() == 2 && std::isupper(static_cast<unsigned char>(d.region[0])) &&
             std::isupper(static_cast<unsigned char>(d.region[1]))))
    return fail(r.bad("region", *n, "a two-letter upper-case region code (e.g. \"DE\")"));
  CB_TRY(r.string_list("extension_ranges", d.extension_ranges));
  for (std::size_t i = 0; i < d.extension_ranges.size(); ++i) {
    const std::string& x = d.extension_ranges[i];
    auto dash = x.find('-');
    auto all_digits = [](std::string_view v) {
      return !v.empty() && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    bool ok = dash != std::string::npos && all_digits(std::string_view(x).substr(0, dash)) &&
              all_digits(std::string_view(x).substr(dash + 1)) && dash == x.size() - dash - 1 &&
              x.substr(0, dash) <= x.substr(dash + 1);
    if (!ok) {
      return fail(Error::invalid_argument(r.key_path("extension_ranges") + "[" + std::to_string(i) +
                                          "]: expected \"FIRST-LAST\" (digits, same length, "
                                          "FIRST <= LAST), got \"" + x + "\""));
    }
  }
  CB_TRY(r.boolean("pbx_reports_outside_prefix", d.pbx_reports_outside_prefix));
  return r.finish();
}

Status read_call_control(TableReader r, CallControlConfig& cc) {
  CB_TRY(r.string("context", cc.context, true));
  CB_TRY(r.string("conference_context", cc.conference_context));
  CB_TRY(r.string("click_to_dial_caller_id", cc.click_to_dial_caller_id));
  CB_TRY(r.string("office_number", cc.office_number));
  CB_TRY(r.string("parking_lot", cc.parking_lot, true));
  {
    // It goes into the AMI Park action and ParkedCall(<lot>,<space>): a res_parking lot name.
    bool ok = !cc.parking_lot.empty() && cc.parking_lot.size() <= 64;
    for (char c : cc.parking_lot)
      ok = ok && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_');
    if (!ok)
      return fail(Error::invalid_argument(r.key_path("parking_lot") + ": expected a parking lot name (1-64 of "
                                          "letters, digits, '-', '_'), got \"" + cc.parking_lot.substr(0, 40) + "\""));
  }
  CB_TRY(r.integer("max_trunk_channels", cc.max_trunk_channels, 0, 100'000, "an integer 0..100000 (0 = no limit)"));
  for (auto [key, code] : {std::pair<const char*, std::string*>{"atxfer_swap", &cc.atxfer_swap},
                           {"atxfer_threeway", &cc.atxfer_threeway}}) {
    CB_TRY(r.string(key, *code));
    // Each digit goes into a PlayDTMF action: DTMF digits only.
    bool ok = !code->empty() && code->size() <= 8;
    for (char c : *code) ok = ok && ((c >= '0' && c <= '9') || c == '*' || c == '#' || (c >= 'A' && c <= 'D'));
    if (!ok)
      return fail(Error::invalid_argument(r.key_path(key) + ": expected a feature code of 1-8 DTMF digits "
                                          "(0-9 * # A-D, as in features.conf), got \"" + code->substr(0, 40) + "\""));
  }
  auto any = r.table("any_device");
  if (!any) return fail(any.error());
  if (*any) {
    for (auto&& [k, v] : **any) {
      auto s = v.as_string();
      if (!s || s->get().empty())
        return fail(r.bad("any_device." + std::string(k.str()), v, "a phone number string"));
      if (!base::is_device_name(k.str()))
        return fail(Error::invalid_argument(r.key_path("any_device") + ": '" + std::string(k.str()).substr(0, 40) +
                                            "' is not a device name: expected " + std::string(base::kDeviceNameRule)));
      cc.any_device[std::string(k.str())] = s->get();
    }
  }
  return r.finish();
}

Status read_any_device(TableReader r, AnyDeviceConfig& a) {
  for (auto [key, list] : {std::pair{"allow", &a.allow}, std::pair{"deny", &a.deny}}) {
    CB_TRY(r.string_list(key, *list));
    if (list->size() > 100) return fail(Error::invalid_argument(r.key_path(key) + ": at most 100 patterns"));
    for (std::size_t i = 0; i < list->size(); ++i) {
      auto p = core::AnyDevicePolicy::parse_pattern((*list)[i]);
      if (!p)
        return fail(Error::invalid_argument(r.key_path(key) + "[" + std::to_string(i) + "]: \"" +
                                            (*list)[i].substr(0, 40) + "\": " + p.error()));
      (*list)[i] = *p;
    }
  }
  CB_TRY(r.integer("max_devices", a.max_devices, 1, static_cast<std::int64_t>(core::kMaxExternalDevices),
                   "an integer 1.." + std::to_string(core::kMaxExternalDevices)));
  return r.finish();
}

Status read_phones(TableReader& tr, std::string_view source, std::vector<PhoneConfig>& out) {
  auto* n = tr.get("phones");
  if (!n) return {};
  auto* arr = n->as_array();
  if (!arr) return fail(tr.bad("phones", *n, "an array of tables ([[tenant.X.phones]])"));
  for (std::size_t i = 0; i < arr->size(); ++i) {
    auto* t = (*arr)[i].as_table();
    std::string path = tr.key_path("phones") + "[" + std::to_string(i) + "]";
    if (!t) return fail(Error::invalid_argument(path + ": expected a table"));
    TableReader r(*t, path, source);
    PhoneConfig p;
    CB_TRY(r.string_list("devices", p.devices));
    if (p.devices.empty()) return fail(Error::invalid_argument(path + ".devices: expected at least one device"));
    for (const auto& d : p.devices)
      if (!base::is_device_name(d))
        return fail(Error::invalid_argument(path + ".devices: '" + d.substr(0, 40) + "' is not a device name: expected " +
                                            std::string(base::kDeviceNameRule)));
    CB_TRY(r.string("answer_event", p.answer_event));
    CB_TRY(r.string("hold_event", p.hold_event));
    CB_TRY(r.string("retrieve_event", p.retrieve_event));
    for (auto* e : {&p.answer_event, &p.hold_event, &p.retrieve_event})
      if (e->find_first_of("\r\n:") != std::string::npos)
        return fail(Error::invalid_argument(path + ": event names must not contain CR, LF or ':'"));
    CB_TRY(r.finish());
    out.push_back(std::move(p));
  }
  return {};
}

Status read_tenants(TableReader r, const toml::table& t, std::string_view source,
                    std::map<std::string, TenantConfig>& out) {
  for (auto&& [k, v] : t) {
    std::string id(k.str());
    auto sub = r.table(id);
    if (!sub) return fail(sub.error());
    if (!valid_tenant_id(id))
      return fail(Error::invalid_argument(r.key_path(id) +
                                          ": tenant ids may use letters, digits, '-' and '_'"));
    if (id == base::kOperatorTenant)
      return fail(Error::invalid_argument(r.key_path(id) + ": \"_operator\" is reserved for the operator's users"));
    TenantConfig tc;
    TableReader tr(**sub, r.key_path(id), source);
    auto dialing = tr.table("dialing");
    if (!dialing) return fail(dialing.error());
    if (*dialing) CB_TRY(read_dialing(TableReader(**dialing, tr.key_path("dialing"), source), tc.dialing));
    auto cc = tr.table("call_control");
    if (!cc) return fail(cc.error());
    if (*cc) CB_TRY(read_call_control(TableReader(**cc, tr.key_path("call_control"), source), tc.call_control));
    auto ad = tr.table("any_device");
    if (!ad) return fail(ad.error());
    if (*ad) CB_TRY(read_any_device(TableReader(**ad, tr.key_path("any_device"), source), tc.any_device));
    CB_TRY(read_phones(tr, source, tc.phones));
    CB_TRY(tr.finish());
    out[id] = tc;
  }
  return r.finish();
}


// Keys of a TOML section that a tenant spec does not take: the spec is the tenant, and files
// written by the daemon are configured in the file.
Status reject_keys(const TableReader& r, const toml::table& t, std::initializer_list<std::string_view> keys,
                   std::string_view why) {
  for (auto k : keys)
    if (t.contains(k))
      return fail(Error::invalid_argument(r.key_path(k) + ": not accepted in a tenant spec (" + std::string(why) + ")"));
  return {};
}

std::string numbered(std::string_view base, std::size_t i, std::size_t n) {
  return n == 1 ? std::string(base) : std::string(base) + "-" + std::to_string(i + 1);
}

// A spec's array of tables ("pbx", "phones", "directory.ldap"): each element read by `read` into
// an Entry prepared by `make(i, n)`.
template <typename Entry, typename Make, typename Read>
Status read_spec_array(TableReader& r, std::string_view key, std::size_t max, std::vector<Entry>& out, Make make,
                       Read read) {
  auto* n = r.get(key);
  if (!n) return {};
  auto* arr = n->as_array();
  if (!arr || !std::all_of(arr->begin(), arr->end(), [](const toml::node& e) { return e.is_table(); }))
    return fail(r.bad(key, *n, "an array of objects"));
  if (arr->size() > max)
    return fail(Error::invalid_argument(r.key_path(key) + ": at most " + std::to_string(max) + " entries"));
  for (std::size_t i = 0; i < arr->size(); ++i) {
    Entry e = make(i, arr->size());
    CB_TRY(read(*(*arr)[i].as_table(), r.key_path(key) + "[" + std::to_string(i) + "]", e));
    out.push_back(std::move(e));
  }
  return {};
}

}  // namespace

Result<TenantSpec> read_tenant_spec(const toml::table& t, std::string_view id, std::string_view source) {
  TenantSpec spec;
  spec.id = std::string(id);
  TableReader r(t, "", source);
  CB_TRY(r.string("id", spec.id, true));
  if (spec.id != id)
    return fail(Error::invalid_argument("id: \"" + spec.id + "\" differs from the tenant of the URL, \"" +
                                        std::string(id) + "\""));
  if (!valid_tenant_id(id) || id.size() > base::TenantId::kMaxLength)
    return fail(Error::invalid_argument("id: expected a tenant id (1..64 letters, digits, '-' and '_'), got " +
                                        quote(id)));
  if (id == base::kOperatorTenant)
    return fail(Error::invalid_argument("id: \"_operator\" is reserved for the operator's users"));
  CB_TRY(r.string("display_name", spec.display_name));
  if (spec.display_name.size() > 200)
    return fail(Error::invalid_argument("display_name: at most 200 bytes"));

  const std::string tenant(id);
  CB_TRY(read_spec_array(
      r, "pbx", kMaxTenantLinks, spec.pbx,
      [&](std::size_t i, std::size_t n) {
        PbxConfig p;
        p.name = numbered(tenant, i, n);
        p.tenant = tenant;
        return p;
      },
      [&](const toml::table& e, std::string path, PbxConfig& p) -> Status {
        TableReader er(e, path, source);
        CB_TRY(reject_keys(er, e, {"tenant"}, "the spec is the tenant"));
        CB_TRY(reject_keys(er, e, {"record_dir"}, "recording is set in the configuration file or with --record"));
        return read_pbx(std::move(er), p);
      }));

  auto dialing = r.table("dialing");
  if (!dialing) return fail(dialing.error());
  if (*dialing) CB_TRY(read_dialing(TableReader(**dialing, "dialing", source), spec.settings.dialing));
  auto cc = r.table("call_control");
  if (!cc) return fail(cc.error());
  if (*cc) CB_TRY(read_call_control(TableReader(**cc, "call_control", source), spec.settings.call_control));
  auto ad = r.table("any_device");
  if (!ad) return fail(ad.error());
  if (*ad) CB_TRY(read_any_device(TableReader(**ad, "any_device", source), spec.settings.any_device));
  CB_TRY(read_phones(r, source, spec.settings.phones));

  auto dir = r.table("directory");
  if (!dir) return fail(dir.error());
  if (*dir) {
    TableReader dr(**dir, "directory", source);
    CB_TRY(reject_keys(dr, **dir, {"store"}, "the built-in store is configured for the whole daemon"));
    auto read_source = [&](auto read) {
      return [&, read](const toml::table& e, std::string path, auto& entry) -> Status {
        TableReader er(e, path, source);
        CB_TRY(reject_keys(er, e, {"tenant"}, "the spec is the tenant"));
        return read(std::move(er), entry);
      };
    };
    CB_TRY(read_spec_array(
        dr, "ldap", kMaxTenantSources, spec.ldap,
        [&](std::size_t i, std::size_t n) {
          LdapDirectoryConfig l;
          l.name = numbered(tenant + "-ldap", i, n);
          l.tenant = tenant;
          return l;
        },
        read_source(read_ldap)));
    CB_TRY(read_spec_array(
        dr, "http", kMaxTenantSources, spec.http,
        [&](std::size_t i, std::size_t n) {
          HttpDirectoryConfig h;
          h.name = numbered(tenant + "-crm", i, n);
          h.tenant = tenant;
          return h;
        },
        read_source(read_http)));
    DirectoryConfig d;
    d.ldap = spec.ldap;
    d.http = spec.http;
    CB_TRY(check_source_names(dr, d));
    CB_TRY(dr.finish());
  }
  CB_TRY(r.finish());
  return spec;  // completeness and cross-field rules: parse_tenant_spec (validate(), the dialing plan)
}


DialingConfig demo_dialing_config() {
  DialingConfig d;
  d.country_code = "49";
  d.area_code = "30";
  d.base_number = "555";
  d.extension_length = 3;
  d.region = "DE";
  return d;
}

std::vector<base::TenantId> configured_tenants(const Config& config) {
  std::set<std::string> names{std::string(kSingleCompanyTenant)};
  for (const auto& [id, tc] : config.tenants) names.insert(id);
  for (const auto& p : config.pbx) names.insert(p.tenant);
  for (const auto& l : config.directory.ldap) names.insert(l.tenant);
  for (const auto& h : config.directory.http) names.insert(h.tenant);
  std::vector<base::TenantId> out;
  for (const auto& n : names)
    if (auto t = base::TenantId::parse(n)) out.push_back(*t);  // validate() already rejected others
  return out;
}

const PhoneConfig* phone_for(const TenantConfig& tenant, std::string_view device) {
  const PhoneConfig* best = nullptr;
  std::size_t best_len = 0;
  for (const auto& p : tenant.phones) {
    for (const auto& d : p.devices) {
      if (d == device) return &p;
      if (!d.empty() && d.back() == '*') {
        std::string_view prefix(d.data(), d.size() - 1);
        if (device.starts_with(prefix) && (!best || prefix.size() + 1 > best_len)) {
          best = &p;
          best_len = prefix.size() + 1;
        }
      }
    }
  }
  return best;
}

Result<HostPort> parse_host_port(std::string_view s) {
  HostPort hp;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return fail(Error::invalid_argument("expected [IPV6]:PORT, got " + quote(s)));
    hp.host = std::string(s.substr(1, close - 1));
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos || s.find(':') != colon)
      return fail(Error::invalid_argument("expected HOST:PORT, got " + quote(s)));
    hp.host = std::string(s.substr(0, colon));
    port = s.substr(colon + 1);
  }
  unsigned v = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
  if (hp.host.empty() || port.empty() || ec != std::errc() || p != port.data() + port.size() ||
      v > 65535)
    return fail(Error::invalid_argument("expected HOST:PORT, got " + quote(s)));
  hp.port = static_cast<std::uint16_t>(v);
  return hp;
}

Result<Config> parse_config(std::string_view text, std::string_view source) {
  if (text.size() > kMaxConfigBytes)
    return fail(Error::invalid_argument(std::string(source) + ": larger than 1 MiB"));
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return fail(Error::invalid_argument(std::string(source) + " line " +
                                        std::to_string(e.source().begin.line) + ": " +
                                        std::string(e.description())));
  }
  Config c;
  TableReader r(root, "", source);

  auto server = r.table("server");
  if (!server) return fail(server.error());
  if (*server) CB_TRY(read_server(TableReader(**server, "server", source), c.server, source));

  if (auto* pbx = r.get("pbx")) {
    if (auto t = pbx->as_table()) {  // [pbx]: a single link
      PbxConfig p;
      CB_TRY(read_pbx(TableReader(*t, "pbx", source), p));
      c.pbx.push_back(std::move(p));
    } else if (auto arr = pbx->as_array(); arr && arr->is_array_of_tables()) {  // [[pbx]]
      for (std::size_t i = 0; i < arr->size(); ++i) {
        PbxConfig p;
        if (arr->size() > 1) p.name = "pbx" + std::to_string(i + 1);
        CB_TRY(read_pbx(TableReader(*(*arr)[i].as_table(), "pbx[" + std::to_string(i) + "]", source), p));
        c.pbx.push_back(std::move(p));
      }
    } else {
      return fail(r.bad("pbx", *pbx, "a [pbx] table or [[pbx]] tables"));
    }
  }

  auto csta = r.table("csta");
  if (!csta) return fail(csta.error());
  if (*csta) CB_TRY(read_csta(TableReader(**csta, "csta", source), c.csta, source));

  auto relay = r.table("relay");
  if (!relay) return fail(relay.error());
  if (*relay) CB_TRY(read_relay(TableReader(**relay, "relay", source), c.relay));

  auto journal = r.table("journal");
  if (!journal) return fail(journal.error());
  if (*journal) CB_TRY(read_journal(TableReader(**journal, "journal", source), c.journal));

  auto cluster = r.table("cluster");
  if (!cluster) return fail(cluster.error());
  if (*cluster) CB_TRY(read_cluster(TableReader(**cluster, "cluster", source), c.cluster));

  auto identity = r.table("identity");
  if (!identity) return fail(identity.error());
  if (*identity) CB_TRY(read_identity(TableReader(**identity, "identity", source), c.identity));

  auto audit = r.table("audit");
  if (!audit) return fail(audit.error());
  if (*audit) CB_TRY(read_audit(TableReader(**audit, "audit", source), c.audit));

  auto trace = r.table("trace");
  if (!trace) return fail(trace.error());
  if (*trace) CB_TRY(read_trace(TableReader(**trace, "trace", source), c.trace));

  auto webhooks = r.table("webhooks");
  if (!webhooks) return fail(webhooks.error());
  if (*webhooks) CB_TRY(read_webhooks(TableReader(**webhooks, "webhooks", source), c.webhooks));

  auto directory = r.table("directory");
  if (!directory) return fail(directory.error());
  if (*directory) CB_TRY(read_directory(TableReader(**directory, "directory", source), source, c.directory));

  auto demo = r.table("demo");
  if (!demo) return fail(demo.error());
  if (*demo) CB_TRY(read_demo(TableReader(**demo, "demo", source), c.demo));

  auto tenant = r.table("tenant");
  if (!tenant) return fail(tenant.error());
  if (*tenant) CB_TRY(read_tenants(TableReader(**tenant, "tenant", source), **tenant, source, c.tenants));

  CB_TRY(r.finish());
  CB_TRY(apply_cluster(root, c, source));
  return c;
}

Result<Config> load_config_file(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return fail(Error::io(path + ": " + ec.message()));
  if (size > kMaxConfigBytes) return fail(Error::invalid_argument(path + ": larger than 1 MiB"));
  std::ifstream f(path, std::ios::binary);
  if (!f) return fail(Error::io(path + ": cannot be read"));
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return parse_config(text, path);
}

Status apply_overrides(Config& c, const Overrides& o) {
  if (o.listen) {
    if (!parse_host_port(*o.listen))
      return fail(Error::invalid_argument("--listen: expected HOST:PORT, got " + quote(*o.listen)));
    c.server.listen = *o.listen;
  }
  if (o.data_dir) {
    if (o.data_dir->empty()) return fail(Error::invalid_argument("--data-dir: must not be empty"));
    c.server.data_dir = *o.data_dir;
  }
  if (o.log_level) {
    static constexpr std::string_view kLevels[] = {"trace", "debug", "info", "warn", "error", "off"};
    if (std::find(std::begin(kLevels), std::end(kLevels), *o.log_level) == std::end(kLevels))
      return fail(Error::invalid_argument("--log-level: expected trace, debug, info, warn, error or off, got " +
                                          quote(*o.log_level)));
    c.server.log_level = *o.log_level;
  }
  if (o.ami || o.ami_user || o.ami_secret) {
    if (c.pbx.size() > 1)
      return fail(Error::invalid_argument(
          "--ami/--ami-user/--ami-secret: the configuration has " + std::to_string(c.pbx.size()) +
          " [[pbx]] links; set them in the file instead"));
    if (c.pbx.empty()) {
      if (!o.ami)
        return fail(Error::invalid_argument("--ami-user/--ami-secret: no PBX configured; add --ami HOST:PORT"));
      c.pbx.emplace_back();
    }
    auto& p = c.pbx.front();
    if (o.ami) {
      auto hp = parse_host_port(*o.ami);
      if (!hp || hp->port == 0)
        return fail(Error::invalid_argument("--ami: expected HOST:PORT (e.g. pbx.example.com:5038), got " +
                                            quote(*o.ami)));
      p.host = hp->host;
      p.port = hp->port;
    }
    if (o.ami_user) p.user = *o.ami_user;
    if (o.ami_secret) p.secret = *o.ami_secret;
  }
  if (o.record_dir) {
    for (auto& p : c.pbx) p.record_dir = *o.record_dir;
  }
  return validate(c);
}

Status validate(const Config& c) {
  std::set<std::string> names;
  for (std::size_t i = 0; i < c.pbx.size(); ++i) {
    const auto& p = c.pbx[i];
    std::string at = c.pbx.size() == 1 ? "pbx" : "pbx[" + std::to_string(i) + "]";
    if (!names.insert(p.name).second)
      return fail(Error::invalid_argument(at + ".name: " + quote(p.name) + " is used by two links"));
    if (p.host.empty()) return fail(Error::invalid_argument(at + ".host: required (or --ami HOST:PORT)"));
    if (p.user.empty()) return fail(Error::invalid_argument(at + ".user: required (or --ami-user)"));
    if (p.secret.empty()) return fail(Error::invalid_argument(at + ".secret: required (or --ami-secret)"));
    if (p.reconnect_min_ms > p.reconnect_max_ms)
      return fail(Error::invalid_argument(at + ".reconnect_min_ms: " + std::to_string(p.reconnect_min_ms) +
                                          " is larger than reconnect_max_ms " +
                                          std::to_string(p.reconnect_max_ms)));
  }
  return {};
}

std::string default_data_dir() {
  // systemd's StateDirectory= (docs/install.md): the service runs as the unprivileged `callbridge`
  // user, and systemd names the directory it made for it; several are ':'-separated, ours is first.
  if (const char* state = std::getenv("STATE_DIRECTORY"); state && *state) {
    std::string_view first(state);
    first = first.substr(0, first.find(':'));
    if (!first.empty()) return std::string(first);
  }
  return geteuid() == 0 ? "/var/lib/callbridge" : "./data";
}

std::string effective_data_dir(const Config& c) {
  return c.server.data_dir.empty() ? default_data_dir() : c.server.data_dir;
}

std::string journal_path(const std::string& data_dir) {
  return (std::filesystem::path(data_dir) / "journal.db").string();
}

std::string audit_path(const std::string& data_dir) {
  return (std::filesystem::path(data_dir) / "audit.db").string();
}

std::string default_config_toml() {
  return R"toml(# callbridged configuration (TOML). Every key is optional; the values shown are the defaults.
# Command-line flags override the file: --listen, --data-dir, --log-level, --ami HOST:PORT,
# --ami-user, --ami-secret, --record DIR. Unknown keys are start-up errors.

[server]
# HTTP API address, HOST:PORT. Port 0 picks a free port (the log says which).
listen = "127.0.0.1:8080"
# Where the journal (journal.db) and other state live. Unset: /var/lib/callbridge when
# running as root, else ./data relative to the working directory.
# data_dir = "/var/lib/callbridge"
# trace, debug, info, warn, error or off. Logs go to stderr.
log_level = "info"
# Open HTTP connections in total and from one client address; further ones are closed at once.
# WebSocket event streams do not count once upgraded. Behind a reverse proxy or a terminal server
# every user shares one address: raise max_connections_per_address there.
max_connections = 512
max_connections_per_address = 64
# A new connection must send its first request within this many seconds.
first_request_timeout_s = 5
# GET /metrics needs an admin token, except from peers in these address ranges (CIDR, IPv4 or
# IPv6, e.g. ["127.0.0.1/32", "10.0.5.0/24", "fd00::/8"]): the Prometheus scraper's address.
metrics_allow = []
# Pages of these web origins (scheme://host[:port]) may use the browser session cookie for
# requests that change state and for the event stream, besides the server's own origin (e.g. a
# CRM embedding the client, or the public https:// origin behind a TLS-terminating proxy).
allowed_origins = []
# HTTPS (and WSS for /api/v1/events) on `listen`: PEM certificate chain and unencrypted key.
# [server.tls]
# cert_file = "/etc/callbridge/tls/cert.pem"
# key_file = "/etc/callbridge/tls/key.pem"

[csta]
# The CSTA XML server (ECMA-269/323; docs/csta.md): CSTA clients and CSTA TAPI providers monitor
# and control the tenants' phones. Off unless `listen` is set (HOST:PORT; port 0 = any free port).
# listen = "0.0.0.0:1040"
# Connections at once, one message's size (bytes, header included), and requests per second of
# one client (more are answered with a CSTA error, never queued).
max_clients = 256
max_frame_bytes = 65536
requests_per_second = 50
# A connection must have started its session (and logged in) within this many seconds.
session_start_timeout_s = 10
# Session starts accepted: "ecma354" (StartApplicationSession) and "osv" (OpenScape Voice style:
# SystemStatus, SystemStatusResponse, SystemRegister). Clients log in with a user's API token
# (cbt_...; they see and act on what that user may) or with a [[csta.client]] below.
start_styles = ["ecma354", "osv"]
# TLS on `listen`, as [server.tls]:
# [csta.tls]
# cert_file = "/etc/callbridge/tls/cert.pem"
# key_file = "/etc/callbridge/tls/key.pem"
# An application that acts for a whole tenant (every line and call): it logs in with `name` and
# the secret, kept in a file (first line) or given as its SHA-256 hex digest
# (the key secret_sha256, from: printf %s SECRET | sha256sum) instead of secret_file.
# [[csta.client]]
# name = "tapi"
# secret_file = "/etc/callbridge/csta-tapi.secret"
# tenant = "default"

[relay]
# This callbridged as an edge of a cloud relay (callbridge-relay, docs/relay.md): it connects out,
# nothing connects in. Browsers paired with it work through the relay, end-to-end encrypted.
# Off unless `url` is set. The relay's operator runs `callbridge-relay edge add NAME`, which prints
# the one-time join token; edge_id is that NAME.
# url = "wss://relay.example.com"
# Other nodes of the relay, tried in turn when the one in use fails (no load balancer in front).
# fallback_urls = ["wss://relay-2.example.com"]
# edge_id = "acme"
# join_token = "..."
# The edge's Ed25519 key (created on first start, mode 0600); default <data_dir>/relay-edge.key.
# Cluster mode: required, the same file on every node.
# edge_key_file = "/var/lib/callbridge/relay-edge.key"
# PEM CA certificates to verify the relay's certificate (default: the system's).
# ca_file = "/etc/callbridge/relay-ca.pem"
# Privacy mode, this edge's admin's choice (the relay's operator cannot change it): "strict" = the
# relay gets ciphertext only; "relaxed" = it is also sent each live call's state, remote number,
# contact name and devices in plaintext, which its diagnostics show for this edge (kept in its
# memory until the call ends).
privacy = "strict"
# Frames kept for replay after a reconnect (count, bytes).
outbox_frames = 4096
outbox_bytes = 4194304

[journal]
# Drop entries whose remote is another internal extension (direction "internal").
exclude_internal = false
# Numbers never journaled, as party or remote (e.g. a door intercom): ["150", "+4989123456"].
excluded_numbers = []
# Delete entries that ended more than this many days ago (checked hourly). 0 = keep forever.
retention_days = 0
# "normal": a written entry survives a crash of callbridged (kill -9); "full": also an OS
# crash or power loss (one fsync per write batch). SQLite only (PostgreSQL: the server's
# synchronous_commit decides).
synchronous = "normal"
# "sqlite": one file, DATA_DIR/journal.db. "postgres": a PostgreSQL database (several callbridged
# nodes can share it; the tables are created at start), then also set `dsn` (libpq string or URI).
# The built-in contact store lives in the same place (DATA_DIR/contacts.db, or that database):
#   dsn = "host=db.example.com dbname=callbridge user=callbridge password=secret"
# backend = "sqlite"

[identity]
# Users, API tokens, browser sessions, tenant and user settings, statuses, AnyDevice devices and
# the operator's tenants. "sqlite": DATA_DIR/identity.db. "postgres": a PostgreSQL database (then
# also `dsn`, as for the journal); the tables are created at start.
# backend = "sqlite"

[audit]
# The audit log (DATA_DIR/audit.db): sign-ins, tokens, users, settings, call-control commands, tenants.
# Records older than this many days are deleted (at start and hourly). 0 = keep forever.
retention_days = 365
# "sqlite": DATA_DIR/audit.db. "postgres": a PostgreSQL database (then also `dsn`).
# backend = "sqlite"

[trace]
# The admins' explain traces ("why did Anna get no pop?": GET /api/v1/calls/{id}/trace,
# `callbridge explain`). Per tenant: at most this many calls (the oldest go first) ...
max_calls = 200
# ... each kept this many minutes after its last step (a live call with no new step for that long
# goes too, as does the oldest call when more than max_calls arrive).
retention_minutes = 30

[webhooks]
# Outgoing webhooks that tenant admins register (/api/v1/webhooks; docs/webhooks.md). Deliveries
# never reach loopback, private (RFC 1918, ULA), shared (CGNAT), link-local, cloud metadata,
# unspecified, multicast or reserved addresses, checked after DNS on every connection and redirect,
# unless a range is listed here, e.g. allow = ["10.20.0.0/16"] for a CRM on the office network.
allow = []
# Plain http:// hook URLs (https:// is always verified against the system's CA certificates).
allow_http = false
# A PEM file of CA certificates to verify receivers with instead of the system's (a CRM whose
# certificate comes from the company's own CA); "" = the system's. Read at start.
ca_file = ""
connect_timeout_s = 5
timeout_s = 10
# A delivery that fails with 5xx, 408, 429, a timeout or a connection error is retried with
# exponential backoff and jitter for this long, then given up (the delivery log says why).
retry_for_s = 3600
# Events waiting for the delivery thread; beyond this they are dropped, counted and logged.
queue = 10000
# Delivery log rows older than this are deleted (each hook also keeps at most its newest 1000).
log_retention_days = 30
# "sqlite": DATA_DIR/webhooks.db. "postgres": a PostgreSQL database (then also `dsn`).
# backend = "sqlite"

# Cluster mode (docs/cluster.md): several callbridged nodes sharing one PostgreSQL database and
# one NATS JetStream. With a [cluster] table, every store above defaults to backend "postgres" on
# `postgres` (a store's own dsn wins) and one set to "sqlite" is refused: nothing tenant-scoped
# stays in a node's data dir. All three keys are required:
#   [cluster]
#   node = "cb1"                                   # this node's name, unique in the cluster
#   nats_url = "nats://10.0.0.5:4222"              # several: comma-separated
#   postgres = "host=db.example.com dbname=callbridge user=callbridge"

# One PBX link (Asterisk AMI). Use [[pbx]] once per PBX for several; without any, callbridged
# runs with no PBX (API only). Asterisk side: manager.conf user with read=all, write=originate,call.
# [[pbx]]
# name = "pbx"                 # unique name used in logs and diagnostics
# driver = "ami"               # the PBX protocol; "ami" (Asterisk Manager Interface) is the only one
# host = "pbx.example.com"     # required
# port = 5038
# user = "callbridge"          # required
# secret = "change-me"         # required
# auth = "md5"                 # "md5" (challenge, secret never sent) or "plain"
# keepalive_s = 30             # Ping interval, 0 = off
# connect_timeout_s = 10
# reconnect_min_ms = 500       # reconnect backoff doubles from min to max
# reconnect_max_ms = 30000
# record_dir = ""              # record the raw AMI traffic here ("" = off)
# tenant = "default"
# With driver = "csta" (a CSTA XML link, docs/csta.md "Driver"): host, port (default 1040), user,
# secret, keepalive_s, connect_timeout_s, reconnect_* as above, and
# tls = false                  # TLS on the link (tls_ca_file = "", tls_verify = true)
# session_start = "ecma354"    # "ecma354" (StartApplicationSession) or "osv" (OpenScape Voice style)
# edition = 4                  # ECMA-323 edition 3..6 of the requests
# framing = "header"           # "header" (8-byte header) or "headerless"
# devices = ["100-199"]        # lines to monitor; empty: every station the switch lists

# Dialing plan of a tenant ("default" unless a link says otherwise), used to turn numbers into
# E.164. Strings of digits.
# [tenant.default.dialing]
# country_code = "49"
# area_code = "89"             # without the trunk prefix
# base_number = "123456"       # the company's main number; extensions are appended (DID)
# extension_length = 3
# outside_prefix = "0"         # what users dial for an outside line ("" = nothing)
# trunk_prefix = "0"
# international_prefix = "00"
# region = "DE"                # "" = the main region of country_code
# extension_ranges = []        # e.g. ["100-199"]: extensions by range instead of by length
# pbx_reports_outside_prefix = false  # caller ids arrive as "0" + national number

# Call control of a tenant (docs/call-control.md).
# [tenant.default.call_control]
# context = "from-internal"          # dialplan context for make call, transfers, deflect
# conference_context = ""            # "" = no conference; else its dialplan runs ConfBridge(${EXTEN})
# click_to_dial_caller_id = ""       # what the own phone shows; "" = the destination
# office_number = ""                 # AnyDevice: what the mobile shows
# any_device = {}                    # e.g. { "100" = "+491701234567" }: call the mobile first
#                                    # (for users who never chose an active device)
# parking_lot = "default"            # park puts calls into this res_parking lot (docs/parking.md)
# max_trunk_channels = 0             # trunk (outside) channels the tenant may use at once; 0 = no
#                                    # limit. Make call beyond it: 409 no-trunk-capacity
# atxfer_swap = "*4"                 # features.conf atxferswap: alternate within a consultation
# atxfer_threeway = "*3"             # features.conf atxferthreeway: conference within a consultation
#
# AnyDevice: which numbers users may add as their own external devices (docs/call-control.md).
# Patterns on E.164 numbers: digits, X = any digit, a trailing * = any further digits.
# [tenant.default.any_device]
# allow = []                         # e.g. ["+4915*", "+4916*", "+4917*"]: German mobiles only
# deny = []                          # e.g. ["+49900*", "+49137*"]: no premium numbers; checked first
# max_devices = 5                    # external devices per user, 1..20
#
# Phones that accept remote answer/hold by SIP NOTIFY (Yealink, Snom: "talk"/"hold"):
# [[tenant.default.phones]]
# devices = ["1*"]                   # "100", a prefix pattern "1*", or "*"
# answer_event = "talk"
# hold_event = "hold"
# retrieve_event = "talk"

# The built-in contact store (DATA_DIR/contacts.db, `callbridge contacts import`).
# [directory.store]
# memory_index = true         # answer lookups from memory (~85 bytes per number; loaded at start)

# Caller names from an LDAP directory (once per directory). Every lookup asks the store and
# every source of the call's tenant in parallel; matches are ranked by priority (lower first).
# [[directory.ldap]]
# name = "ldap"                # unique; shown as the contact's "source"
# tenant = "default"           # only this tenant's calls and lookups ask it
# uri = "ldap://ldap.example.com"   # required; ldaps:// for TLS
# bind_dn = "cn=callbridge,dc=example,dc=com"   # "" = anonymous
# bind_password = "change-me"
# base_dn = "ou=people,dc=example,dc=com"       # required
# filter = "(&(objectClass=inetOrgPerson)(|(telephoneNumber={e164})(mobile={e164})(homePhone={e164})(facsimileTelephoneNumber={e164})))"
# name_attributes = ["displayName", "cn"]      # first present wins, else given + family name
# given_name_attribute = "givenName"
# family_name_attribute = "sn"
# company_attribute = "o"
# number_attributes = { telephoneNumber = "work", mobile = "mobile", homePhone = "home", facsimileTelephoneNumber = "fax" }
# size_limit = 50              # entries per lookup
# timeout_ms = 800             # a slower answer is left out (the call shows the others)
# priority = 20                # the built-in store is 10

# Caller names from a CRM's HTTP JSON lookup (once per endpoint). {e164} is the caller as
# %2B4989123456, {digits} without the plus.
# [[directory.http]]
# name = "crm"
# tenant = "default"
# url = "https://crm.example.com/api/lookup?number={e164}"   # required
# headers = { Authorization = "Bearer change-me" }
# results_path = "data.contacts"  # dotted path to the array (or object) of results; "" = root
# id_field = "id"
# name_field = "name"
# company_field = "company.name"
# label_field = ""
# kind_field = ""              # a value "company"/"organization" marks a company
# search_url = ""              # name search for the dial box and contacts page, e.g.
#                              # "https://crm.example.com/api/contacts?q={text}&limit={limit}"; "" = none
# numbers_field = "numbers"    # in a search result: a number, or an array of numbers or of objects
# number_field = "number"      #   ... with the number here
# number_label_field = "label" #   ... and its label here
# tls_verify = true
# ca_file = ""                 # PEM; "" = the system's trust store
# timeout_ms = 2000
# priority = 30

# Demo mode (also --demo): a built-in PBX simulator with live demo calls, demo contacts, the demo
# users of team Sales; the start-up output prints sign-in links for Anna (extension 100, whose
# phone rings within seconds) and the admin.
# [demo]
# enabled = false
# speed = 1                    # simulated seconds per real second
# calls_per_minute = 4
# seed = 0                     # 0 = different traffic each start
)toml";
}

}  // namespace callbridge::app
