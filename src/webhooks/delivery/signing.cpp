#include "webhooks/delivery/signing.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <vector>

#include "base/error.hpp"

namespace callbridge::webhooks {

namespace {
std::string hex(const unsigned char* p, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[p[i] >> 4];
    out[2 * i + 1] = kHex[p[i] & 15];
  }
  return out;
}
}  // namespace

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const auto* r = HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                       reinterpret_cast<const unsigned char*>(message.data()), message.size(), md, &len);
  CB_CHECK(r != nullptr, "HMAC-SHA256 failed");
  return hex(md, len);
}

std::string signature_header(std::string_view secret, std::int64_t timestamp, std::string_view body) {
  std::string msg = std::to_string(timestamp);
  msg += '.';
  msg += body;
  return "v1=" + hmac_sha256_hex(secret, msg);
}

std::string random_token(std::string_view prefix, std::size_t bytes) {
  std::vector<unsigned char> b(bytes);
  CB_CHECK(RAND_bytes(b.data(), static_cast<int>(b.size())) == 1, "RAND_bytes failed");
  return std::string(prefix) + hex(b.data(), b.size());
}

}  // namespace callbridge::webhooks
