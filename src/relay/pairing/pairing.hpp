// Pairing devices with this edge for the cloud relay (docs/relay.md "Paired devices"): creating a
// pending pairing (a one-time secret with an expiry, its link with the edge fingerprint), listing
// and revoking, over ports::PairedDeviceStore. Shared by `callbridge pair`, the REST routes and
// the tunnel. No I/O besides the store; thread-safe as the store is.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "base/tenant_id.hpp"
#include "base/time.hpp"
#include "ports/paired_devices.hpp"

namespace callbridge::relay::pairing {

inline constexpr std::chrono::minutes kDefaultTtl{10};
inline constexpr std::chrono::hours kMaxTtl{24};

struct NewPairing {
  ports::PairedDevice device;
  std::string link;         // https://RELAY/#pair=EDGE.SECRET.FINGERPRINT — shown once
  std::string fingerprint;  // the edge key's fingerprint for people: 16 groups of 4 hex digits
};

// The browser-facing base of the relay from the edge's `[relay] url` (wss://host[:port][/path]):
// https://host[:port]/. Errc::invalid_argument for anything but ws:// or wss:// (ws:// gives http://,
// for tests on loopback).
base::Result<std::string> link_base(std::string_view relay_url);

// A new pending pairing of `tenant` that expires after `ttl` (1 minute to kMaxTtl).
base::Result<NewPairing> create(ports::PairedDeviceStore& store, const base::TenantId& tenant, std::string label,
                                std::string created_by, std::string_view edge_id, std::string_view relay_url,
                                base::Timestamp now, std::chrono::seconds ttl = kDefaultTtl);

// "ab12 cd34 ..." (BLAKE2b-256 of the edge public key, hex in groups of four).
std::string fingerprint_text(const ports::Key32& edge_pk);

// {"id","label","state","created_at","created_by","expires_at"?,"paired_at"?,"last_seen"?,"revoked_at"?,
//  "client":HEX?} — never the secret.
std::string device_json(const ports::PairedDevice& d, base::Timestamp now);

// A device id as list/revoke take it: 16 lower-case hex digits.
bool valid_device_id(std::string_view id);

}  // namespace callbridge::relay::pairing
