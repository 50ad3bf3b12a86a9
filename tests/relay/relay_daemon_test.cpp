// callbridged as an edge (label relay): with [relay] in its configuration it creates its key file,
// dials out to a real callbridge-relay, joins with the one-time token and stays logged in; the
// relay records its key. A wrong token leaves it refused (and retrying), never logged in.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <regex>

#include "relay_harness.hpp"
#include "support/child_process.hpp"

namespace callbridge::relay::testing {
namespace {

using callbridge::testing::ChildProcess;
using callbridge::testing::TempDir;

std::string read(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

TEST(RelayDaemon, CallbridgedConnectsOutAsAnEdge) {
  TempDir dir("relay-daemon");
  make_certificate(dir.path());
  std::ofstream(dir / "relay.toml") << "registry = \"" << (dir / "edges.json") << "\"\n[tls]\ncert_file = \""
                                    << (dir / "cert.pem") << "\"\nkey_file = \"" << (dir / "key.pem") << "\"\n";
  ChildProcess add(CALLBRIDGE_RELAY_PATH, {"-c", dir / "relay.toml", "edge", "add", "acme"});
  ASSERT_EQ(add.wait_exit(), 0) << add.output();
  const std::string token = add.output().substr(0, add.output().find('\n'));
  ChildProcess relay(CALLBRIDGE_RELAY_PATH, {"-c", dir / "relay.toml", "serve", "--listen", "127.0.0.1:0"});
  auto m = relay.wait_for(std::regex(R"(listening on 127\.0\.0\.1:(\d+))"));
  ASSERT_FALSE(m.empty()) << relay.output();
  const auto port = static_cast<std::uint16_t>(std::stoi(m[1].str()));

  std::ofstream(dir / "callbridge.toml") << "[relay]\nurl = \"wss://127.0.0.1:" << port << "\"\nedge_id = \"acme\"\n"
                                         << "join_token = \"" << token << "\"\nca_file = \"" << (dir / "cert.pem")
                                         << "\"\n";
  ChildProcess edge(CALLBRIDGED_PATH, {"--config", dir / "callbridge.toml", "--listen", "127.0.0.1:0", "--data-dir",
                                       dir / "data"});
  ASSERT_FALSE(edge.wait_for(std::regex("relay: logged in at 127.0.0.1")).empty()) << edge.output();
  EXPECT_NE(curl(port, "/metrics").find("relay_edges_connected 1"), std::string::npos);

  struct stat st {};
  ASSERT_EQ(::stat((dir / "data/relay-edge.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(read(dir / "edges.json").find("\"joined\":\"20"), std::string::npos) << read(dir / "edges.json");
  edge.signal(SIGTERM);
  EXPECT_EQ(edge.wait_exit(), 0) << edge.output();

  // Another machine with the used token (a copied config, not the key): refused.
  std::filesystem::remove_all(dir / "data2");
  ChildProcess thief(CALLBRIDGED_PATH, {"--config", dir / "callbridge.toml", "--listen", "127.0.0.1:0", "--data-dir",
                                        dir / "data2"});
  ASSERT_FALSE(thief.wait_for(std::regex("refused this edge: .*\\(join-used\\)")).empty()) << thief.output();
  EXPECT_EQ(thief.output().find("relay: logged in"), std::string::npos);
  EXPECT_NE(curl(port, "/metrics").find("relay_edge_logins_total{result=\"join-used\"}"), std::string::npos);
}

}  // namespace
}  // namespace callbridge::relay::testing
