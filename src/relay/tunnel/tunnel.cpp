#include "relay/tunnel/tunnel.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cstring>

#include "base/json_text.hpp"
#include <spdlog/spdlog.h>

namespace callbridge::relay::tunnel {
namespace json = boost::json;

namespace {

// The first plaintext byte of every sealed frame: a whole message, or a part of one.
constexpr std::uint8_t kWhole = 0, kPart = 1, kLastPart = 2;

// Request headers a client may send through (names lower-case); Host, Origin and Cookie are the
// tunnel's own.
bool forwarded_request_header(std::string_view n) {
  return n == "authorization" || n == "content-type" || n == "accept" || n == "accept-language" ||
         n == "if-none-match";
}
bool forwarded_response_header(std::string_view n) {
  return n == "content-type" || n == "etag" || n == "retry-after" || n == "content-disposition" ||
         n == "cache-control" || n == "location";
}

bool valid_method(std::string_view m) {
  return m == "GET" || m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE" || m == "HEAD";
}

// A path of the API (not /metrics or the static files), printable, without a fragment.
bool valid_api_target(std::string_view t) {
  if (!t.starts_with("/api/") || t.size() > 4096) return false;
  for (unsigned char c : t)
    if (c <= ' ' || c == 0x7f || c == '#') return false;
  return true;
}

std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

}  // namespace

struct Tunnel::Client {
  e2e::Session session;
  std::string device_id;
  ports::Key32 client_pk{};
  std::string parts;  // a message arriving in parts
  std::size_t in_flight = 0;
  std::map<std::int64_t, std::unique_ptr<LocalApi::Stream>> streams;
  std::map<std::string, std::string> cookies;  // the API's session cookie for this client
  std::map<std::string, std::uint64_t> call_tags;  // call id -> tag
  bool connected = true;
  base::Timestamp seen{};
  explicit Client(e2e::Session s) : session(std::move(s)) {}
};

Tunnel::Tunnel(edge::EdgeLink& link, ports::PairedDeviceStore& devices, LocalApi& api, ports::EdgeKeyPair key,
               TunnelOptions options, const base::Clock& clock)
    : link_(link), devices_(devices), api_(api), key_(key), options_(std::move(options)), clock_(clock) {
  CB_CHECK(e2e::ready(), "libsodium init");
  CB_CHECK(e2e::valid_edge_id(options_.edge_id), "tunnel: invalid edge id");
  CB_CHECK(options_.max_frame_bytes > wire::kHeaderSize + e2e::kSealOverhead + 64, "tunnel: max_frame_bytes too small");
}

Tunnel::~Tunnel() {
  *alive_ = false;
  for (auto& [id, c] : clients_)
    for (auto& [sid, s] : c->streams) s->close();
}

void Tunnel::attach() {
  edge::EdgeLink::Handlers h;
  h.client_connected = [this](const wire::ClientId& id) {
    if (auto it = clients_.find(id); it != clients_.end()) {
      it->second->connected = true;
      it->second->seen = clock_.now();
    }
  };
  h.client_gone = [this](const wire::ClientId& id) {
    if (auto it = clients_.find(id); it != clients_.end()) {
      it->second->connected = false;
      it->second->seen = clock_.now();
    }
  };
  h.frame = [this](const wire::FrameHeader& hd, std::span<const std::uint8_t, wire::kHeaderSize> hb,
                   std::string_view payload) { on_frame(hd, hb, payload); };
  h.link = [](bool) {};
  link_.set_handlers(std::move(h));
}

Tunnel::Stats Tunnel::stats() const {
  Stats s;
  s.pairings = stats_.pairings;
  s.pairing_refused = stats_.pairing_refused;
  s.handshakes = stats_.handshakes;
  s.handshake_refused = stats_.handshake_refused;
  s.frames_in = stats_.frames_in;
  s.frames_out = stats_.frames_out;
  s.frames_rejected = stats_.frames_rejected;
  s.clients_dropped = stats_.clients_dropped;
  s.requests = stats_.requests;
  s.streams_opened = stats_.streams_opened;
  s.sessions = stats_.sessions;
  return s;
}

void Tunnel::send_handshake(const wire::ClientId& id, const e2e::Handshake& msg) {
  const std::string payload = e2e::encode(msg);
  const auto h = link_.next_header(id, wire::kFlagHandshake, 0, static_cast<std::uint32_t>(payload.size()));
  link_.send(h, payload);
  ++stats_.frames_out;
}

void Tunnel::drop(const wire::ClientId& id, std::string reason) {
  ++stats_.clients_dropped;
  spdlog::warn("relay tunnel: dropping client {}: {}", wire::client_id_hex(id), reason);
  end_session(id);
  link_.drop_client(id, std::move(reason));
}

void Tunnel::end_session(const wire::ClientId& id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  for (auto& [sid, s] : it->second->streams) s->close();
  clients_.erase(it);
  stats_.sessions = clients_.size();
}

void Tunnel::on_frame(const wire::FrameHeader& h, std::span<const std::uint8_t, wire::kHeaderSize> hb,
                      std::string_view payload) {
  ++stats_.frames_in;
  if (h.kind != wire::Kind::client_to_edge) return;
  if (h.handshake()) return on_handshake(h, payload);
  auto it = clients_.find(h.client);
  if (it == clients_.end()) {
    // Not an error of the client: the edge restarted or forgot it. It answers with a new hello.
    send_handshake(h.client, e2e::RejectMsg{e2e::RejectCode::no_session});
    return;
  }
  Client& c = *it->second;
  auto plain = c.session.open(hb, h.seq, payload);
  if (!plain || plain->empty()) {
    ++stats_.frames_rejected;
    return drop(h.client, plain ? "empty message" : plain.error().message());
  }
  c.seen = clock_.now();
  const std::uint8_t kind = static_cast<std::uint8_t>((*plain)[0]);
  const std::string_view body = std::string_view(*plain).substr(1);
  if (kind > kLastPart || (kind == kWhole && !c.parts.empty())) {
    ++stats_.frames_rejected;
    return drop(h.client, "bad message part");
  }
  if (kind == kWhole) return on_message(h.client, c, body);
  if (c.parts.size() + body.size() > options_.max_message_bytes) {
    ++stats_.frames_rejected;
    return drop(h.client, "message over " + std::to_string(options_.max_message_bytes) + " bytes");
  }
  c.parts.append(body);
  if (kind == kLastPart) {
    const std::string whole = std::move(c.parts);
    c.parts.clear();
    on_message(h.client, c, whole);
  }
}

void Tunnel::on_handshake(const wire::FrameHeader& h, std::string_view payload) {
  auto msg = e2e::decode_handshake(wire::as_bytes(payload));
  const auto now = clock_.now();
  const e2e::KeyPair edge{key_.pk, key_.sk};
  auto refuse = [&](e2e::RejectCode code, std::string why) {
    ++stats_.handshake_refused;
    spdlog::warn("relay tunnel: handshake of client {} refused ({}): {}", wire::client_id_hex(h.client),
                   e2e::to_string(code), why);
    send_handshake(h.client, e2e::RejectMsg{code});
  };
  if (!msg) return refuse(e2e::RejectCode::malformed, msg.error().message());
  constexpr std::uint32_t kWelcomeBytes = 1 + 4 * 32;
  if (const auto* p = std::get_if<e2e::PairMsg>(&*msg)) {
    if (e2e::client_id(p->client_pk) != h.client) return refuse(e2e::RejectCode::malformed, "client id is not the key's");
    auto pending = devices_.find_pending(p->pair_id, now);
    if (!pending || !*pending) {
      ++stats_.pairing_refused;
      return refuse(e2e::RejectCode::bad_pairing, pending ? "no such pending pairing" : pending.error().message());
    }
    const auto wh = link_.next_header(h.client, wire::kFlagHandshake, 0, kWelcomeBytes + 32);
    auto acc = e2e::edge_accept_pair(options_.edge_id, edge, (*pending)->secret, *p, h.seq, wh.seq);
    if (!acc) {
      ++stats_.pairing_refused;
      return refuse(e2e::RejectCode::bad_pairing, acc.error().message());
    }
    if (auto st = devices_.complete((*pending)->device.id, p->client_pk, now); !st) {
      ++stats_.pairing_refused;
      return refuse(e2e::RejectCode::bad_pairing, st.error().message());
    }
    ++stats_.pairings;
    spdlog::info("relay tunnel: device {} ({}) of tenant {} paired", (*pending)->device.id,
                   (*pending)->device.label, (*pending)->device.tenant.str());
    end_session(h.client);
    auto c = std::make_unique<Client>(acc->session);
    c->device_id = (*pending)->device.id;
    c->client_pk = p->client_pk;
    c->seen = now;
    clients_[h.client] = std::move(c);
    stats_.sessions = clients_.size();
    const std::string w = e2e::encode(acc->welcome);
    link_.send(wh, w);
    ++stats_.frames_out;
  } else if (const auto* hello = std::get_if<e2e::HelloMsg>(&*msg)) {
    if (e2e::client_id(hello->client_pk) != h.client)
      return refuse(e2e::RejectCode::malformed, "client id is not the key's");
    auto dev = devices_.find_paired(hello->client_pk);
    if (!dev || !*dev) return refuse(e2e::RejectCode::not_paired, dev ? "not paired or revoked" : dev.error().message());
    const auto wh = link_.next_header(h.client, wire::kFlagHandshake, 0, kWelcomeBytes);
    auto acc = e2e::edge_accept_hello(options_.edge_id, edge, *hello, h.seq, wh.seq);
    if (!acc) return refuse(e2e::RejectCode::malformed, acc.error().message());
    ++stats_.handshakes;
    (void)devices_.touch((*dev)->id, now);
    // A new session of the same client replaces the old one, but the API's cookie survives (a reload).
    std::map<std::string, std::string> cookies;
    if (auto it = clients_.find(h.client); it != clients_.end()) cookies = std::move(it->second->cookies);
    end_session(h.client);
    if (clients_.size() >= options_.max_sessions) {
      auto oldest = std::min_element(clients_.begin(), clients_.end(),
                                     [](const auto& a, const auto& b) { return a.second->seen < b.second->seen; });
      end_session(oldest->first);
    }
    auto c = std::make_unique<Client>(acc->session);
    c->device_id = (*dev)->id;
    c->client_pk = hello->client_pk;
    c->cookies = std::move(cookies);
    c->seen = now;
    clients_[h.client] = std::move(c);
    stats_.sessions = clients_.size();
    link_.send(wh, e2e::encode(acc->welcome));
    ++stats_.frames_out;
  } else {
    refuse(e2e::RejectCode::malformed, "not a client handshake");
  }
}

void Tunnel::send_message(const wire::ClientId& id, const std::string& text, std::uint64_t call_tag, bool call_end) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  Client& c = *it->second;
  const std::size_t room = options_.max_frame_bytes - wire::kHeaderSize - e2e::kSealOverhead - 1;
  std::size_t off = 0;
  do {
    const std::size_t n = std::min(room, text.size() - off);
    const bool last = off + n == text.size();
    std::string plain;
    plain.reserve(n + 1);
    plain.push_back(static_cast<char>(off == 0 && last ? kWhole : last ? kLastPart : kPart));
    plain.append(text, off, n);
    const std::uint16_t flags = last && call_end ? wire::kFlagCallEnd : 0;
    const auto h = link_.next_header(id, flags, call_tag, static_cast<std::uint32_t>(plain.size() + e2e::kSealOverhead));
    const auto hb = wire::encode_header(h);
    auto sealed = c.session.seal(hb, h.seq, plain);
    CB_CHECK(sealed.has_value(), "tunnel: seal of a fresh seq");
    link_.send(h, std::move(*sealed));
    ++stats_.frames_out;
    off += n;
  } while (off < text.size());
}

void Tunnel::send_error(const wire::ClientId& id, std::int64_t rid, int status, std::string_view code,
                        std::string_view detail) {
  std::string problem = "{\"type\":";
  base::append_json_string(problem, "https://callbridge.dev/problems/" + std::string(code));
  problem += ",\"title\":";
  base::append_json_string(problem, code);
  problem += ",\"status\":" + std::to_string(status) + ",\"detail\":";
  base::append_json_string(problem, detail);
  problem += "}";
  json::object o{{"t", "res"}, {"id", rid}, {"status", status},
                 {"headers", json::object{{"content-type", "application/problem+json"}}}, {"body", problem}};
  send_message(id, json::serialize(o));
}

void Tunnel::on_message(const wire::ClientId& id, Client& c, std::string_view text) {
  std::error_code ec;
  json::value v = json::parse(text, ec);
  const json::object* o = v.is_object() ? &v.as_object() : nullptr;
  const json::value* t = o ? o->if_contains("t") : nullptr;
  const json::value* idv = o ? o->if_contains("id") : nullptr;
  if (ec || !t || !t->is_string() || !idv || !idv->is_int64()) {
    ++stats_.frames_rejected;
    return drop(id, "bad message: want a JSON object with \"t\" and an integer \"id\"");
  }
  const std::int64_t rid = idv->as_int64();
  const std::string_view type = t->as_string();
  auto str = [&](const char* k) -> std::optional<std::string> {
    const json::value* x = o->if_contains(k);
    if (!x) return std::string();
    if (!x->is_string()) return std::nullopt;
    return std::string(x->as_string());
  };
  auto headers = [&]() -> std::optional<Headers> {
    Headers out;
    const json::value* x = o->if_contains("headers");
    if (!x) return out;
    if (!x->is_object()) return std::nullopt;
    for (const auto& [k, hv] : x->as_object()) {
      if (!hv.is_string()) return std::nullopt;
      std::string name = lower(k);
      if (forwarded_request_header(name)) out.emplace_back(std::move(name), std::string(hv.as_string()));
    }
    return out;
  };
  if (type == "req") {
    auto method = str("method"), path = str("path"), body = str("body");
    auto hs = headers();
    if (!method || !path || !body || !hs) return send_error(id, rid, 400, "tunnel-bad-request", "method, path, body must be strings; headers an object of strings");
    if (!valid_method(*method)) return send_error(id, rid, 405, "tunnel-bad-method", "method " + method->substr(0, 16) + " is not tunnelled");
    if (!valid_api_target(*path)) return send_error(id, rid, 404, "tunnel-not-api", "only /api/... paths are tunnelled");
    handle_request(id, c, rid, ApiRequest{*method, *path, std::move(*hs), std::move(*body)});
  } else if (type == "sub") {
    auto path = str("path");
    auto hs = headers();
    if (!path || !hs || !path->starts_with("/api/v1/events") || !valid_api_target(*path))
      return send_error(id, rid, 400, "tunnel-bad-subscription", "path must be /api/v1/events?...");
    handle_subscribe(id, c, rid, *path, std::move(*hs));
  } else if (type == "unsub") {
    if (auto it = c.streams.find(rid); it != c.streams.end()) {
      it->second->close();
      c.streams.erase(it);
    }
  } else {
    ++stats_.frames_rejected;
    drop(id, "unknown message type");
  }
}

void Tunnel::handle_request(const wire::ClientId& id, Client& c, std::int64_t rid, ApiRequest req) {
  if (c.in_flight >= options_.max_requests_in_flight)
    return send_error(id, rid, 429, "tunnel-busy", "too many requests in flight");
  if (!c.cookies.empty()) {
    std::string cookie;
    for (const auto& [k, v] : c.cookies) cookie += (cookie.empty() ? "" : "; ") + k + "=" + v;
    req.headers.emplace_back("cookie", std::move(cookie));
  }
  ++c.in_flight;
  ++stats_.requests;
  api_.request(std::move(req), [this, alive = std::weak_ptr<bool>(alive_), id, rid](base::Result<ApiResponse> r) {
    if (alive.expired()) return;
    auto it = clients_.find(id);
    if (it == clients_.end()) return;
    Client& c = *it->second;
    if (c.in_flight) --c.in_flight;
    if (!r) return send_error(id, rid, 502, "tunnel-api-unreachable", r.error().message());
    if (r->body.size() > options_.max_message_bytes)
      return send_error(id, rid, 502, "tunnel-answer-too-large", "the answer exceeds the tunnel's message limit");
    json::object hs;
    for (const auto& [k, v] : r->headers) {
      if (k == "set-cookie") {
        // name=value; attributes... — kept here for this client, never passed on.
        const std::string_view sc = v;
        const auto eq = sc.find('='), semi = sc.find(';');
        if (eq == std::string_view::npos || (semi != std::string_view::npos && eq > semi)) continue;
        const std::string name(sc.substr(0, eq));
        const std::string value(sc.substr(eq + 1, semi == std::string_view::npos ? std::string_view::npos : semi - eq - 1));
        const bool expired = lower(sc).find("max-age=0") != std::string::npos || value.empty();
        if (expired) c.cookies.erase(name);
        else c.cookies[name] = value;
      } else if (forwarded_response_header(k)) {
        hs[k] = v;
      }
    }
    json::object o{{"t", "res"}, {"id", rid}, {"status", r->status}, {"headers", std::move(hs)}, {"body", r->body}};
    send_message(id, json::serialize(o));
  });
}

void Tunnel::handle_subscribe(const wire::ClientId& id, Client& c, std::int64_t rid, std::string target, Headers headers) {
  if (c.streams.contains(rid)) return send_error(id, rid, 409, "tunnel-duplicate-id", "stream id in use");
  if (c.streams.size() >= options_.max_streams)
    return send_error(id, rid, 429, "tunnel-busy", "too many event streams");
  if (!c.cookies.empty()) {
    std::string cookie;
    for (const auto& [k, v] : c.cookies) cookie += (cookie.empty() ? "" : "; ") + k + "=" + v;
    headers.emplace_back("cookie", std::move(cookie));
  }
  ++stats_.streams_opened;
  std::weak_ptr<bool> alive = alive_;
  auto stream = api_.subscribe(
      std::move(target), std::move(headers),
      [this, alive, id, rid]() {
        if (alive.expired()) return;
        json::object o{{"t", "open"}, {"id", rid}};
        send_message(id, json::serialize(o));
      },
      [this, alive, id, rid](std::string data) {
        if (!alive.expired()) forward_event(id, rid, std::move(data));
      },
      [this, alive, id, rid](int code, std::string reason) {
        if (alive.expired()) return;
        auto it = clients_.find(id);
        if (it == clients_.end()) return;
        it->second->streams.erase(rid);  // the stream object ends itself after on_close
        json::object o{{"t", "end"}, {"id", rid}, {"code", code}, {"reason", reason}};
        send_message(id, json::serialize(o));
      });
  if (stream) c.streams[rid] = std::move(stream);
}

// One event of the API's stream: its call's frames carry a tag, the frame that ends the call
// `call_end`, so the relay can forget the call's frames (docs/relay.md "Window").
void Tunnel::forward_event(const wire::ClientId& id, std::int64_t sid, std::string data) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  Client& c = *it->second;
  std::uint64_t tag = 0;
  bool end = false;
  std::error_code ec;
  json::value v = json::parse(data, ec);
  if (!ec && v.is_object()) {
    const auto& o = v.as_object();
    const json::value* type = o.if_contains("type");
    const json::value* call = o.if_contains("call");
    if (type && type->is_string() && type->as_string() == "call" && call && call->is_object()) {
      const json::value* cid = call->as_object().if_contains("id");
      if (cid && cid->is_string()) {
        const std::string key(cid->as_string());
        auto [t, fresh] = c.call_tags.try_emplace(key, 0);
        if (fresh) {
          e2e::Key r = e2e::new_secret();
          std::memcpy(&t->second, r.data(), sizeof t->second);
          t->second |= 1;  // never 0 (= no call)
        }
        tag = t->second;
        // The call ended when none of its connections is left in another state than null.
        const json::value* conns = call->as_object().if_contains("connections");
        end = true;
        if (conns && conns->is_array()) {
          for (const auto& cv : conns->as_array()) {
            const json::value* st = cv.is_object() ? cv.as_object().if_contains("state") : nullptr;
            if (!st || !st->is_string() || st->as_string() != "null") end = false;
          }
        }
        if (end) c.call_tags.erase(t);
      }
    }
  }
  json::object o{{"t", "ev"}, {"id", sid}, {"data", std::move(data)}};
  send_message(id, json::serialize(o), tag, end);
}

void Tunnel::tick() {
  const auto now = clock_.now();
  std::vector<wire::ClientId> gone;
  std::vector<wire::ClientId> revoked;
  for (const auto& [id, c] : clients_) {
    if (!c->connected && now - c->seen > options_.gone_grace) gone.push_back(id);
    auto dev = devices_.find_paired(c->client_pk);
    if (dev && !*dev) revoked.push_back(id);
  }
  for (const auto& id : gone) end_session(id);
  for (const auto& id : revoked) drop(id, "device revoked");
}

}  // namespace callbridge::relay::tunnel
