// The edge's login at the relay (docs/relay.md "Edge identity and login"), both sides: Ed25519 key
// pairs, the signed challenge, one-time join tokens and their digests, base64url. libsodium only,
// no I/O besides the key file helpers. Thread-safe (libsodium is initialized once, on first use).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "base/error.hpp"

namespace callbridge::relay::auth {

inline constexpr std::size_t kNonceBytes = 32;
inline constexpr std::size_t kTokenBytes = 32;
inline constexpr std::size_t kPublicKeyBytes = 32;
inline constexpr std::size_t kSecretKeyBytes = 64;
// The signed message starts with this (domain separation from any other use of the key).
inline constexpr std::string_view kChallengeContext = "callbridge-relay-edge-v1";

using Bytes = std::string;  // raw bytes

std::string b64url(std::string_view raw);
// Unpadded base64url (padding tolerated). Errc::invalid_argument on other characters.
base::Result<Bytes> from_b64url(std::string_view text);

Bytes random_bytes(std::size_t n);

// "callbridge-relay-edge-v1" || nonce || edge id
Bytes challenge_message(std::string_view nonce, std::string_view edge_id);

struct KeyPair {
  Bytes public_key;  // 32 bytes
  Bytes secret_key;  // 64 bytes (libsodium's seed || pk form)
};
KeyPair generate_key_pair();
Bytes sign(const KeyPair& keys, std::string_view message);
// False for a bad signature, a key or signature of the wrong size.
bool verify(std::string_view public_key, std::string_view message, std::string_view signature);

// A new join token (base64url of 32 random bytes) and the digest the registry stores of it.
std::string new_join_token();
// Hex of BLAKE2b-256 over the token's text; compare with digests_equal (constant time).
std::string token_digest(std::string_view token);
bool digests_equal(std::string_view a, std::string_view b);

// The edge's key file: 64 secret-key bytes as base64url on one line. Created with mode 0600 (the
// directory must exist) when missing; a file of another size or more open mode is refused.
base::Result<KeyPair> load_or_create_key_file(const std::filesystem::path& path);

}  // namespace callbridge::relay::auth
