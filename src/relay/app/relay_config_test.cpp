#include "relay/app/relay_config.hpp"

#include <gtest/gtest.h>

namespace callbridge::relay::app {
namespace {

TEST(RelayConfig, DefaultsAndTheSampleAgree) {
  auto d = parse_relay_config("", "x");
  ASSERT_TRUE(d) << d.error().to_string();
  auto s = parse_relay_config(sample_relay_config(), "sample");
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->listen, d->listen);
  EXPECT_EQ(s->router.max_frame_bytes, d->router.max_frame_bytes);
  EXPECT_EQ(s->router.window.max_frames, d->router.window.max_frames);
  EXPECT_EQ(s->router.window.max_bytes, d->router.window.max_bytes);
  EXPECT_EQ(s->router.window.max_age, d->router.window.max_age);
  EXPECT_EQ(s->router.client_frames_per_second, d->router.client_frames_per_second);
  EXPECT_EQ(s->server.client_queue_bytes, d->server.client_queue_bytes);
  EXPECT_EQ(s->server.edge_queue_bytes, d->server.edge_queue_bytes);
  EXPECT_EQ(d->server.port, 8443);
  EXPECT_EQ(d->server.host, "0.0.0.0");
}

TEST(RelayConfig, ReadsEveryKey) {
  auto c = parse_relay_config(R"(
name = "r2"
listen = "127.0.0.1:0"
registry = "/tmp/e.json"
[tls]
cert_file = "/c"
key_file = "/k"
[cluster]
nats_url = "nats://127.0.0.1:4222"
[limits]
max_frame_bytes = 4096
client_frames_per_second = 5.5
[diagnostics]
token_file = "/etc/diag.token"
[window]
frames = 10
max_age_s = 60
idle_s = 5
)",
                              "t.toml");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->name, "r2");
  EXPECT_EQ(c->server.port, 0);
  EXPECT_EQ(c->server.host, "127.0.0.1");
  EXPECT_EQ(c->server.tls_cert_file, "/c");
  EXPECT_EQ(c->nats_url, "nats://127.0.0.1:4222");
  EXPECT_EQ(c->router.max_frame_bytes, 4096u);
  EXPECT_EQ(c->router.client_frames_per_second, 5.5);
  EXPECT_EQ(c->router.window.max_frames, 10u);
  EXPECT_EQ(c->router.window.max_age, std::chrono::seconds(60));
  EXPECT_EQ(c->router.window_idle, std::chrono::seconds(5));
  EXPECT_EQ(c->diagnostics_token_file, "/etc/diag.token");
}

TEST(RelayConfig, ErrorsNameTheKey) {
  auto e = [](std::string_view text) {
    auto c = parse_relay_config(text, "t.toml");
    return c ? std::string("ok") : c.error().message();
  };
  EXPECT_EQ(e("lisen = \"x\""), "t.toml: lisen: unknown key");
  EXPECT_EQ(e("[limits]\nmax_frame_bytes = 10\n"), "t.toml: limits.max_frame_bytes: expected an integer 1024..16777216");
  EXPECT_EQ(e("[window]\nfoo = 1\n"), "t.toml: window.foo: unknown key");
  EXPECT_EQ(e("listen = \"nowhere\""), "listen: expected HOST:PORT, got \"nowhere\"");
  EXPECT_EQ(e("[cluster]\nnats_url = \"http://x\"\n"), "t.toml: cluster.nats_url: expected nats://HOST:PORT");
  EXPECT_EQ(e("name = 5"), "t.toml: name: expected a string");
  EXPECT_NE(e("[[[").find("t.toml line 1"), std::string::npos);
}

}  // namespace
}  // namespace callbridge::relay::app
