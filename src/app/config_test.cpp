// Config parsing, validation and the CLI overrides: every error names its key.
#include "app/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

namespace callbridge::app {
namespace {

std::string error_of(std::string_view toml) {
  auto c = parse_config(toml, "test.toml");
  if (c) {
    auto v = validate(*c);
    return v ? std::string("<no error>") : v.error().message();
  }
  return c.error().message();
}

TEST(Config, EmptyFileGivesDefaults) {
  auto c = parse_config("", "test.toml");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(*c, Config{});
  EXPECT_EQ(c->server.listen, "127.0.0.1:8080");
  EXPECT_TRUE(c->pbx.empty());
}

TEST(Config, PrintedDefaultConfigLoadsToTheDefaults) {
  auto c = parse_config(default_config_toml(), "<default>");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(*c, Config{});
  EXPECT_TRUE(validate(*c));
}

TEST(Config, PrintedDefaultConfigWithExamplesUncommentedLoads) {
  // The commented examples must be valid too: uncomment every "# key = value" line and the
  // table headers.
  std::string text = default_config_toml(), out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    std::string line = text.substr(pos, end - pos);
    pos = end == std::string::npos ? text.size() : end + 1;
    if (line.rfind("# [", 0) == 0 || (line.rfind("# ", 0) == 0 && line.find(" = ") != std::string::npos &&
                                      line.find(" = ") < line.find(' ', 2) + 1))
      line = line.substr(2);
    out += line + "\n";
  }
  auto c = parse_config(out, "<examples>");
  ASSERT_TRUE(c) << c.error().message() << "\n" << out;
  ASSERT_EQ(c->pbx.size(), 1u);
  EXPECT_EQ(c->pbx[0].host, "pbx.example.com");
  EXPECT_EQ(c->tenants.at("default").dialing.country_code, "49");
  EXPECT_EQ(c->server.data_dir, "/var/lib/callbridge");
  ASSERT_EQ(c->directory.ldap.size(), 1u);
  EXPECT_EQ(c->directory.ldap[0].base_dn, "ou=people,dc=example,dc=com");
  ASSERT_EQ(c->directory.http.size(), 1u);
  EXPECT_EQ(c->directory.http[0].headers.size(), 1u);
  EXPECT_TRUE(validate(*c));
}

TEST(Config, ReadsEveryKey) {
  auto c = parse_config(R"(
[server]
listen = "[::1]:0"
data_dir = "/tmp/cb"
log_level = "debug"

[journal]
exclude_internal = true
excluded_numbers = ["150", "+4989123456"]
retention_days = 90
synchronous = "full"

[audit]
retention_days = 30

[[pbx]]
name = "main"
host = "10.0.0.5"
port = 5039
user = "cti"
secret = "s3"
auth = "plain"
keepalive_s = 0
connect_timeout_s = 3
reconnect_min_ms = 100
reconnect_max_ms = 2000
record_dir = "/tmp/rec"
tenant = "acme"

[[pbx]]
host = "10.0.0.6"
user = "cti"
secret = "s4"

[tenant.acme.dialing]
country_code = "+49"
area_code = "89"
base_number = "123456"
extension_length = 3
outside_prefix = "0"
trunk_prefix = "0"
international_prefix = "00"
)",
                        "test.toml");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_TRUE(validate(*c));
  EXPECT_EQ(c->server.listen, "[::1]:0");
  EXPECT_EQ(c->server.data_dir, "/tmp/cb");
  EXPECT_EQ(c->server.log_level, "debug");
  EXPECT_TRUE(c->journal.exclude_internal);
  EXPECT_EQ(c->journal.excluded_numbers, (std::vector<std::string>{"150", "+4989123456"}));
  EXPECT_EQ(c->journal.retention_days, 90);
  EXPECT_EQ(c->audit.retention_days, 30);
  EXPECT_TRUE(c->journal.synchronous_full);
  ASSERT_EQ(c->pbx.size(), 2u);
  const auto& p = c->pbx[0];
  EXPECT_EQ(p.name, "main");
  EXPECT_EQ(p.host, "10.0.0.5");
  EXPECT_EQ(p.port, 5039);
  EXPECT_EQ(p.user, "cti");
  EXPECT_EQ(p.secret, "s3");
  EXPECT_EQ(p.auth, AmiAuth::plain);
  EXPECT_EQ(p.keepalive_s, 0);
  EXPECT_EQ(p.connect_timeout_s, 3);
  EXPECT_EQ(p.reconnect_min_ms, 100);
  EXPECT_EQ(p.reconnect_max_ms, 2000);
  EXPECT_EQ(p.record_dir, "/tmp/rec");
  EXPECT_EQ(p.tenant, "acme");
  EXPECT_EQ(c->pbx[1].name, "pbx2");
  EXPECT_EQ(c->pbx[1].port, 5038);
  const auto& d = c->tenants.at("acme").dialing;
  EXPECT_EQ(d.country_code, "49");
  EXPECT_EQ(d.area_code, "89");
  EXPECT_EQ(d.base_number, "123456");
  EXPECT_EQ(d.extension_length, 3);
  EXPECT_EQ(d.outside_prefix, "0");
}

// [cluster]: the lease settings (docs/cluster.md "Fencing"), with the defaults when absent.
TEST(Config, ClusterLeaseSettings) {
  const std::string base =
      "[cluster]\nnode = \"cb1\"\nnats_url = \"nats://10.0.0.5:4222\"\npostgres = \"host=db dbname=cb\"\n";
  auto c = parse_config(base, "test.toml");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_TRUE(c->cluster.enabled);
  EXPECT_EQ(c->cluster.node, "cb1");
  EXPECT_EQ(c->cluster.lease_ttl_ms, 3000);
  EXPECT_EQ(c->cluster.lease_renew_ms, 1000);
  EXPECT_EQ(c->cluster.lease_margin_ms, 500);
  EXPECT_EQ(c->cluster.lease_bucket, "callbridge_leases");
  EXPECT_EQ(c->cluster.command_timeout_ms, 3000);
  c = parse_config(base + "lease_ttl_ms = 6000\nlease_renew_ms = 2000\nlease_margin_ms = 800\nlease_bucket = \"cb_x\"\n"
                          "command_timeout_ms = 1500\n",
                   "test.toml");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->cluster.lease_ttl_ms, 6000);
  EXPECT_EQ(c->cluster.lease_renew_ms, 2000);
  EXPECT_EQ(c->cluster.lease_margin_ms, 800);
  EXPECT_EQ(c->cluster.lease_bucket, "cb_x");
  EXPECT_EQ(c->cluster.command_timeout_ms, 1500);
  EXPECT_NE(error_of(base + "command_timeout_ms = 5\n").find("cluster.command_timeout_ms"), std::string::npos);
  EXPECT_NE(error_of(base + "lease_margin_ms = 3000\n").find("cluster.lease_margin_ms: must be less than lease_ttl_ms"),
            std::string::npos);
  EXPECT_NE(error_of(base + "lease_ttl_ms = 100\n").find("cluster.lease_ttl_ms"), std::string::npos);
  EXPECT_NE(error_of(base + "lease_bucket = \"a.b\"\n").find("cluster.lease_bucket"), std::string::npos);
  // The event stream (docs/cluster.md "Call events on every node").
  c = parse_config(base, "test.toml");
  EXPECT_EQ(c->cluster.events_stream, "callbridge_events");
  EXPECT_EQ(c->cluster.events_max_age_s, 86400);
  EXPECT_EQ(c->cluster.events_max_per_tenant, 100000);
  c = parse_config(base + "events_stream = \"cb_ev\"\nevents_max_age_s = 3600\nevents_max_per_tenant = 5000\n",
                   "test.toml");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->cluster.events_stream, "cb_ev");
  EXPECT_EQ(c->cluster.events_max_age_s, 3600);
  EXPECT_EQ(c->cluster.events_max_per_tenant, 5000);
  EXPECT_NE(error_of(base + "events_stream = \"cb.ev\"\n").find("cluster.events_stream: expected 1-64"),
            std::string::npos);
  EXPECT_NE(error_of(base + "events_max_age_s = 5\n").find("cluster.events_max_age_s"), std::string::npos);
  EXPECT_NE(error_of("[cluster]\nnats_url = \"nats://x:1\"\npostgres = \"x\"\n").find("cluster.node"),
            std::string::npos);
}

TEST(Config, SinglePbxTable) {
  auto c = parse_config("[pbx]\nhost = \"pbx\"\nuser = \"u\"\nsecret = \"s\"\n", "t");
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->pbx.size(), 1u);
  EXPECT_EQ(c->pbx[0].name, "pbx");
  EXPECT_TRUE(validate(*c));
}

TEST(Config, ErrorsNameTheKey) {
  EXPECT_EQ(error_of("[journal]\nretention_days = \"ten\"\n"),
            "journal.retention_days: expected a non-negative integer, got \"ten\" (test.toml line 2)");
  EXPECT_EQ(error_of("[audit]\nretention_days = -1\n"),
            "audit.retention_days: expected 0 (keep forever) or a number of days, 1..36500, got -1 (test.toml line 2)");
  EXPECT_EQ(error_of("[audit]\nkeep = 1\n").substr(0, 11), "audit.keep:");
  EXPECT_EQ(error_of("[journal]\nretention_days = -1\n"),
            "journal.retention_days: expected a non-negative integer, got -1 (test.toml line 2)");
  EXPECT_EQ(error_of("[server]\nlisen = \"x\"\n"),
            "server.lisen: unknown key (did you mean \"listen\"?) (test.toml line 2)");
  EXPECT_EQ(error_of("[frobnicate]\nx = 1\n"), "frobnicate: unknown key (test.toml line 1)");
  EXPECT_EQ(error_of("[server]\nlisten = \"localhost\"\n"),
            "server.listen: expected HOST:PORT (e.g. \"127.0.0.1:8080\"), got \"localhost\" (test.toml line 2)");
  EXPECT_EQ(error_of("[server]\nlog_level = \"loud\"\n"),
            "server.log_level: expected \"trace\" or \"debug\" or \"info\" or \"warn\" or \"error\" or \"off\", "
            "got \"loud\" (test.toml line 2)");
  EXPECT_EQ(error_of("[journal]\nexclude_internal = \"yes\"\n"),
            "journal.exclude_internal: expected true or false, got \"yes\" (test.toml line 2)");
  EXPECT_EQ(error_of("[journal]\nexcluded_numbers = [\"150\", 7]\n"),
            "journal.excluded_numbers[1]: expected a non-empty string, got 7 (test.toml line 2)");
  EXPECT_EQ(error_of("[[pbx]]\nhost=\"a\"\nuser=\"u\"\nsecret=\"s\"\n[[pbx]]\nhost=\"b\"\nuser=\"u\"\nsecret=\"s\"\nport = 70000\n"),
            "pbx[1].port: expected a port number 1..65535, got 70000 (test.toml line 9)");
  EXPECT_EQ(error_of("[pbx]\nhost=\"a\"\nuser=\"u\"\nsecret=\"s\"\nauth = \"sha\"\n"),
            "pbx.auth: expected \"md5\" or \"plain\", got \"sha\" (test.toml line 5)");
  EXPECT_EQ(error_of("[pbx]\nhost=\"a\"\nuser=\"u\"\n"), "pbx.secret: required (or --ami-secret)");
  EXPECT_EQ(error_of("[pbx]\nhost=\"a\"\nuser=\"u\"\nsecret=\"s\"\nreconnect_min_ms = 5000\nreconnect_max_ms = 100\n"),
            "pbx.reconnect_min_ms: 5000 is larger than reconnect_max_ms 100");
  EXPECT_EQ(error_of("[[pbx]]\nname=\"x\"\nhost=\"a\"\nuser=\"u\"\nsecret=\"s\"\n[[pbx]]\nname=\"x\"\nhost=\"b\"\nuser=\"u\"\nsecret=\"s\"\n"),
            "pbx[1].name: \"x\" is used by two links");
  EXPECT_EQ(error_of("pbx = 5\n"), "pbx: expected a [pbx] table or [[pbx]] tables, got 5 (test.toml line 1)");
  EXPECT_EQ(error_of("[tenant.acme.dialing]\ncountry_code = \"4x\"\n"),
            "tenant.acme.dialing.country_code: expected a string of digits (e.g. \"49\"), got \"4x\" (test.toml line 2)");
  EXPECT_EQ(error_of("[tenant.acme.dialing]\nextension_length = 0\n"),
            "tenant.acme.dialing.extension_length: expected an integer 1..10, got 0 (test.toml line 2)");
  EXPECT_EQ(error_of("[tenant.acme]\nfoo = 1\n"), "tenant.acme.foo: unknown key (test.toml line 2)");
  EXPECT_EQ(error_of("[tenant.acme.dialing]\narea = \"89\"\n"),
            "tenant.acme.dialing.area: unknown key (test.toml line 2)");
}

TEST(Config, ServerTls) {
  auto c = parse_config("[server.tls]\ncert_file = \"/c.pem\"\nkey_file = \"/k.pem\"\n", "test.toml");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->server.tls_cert_file, "/c.pem");
  EXPECT_EQ(c->server.tls_key_file, "/k.pem");
  EXPECT_EQ(error_of("[server.tls]\ncert_file = \"/c.pem\"\n"),
            "server.tls.key_file: required when [server.tls] names the other file");
  EXPECT_EQ(error_of("[server.tls]\nkey_file = \"/k.pem\"\n"),
            "server.tls.cert_file: required when [server.tls] names the other file");
  EXPECT_EQ(error_of("[server.tls]\ncert_fil = \"x\"\n"),
            "server.tls.cert_fil: unknown key (did you mean \"cert_file\"?) (test.toml line 2)");
}

// Issue 15: [csta] (the CSTA server) with its limits, TLS and [[csta.client]] credentials; every
// error names the key.
TEST(Config, CstaSection) {
  auto c = parse_config(R"(
[csta]
listen = "0.0.0.0:1040"
max_clients = 10
max_frame_bytes = 8192
requests_per_second = 5
session_start_timeout_s = 3
start_styles = ["osv"]
[csta.tls]
cert_file = "/c.pem"
key_file = "/k.pem"
[[csta.client]]
name = "tapi"
secret_sha256 = "3A7BD3E2360A3D29EEA436FCFB7E44C735D117C42D1C1835420B6B9942DD4F1B"
tenant = "acme"
[[csta.client]]
name = "crm"
secret_file = "/etc/callbridge/crm.secret"
)",
                        "test.toml");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->csta.listen, "0.0.0.0:1040");
  EXPECT_EQ(c->csta.max_clients, 10u);
  EXPECT_EQ(c->csta.max_frame_bytes, 8192u);
  EXPECT_EQ(c->csta.requests_per_second, 5);
  EXPECT_EQ(c->csta.session_start_timeout_s, 3);
  EXPECT_EQ(c->csta.start_styles, std::vector<std::string>{"osv"});
  EXPECT_EQ(c->csta.tls_cert_file, "/c.pem");
  ASSERT_EQ(c->csta.clients.size(), 2u);
  EXPECT_EQ(c->csta.clients[0].secret_sha256, "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b");
  EXPECT_EQ(c->csta.clients[0].tenant, "acme");
  EXPECT_EQ(c->csta.clients[1].tenant, "default");
  EXPECT_EQ(c->csta.clients[1].secret_file, "/etc/callbridge/crm.secret");
  EXPECT_TRUE(parse_config("", "x")->csta.listen.empty()) << "off by default";

  EXPECT_EQ(error_of("[csta]\nlisten = \"nowhere\"\n"),
            "csta.listen: expected HOST:PORT (e.g. \"0.0.0.0:1040\"), got \"nowhere\" (test.toml line 2)");
  EXPECT_EQ(error_of("[csta]\nstart_styles = [\"tapi\"]\n"),
            "csta.start_styles: expected a list of \"ecma354\" and \"osv\", got an array (test.toml line 2)");
  EXPECT_EQ(error_of("[csta]\nmax_frame_bytes = 10\n"),
            "csta.max_frame_bytes: expected an integer 1024..1048576 (bytes), got 10 (test.toml line 2)");
  EXPECT_EQ(error_of("[[csta.client]]\nname = \"a\"\n"),
            "csta.client[0].secret_sha256: give exactly one of secret_sha256 and secret_file");
  EXPECT_EQ(error_of("[[csta.client]]\nname = \"a\"\nsecret_sha256 = \"abc\"\n"),
            "csta.client[0].secret_sha256: expected 64 hex digits (printf %s SECRET | sha256sum)");
  EXPECT_EQ(error_of("[[csta.client]]\nname = \"a\"\nsecret_file = \"/x\"\n[[csta.client]]\nname = \"a\"\n"
                     "secret_file = \"/y\"\n"),
            "csta.client[1].name: \"a\" is used by two clients");
  EXPECT_EQ(error_of("[[csta.client]]\nname = \"a b\"\nsecret_file = \"/x\"\n"),
            "csta.client[0].name: \"a b\" (at most 64 characters, no spaces or XML specials)");
  EXPECT_EQ(error_of("[csta.tls]\ncert_file = \"/c.pem\"\n"),
            "csta.tls.key_file: required when [csta.tls] names the other file");
}

// Issue 16: [relay], this callbridged as an edge of a cloud relay.
TEST(Config, RelaySection) {
  auto c = parse_config(R"(
[relay]
url = "wss://relay.example.com:8443"
edge_id = "acme-2"
join_token = "tok"
edge_key_file = "/var/lib/callbridge/k"
ca_file = "/ca.pem"
outbox_frames = 100
privacy = "relaxed"
)",
                        "test.toml");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->relay.privacy, "relaxed");
  EXPECT_EQ(parse_config("", "x")->relay.privacy, "strict") << "strict by default";
  EXPECT_EQ(error_of("[relay]\nprivacy = \"open\"\n"),
            "relay.privacy: expected \"strict\" or \"relaxed\", got \"open\" (test.toml line 2)");
  EXPECT_EQ(c->relay.url, "wss://relay.example.com:8443");
  EXPECT_EQ(c->relay.edge_id, "acme-2");
  EXPECT_EQ(c->relay.join_token, "tok");
  EXPECT_EQ(c->relay.edge_key_file, "/var/lib/callbridge/k");
  EXPECT_EQ(c->relay.ca_file, "/ca.pem");
  EXPECT_EQ(c->relay.outbox_frames, 100u);
  EXPECT_EQ(c->relay.outbox_bytes, 4u * 1024 * 1024);
  EXPECT_TRUE(parse_config("", "x")->relay.url.empty()) << "off by default";

  EXPECT_EQ(error_of("[relay]\nurl = \"http://relay\"\nedge_id = \"a\"\n"),
            "relay.url: expected a wss:// URL (e.g. \"wss://relay.example.com\"), got \"http://relay\" (test.toml line 2)");
  EXPECT_EQ(error_of("[relay]\nurl = \"wss://relay\"\n"), "relay.edge_id: required when [relay] url is set");
  EXPECT_EQ(error_of("[relay]\nurl = \"wss://relay\"\nedge_id = \"Acme\"\n"),
            "relay.edge_id: expected an edge name: lower-case letters, digits and '-', 1 to 63, not starting with '-', "
            "got \"Acme\" (test.toml line 3)");
  EXPECT_EQ(error_of("[relay]\nurl = \"wss://relay\"\nedge_id = \"a\"\nedge_key = \"x\"\n"),
            "relay.edge_key: unknown key (test.toml line 4)");
}

TEST(Config, ServerConnectionCaps) {
  auto d = parse_config("", "test.toml");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->server.max_connections, 512u);
  EXPECT_EQ(d->server.max_connections_per_address, 64u);
  EXPECT_EQ(d->server.first_request_timeout_s, 5);
  auto c = parse_config("[server]\nmax_connections = 5000\nmax_connections_per_address = 2000\n"
                        "first_request_timeout_s = 2\n",
                        "test.toml");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->server.max_connections, 5000u);
  EXPECT_EQ(c->server.max_connections_per_address, 2000u);
  EXPECT_EQ(c->server.first_request_timeout_s, 2);
  EXPECT_EQ(error_of("[server]\nmax_connections = 10\nmax_connections_per_address = 11\n"),
            "server.max_connections_per_address: 11 is more than max_connections (10)");
  EXPECT_NE(error_of("[server]\nmax_connections = 0\n").find("server.max_connections"), std::string::npos);
  EXPECT_NE(error_of("[server]\nfirst_request_timeout_s = 0\n").find("first_request_timeout_s"),
            std::string::npos);
}

// [server] metrics_allow (issue 12: /metrics was served tokenless to any loopback peer): address
// ranges, checked at load with the bad entry named.
TEST(Config, MetricsAllowIsAListOfAddressRanges) {
  auto d = parse_config("", "test.toml");
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->server.metrics_allow.empty());  // default: the token is needed
  auto c = parse_config("[server]\nmetrics_allow = [\"10.0.5.0/24\", \"::1\", \"fd00::/8\"]\n", "test.toml");
  ASSERT_TRUE(c) << c.error().to_string();
  ASSERT_EQ(c->server.metrics_allow.size(), 3u);
  EXPECT_TRUE(c->server.metrics_allow[0].contains("10.0.5.77"));
  EXPECT_TRUE(c->server.metrics_allow[1].contains("::1"));
  EXPECT_FALSE(c->server.metrics_allow[1].contains("127.0.0.1"));
  EXPECT_EQ(error_of("[server]\nmetrics_allow = [\"10.0.5.0/24\", \"10.0.0.1/8\"]\n"),
            "server.metrics_allow[1]: \"10.0.0.1/8\": address bits are set beyond the /8 prefix (test.toml line 2)");
  EXPECT_EQ(error_of("[server]\nmetrics_allow = [\"prometheus.lan\"]\n"),
            "server.metrics_allow[0]: \"prometheus.lan\" is not an address range (expected e.g. \"10.0.0.0/8\", "
            "\"fd00::/8\" or one address) (test.toml line 2)");
  EXPECT_NE(error_of("[server]\nmetrics_allow = [\"10.0.0.0/40\"]\n").find("server.metrics_allow[0]: \"10.0.0.0/40\": the prefix length must be 0..32"),
            std::string::npos);
  EXPECT_NE(error_of("[server]\nmetrics_allow = \"10.0.0.0/8\"\n").find("server.metrics_allow: expected an array of strings"),
            std::string::npos);
}

// [server] allowed_origins (issue 12, the Origin check of cookie requests): origins normalised,
// a bad entry named.
TEST(Config, AllowedOriginsAreNormalisedAndCheckedAtLoad) {
  auto d = parse_config("", "test.toml");
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->server.allowed_origins.empty());
  auto c = parse_config("[server]\nallowed_origins = [\"HTTPS://CRM.example.com:443\", \"http://10.0.0.5:8080\"]\n",
                        "test.toml");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->server.allowed_origins, (std::vector<std::string>{"https://crm.example.com", "http://10.0.0.5:8080"}));
  EXPECT_EQ(error_of("[server]\nallowed_origins = [\"https://crm.example.com\", \"https://crm.example.com/app\"]\n"),
            "server.allowed_origins[1]: \"https://crm.example.com/app\": an origin has no path, query, user or "
            "trailing slash (scheme://host[:port]) (test.toml line 2)");
  EXPECT_NE(error_of("[server]\nallowed_origins = [\"crm.example.com\"]\n").find("server.allowed_origins[0]: \"crm.example.com\": expected scheme://host[:port]"),
            std::string::npos);
}

TEST(Config, DirectoryStoreMemoryIndex) {
  auto c = parse_config("", "test.toml");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->directory.memory_index);
  c = parse_config("[directory.store]\nmemory_index = false\n", "test.toml");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_FALSE(c->directory.memory_index);
  EXPECT_NE(error_of("[directory.store]\nmemory_index = 1\n").find("directory.store.memory_index: expected"),
            std::string::npos);
  EXPECT_NE(error_of("[directory.store]\nmemory_indx = true\n").find("directory.store.memory_indx: unknown key"),
            std::string::npos);
  EXPECT_NE(error_of("[directory]\nstor = 1\n").find("directory.stor: unknown key"), std::string::npos);
}

TEST(Config, SyntaxErrorsGiveTheLine) {
  auto m = error_of("[server]\nlisten = \n");
  EXPECT_EQ(m.rfind("test.toml line 2: ", 0), 0u) << m;
}

TEST(Config, HostPort) {
  EXPECT_EQ(parse_host_port("pbx:5038")->host, "pbx");
  EXPECT_EQ(parse_host_port("pbx:5038")->port, 5038);
  EXPECT_EQ(parse_host_port("[::1]:0")->host, "::1");
  EXPECT_EQ(parse_host_port("[::1]:0")->port, 0);
  EXPECT_FALSE(parse_host_port("pbx"));
  EXPECT_FALSE(parse_host_port(":80"));
  EXPECT_FALSE(parse_host_port("pbx:"));
  EXPECT_FALSE(parse_host_port("pbx:65536"));
  EXPECT_FALSE(parse_host_port("pbx:80x"));
  EXPECT_FALSE(parse_host_port("::1:80"));
}

TEST(Config, AmiFlagsAloneMakeAWorkingLink) {
  Config c;
  Overrides o;
  o.ami = "pbx.example.com:5038";
  o.ami_user = "cti";
  o.ami_secret = "pw";
  o.record_dir = "/tmp/rec";
  o.listen = "127.0.0.1:0";
  ASSERT_TRUE(apply_overrides(c, o));
  ASSERT_EQ(c.pbx.size(), 1u);
  EXPECT_EQ(c.pbx[0].host, "pbx.example.com");
  EXPECT_EQ(c.pbx[0].port, 5038);
  EXPECT_EQ(c.pbx[0].user, "cti");
  EXPECT_EQ(c.pbx[0].secret, "pw");
  EXPECT_EQ(c.pbx[0].record_dir, "/tmp/rec");
  EXPECT_EQ(c.server.listen, "127.0.0.1:0");
}

TEST(Config, OverrideErrorsNameTheFlag) {
  auto err = [](Overrides o, Config c = {}) {
    auto st = apply_overrides(c, o);
    return st ? std::string("<no error>") : st.error().message();
  };
  Overrides o;
  o.ami = "pbx";
  EXPECT_EQ(err(o), "--ami: expected HOST:PORT (e.g. pbx.example.com:5038), got \"pbx\"");
  o = {};
  o.ami = "pbx:5038";
  EXPECT_EQ(err(o), "pbx.user: required (or --ami-user)");
  o = {};
  o.ami_user = "u";
  EXPECT_EQ(err(o), "--ami-user/--ami-secret: no PBX configured; add --ami HOST:PORT");
  o = {};
  o.listen = "nope";
  EXPECT_EQ(err(o), "--listen: expected HOST:PORT, got \"nope\"");
  o = {};
  o.log_level = "loud";
  EXPECT_EQ(err(o), "--log-level: expected trace, debug, info, warn, error or off, got \"loud\"");
  Config two;
  two.pbx.resize(2);
  o = {};
  o.ami = "x:1";
  EXPECT_EQ(err(o, two).rfind("--ami/--ami-user/--ami-secret: the configuration has 2", 0), 0u);
}

TEST(Config, FileOverridesKeepFileValues) {
  auto c = parse_config("[pbx]\nuser = \"file-user\"\nsecret = \"s\"\n", "t");
  ASSERT_TRUE(c);
  Overrides o;
  o.ami = "h:1";
  ASSERT_TRUE(apply_overrides(*c, o));
  EXPECT_EQ(c->pbx[0].user, "file-user");
  EXPECT_EQ(c->pbx[0].host, "h");
}

TEST(Config, DataDirDefault) {
  Config c;
  EXPECT_EQ(effective_data_dir(c), default_data_dir());
  c.server.data_dir = "/x";
  EXPECT_EQ(effective_data_dir(c), "/x");
  EXPECT_EQ(journal_path("/x"), "/x/journal.db");
}

// The packaged service runs as user callbridge with StateDirectory=callbridge: systemd sets
// STATE_DIRECTORY and that is where the data goes (an explicit data_dir still wins).
TEST(Config, DataDirFollowsSystemdStateDirectory) {
  const char* before = std::getenv("STATE_DIRECTORY");
  std::string saved = before ? before : "";
  ::setenv("STATE_DIRECTORY", "/var/lib/callbridge:/var/lib/other", 1);
  Config c;
  EXPECT_EQ(effective_data_dir(c), "/var/lib/callbridge");
  c.server.data_dir = "/x";
  EXPECT_EQ(effective_data_dir(c), "/x");
  ::setenv("STATE_DIRECTORY", "", 1);
  EXPECT_EQ(default_data_dir(), ::geteuid() == 0 ? "/var/lib/callbridge" : "./data");
  if (before) ::setenv("STATE_DIRECTORY", saved.c_str(), 1);
  else ::unsetenv("STATE_DIRECTORY");
}

TEST(Config, MissingFileIsAnError) {
  auto c = load_config_file("/nonexistent/callbridge.toml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("/nonexistent/callbridge.toml"), std::string::npos);
}

}  // namespace
}  // namespace callbridge::app

namespace callbridge::app {
namespace {

TEST(Config, DirectorySourcesAreReadWithEveryKey) {
  auto c = parse_config(R"toml(
[directory.store]
memory_index = false

[[directory.ldap]]
name = "corp"
tenant = "acme"
uri = "ldap://127.0.0.1:3389"
bind_dn = "cn=reader,dc=example,dc=com"
bind_password = "pw"
base_dn = "ou=people,dc=example,dc=com"
filter = "(telephoneNumber={e164})"
name_attributes = ["cn"]
given_name_attribute = "gn"
family_name_attribute = "surname"
company_attribute = "ou"
number_attributes = { telephoneNumber = "work", mobile = "cell" }
size_limit = 5
timeout_ms = 300
priority = 5

[[directory.http]]
name = "crm"
tenant = "acme"
url = "http://127.0.0.1:9000/lookup?n={digits}"
headers = { Authorization = "Bearer t", X-Tenant = "acme" }
results_path = "data.contacts"
id_field = "uid"
name_field = "fullName"
company_field = "company.name"
label_field = "type"
kind_field = "kind"
search_url = "http://127.0.0.1:9000/search?q={text}&n={limit}"
numbers_field = "phones"
number_field = "value"
number_label_field = "type"
tls_verify = false
ca_file = "/etc/ca.pem"
timeout_ms = 1500
priority = 40

[[directory.http]]
name = "crm2"
url = "https://crm.example.com/api?number={e164}"
)toml", "test.toml");
  ASSERT_TRUE(c) << c.error().message();
  const auto& d = c->directory;
  EXPECT_FALSE(d.memory_index);
  ASSERT_EQ(d.ldap.size(), 1u);
  const auto& l = d.ldap[0];
  EXPECT_EQ(l.name, "corp");
  EXPECT_EQ(l.tenant, "acme");
  EXPECT_EQ(l.uri, "ldap://127.0.0.1:3389");
  EXPECT_EQ(l.bind_dn, "cn=reader,dc=example,dc=com");
  EXPECT_EQ(l.bind_password, "pw");
  EXPECT_EQ(l.base_dn, "ou=people,dc=example,dc=com");
  EXPECT_EQ(l.filter, "(telephoneNumber={e164})");
  EXPECT_EQ(l.name_attributes, (std::vector<std::string>{"cn"}));
  EXPECT_EQ(l.given_name_attribute, "gn");
  EXPECT_EQ(l.family_name_attribute, "surname");
  EXPECT_EQ(l.company_attribute, "ou");
  EXPECT_EQ(l.number_attributes.size(), 2u);
  EXPECT_EQ(l.size_limit, 5);
  EXPECT_EQ(l.timeout_ms, 300);
  EXPECT_EQ(l.priority, 5);
  ASSERT_EQ(d.http.size(), 2u);
  const auto& h = d.http[0];
  EXPECT_EQ(h.name, "crm");
  EXPECT_EQ(h.url, "http://127.0.0.1:9000/lookup?n={digits}");
  EXPECT_EQ(h.headers.size(), 2u);
  EXPECT_EQ(h.results_path, "data.contacts");
  EXPECT_EQ(h.id_field, "uid");
  EXPECT_EQ(h.name_field, "fullName");
  EXPECT_EQ(h.company_field, "company.name");
  EXPECT_EQ(h.label_field, "type");
  EXPECT_EQ(h.kind_field, "kind");
  EXPECT_EQ(h.search_url, "http://127.0.0.1:9000/search?q={text}&n={limit}");
  EXPECT_EQ(h.numbers_field, "phones");
  EXPECT_EQ(h.number_field, "value");
  EXPECT_EQ(h.number_label_field, "type");
  EXPECT_EQ(d.http[1].search_url, "");  // no name search unless configured
  EXPECT_EQ(d.http[1].numbers_field, "numbers");
  EXPECT_FALSE(h.tls_verify);
  EXPECT_EQ(h.ca_file, "/etc/ca.pem");
  EXPECT_EQ(h.timeout_ms, 1500);
  EXPECT_EQ(h.priority, 40);
  // Defaults: tenant "default", priority 30, timeout 2 s.
  EXPECT_EQ(d.http[1].tenant, "default");
  EXPECT_EQ(d.http[1].name, "crm2");
  EXPECT_EQ(d.http[1].priority, 30);
  EXPECT_EQ(d.http[1].timeout_ms, 2000);
}

TEST(Config, DirectorySourceErrorsNameTheKey) {
  EXPECT_EQ(error_of("[[directory.ldap]]\nbase_dn = \"dc=x\"\n"),
            "directory.ldap[0].uri: required (e.g. \"ldap://ldap.example.com\")");
  EXPECT_EQ(error_of("[[directory.ldap]]\nuri = \"ldap://h\"\n"),
            "directory.ldap[0].base_dn: required (e.g. \"ou=people,dc=example,dc=com\")");
  EXPECT_EQ(error_of("[[directory.ldap]]\nuri = \"http://h\"\nbase_dn = \"dc=x\"\n"),
            "directory.ldap[0].uri: expected an ldap://, ldaps:// or ldapi:// URI, got \"http://h\" (test.toml line 2)");
  EXPECT_EQ(error_of("[[directory.ldap]]\nuri = \"ldap://h\"\nbase_dn = \"dc=x\"\nfilter = \"(cn=*)\"\n"),
            "directory.ldap[0].filter: expected a search filter containing {e164} or {digits}, got \"(cn=*)\" "
            "(test.toml line 4)");
  EXPECT_EQ(error_of("[[directory.ldap]]\nuri = \"ldap://h\"\nbase_dn = \"dc=x\"\ntimeout_ms = 0\n"),
            "directory.ldap[0].timeout_ms: expected an integer 1..60000 (milliseconds), got 0 (test.toml line 4)");
  EXPECT_EQ(error_of("[[directory.http]]\nurl = \"http://crm/lookup\"\n"),
            "directory.http[0].url: expected an http:// or https:// URL containing {e164} or {digits}, got "
            "\"http://crm/lookup\" (test.toml line 2)");
  EXPECT_EQ(error_of("[[directory.http]]\nurl = \"https://c/{e164}\"\nsearch_url = \"http://c/s?q={text}\"\n"),
            "directory.http[0].search_url: expected an https:// URL (as url) containing {text}, got "
            "\"http://c/s?q={text}\" (test.toml line 3)");
  EXPECT_EQ(error_of("[[directory.http]]\nurl = \"http://c/{e164}\"\nsearch_url = \"http://c/s\"\n"),
            "directory.http[0].search_url: expected an http:// URL (as url) containing {text}, got \"http://c/s\" "
            "(test.toml line 3)");
  EXPECT_EQ(error_of("[[directory.http]]\nname = \"crm\"\n"),
            "directory.http[0].url: required (e.g. \"https://crm.example.com/api/lookup?number={e164}\")");
  EXPECT_EQ(error_of("[[directory.http]]\nurl = \"http://c/{e164}\"\ntenant = \"a b\"\n"),
            "directory.http[0].tenant: expected a tenant id (letters, digits, '-' and '_'), got \"a b\" (test.toml line 3)");
  EXPECT_EQ(error_of("[[directory.http]]\nurl = \"http://c/{e164}\"\nheaders = { Authorization = 5 }\n"),
            "directory.http[0].headers.Authorization: expected a non-empty string, got 5 (test.toml line 3)");
  EXPECT_EQ(error_of("[[directory.http]]\nurl = \"http://c/{e164}\"\nnmae = \"x\"\n"),
            "directory.http[0].nmae: unknown key (did you mean \"name\"?) (test.toml line 3)");
  EXPECT_EQ(error_of("[[directory.http]]\nurl = \"http://c/{e164}\"\nname = \"store\"\n"),
            "directory.http[0].name: \"store\" is the built-in contact store's name; choose another");
  EXPECT_EQ(error_of("[[directory.ldap]]\nname = \"x\"\nuri = \"ldap://h\"\nbase_dn = \"dc=x\"\n"
                     "[[directory.http]]\nname = \"x\"\nurl = \"http://c/{e164}\"\n"),
            "directory.http[0].name: \"x\" is used by another directory source (names are unique across tenants)");
  EXPECT_EQ(error_of("[[directory.ldap]]\nuri = \"ldap://h\"\nbase_dn = \"dc=x\"\ntenant = \"a\"\n"
                     "[[directory.ldap]]\nuri = \"ldap://h\"\nbase_dn = \"dc=x\"\ntenant = \"b\"\n"),
            "directory.ldap[1].name: \"ldap\" is used by another directory source (names are unique across tenants)");
  EXPECT_EQ(error_of("[directory]\nldap = 5\n"),
            "directory.ldap: expected [[directory.ldap]] tables, got 5 (test.toml line 2)");
}

}  // namespace
}  // namespace callbridge::app

namespace callbridge::app {
namespace {

// [webhooks] (docs/webhooks.md): defaults deny private ranges and plain http; every key read;
// a bad range or value names its key.
TEST(Config, WebhooksSection) {
  auto d = parse_config("", "test.toml");
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->webhooks.allow.empty());
  EXPECT_FALSE(d->webhooks.allow_http);
  EXPECT_EQ(d->webhooks.retry_for_s, 3600);
  auto c = parse_config(
      "[webhooks]\nallow = [\"10.20.0.0/16\", \"fd00::/8\"]\nallow_http = true\nconnect_timeout_s = 2\n"
      "timeout_s = 7\nretry_for_s = 60\nqueue = 500\nlog_retention_days = 3\n",
      "test.toml");
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->webhooks.allow.size(), 2u);
  EXPECT_TRUE(c->webhooks.allow[0].contains("10.20.3.4"));
  EXPECT_TRUE(c->webhooks.allow_http);
  EXPECT_EQ(c->webhooks.connect_timeout_s, 2);
  EXPECT_EQ(c->webhooks.timeout_s, 7);
  EXPECT_EQ(c->webhooks.retry_for_s, 60);
  EXPECT_EQ(c->webhooks.queue, 500);
  EXPECT_EQ(c->webhooks.log_retention_days, 3);
  auto bad = parse_config("[webhooks]\nallow = [\"10.0.0.1/8\"]\n", "test.toml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message().rfind("webhooks.allow[0]: ", 0), 0u) << bad.error().message();
  auto bad2 = parse_config("[webhooks]\ntimeout_s = 0\n", "test.toml");
  ASSERT_FALSE(bad2);
  EXPECT_NE(bad2.error().message().find("webhooks.timeout_s"), std::string::npos) << bad2.error().message();
}

// [cluster] (docs/cluster.md): every tenant-scoped store in PostgreSQL on the cluster's database
// unless a store names its own; a store left on SQLite is refused with its key and line.
TEST(ClusterConfig, PutsEveryStoreOnTheClustersPostgres) {
  auto c = parse_config(
      "[cluster]\nnode = \"cb1\"\nnats_url = \"nats://10.0.0.5:4222,nats://10.0.0.6:4222\"\n"
      "postgres = \"host=db dbname=callbridge\"\n\n"
      "[journal]\nbackend = \"postgres\"\ndsn = \"host=journaldb dbname=j\"\n",
      "test.toml");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_TRUE(c->cluster.enabled);
  EXPECT_EQ(c->cluster.node, "cb1");
  EXPECT_EQ(c->cluster.nats_url, "nats://10.0.0.5:4222,nats://10.0.0.6:4222");
  EXPECT_EQ(c->journal.backend, "postgres");
  EXPECT_EQ(c->journal.dsn, "host=journaldb dbname=j");  // its own wins
  for (const auto* b : {&c->identity.backend, &c->audit.backend, &c->webhooks.backend}) EXPECT_EQ(*b, "postgres");
  for (const auto* d : {&c->identity.dsn, &c->audit.dsn, &c->webhooks.dsn}) EXPECT_EQ(*d, "host=db dbname=callbridge");
  EXPECT_TRUE(validate(*c));
}

TEST(ClusterConfig, AStoreLeftOnSqliteIsRefused) {
  for (const char* table : {"journal", "identity", "audit", "webhooks"}) {
    auto e = error_of(std::string("[cluster]\nnode = \"cb1\"\nnats_url = \"nats://127.0.0.1:4222\"\n"
                                  "postgres = \"host=db\"\n\n[") +
                      table + "]\nbackend = \"sqlite\"\n");
    EXPECT_NE(e.find(std::string(table) + ".backend = \"sqlite\": cluster mode ([cluster]) keeps"), std::string::npos)
        << e;
    EXPECT_NE(e.find("test.toml line 7"), std::string::npos) << e;
  }
}

TEST(ClusterConfig, ErrorsNameTheKey) {
  EXPECT_NE(error_of("[cluster]\nnats_url = \"nats://h:4222\"\npostgres = \"host=db\"\n").find("cluster.node: required"),
            std::string::npos);
  EXPECT_NE(error_of("[cluster]\nnode = \"a\"\npostgres = \"host=db\"\n").find("cluster.nats_url: required"),
            std::string::npos);
  EXPECT_NE(error_of("[cluster]\nnode = \"a\"\nnats_url = \"nats://h:4222\"\n").find("cluster.postgres: required"),
            std::string::npos);
  EXPECT_NE(error_of("[cluster]\nnode = \"a b\"\nnats_url = \"nats://h:4222\"\npostgres = \"x\"\n")
                .find("cluster.node: expected 1-64 of [A-Za-z0-9._-]"),
            std::string::npos);
  EXPECT_NE(error_of("[cluster]\nnode = \"a\"\nnats_url = \"http://h:4222\"\npostgres = \"x\"\n")
                .find("cluster.nats_url: expected nats://HOST:PORT"),
            std::string::npos);
  EXPECT_NE(error_of("[cluster]\nnode = \"a\"\nnats_url = \"nats://h:4222\"\npostgres = \"x\"\nleader = true\n")
                .find("cluster.leader: unknown key"),
            std::string::npos);
}

// Outside cluster mode each store picks its backend like the journal does.
TEST(StoreBackendConfig, EachStoreChoosesItsBackend) {
  auto c = parse_config("[identity]\nbackend = \"postgres\"\ndsn = \"host=a\"\n\n[audit]\nbackend = \"postgres\"\n"
                        "dsn = \"host=b\"\n\n[webhooks]\nbackend = \"postgres\"\ndsn = \"host=c\"\n",
                        "test.toml");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_FALSE(c->cluster.enabled);
  EXPECT_EQ(c->journal.backend, "sqlite");
  EXPECT_EQ(c->identity.dsn, "host=a");
  EXPECT_EQ(c->audit.dsn, "host=b");
  EXPECT_EQ(c->webhooks.dsn, "host=c");
  EXPECT_NE(error_of("[identity]\nbackend = \"postgres\"\n").find("identity.dsn: required with backend = \"postgres\""),
            std::string::npos);
  EXPECT_NE(error_of("[audit]\ndsn = \"host=b\"\n").find("audit.dsn: only used with backend = \"postgres\""),
            std::string::npos);
  EXPECT_NE(error_of("[webhooks]\nbackend = \"mongo\"\n").find("webhooks.backend"), std::string::npos);
}

}  // namespace
}  // namespace callbridge::app
