#include "relay/node/registry.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "relay/auth/edge_auth.hpp"

namespace callbridge::relay::node {
namespace {

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("relay-registry-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = dir_ / "edges.json";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  wire::Hello hello(const auth::KeyPair& k, const std::string& edge, const std::string& nonce,
                    std::optional<std::string> join) {
    return wire::Hello{edge, auth::b64url(k.public_key), auth::b64url(auth::sign(k, auth::challenge_message(nonce, edge))),
                       std::move(join), std::nullopt};
  }

  std::filesystem::path dir_, path_;
};

TEST_F(RegistryTest, AddSaveLoadStoresOnlyTheDigest) {
  auto r = Registry::load(path_);
  ASSERT_TRUE(r);
  auto token = r->add("acme");
  ASSERT_TRUE(token);
  ASSERT_TRUE(r->save());
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(path_);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text.find(*token), std::string::npos);
  EXPECT_NE(text.find(auth::token_digest(*token)), std::string::npos);

  auto again = Registry::load(path_);
  ASSERT_TRUE(again);
  ASSERT_NE(again->find("acme"), nullptr);
  EXPECT_EQ(again->find("acme")->join_digest, auth::token_digest(*token));
  EXPECT_TRUE(again->find("acme")->public_key.empty());
}

TEST_F(RegistryTest, BadNamesAndDuplicatesAreRefused) {
  auto r = Registry::load(path_);
  ASSERT_TRUE(r->add("acme"));
  auto dup = r->add("acme");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), base::Errc::conflict);
  auto bad = r->add("Acme Corp");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), base::Errc::invalid_argument);
  EXPECT_FALSE(r->remove("nope"));
  EXPECT_TRUE(r->remove("acme"));
  EXPECT_EQ(r->find("acme"), nullptr);
}

TEST_F(RegistryTest, NotARegistryIsAnError) {
  std::ofstream(path_) << "{\"edges\": 5}";
  auto r = Registry::load(path_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("not an edge registry"), std::string::npos);
  std::ofstream(path_) << "garbage";
  EXPECT_FALSE(Registry::load(path_));
  std::ofstream(path_) << R"({"edges":[{"id":"../etc"}]})";
  EXPECT_FALSE(Registry::load(path_));
}

TEST_F(RegistryTest, JoinOnceThenKeyOnly) {
  auto r = Registry::load(path_);
  const std::string token = *r->add("acme");
  ASSERT_TRUE(r->save());
  const auth::KeyPair k = auth::generate_key_pair();
  const std::string nonce = auth::random_bytes(auth::kNonceBytes);

  EXPECT_EQ(r->login(hello(k, "nope", nonce, token), nonce), LoginRefusal::unknown_edge);
  EXPECT_EQ(r->login(hello(k, "acme", nonce, std::nullopt), nonce), LoginRefusal::join_required);
  EXPECT_EQ(r->login(hello(k, "acme", nonce, auth::new_join_token()), nonce), LoginRefusal::bad_join);
  // Signed for another nonce (a replayed hello).
  EXPECT_EQ(r->login(hello(k, "acme", auth::random_bytes(32), token), nonce), LoginRefusal::bad_signature);
  wire::Hello junk = hello(k, "acme", nonce, token);
  junk.pk = "!!";
  EXPECT_EQ(r->login(junk, nonce), LoginRefusal::malformed);

  EXPECT_EQ(r->login(hello(k, "acme", nonce, token), nonce), std::nullopt);
  // The key is on disk: a fresh load (another node sharing the file) knows it.
  auto other = Registry::load(path_);
  EXPECT_EQ(other->find("acme")->public_key, auth::b64url(k.public_key));
  EXPECT_FALSE(other->find("acme")->joined.empty());

  // Later logins: the key alone; the token still in the edge's config does no harm.
  EXPECT_EQ(r->login(hello(k, "acme", nonce, std::nullopt), nonce), std::nullopt);
  EXPECT_EQ(r->login(hello(k, "acme", nonce, token), nonce), std::nullopt);
  // Someone else with the used token, or another key without it.
  const auth::KeyPair thief = auth::generate_key_pair();
  EXPECT_EQ(r->login(hello(thief, "acme", nonce, token), nonce), LoginRefusal::join_used);
  EXPECT_EQ(r->login(hello(thief, "acme", nonce, std::nullopt), nonce), LoginRefusal::bad_key);
  EXPECT_EQ(to_code(LoginRefusal::join_used), "join-used");

  // reset: a new token, the old key is forgotten.
  std::string token2;
  ASSERT_TRUE(r->update([&](Registry& reg) -> base::Status {
    token2 = *reg.reset("acme");
    return {};
  }));
  EXPECT_EQ(r->login(hello(k, "acme", nonce, std::nullopt), nonce), LoginRefusal::join_required);
  EXPECT_EQ(r->login(hello(thief, "acme", nonce, token), nonce), LoginRefusal::bad_join);
  EXPECT_EQ(r->login(hello(thief, "acme", nonce, token2), nonce), std::nullopt);
}

TEST_F(RegistryTest, ReloadsWhenTheFileChanges) {
  auto node = Registry::load(path_);
  ASSERT_TRUE(node);
  EXPECT_EQ(node->find("acme"), nullptr);
  auto cli = Registry::load(path_);
  ASSERT_TRUE(cli->add("acme"));
  ASSERT_TRUE(cli->add("globex"));
  ASSERT_TRUE(cli->save());
  ASSERT_TRUE(node->reload_if_changed());
  EXPECT_NE(node->find("acme"), nullptr);
  EXPECT_NE(node->find("globex"), nullptr);
}

}  // namespace
}  // namespace callbridge::relay::node

namespace callbridge::relay::node {
namespace {

// Two nodes sharing one file: each records the key of the edge that joined it; neither loses the
// other's (regression: the second save overwrote the first node's join).
TEST_F(RegistryTest, TwoNodesJoiningAtOnceKeepBothKeys) {
  auto cli = Registry::load(path_);
  std::string t1, t2;
  ASSERT_TRUE(cli->update([&](Registry& r) -> base::Status {
    t1 = *r.add("acme");
    t2 = *r.add("globex");
    return {};
  }));
  auto n1 = Registry::load(path_);
  auto n2 = Registry::load(path_);
  const auth::KeyPair k1 = auth::generate_key_pair(), k2 = auth::generate_key_pair();
  const std::string nonce = auth::random_bytes(32);
  EXPECT_EQ(n1->login(hello(k1, "acme", nonce, t1), nonce), std::nullopt);
  EXPECT_EQ(n2->login(hello(k2, "globex", nonce, t2), nonce), std::nullopt);
  auto after = Registry::load(path_);
  EXPECT_EQ(after->find("acme")->public_key, auth::b64url(k1.public_key));
  EXPECT_EQ(after->find("globex")->public_key, auth::b64url(k2.public_key));
  // The same token presented with another key at the other node: refused there too.
  EXPECT_EQ(n2->login(hello(k2, "acme", nonce, t1), nonce), LoginRefusal::join_used);
}

}  // namespace
}  // namespace callbridge::relay::node
