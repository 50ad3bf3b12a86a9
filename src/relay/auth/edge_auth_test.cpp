#include "relay/auth/edge_auth.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace callbridge::relay::auth {
namespace {

TEST(RelayAuth, Base64UrlRoundTrip) {
  for (std::string raw : {std::string(), std::string("a"), std::string("\xff\xfe\x00\x01", 4), random_bytes(32)}) {
    const std::string text = b64url(raw);
    EXPECT_EQ(text.find_first_of("+/="), std::string::npos) << text;
    auto back = from_b64url(text);
    ASSERT_TRUE(back) << text;
    EXPECT_EQ(*back, raw);
  }
  EXPECT_FALSE(from_b64url("a+b/"));
  EXPECT_FALSE(from_b64url("ab cd"));
  EXPECT_TRUE(from_b64url("YQ=="));
}

TEST(RelayAuth, SignedChallengeVerifiesOnlyUnchanged) {
  const KeyPair k = generate_key_pair();
  const std::string nonce = random_bytes(kNonceBytes);
  const std::string sig = sign(k, challenge_message(nonce, "acme"));
  EXPECT_TRUE(verify(k.public_key, challenge_message(nonce, "acme"), sig));
  EXPECT_FALSE(verify(k.public_key, challenge_message(nonce, "acme2"), sig));
  EXPECT_FALSE(verify(k.public_key, challenge_message(random_bytes(kNonceBytes), "acme"), sig));
  EXPECT_FALSE(verify(generate_key_pair().public_key, challenge_message(nonce, "acme"), sig));
  std::string flipped = sig;
  flipped[5] ^= 1;
  EXPECT_FALSE(verify(k.public_key, challenge_message(nonce, "acme"), flipped));
  EXPECT_FALSE(verify(k.public_key.substr(1), challenge_message(nonce, "acme"), sig));
  EXPECT_FALSE(verify(k.public_key, challenge_message(nonce, "acme"), sig.substr(1)));
  EXPECT_EQ(challenge_message("N", "e"), "callbridge-relay-edge-v1Ne");
}

TEST(RelayAuth, TokenDigests) {
  const std::string t = new_join_token();
  EXPECT_EQ(from_b64url(t)->size(), kTokenBytes);
  EXPECT_NE(t, new_join_token());
  EXPECT_EQ(token_digest(t).size(), 64u);
  EXPECT_TRUE(digests_equal(token_digest(t), token_digest(t)));
  EXPECT_FALSE(digests_equal(token_digest(t), token_digest(t + "x")));
  EXPECT_FALSE(digests_equal("ab", "abc"));
}

TEST(RelayAuth, KeyFileIsCreatedPrivateAndReloaded) {
  const auto dir = std::filesystem::temp_directory_path() / ("relay-auth-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / "edge.key";
  std::filesystem::remove(path);
  auto first = load_or_create_key_file(path);
  ASSERT_TRUE(first) << first.error().to_string();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = load_or_create_key_file(path);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->public_key, first->public_key);
  EXPECT_EQ(again->secret_key, first->secret_key);

  ::chmod(path.c_str(), 0644);
  auto open = load_or_create_key_file(path);
  ASSERT_FALSE(open);
  EXPECT_NE(open.error().message().find("chmod 600"), std::string::npos);

  const auto junk = dir / "junk.key";
  std::ofstream(junk) << "not a key\n";
  ::chmod(junk.c_str(), 0600);
  EXPECT_FALSE(load_or_create_key_file(junk));
  EXPECT_FALSE(load_or_create_key_file(dir / "missing-dir" / "edge.key"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace callbridge::relay::auth
