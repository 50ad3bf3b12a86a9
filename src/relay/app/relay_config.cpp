#include "relay/app/relay_config.hpp"

#include <toml++/toml.h>

#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

namespace callbridge::relay::app {
namespace {

using base::Error;

constexpr std::string_view kSample = R"(# callbridge-relay configuration (docs/relay.md). Every key is optional.

# This node's name in logs, metrics and between nodes (default: the host name).
# name = "relay-1"
# HOST:PORT of the one TLS port (WebSocket for edges and clients, HTTP for health and the web client).
listen = "0.0.0.0:8443"
# The edge registry (callbridge-relay edge add NAME): join-token digests and edge public keys.
registry = "/var/lib/callbridge-relay/edges.json"
# The web client's files (default: the installed client).
# web_root = "/usr/share/callbridge/web"
log_level = "info"

[tls]
cert_file = "/etc/callbridge-relay/cert.pem"
key_file = "/etc/callbridge-relay/key.pem"

[cluster]
# NATS server of the relay nodes behind one name (nats://HOST:PORT); empty = a single node.
nats_url = ""

[limits]
# One data frame, header included (bytes); larger: closed with 1009.
max_frame_bytes = 65536
# Client connections on this node, and of one client id.
max_clients = 10000
max_connections_per_client = 4
# Messages a client may send per second (sustained) and at once (burst); beyond: closed, counted.
client_frames_per_second = 100
client_burst = 200
# Unsent bytes towards one client / one edge; a peer that does not read beyond it is dropped.
client_queue_bytes = 1048576
edge_queue_bytes = 16777216
# TCP connections on this node.
max_connections = 20000

[diagnostics]
# A file holding the bearer token (at least 16 characters) of GET /v1/diagnostics/EDGE: what an edge
# whose admin relaxed its privacy ([relay] privacy = "relaxed" in its callbridged configuration)
# shows the relay's operator (its connection, clients and live calls). Edges keep privacy strict
# unless their admin relaxes it; nothing here can. Empty: the endpoint is off.
# token_file = "/etc/callbridge-relay/diagnostics.token"

[window]
# Recent edge-to-client frames kept per edge for client resume: count, bytes, age (seconds).
frames = 4096
bytes = 4194304
max_age_s = 300
# A window without its edge or clients on this node is dropped after this many seconds.
idle_s = 120
)";

Error bad(std::string_view source, std::string_view key, std::string_view expected) {
  return Error::invalid_argument(std::string(source) + ": " + std::string(key) + ": expected " + std::string(expected));
}

class Reader {
 public:
  Reader(const toml::table& t, std::string prefix, std::string_view source)
      : t_(t), prefix_(std::move(prefix)), source_(source) {}
  std::string key(std::string_view k) const { return prefix_.empty() ? std::string(k) : prefix_ + "." + std::string(k); }
  base::Status string(std::string_view k, std::string& out) {
    seen_.insert(std::string(k));
    if (auto* n = t_.get(k)) {
      auto s = n->value<std::string>();
      if (!s) return base::fail(bad(source_, key(k), "a string"));
      out = *s;
    }
    return {};
  }
  template <typename Int>
  base::Status integer(std::string_view k, Int& out, std::int64_t min, std::int64_t max) {
    seen_.insert(std::string(k));
    if (auto* n = t_.get(k)) {
      auto v = n->value<std::int64_t>();
      if (!v || *v < min || *v > max)
        return base::fail(bad(source_, key(k), "an integer " + std::to_string(min) + ".." + std::to_string(max)));
      out = static_cast<Int>(*v);
    }
    return {};
  }
  base::Status number(std::string_view k, double& out, double min, double max) {
    seen_.insert(std::string(k));
    if (auto* n = t_.get(k)) {
      auto v = n->value<double>();
      if (!v || *v < min || *v > max) return base::fail(bad(source_, key(k), "a number"));
      out = *v;
    }
    return {};
  }
  const toml::table* table(std::string_view k) {
    seen_.insert(std::string(k));
    return t_.get_as<toml::table>(k);
  }
  base::Status finish() const {
    for (const auto& [k, v] : t_) {
      if (!seen_.contains(std::string(k.str()))) {
        return base::fail(Error::invalid_argument(std::string(source_) + ": " + key(k.str()) + ": unknown key"));
      }
    }
    return {};
  }

 private:
  const toml::table& t_;
  std::string prefix_;
  std::string_view source_;
  std::set<std::string> seen_;
};

#define RELAY_TRY(expr)             \
  do {                              \
    if (auto st_ = (expr); !st_)    \
      return base::fail(st_.error()); \
  } while (0)

}  // namespace

std::string_view sample_relay_config() { return kSample; }

base::Status apply_listen(RelayConfig& c, std::string_view listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    return base::fail(Error::invalid_argument("listen: expected HOST:PORT, got \"" + std::string(listen) + "\""));
  std::string host(listen.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  const auto p = listen.substr(colon + 1);
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (ec != std::errc() || end != p.data() + p.size() || port > 65535)
    return base::fail(Error::invalid_argument("listen: expected HOST:PORT, got \"" + std::string(listen) + "\""));
  c.listen = std::string(listen);
  c.server.host = host;
  c.server.port = static_cast<std::uint16_t>(port);
  return {};
}

base::Result<RelayConfig> parse_relay_config(std::string_view text, std::string_view source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return base::fail(Error::invalid_argument(std::string(source) + " line " + std::to_string(e.source().begin.line) +
                                              ": " + std::string(e.description())));
  }
  RelayConfig c;
  Reader r(root, "", source);
  RELAY_TRY(r.string("name", c.name));
  RELAY_TRY(r.string("listen", c.listen));
  RELAY_TRY(r.string("registry", c.registry));
  RELAY_TRY(r.string("web_root", c.web_root));
  RELAY_TRY(r.string("log_level", c.log_level));
  if (auto* t = r.table("tls")) {
    Reader tr(*t, "tls", source);
    RELAY_TRY(tr.string("cert_file", c.server.tls_cert_file));
    RELAY_TRY(tr.string("key_file", c.server.tls_key_file));
    RELAY_TRY(tr.finish());
  }
  if (auto* t = r.table("cluster")) {
    Reader cr(*t, "cluster", source);
    RELAY_TRY(cr.string("nats_url", c.nats_url));
    RELAY_TRY(cr.finish());
  }
  if (auto* t = r.table("limits")) {
    Reader lr(*t, "limits", source);
    RELAY_TRY(lr.integer("max_frame_bytes", c.router.max_frame_bytes, 1024, 16 << 20));
    RELAY_TRY(lr.integer("max_clients", c.router.max_clients, 1, 10'000'000));
    RELAY_TRY(lr.integer("max_connections_per_client", c.router.max_connections_per_client, 1, 1000));
    RELAY_TRY(lr.number("client_frames_per_second", c.router.client_frames_per_second, 0.1, 1e6));
    RELAY_TRY(lr.number("client_burst", c.router.client_burst, 1, 1e6));
    RELAY_TRY(lr.integer("client_queue_bytes", c.server.client_queue_bytes, 65536, 1LL << 30));
    RELAY_TRY(lr.integer("edge_queue_bytes", c.server.edge_queue_bytes, 65536, 1LL << 32));
    RELAY_TRY(lr.integer("max_connections", c.server.max_connections, 1, 10'000'000));
    RELAY_TRY(lr.finish());
  }
  if (auto* t = r.table("diagnostics")) {
    Reader dr(*t, "diagnostics", source);
    RELAY_TRY(dr.string("token_file", c.diagnostics_token_file));
    RELAY_TRY(dr.finish());
  }
  if (auto* t = r.table("window")) {
    Reader wr(*t, "window", source);
    RELAY_TRY(wr.integer("frames", c.router.window.max_frames, 1, 10'000'000));
    RELAY_TRY(wr.integer("bytes", c.router.window.max_bytes, 1024, 1LL << 34));
    std::int64_t age = c.router.window.max_age.count(), idle = c.router.window_idle.count();
    RELAY_TRY(wr.integer("max_age_s", age, 1, 86400));
    RELAY_TRY(wr.integer("idle_s", idle, 1, 86400));
    c.router.window.max_age = std::chrono::seconds(age);
    c.router.window_idle = std::chrono::seconds(idle);
    RELAY_TRY(wr.finish());
  }
  RELAY_TRY(r.finish());
  if (c.nats_url.size() && !c.nats_url.starts_with("nats://") && !c.nats_url.starts_with("tls://"))
    return base::fail(bad(source, "cluster.nats_url", "nats://HOST:PORT"));
  RELAY_TRY(apply_listen(c, c.listen));
  return c;
}

base::Result<RelayConfig> load_relay_config(const std::string& path) {
  if (path.empty()) return parse_relay_config("", "(defaults)");
  std::ifstream in(path, std::ios::binary);
  if (!in) return base::fail(Error::io(path + ": cannot be read"));
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > (1 << 20)) return base::fail(Error::invalid_argument(path + ": larger than 1 MiB"));
  return parse_relay_config(text.str(), path);
}

}  // namespace callbridge::relay::app
