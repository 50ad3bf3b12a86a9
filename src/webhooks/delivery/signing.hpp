// The signature of a webhook delivery (docs/webhooks.md "Verifying a delivery"): HMAC-SHA256 with the
// hook's secret over "<timestamp>.<body>", sent as X-Callbridge-Signature: v1=<lower-case hex> next to
// X-Callbridge-Timestamp: <timestamp> (Unix seconds). Also the random ids and secrets of hooks.
// Pure functions over OpenSSL; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace callbridge::webhooks {

// Lower-case hex of HMAC-SHA256(key, message).
std::string hmac_sha256_hex(std::string_view key, std::string_view message);
// "v1=" + hmac_sha256_hex(secret, timestamp + "." + body).
std::string signature_header(std::string_view secret, std::int64_t timestamp, std::string_view body);
// `prefix` + `bytes` random bytes as hex (RAND_bytes): "whsec_" + 32 bytes for secrets, "wh_" + 8 for ids.
std::string random_token(std::string_view prefix, std::size_t bytes);

}  // namespace callbridge::webhooks
