// End-to-end encryption between an edge (callbridged) and a paired browser or app, through a relay
// that must read nothing (docs/relay.md "End-to-end encryption and pairing"). Libsodium primitives
// only, composed as documented there; no I/O, no clock (callers pass expiry decisions in).
//
// - Keys: every side has a static X25519 key pair (crypto_kx). The edge's fingerprint is
//   BLAKE2b-256(pk); a client id is the first 16 bytes of BLAKE2b-256(client pk).
// - Pairing: a one-time 32-byte secret (shown by the edge in a link fragment) proves the client:
//   `pair` carries a MAC keyed from the secret over the edge id, the client pk, the edge fingerprint
//   and the client nonce; the edge answers `welcome` with its own MAC over the whole transcript.
// - Session: crypto_kx between the static keys, each direction key hashed (keyed BLAKE2b) with the
//   transcript (edge id, both pks, both fresh nonces); the welcome carries a key confirmation.
// - Data: XChaCha20-Poly1305-IETF, random 24-byte nonce before the ciphertext, associated data = the
//   40-byte relay frame header exactly; seq must grow strictly per direction.
// Value types; a Session is thread-compatible (one owner).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "base/error.hpp"

namespace callbridge::relay::e2e {

inline constexpr std::size_t kKeyBytes = 32;
inline constexpr std::size_t kNonceBytes = 32;    // handshake nonces
inline constexpr std::size_t kMacBytes = 32;
inline constexpr std::size_t kPairIdBytes = 16;
inline constexpr std::size_t kClientIdBytes = 16;
inline constexpr std::size_t kHeaderBytes = 40;   // relay/wire frame header (the AEAD's associated data)
inline constexpr std::size_t kAeadNonceBytes = 24;
inline constexpr std::size_t kAeadTagBytes = 16;
inline constexpr std::size_t kSealOverhead = kAeadNonceBytes + kAeadTagBytes;
inline constexpr std::size_t kMaxEdgeIdBytes = 63;

using Key = std::array<std::uint8_t, kKeyBytes>;
using Nonce = std::array<std::uint8_t, kNonceBytes>;
using Mac = std::array<std::uint8_t, kMacBytes>;
using PairId = std::array<std::uint8_t, kPairIdBytes>;
using ClientId = std::array<std::uint8_t, kClientIdBytes>;

// False only when libsodium cannot initialize (no entropy source); every function below needs it.
bool ready();

struct KeyPair {
  Key pk{};
  Key sk{};
};
KeyPair generate_key_pair();
// The public key of a secret key (crypto_scalarmult_base); for loading a stored key pair.
Key public_key_of(const Key& sk);

Key fingerprint(const Key& edge_pk);
ClientId client_id(const Key& client_pk);

// A fresh one-time pairing secret and the public id the edge files it under (keyed BLAKE2b of a
// constant; says nothing about the secret).
Key new_secret();
PairId pairing_id(const Key& secret);

// base64url without padding (the link's encoding) and back; decode fails on any other input.
std::string b64url(std::span<const std::uint8_t> bytes);
base::Result<std::string> b64url_decode(std::string_view text);
std::string hex(std::span<const std::uint8_t> bytes);

// The pairing link's fragment, `pair=EDGE.SECRET.FINGERPRINT` (base64url), and its parser.
struct PairingLink {
  std::string edge_id;
  Key secret{};
  Key edge_fingerprint{};
};
std::string pairing_fragment(const PairingLink& link);
base::Result<PairingLink> parse_pairing_fragment(std::string_view fragment);
// [a-z0-9][a-z0-9-]{0,62}, the relay's edge ids.
bool valid_edge_id(std::string_view id);

// ---- handshake messages (payload of a frame with the handshake flag) ----
enum class RejectCode : std::uint8_t {
  not_paired = 1,   // the client's key is not paired with this edge (or was revoked)
  bad_pairing = 2,  // unknown, used or expired pairing id, or a wrong MAC
  no_session = 3,   // a data frame of a session the edge does not know: send a new hello
  malformed = 4,
};
std::string_view to_string(RejectCode code);

struct PairMsg {  // client -> edge, type 1
  Key client_pk{};
  Nonce client_nonce{};
  PairId pair_id{};
  Mac mac{};
};
struct HelloMsg {  // client -> edge, type 2 (already paired)
  Key client_pk{};
  Nonce client_nonce{};
};
struct WelcomeMsg {  // edge -> client, type 3
  Key edge_pk{};
  Nonce client_nonce{};
  Nonce edge_nonce{};
  Mac confirm{};                 // proves the session keys (so the edge's static key)
  std::optional<Mac> pair_mac;   // only in answer to a PairMsg: proves the secret
};
struct RejectMsg {  // edge -> client, type 4
  RejectCode code = RejectCode::malformed;
};
using Handshake = std::variant<PairMsg, HelloMsg, WelcomeMsg, RejectMsg>;

std::string encode(const Handshake& msg);
// Exact sizes per type; Errc::protocol otherwise.
base::Result<Handshake> decode_handshake(std::span<const std::uint8_t> payload);

// ---- session ----
enum class Role { edge, client };

class Session {
 public:
  // `tx_floor`/`rx_floor`: seqs at or below are refused (the handshake frames' seqs).
  Session(Role role, const Key& tx_key, const Key& rx_key, std::uint64_t tx_floor, std::uint64_t rx_floor);
  Session(const Session&) = default;
  Session& operator=(const Session&) = default;
  ~Session();

  // `header` is the frame's 40 header bytes with payload_len = plaintext.size() + kSealOverhead and
  // seq `seq`; seq must be above every seq sealed before. Returns the payload (nonce || ciphertext).
  base::Result<std::string> seal(std::span<const std::uint8_t> header, std::uint64_t seq,
                                 std::string_view plaintext);
  // Errc::protocol for a seq at or below the last accepted one (replay, reordering), a wrong header
  // size, a short payload or a failed tag (tampering, wrong key). State changes only on success.
  base::Result<std::string> open(std::span<const std::uint8_t> header, std::uint64_t seq,
                                 std::string_view payload);

  std::uint64_t last_tx() const { return last_tx_; }
  std::uint64_t last_rx() const { return last_rx_; }
  Role role() const { return role_; }

 private:
  Role role_;
  Key tx_{};
  Key rx_{};
  std::uint64_t last_tx_ = 0;
  std::uint64_t last_rx_ = 0;
};

// ---- edge side ----
struct EdgeAccept {
  WelcomeMsg welcome;
  Session session;
};
// A PairMsg whose pair_id the caller found (unused, not expired) with `secret`. Errc::protocol when
// the MAC is wrong; the caller pins msg.client_pk and consumes the secret only on success.
// `hello_seq` is the seq of the frame that carried msg; `welcome_seq` the one the welcome will get.
base::Result<EdgeAccept> edge_accept_pair(std::string_view edge_id, const KeyPair& edge, const Key& secret,
                                          const PairMsg& msg, std::uint64_t hello_seq, std::uint64_t welcome_seq);
// A HelloMsg of a client the caller found pinned (paired, not revoked).
base::Result<EdgeAccept> edge_accept_hello(std::string_view edge_id, const KeyPair& edge, const HelloMsg& msg,
                                           std::uint64_t hello_seq, std::uint64_t welcome_seq);

// ---- client side ----
struct ClientStart {
  Nonce client_nonce{};
  std::optional<Key> secret;       // pairing: the link's secret
  std::optional<Key> edge_fingerprint;  // pairing: the link's fingerprint
  std::optional<Key> edge_pk;      // hello: the pinned edge key
};
struct ClientPairing {
  PairMsg msg;
  ClientStart state;
};
ClientPairing client_start_pair(std::string_view edge_id, const KeyPair& client, const Key& secret,
                                const Key& edge_fingerprint);
struct ClientHello {
  HelloMsg msg;
  ClientStart state;
};
ClientHello client_start_hello(const KeyPair& client, const Key& pinned_edge_pk);
// Checks the welcome (nonce echo, fingerprint or pinned key, pairing MAC when pairing, key
// confirmation) and returns the session. The edge key to pin is welcome.edge_pk.
base::Result<Session> client_finish(std::string_view edge_id, const KeyPair& client, const ClientStart& state,
                                    const WelcomeMsg& welcome, std::uint64_t hello_seq, std::uint64_t welcome_seq);

}  // namespace callbridge::relay::e2e
