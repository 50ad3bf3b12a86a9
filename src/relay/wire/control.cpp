#include "relay/wire/control.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

namespace callbridge::relay::wire {
namespace json = boost::json;
namespace {

base::Error bad(std::string what) { return base::Error::protocol("control message: " + std::move(what)); }

base::Result<std::string> string_field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return base::fail(bad(fmt::format("\"{}\" must be a string", key)));
  return std::string(v->as_string());
}

base::Result<std::optional<bool>> optional_bool(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return std::optional<bool>{};
  if (!v->is_bool()) return base::fail(bad(fmt::format("\"{}\" must be true or false", key)));
  return std::optional<bool>(v->as_bool());
}

base::Result<ClientId> client_field(const json::object& o) {
  auto s = string_field(o, "client");
  if (!s) return base::fail(s.error());
  auto id = parse_client_id_hex(*s);
  if (!id) return base::fail(bad(id.error().message()));
  return *id;
}

base::Result<Control> parse_object(const json::object& o) {
  auto type = string_field(o, "type");
  if (!type) return base::fail(type.error());
  if (*type == "challenge") {
    auto nonce = string_field(o, "nonce");
    if (!nonce) return base::fail(nonce.error());
    auto node = string_field(o, "node");
    if (!node) return base::fail(node.error());
    return Challenge{*nonce, *node};
  }
  if (*type == "hello") {
    Hello h;
    for (auto [key, dst] : {std::pair{"edge", &h.edge}, {"pk", &h.pk}, {"sig", &h.sig}}) {
      auto v = string_field(o, key);
      if (!v) return base::fail(v.error());
      *dst = std::move(*v);
    }
    if (!valid_edge_id(h.edge)) return base::fail(bad("\"edge\" is not an edge id ([a-z0-9][a-z0-9-]{0,62})"));
    if (o.contains("join")) {
      auto join = string_field(o, "join");
      if (!join) return base::fail(join.error());
      h.join = std::move(*join);
    }
    if (o.contains("privacy")) {
      auto privacy = string_field(o, "privacy");
      if (!privacy) return base::fail(privacy.error());
      if (*privacy != kPrivacyStrict && *privacy != kPrivacyRelaxed)
        return base::fail(bad("\"privacy\" must be \"strict\" or \"relaxed\""));
      h.privacy = std::move(*privacy);
    }
    return h;
  }
  if (*type == "welcome") {
    Welcome w;
    auto node = string_field(o, "node");
    if (!node) return base::fail(node.error());
    w.node = std::move(*node);
    auto online = optional_bool(o, "edge_online");
    if (!online) return base::fail(online.error());
    auto gap = optional_bool(o, "gap");
    if (!gap) return base::fail(gap.error());
    w.edge_online = *online;
    w.gap = *gap;
    return w;
  }
  if (*type == "error") {
    auto code = string_field(o, "code");
    if (!code) return base::fail(code.error());
    auto message = string_field(o, "message");
    if (!message) return base::fail(message.error());
    return ErrorMessage{*code, *message};
  }
  if (*type == "client") {
    auto id = client_field(o);
    if (!id) return base::fail(id.error());
    auto state = string_field(o, "state");
    if (!state) return base::fail(state.error());
    if (*state != "connected" && *state != "gone") return base::fail(bad("\"state\" must be \"connected\" or \"gone\""));
    return ClientState{*id, *state == "connected"};
  }
  if (*type == "drop-client") {
    auto id = client_field(o);
    if (!id) return base::fail(id.error());
    std::string reason;
    if (o.contains("reason")) {
      auto r = string_field(o, "reason");
      if (!r) return base::fail(r.error());
      reason = std::move(*r);
    }
    return DropClient{*id, std::move(reason)};
  }
  if (*type == "edge") {
    auto state = string_field(o, "state");
    if (!state) return base::fail(state.error());
    if (*state != "online" && *state != "offline") return base::fail(bad("\"state\" must be \"online\" or \"offline\""));
    return EdgeState{*state == "online"};
  }
  if (*type == "call") {
    CallSummary c;
    for (auto [key, dst] : {std::pair{"call", &c.call}, {"state", &c.state}, {"tenant", &c.tenant},
                            {"number", &c.number}, {"name", &c.name}, {"devices", &c.devices}}) {
      auto v = string_field(o, key);
      if (!v) return base::fail(v.error());
      *dst = std::move(*v);
    }
    if (c.call.empty() || c.call.size() > 64) return base::fail(bad("\"call\" must have 1 to 64 characters"));
    if (c.state.empty() || c.state.size() > 32) return base::fail(bad("\"state\" must have 1 to 32 characters"));
    return c;
  }
  return base::fail(bad(fmt::format("unknown type \"{}\"", type->substr(0, 40))));
}

struct Renderer {
  json::object& o;
  void operator()(const Challenge& m) {
    o["type"] = "challenge";
    o["nonce"] = m.nonce;
    o["node"] = m.node;
  }
  void operator()(const Hello& m) {
    o["type"] = "hello";
    o["edge"] = m.edge;
    o["pk"] = m.pk;
    o["sig"] = m.sig;
    if (m.join) o["join"] = *m.join;
    if (m.privacy) o["privacy"] = *m.privacy;
  }
  void operator()(const Welcome& m) {
    o["type"] = "welcome";
    o["node"] = m.node;
    if (m.edge_online) o["edge_online"] = *m.edge_online;
    if (m.gap) o["gap"] = *m.gap;
  }
  void operator()(const ErrorMessage& m) {
    o["type"] = "error";
    o["code"] = m.code;
    o["message"] = m.message;
  }
  void operator()(const ClientState& m) {
    o["type"] = "client";
    o["client"] = client_id_hex(m.client);
    o["state"] = m.connected ? "connected" : "gone";
  }
  void operator()(const DropClient& m) {
    o["type"] = "drop-client";
    o["client"] = client_id_hex(m.client);
    o["reason"] = m.reason;
  }
  void operator()(const EdgeState& m) {
    o["type"] = "edge";
    o["state"] = m.online ? "online" : "offline";
  }
  void operator()(const CallSummary& m) {
    o["type"] = "call";
    o["call"] = m.call;
    o["state"] = m.state;
    o["tenant"] = m.tenant;
    o["number"] = m.number;
    o["name"] = m.name;
    o["devices"] = m.devices;
  }
};

}  // namespace

base::Result<Control> parse_control(std::string_view text) {
  if (text.size() > kMaxControlBytes) {
    return base::fail(bad(fmt::format("{} bytes exceed the limit of {} bytes", text.size(), kMaxControlBytes)));
  }
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 8;
  json::value v = json::parse(text, ec, {}, opts);
  if (ec) return base::fail(bad("not JSON: " + ec.message()));
  if (!v.is_object()) return base::fail(bad("not a JSON object"));
  return parse_object(v.as_object());
}

std::string render_control(const Control& message) {
  json::object o;
  std::visit(Renderer{o}, message);
  return json::serialize(o);
}

bool valid_edge_id(std::string_view id) {
  if (id.empty() || id.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(id[0])) return false;
  for (char c : id) {
    if (!alnum(c) && c != '-') return false;
  }
  return true;
}

}  // namespace callbridge::relay::wire
