#include "relay/e2e/e2e.hpp"

#include <sodium.h>

#include <cstring>

namespace callbridge::relay::e2e {
namespace {

using base::Error;
using base::fail;
using Bytes = std::span<const std::uint8_t>;

constexpr std::string_view kTranscriptLabel = "callbridge-e2e-v1";
constexpr std::string_view kPairLabel = "callbridge-pair-v1";

static_assert(crypto_kx_PUBLICKEYBYTES == kKeyBytes && crypto_kx_SECRETKEYBYTES == kKeyBytes);
static_assert(crypto_kx_SESSIONKEYBYTES == kKeyBytes);
static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == kAeadNonceBytes);
static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == kAeadTagBytes);
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == kKeyBytes);

Bytes bytes_of(std::string_view s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

// Keyed (or plain, key empty) BLAKE2b-256 over the concatenation of parts.
Key blake2b(Bytes key, std::initializer_list<Bytes> parts) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, key.empty() ? nullptr : key.data(), key.size(), kKeyBytes);
  for (Bytes p : parts) crypto_generichash_update(&st, p.data(), p.size());
  Key out{};
  crypto_generichash_final(&st, out.data(), out.size());
  return out;
}

// Length-prefixed edge id, so "ab"+pk and "a"+"b..." never hash alike.
std::string edge_id_field(std::string_view edge_id) {
  std::string f(1, static_cast<char>(edge_id.size()));
  f.append(edge_id);
  return f;
}

// BLAKE2b-256 of the transcript: label, edge id, client pk, edge pk, client nonce, edge nonce.
Key transcript_hash(std::string_view edge_id, const Key& client_pk, const Key& edge_pk, const Nonce& cn,
                    const Nonce& en) {
  const std::string id = edge_id_field(edge_id);
  return blake2b({}, {bytes_of(kTranscriptLabel), bytes_of(id), client_pk, edge_pk, cn, en});
}

Key pair_subkey(const Key& secret, std::string_view purpose) { return blake2b(secret, {bytes_of(purpose)}); }

Mac client_pair_mac(std::string_view edge_id, const Key& secret, const Key& client_pk, const Key& edge_fp,
                    const Nonce& cn) {
  const std::string id = edge_id_field(edge_id);
  return blake2b(pair_subkey(secret, "pair-client"), {bytes_of(kPairLabel), bytes_of(id), client_pk, edge_fp, cn});
}

Mac edge_pair_mac(const Key& secret, const Key& th) {
  return blake2b(pair_subkey(secret, "pair-edge"), {bytes_of(kPairLabel), th});
}

struct DirectionKeys {
  Key c2e{};
  Key e2c{};
  Mac confirm{};
};
// kx_c2e / kx_e2c: crypto_kx's keys for client->edge and edge->client.
DirectionKeys direction_keys(const Key& kx_c2e, const Key& kx_e2c, const Key& th) {
  DirectionKeys k;
  k.c2e = blake2b(kx_c2e, {bytes_of("c2e"), th});
  k.e2c = blake2b(kx_e2c, {bytes_of("e2c"), th});
  k.confirm = blake2b(kx_e2c, {bytes_of("confirm"), th});
  return k;
}

template <std::size_t N>
std::array<std::uint8_t, N> random_bytes() {
  std::array<std::uint8_t, N> out{};
  randombytes_buf(out.data(), out.size());
  return out;
}

template <std::size_t N>
bool equal_ct(const std::array<std::uint8_t, N>& a, const std::array<std::uint8_t, N>& b) {
  return sodium_memcmp(a.data(), b.data(), N) == 0;
}

template <std::size_t N>
void put(std::string& out, const std::array<std::uint8_t, N>& a) {
  out.append(reinterpret_cast<const char*>(a.data()), N);
}
template <std::size_t N>
void take(Bytes& in, std::array<std::uint8_t, N>& a) {
  std::memcpy(a.data(), in.data(), N);
  in = in.subspan(N);
}

base::Result<EdgeAccept> edge_accept(std::string_view edge_id, const KeyPair& edge, const Key& client_pk,
                                     const Nonce& cn, std::uint64_t hello_seq, std::uint64_t welcome_seq,
                                     const Key* pair_secret) {
  if (!valid_edge_id(edge_id)) return fail(Error::invalid_argument("e2e: invalid edge id"));
  Key rx{}, tx{};  // edge: rx = client->edge, tx = edge->client
  if (crypto_kx_server_session_keys(rx.data(), tx.data(), edge.pk.data(), edge.sk.data(), client_pk.data()) != 0)
    return fail(Error::protocol("e2e: unusable client public key"));
  WelcomeMsg w;
  w.edge_pk = edge.pk;
  w.client_nonce = cn;
  w.edge_nonce = random_bytes<kNonceBytes>();
  const Key th = transcript_hash(edge_id, client_pk, edge.pk, cn, w.edge_nonce);
  const DirectionKeys k = direction_keys(rx, tx, th);
  w.confirm = k.confirm;
  if (pair_secret) w.pair_mac = edge_pair_mac(*pair_secret, th);
  sodium_memzero(rx.data(), rx.size());
  sodium_memzero(tx.data(), tx.size());
  return EdgeAccept{w, Session(Role::edge, k.e2c, k.c2e, welcome_seq, hello_seq)};
}

}  // namespace

bool ready() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

KeyPair generate_key_pair() {
  CB_CHECK(ready(), "libsodium init");
  KeyPair kp;
  crypto_kx_keypair(kp.pk.data(), kp.sk.data());
  return kp;
}

Key public_key_of(const Key& sk) {
  CB_CHECK(ready(), "libsodium init");
  Key pk{};
  crypto_scalarmult_base(pk.data(), sk.data());
  return pk;
}

Key fingerprint(const Key& edge_pk) {
  CB_CHECK(ready(), "libsodium init");
  return blake2b({}, {edge_pk});
}

ClientId client_id(const Key& client_pk) {
  CB_CHECK(ready(), "libsodium init");
  const Key h = blake2b({}, {client_pk});
  ClientId id{};
  std::memcpy(id.data(), h.data(), id.size());
  return id;
}

Key new_secret() {
  CB_CHECK(ready(), "libsodium init");
  return random_bytes<kKeyBytes>();
}

PairId pairing_id(const Key& secret) {
  CB_CHECK(ready(), "libsodium init");
  const Key h = pair_subkey(secret, "pair-id");
  PairId id{};
  std::memcpy(id.data(), h.data(), id.size());
  return id;
}

std::string b64url(std::span<const std::uint8_t> bytes) {
  CB_CHECK(ready(), "libsodium init");
  constexpr int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_encoded_len(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(), variant);
  out.resize(std::strlen(out.c_str()));
  return out;
}

base::Result<std::string> b64url_decode(std::string_view text) {
  CB_CHECK(ready(), "libsodium init");
  std::string out(text.size() * 3 / 4 + 3, '\0');
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &len, &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != text.data() + text.size())
    return fail(Error::invalid_argument("not base64url without padding"));
  out.resize(len);
  return out;
}

std::string hex(std::span<const std::uint8_t> bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
  out.pop_back();
  return out;
}

bool valid_edge_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxEdgeIdBytes) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && !(i > 0 && c == '-')) return false;
  }
  return true;
}

std::string pairing_fragment(const PairingLink& link) {
  return "pair=" + link.edge_id + "." + b64url(link.secret) + "." + b64url(link.edge_fingerprint);
}

base::Result<PairingLink> parse_pairing_fragment(std::string_view fragment) {
  if (fragment.starts_with('#')) fragment.remove_prefix(1);
  if (!fragment.starts_with("pair=")) return fail(Error::invalid_argument("pairing link: fragment is not pair=..."));
  fragment.remove_prefix(5);
  const auto d1 = fragment.find('.');
  const auto d2 = d1 == std::string_view::npos ? d1 : fragment.find('.', d1 + 1);
  if (d2 == std::string_view::npos) return fail(Error::invalid_argument("pairing link: want EDGE.SECRET.FINGERPRINT"));
  PairingLink link;
  link.edge_id = std::string(fragment.substr(0, d1));
  if (!valid_edge_id(link.edge_id)) return fail(Error::invalid_argument("pairing link: invalid edge id"));
  auto secret = b64url_decode(fragment.substr(d1 + 1, d2 - d1 - 1));
  auto fp = b64url_decode(fragment.substr(d2 + 1));
  if (!secret || secret->size() != kKeyBytes || !fp || fp->size() != kKeyBytes)
    return fail(Error::invalid_argument("pairing link: secret and fingerprint must be 32 bytes each, base64url"));
  std::memcpy(link.secret.data(), secret->data(), kKeyBytes);
  std::memcpy(link.edge_fingerprint.data(), fp->data(), kKeyBytes);
  return link;
}

std::string_view to_string(RejectCode code) {
  switch (code) {
    case RejectCode::not_paired: return "not-paired";
    case RejectCode::bad_pairing: return "bad-pairing";
    case RejectCode::no_session: return "no-session";
    case RejectCode::malformed: return "malformed";
  }
  return "unknown";
}

std::string encode(const Handshake& msg) {
  std::string out;
  if (const auto* p = std::get_if<PairMsg>(&msg)) {
    out.push_back(1);
    put(out, p->client_pk);
    put(out, p->client_nonce);
    put(out, p->pair_id);
    put(out, p->mac);
  } else if (const auto* h = std::get_if<HelloMsg>(&msg)) {
    out.push_back(2);
    put(out, h->client_pk);
    put(out, h->client_nonce);
  } else if (const auto* w = std::get_if<WelcomeMsg>(&msg)) {
    out.push_back(3);
    put(out, w->edge_pk);
    put(out, w->client_nonce);
    put(out, w->edge_nonce);
    put(out, w->confirm);
    if (w->pair_mac) put(out, *w->pair_mac);
  } else {
    out.push_back(4);
    out.push_back(static_cast<char>(std::get<RejectMsg>(msg).code));
  }
  return out;
}

base::Result<Handshake> decode_handshake(std::span<const std::uint8_t> in) {
  if (in.empty()) return fail(Error::protocol("e2e handshake: empty"));
  const std::uint8_t type = in[0];
  Bytes rest = in.subspan(1);
  switch (type) {
    case 1: {
      if (rest.size() != kKeyBytes + kNonceBytes + kPairIdBytes + kMacBytes) break;
      PairMsg m;
      take(rest, m.client_pk);
      take(rest, m.client_nonce);
      take(rest, m.pair_id);
      take(rest, m.mac);
      return m;
    }
    case 2: {
      if (rest.size() != kKeyBytes + kNonceBytes) break;
      HelloMsg m;
      take(rest, m.client_pk);
      take(rest, m.client_nonce);
      return m;
    }
    case 3: {
      constexpr std::size_t base_size = kKeyBytes + 2 * kNonceBytes + kMacBytes;
      if (rest.size() != base_size && rest.size() != base_size + kMacBytes) break;
      WelcomeMsg m;
      take(rest, m.edge_pk);
      take(rest, m.client_nonce);
      take(rest, m.edge_nonce);
      take(rest, m.confirm);
      if (!rest.empty()) {
        Mac mac{};
        take(rest, mac);
        m.pair_mac = mac;
      }
      return m;
    }
    case 4: {
      if (rest.size() != 1 || rest[0] < 1 || rest[0] > 4) break;
      return RejectMsg{static_cast<RejectCode>(rest[0])};
    }
    default:
      return fail(Error::protocol("e2e handshake: unknown message type " + std::to_string(type)));
  }
  return fail(Error::protocol("e2e handshake: wrong size " + std::to_string(in.size()) + " for type " +
                              std::to_string(type)));
}

Session::Session(Role role, const Key& tx_key, const Key& rx_key, std::uint64_t tx_floor, std::uint64_t rx_floor)
    : role_(role), tx_(tx_key), rx_(rx_key), last_tx_(tx_floor), last_rx_(rx_floor) {}

Session::~Session() {
  sodium_memzero(tx_.data(), tx_.size());
  sodium_memzero(rx_.data(), rx_.size());
}

base::Result<std::string> Session::seal(std::span<const std::uint8_t> header, std::uint64_t seq,
                                        std::string_view plaintext) {
  if (header.size() != kHeaderBytes) return fail(Error::invalid_argument("e2e seal: header must be 40 bytes"));
  if (seq <= last_tx_) return fail(Error::invalid_argument("e2e seal: seq does not grow"));
  std::string out(kAeadNonceBytes + plaintext.size() + kAeadTagBytes, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(o, kAeadNonceBytes);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(o + kAeadNonceBytes, &clen,
                                             reinterpret_cast<const unsigned char*>(plaintext.data()),
                                             plaintext.size(), header.data(), header.size(), nullptr, o, tx_.data());
  last_tx_ = seq;
  return out;
}

base::Result<std::string> Session::open(std::span<const std::uint8_t> header, std::uint64_t seq,
                                        std::string_view payload) {
  if (header.size() != kHeaderBytes) return fail(Error::protocol("e2e open: header must be 40 bytes"));
  if (seq <= last_rx_)
    return fail(Error::protocol("e2e open: seq " + std::to_string(seq) + " not above " + std::to_string(last_rx_) +
                                " (replayed or reordered)"));
  if (payload.size() < kSealOverhead) return fail(Error::protocol("e2e open: payload too short"));
  std::string out(payload.size() - kSealOverhead, '\0');
  const auto* p = reinterpret_cast<const unsigned char*>(payload.data());
  unsigned long long mlen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(out.data()), &mlen, nullptr,
                                                 p + kAeadNonceBytes, payload.size() - kAeadNonceBytes,
                                                 header.data(), header.size(), p, rx_.data()) != 0)
    return fail(Error::protocol("e2e open: authentication failed (tampered, wrong key or wrong header)"));
  last_rx_ = seq;
  return out;
}

base::Result<EdgeAccept> edge_accept_pair(std::string_view edge_id, const KeyPair& edge, const Key& secret,
                                          const PairMsg& msg, std::uint64_t hello_seq, std::uint64_t welcome_seq) {
  CB_CHECK(ready(), "libsodium init");
  if (!equal_ct(pairing_id(secret), msg.pair_id)) return fail(Error::protocol("e2e pair: pairing id mismatch"));
  const Mac want = client_pair_mac(edge_id, secret, msg.client_pk, fingerprint(edge.pk), msg.client_nonce);
  if (!equal_ct(want, msg.mac)) return fail(Error::protocol("e2e pair: MAC does not prove the pairing secret"));
  return edge_accept(edge_id, edge, msg.client_pk, msg.client_nonce, hello_seq, welcome_seq, &secret);
}

base::Result<EdgeAccept> edge_accept_hello(std::string_view edge_id, const KeyPair& edge, const HelloMsg& msg,
                                           std::uint64_t hello_seq, std::uint64_t welcome_seq) {
  CB_CHECK(ready(), "libsodium init");
  return edge_accept(edge_id, edge, msg.client_pk, msg.client_nonce, hello_seq, welcome_seq, nullptr);
}

ClientPairing client_start_pair(std::string_view edge_id, const KeyPair& client, const Key& secret,
                                const Key& edge_fingerprint) {
  CB_CHECK(ready(), "libsodium init");
  ClientPairing p;
  p.state.client_nonce = random_bytes<kNonceBytes>();
  p.state.secret = secret;
  p.state.edge_fingerprint = edge_fingerprint;
  p.msg.client_pk = client.pk;
  p.msg.client_nonce = p.state.client_nonce;
  p.msg.pair_id = pairing_id(secret);
  p.msg.mac = client_pair_mac(edge_id, secret, client.pk, edge_fingerprint, p.state.client_nonce);
  return p;
}

ClientHello client_start_hello(const KeyPair& client, const Key& pinned_edge_pk) {
  CB_CHECK(ready(), "libsodium init");
  ClientHello h;
  h.state.client_nonce = random_bytes<kNonceBytes>();
  h.state.edge_pk = pinned_edge_pk;
  h.msg.client_pk = client.pk;
  h.msg.client_nonce = h.state.client_nonce;
  return h;
}

base::Result<Session> client_finish(std::string_view edge_id, const KeyPair& client, const ClientStart& state,
                                    const WelcomeMsg& w, std::uint64_t hello_seq, std::uint64_t welcome_seq) {
  CB_CHECK(ready(), "libsodium init");
  if (!equal_ct(w.client_nonce, state.client_nonce))
    return fail(Error::protocol("e2e welcome: answers another hello"));
  if (state.edge_pk) {
    if (!equal_ct(w.edge_pk, *state.edge_pk)) return fail(Error::protocol("e2e welcome: edge key is not the pinned one"));
  } else if (!state.edge_fingerprint || !equal_ct(fingerprint(w.edge_pk), *state.edge_fingerprint)) {
    return fail(Error::protocol("e2e welcome: edge key does not match the link's fingerprint"));
  }
  Key rx{}, tx{};  // client: rx = edge->client, tx = client->edge
  if (crypto_kx_client_session_keys(rx.data(), tx.data(), client.pk.data(), client.sk.data(), w.edge_pk.data()) != 0)
    return fail(Error::protocol("e2e welcome: unusable edge public key"));
  const Key th = transcript_hash(edge_id, client.pk, w.edge_pk, state.client_nonce, w.edge_nonce);
  const DirectionKeys k = direction_keys(tx, rx, th);
  sodium_memzero(rx.data(), rx.size());
  sodium_memzero(tx.data(), tx.size());
  if (!equal_ct(k.confirm, w.confirm)) return fail(Error::protocol("e2e welcome: key confirmation failed"));
  if (state.secret) {
    if (!w.pair_mac || !equal_ct(*w.pair_mac, edge_pair_mac(*state.secret, th)))
      return fail(Error::protocol("e2e welcome: the edge did not prove the pairing secret"));
  }
  return Session(Role::client, k.c2e, k.e2c, hello_seq, welcome_seq);
}

}  // namespace callbridge::relay::e2e
