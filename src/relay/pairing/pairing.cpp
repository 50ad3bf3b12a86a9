#include "relay/pairing/pairing.hpp"

#include "base/json_text.hpp"
#include "relay/e2e/e2e.hpp"

namespace callbridge::relay::pairing {

using base::Error;
using base::fail;

base::Result<std::string> link_base(std::string_view url) {
  std::string scheme;
  if (url.starts_with("wss://")) {
    scheme = "https://";
    url.remove_prefix(6);
  } else if (url.starts_with("ws://")) {
    scheme = "http://";
    url.remove_prefix(5);
  } else {
    return fail(Error::invalid_argument("relay url must start with wss:// (or ws:// for tests)"));
  }
  const std::string_view host = url.substr(0, url.find('/'));
  if (host.empty()) return fail(Error::invalid_argument("relay url has no host"));
  for (char c : host)
    if (c <= ' ' || c == '#' || c == '?' || c == '@' || c == '\\' || c == 0x7f)
      return fail(Error::invalid_argument("relay url: invalid host"));
  return scheme + std::string(host) + "/";
}

std::string fingerprint_text(const ports::Key32& edge_pk) {
  const std::string h = e2e::hex(e2e::fingerprint(edge_pk));
  std::string out;
  for (std::size_t i = 0; i < h.size(); i += 4) {
    if (i) out += ' ';
    out += h.substr(i, 4);
  }
  return out;
}

bool valid_device_id(std::string_view id) {
  if (id.size() != 16) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

base::Result<NewPairing> create(ports::PairedDeviceStore& store, const base::TenantId& tenant, std::string label,
                                std::string created_by, std::string_view edge_id, std::string_view relay_url,
                                base::Timestamp now, std::chrono::seconds ttl) {
  if (!e2e::ready()) return fail(Error::internal("libsodium cannot initialize"));
  if (!e2e::valid_edge_id(edge_id))
    return fail(Error::invalid_argument("edge id '" + std::string(edge_id.substr(0, 64)) +
                                        "' is not [a-z0-9][a-z0-9-]{0,62}"));
  if (ttl < std::chrono::minutes(1) || ttl > kMaxTtl)
    return fail(Error::invalid_argument("pairing lifetime: 1 minute to 24 hours"));
  auto base_url = link_base(relay_url);
  if (!base_url) return fail(base_url.error());
  auto key = store.edge_key();
  if (!key) return fail(key.error());
  const e2e::Key secret = e2e::new_secret();
  const e2e::PairId pair_id = e2e::pairing_id(secret);
  ports::PairedDevice device{.id = e2e::hex(std::span(pair_id.data(), 8)), .tenant = tenant};
  device.label = std::move(label);
  device.created_by = std::move(created_by);
  device.created_at = now;
  device.expires_at = now + std::chrono::duration_cast<std::chrono::microseconds>(ttl);
  NewPairing out{std::move(device), {}, {}};
  if (auto st = store.add_pending(out.device, pair_id, secret); !st) return fail(st.error());
  out.link = *base_url + "#" + e2e::pairing_fragment({std::string(edge_id), secret, e2e::fingerprint(key->pk)});
  out.fingerprint = fingerprint_text(key->pk);
  return out;
}

std::string device_json(const ports::PairedDevice& d, base::Timestamp now) {
  std::string o = "{\"id\":";
  base::append_json_string(o, d.id);
  o += ",\"label\":";
  base::append_json_string(o, d.label);
  o += ",\"state\":";
  const std::string state = d.state(now);
  base::append_json_string(o, state);
  o += ",\"created_at\":";
  base::append_json_string(o, base::format_rfc3339_ms(d.created_at));
  o += ",\"created_by\":";
  base::append_json_string(o, d.created_by);
  auto time_field = [&](const char* name, const std::optional<base::Timestamp>& t) {
    if (!t) return;
    o += ",\"";
    o += name;
    o += "\":";
    base::append_json_string(o, base::format_rfc3339_ms(*t));
  };
  if (!d.client_pk) time_field("expires_at", d.expires_at);
  time_field("paired_at", d.paired_at);
  time_field("last_seen", d.last_seen);
  time_field("revoked_at", d.revoked_at);
  if (d.client_pk) {
    o += ",\"client\":";
    base::append_json_string(o, e2e::hex(e2e::client_id(*d.client_pk)));
  }
  return o + "}";
}

}  // namespace callbridge::relay::pairing
