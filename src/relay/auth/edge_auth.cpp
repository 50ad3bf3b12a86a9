#include "relay/auth/edge_auth.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace callbridge::relay::auth {
namespace {

void init() {
  static const bool ok = sodium_init() >= 0;
  CB_CHECK(ok, "libsodium failed to initialize");
}

const unsigned char* u8(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

}  // namespace

std::string b64url(std::string_view raw) {
  init();
  const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_encoded_len(raw.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), u8(raw), raw.size(), variant);
  out.resize(std::strlen(out.c_str()));
  return out;
}

base::Result<Bytes> from_b64url(std::string_view text) {
  init();
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  Bytes out(text.size() * 3 / 4 + 3, '\0');
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &len, &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != text.data() + text.size()) {
    return base::fail(base::Error::invalid_argument("not base64url"));
  }
  out.resize(len);
  return out;
}

Bytes random_bytes(std::size_t n) {
  init();
  Bytes out(n, '\0');
  randombytes_buf(out.data(), n);
  return out;
}

Bytes challenge_message(std::string_view nonce, std::string_view edge_id) {
  Bytes m;
  m.reserve(kChallengeContext.size() + nonce.size() + edge_id.size());
  m.append(kChallengeContext).append(nonce).append(edge_id);
  return m;
}

KeyPair generate_key_pair() {
  init();
  KeyPair k{Bytes(crypto_sign_PUBLICKEYBYTES, '\0'), Bytes(crypto_sign_SECRETKEYBYTES, '\0')};
  crypto_sign_keypair(reinterpret_cast<unsigned char*>(k.public_key.data()),
                      reinterpret_cast<unsigned char*>(k.secret_key.data()));
  return k;
}

Bytes sign(const KeyPair& keys, std::string_view message) {
  init();
  CB_CHECK(keys.secret_key.size() == crypto_sign_SECRETKEYBYTES, "Ed25519 secret key of the wrong size");
  Bytes sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr, u8(message), message.size(),
                       u8(keys.secret_key));
  return sig;
}

bool verify(std::string_view public_key, std::string_view message, std::string_view signature) {
  init();
  if (public_key.size() != crypto_sign_PUBLICKEYBYTES || signature.size() != crypto_sign_BYTES) return false;
  return crypto_sign_verify_detached(u8(signature), u8(message), message.size(), u8(public_key)) == 0;
}

std::string new_join_token() { return b64url(random_bytes(kTokenBytes)); }

std::string token_digest(std::string_view token) {
  init();
  unsigned char d[32];
  crypto_generichash(d, sizeof d, u8(token), token.size(), nullptr, 0);
  char hex[sizeof d * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, d, sizeof d);
  return hex;
}

bool digests_equal(std::string_view a, std::string_view b) {
  init();
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

base::Result<KeyPair> load_or_create_key_file(const std::filesystem::path& path) {
  init();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return base::fail(base::Error::io(fmt::format("{}: {}", path.string(), std::strerror(errno))));
    KeyPair k = generate_key_pair();
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return base::fail(base::Error::io(fmt::format("cannot create {}: {}", path.string(), std::strerror(errno))));
    const std::string line = b64url(k.secret_key) + "\n";
    const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    ::close(fd);
    if (!ok) return base::fail(base::Error::io(fmt::format("cannot write {}", path.string())));
    return k;
  }
  if ((st.st_mode & 077) != 0) {
    return base::fail(base::Error::invalid_argument(
        fmt::format("{} is readable by others (mode {:o}); chmod 600 it", path.string(), st.st_mode & 0777)));
  }
  if (st.st_size > 1024) return base::fail(base::Error::invalid_argument(fmt::format("{} is not an edge key file", path.string())));
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  auto sk = from_b64url(line);
  if (!sk || sk->size() != crypto_sign_SECRETKEYBYTES) {
    return base::fail(base::Error::invalid_argument(fmt::format("{} is not an edge key file", path.string())));
  }
  KeyPair k{Bytes(crypto_sign_PUBLICKEYBYTES, '\0'), *sk};
  crypto_sign_ed25519_sk_to_pk(reinterpret_cast<unsigned char*>(k.public_key.data()), u8(k.secret_key));
  return k;
}

}  // namespace callbridge::relay::auth
