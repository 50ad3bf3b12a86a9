// callbridged configuration: the TOML file (toml++), the command-line overrides and validation.
// Called once at start-up by main (and by `callbridge journal --config`). Pure functions over values;
// thread-compatible. Every error names the offending key ("journal.retention_days: expected ...").
// docs/configuration.md lists every key; default_config_toml() is the commented reference file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/cidr.hpp"
#include "base/error.hpp"
#include "base/tenant_id.hpp"

namespace callbridge::app {

// The tenant of a single-company install: what a [[pbx]] link, a directory source or a token
// belongs to when the configuration names none. The only place this name is written; everything
// past configuration loading carries a base::TenantId, which has no default.
inline constexpr std::string_view kSingleCompanyTenant = "default";

enum class AmiAuth { md5, plain };

// One [[pbx]] link. `driver` picks its row of the driver table (app/driver_table.cpp); the other
// keys are those of the AMI driver, the only one so far.
struct PbxConfig {
  std::string name = "pbx";  // unique; used in logs, diagnostics and the recording file names
  std::string driver = "ami";  // the PBX protocol: "ami" (Asterisk Manager Interface) or "csta" (CSTA XML)
  std::string host;
  std::uint16_t port = 5038;
  std::string user;
  std::string secret;
  AmiAuth auth = AmiAuth::md5;  // md5 = challenge/response (secret never sent), plain = Login Secret:
  int keepalive_s = 30;         // 0 = no keepalive Ping
  int connect_timeout_s = 10;
  int reconnect_min_ms = 500;   // backoff after a failed or lost connection, doubling up to max
  int reconnect_max_ms = 30'000;
  std::string record_dir;       // "" = off; else the raw AMI traffic is recorded there
  std::string tenant{kSingleCompanyTenant};
  // driver = "csta" (drivers/csta, docs/csta.md "Driver"): a CSTA XML link to a switch (or to
  // another callbridged's [csta] server). host, port (default 1040), user, secret,
  // connect_timeout_s, keepalive_s and reconnect_* as above; auth and record_dir unused.
  bool tls = false;                            // TLS on the link
  std::string tls_ca_file;                     // "" = the system's CAs
  bool tls_verify = true;                      // false: any certificate (lab switches)
  std::string session_start = "ecma354";       // "ecma354" (StartApplicationSession) or "osv"
  int edition = 4;                             // ECMA-323 edition of the requests, 3..6
  std::string framing = "header";              // "header" (8-byte header) or "headerless"
  std::vector<std::string> devices;            // "100", "100-199"; empty: all the switch lists
  bool operator==(const PbxConfig&) const = default;
};

// [tenant.<id>.dialing]: what the normalizer needs to turn dialed/presented numbers into E.164.
// Digits only (country_code may be written with a leading '+', which is dropped).
struct DialingConfig {
  std::string country_code;          // "49"
  std::string area_code;             // "89" (without the trunk prefix)
  std::string base_number;           // "123456": the PBX's main number, extensions follow it (DID)
  int extension_length = 0;          // 0 = unknown
  std::string outside_prefix;        // "0" if users dial 0 for an outside line; "" = none
  std::string trunk_prefix = "0";    // national prefix
  std::string international_prefix = "00";
  std::string region;                // "DE" (ISO 3166 alpha-2); "" = the country code's main region
  std::vector<std::string> extension_ranges;  // {"100-199"}: FIRST-LAST, same digit count
  bool pbx_reports_outside_prefix = false;    // caller ids arrive with the outside-line code in front
  bool operator==(const DialingConfig&) const = default;
};

// [[tenant.X.phones]]: what the phones behind some devices do when asked remotely by SIP NOTIFY
// (docs/call-control.md). Without an entry a device gets no remote answer/hold buttons.
struct PhoneConfig {
  std::vector<std::string> devices;  // "100", a prefix pattern "1*", or "*" (every device)
  std::string answer_event;          // NOTIFY Event answering a ringing call ("talk"); "" = cannot
  std::string hold_event;            // holding the active call ("hold"); "" = cannot
  std::string retrieve_event;        // resuming a held call ("talk"); "" = cannot
  bool operator==(const PhoneConfig&) const = default;
};

// [tenant.X.call_control]: commands (docs/call-control.md).
struct CallControlConfig {
  std::string context = "from-internal";  // dialplan context for Originate, transfers, deflect
  std::string conference_context;         // "" = no conference (dialplan runs ConfBridge(${EXTEN}))
  std::string click_to_dial_caller_id;    // shown on the own phone; "" = the destination
  std::string office_number;              // AnyDevice: what the mobile shows
  std::map<std::string, std::string> any_device;  // device -> mobile number called first
  std::string parking_lot = "default";    // park puts calls into this res_parking lot (docs/parking.md)
  int max_trunk_channels = 0;             // trunk channels at once for the tenant; 0 = no limit
  // Asterisk's attended transfer feature codes (features.conf atxferswap, atxferthreeway):
  // alternate and conference within a consultation (docs/call-control.md).
  std::string atxfer_swap = "*4";
  std::string atxfer_threeway = "*3";
  bool operator==(const CallControlConfig&) const = default;
};

// [tenant.X.any_device]: which numbers users may add as their external devices, and how many
// (docs/call-control.md "AnyDevice"). Patterns as core::AnyDevicePolicy reads them, canonical.
struct AnyDeviceConfig {
  std::vector<std::string> allow;  // empty: every number that no deny pattern matches
  std::vector<std::string> deny;
  int max_devices = 5;             // external devices per user, 1..20
  bool operator==(const AnyDeviceConfig&) const = default;
};

struct TenantConfig {
  DialingConfig dialing;
  CallControlConfig call_control;
  AnyDeviceConfig any_device;
  std::vector<PhoneConfig> phones;
  bool operator==(const TenantConfig&) const = default;
};

// The [[tenant.X.phones]] entry for `device` (exact device names win over patterns, then the
// longest prefix pattern); nullptr when none.
const PhoneConfig* phone_for(const TenantConfig& tenant, std::string_view device);

// The dialing plan of the demo's simulated PBX (DIDs +49 30 555-<ext>, 3-digit extensions, phones
// dial 0 + the national number). `callbridged --demo` gives it to the demo link's tenant when the
// file set no plan there; `callbridge number --config` does the same for a file with [demo].
DialingConfig demo_dialing_config();

struct Config;
// Every tenant the configuration names ([tenant.X], [[pbx]] tenant, directory sources) plus the
// single-company tenant, sorted, each once. Ids were validated when the file was read.
std::vector<base::TenantId> configured_tenants(const Config& config);

struct JournalConfig {
  bool exclude_internal = false;               // drop `internal` entries
  std::vector<std::string> excluded_numbers;   // party or remote numbers never journaled
  int retention_days = 0;                      // 0 = keep forever
  bool synchronous_full = false;               // journal.synchronous = "full" (fsync each batch)
  std::string backend = "sqlite";              // "sqlite" (DATA_DIR/journal.db) or "postgres"
  std::string dsn;                             // backend "postgres": libpq conninfo or postgresql:// URI
  bool operator==(const JournalConfig&) const = default;
};

// [audit]: the audit log (DATA_DIR/audit.db or PostgreSQL; docs/security.md "Audit log").
struct AuditConfig {
  int retention_days = 365;  // records older than this are deleted (at start and hourly); 0 = keep forever
  std::string backend = "sqlite";  // "sqlite" (DATA_DIR/audit.db) or "postgres" (then dsn)
  std::string dsn;
  bool operator==(const AuditConfig&) const = default;
};

// [identity]: users, API tokens, sessions, tenant and user settings, statuses, AnyDevice devices and
// the operator's tenant specs (DATA_DIR/identity.db or PostgreSQL).
struct IdentityConfig {
  std::string backend = "sqlite";  // "sqlite" (DATA_DIR/identity.db) or "postgres" (then dsn)
  std::string dsn;
  bool operator==(const IdentityConfig&) const = default;
};

// [cluster]: several callbridged nodes sharing one PostgreSQL database and one NATS JetStream
// (docs/cluster.md). When set, every tenant-scoped store is in PostgreSQL: the stores' backends
// default to "postgres" with `postgres` as their dsn, and a store set to "sqlite" is refused.
// Every PBX link is owned by one node at a time through a lease in a JetStream key-value bucket
// (src/cluster); the lease_* settings must be the same on every node.
struct ClusterConfig {
  bool enabled = false;  // the file has a [cluster] table
  std::string node;      // this node's name, unique in the cluster ([A-Za-z0-9._-], 1..64)
  std::string nats_url;  // "nats://10.0.0.5:4222" (several: comma-separated)
  std::string postgres;  // libpq conninfo or postgresql:// URI of the shared database
  int lease_ttl_ms = 3000;     // a link's lease outlives its owner's last renewal this long
  int lease_renew_ms = 1000;   // the owner renews this often
  int lease_margin_ms = 500;   // the owner stops acting this long before its lease can expire
  std::string lease_bucket = "callbridge_leases";  // the JetStream key-value bucket of the leases
  // A call control command sent to the node that owns the PBX link waits this long for its answer
  // (docs/cluster.md "Commands on any node").
  int command_timeout_ms = 3000;
  // The tenants' live events (docs/cluster.md "Call events on every node"): the JetStream stream
  // (subjects cb.events.<tenant>) and its limits, used when the first node creates it.
  std::string events_stream = "callbridge_events";
  int events_max_age_s = 86'400;        // messages older than this leave the stream
  int events_max_per_tenant = 100'000;  // messages (batches of events) kept per tenant
  bool operator==(const ClusterConfig&) const = default;
};

// [trace]: the admins' explain traces per tenant (GET /api/v1/calls/{id}/trace; docs/troubleshooting.md).
struct TraceConfig {
  int max_calls = 200;           // calls kept per tenant (live and ended), the oldest go first
  int retention_minutes = 30;    // an ended call's trace is kept this long after its last step
  bool operator==(const TraceConfig&) const = default;
};

// [webhooks]: outgoing webhooks (DATA_DIR/webhooks.db; docs/webhooks.md).
struct WebhooksConfig {
  // Address ranges deliveries may reach although the default policy refuses them (loopback,
  // private, link-local, metadata, ...). Empty: none.
  std::vector<base::Cidr> allow;
  bool allow_http = false;        // plain http:// hook URLs (https:// is always verified)
  std::string ca_file;            // PEM CA certificates verifying receivers instead of the system's ("")
  int connect_timeout_s = 5;
  int timeout_s = 10;             // one attempt, from connect to the last byte of the answer
  int retry_for_s = 3600;         // a failing delivery is retried this long, then given up
  int queue = 10'000;             // events waiting for the delivery thread; more are dropped and counted
  int log_retention_days = 30;    // delivery log rows older than this are deleted (also: 1000 per hook)
  std::string backend = "sqlite";  // "sqlite" (DATA_DIR/webhooks.db) or "postgres" (then dsn)
  std::string dsn;
  bool operator==(const WebhooksConfig&) const = default;
};

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";  // HTTP API; port 0 = any free port (logged)
  std::string data_dir;                   // "" = default_data_dir()
  std::string log_level = "info";
  // Connection caps (api::HttpServerOptions): HTTP connections in total and per client address,
  // and the first request's deadline. Upgraded WebSocket streams do not count.
  std::size_t max_connections = 512;
  std::size_t max_connections_per_address = 64;
  int first_request_timeout_s = 5;
  // Peers that may read GET /metrics without a token ([server] metrics_allow); empty = the admin
  // token is always needed (docs/api.md).
  std::vector<base::Cidr> metrics_allow;
  // Web origins besides the server's own whose pages may use the session cookie for requests
  // that change state and WebSocket upgrades ([server] allowed_origins; normalised, e.g.
  // "https://crm.example.com"). Empty: the own origin only (docs/security.md).
  std::vector<std::string> allowed_origins;
  // [server.tls]: HTTPS (and WSS) on `listen` when both are set; PEM files read at start.
  std::string tls_cert_file;  // certificate chain
  std::string tls_key_file;   // private key (unencrypted)
  bool operator==(const ServerConfig&) const = default;
};

// [demo]: callbridged --demo, an in-process PBX simulator with demo data (app/demo.hpp).
struct DemoConfig {
  bool enabled = false;
  int speed = 1;              // simulated seconds per real second (tests use more)
  int calls_per_minute = 4;   // mean rate of new simulated calls
  std::uint64_t seed = 0;     // traffic seed; 0 = a new one each start
  bool operator==(const DemoConfig&) const = default;
};

// [[directory.ldap]]: one LDAP directory asked for caller names (directory/ldap). Defaults are
// those of LdapSourceOptions.
struct LdapDirectoryConfig {
  std::string name = "ldap";      // unique among all sources; shown as a contact's "source"
  std::string tenant{kSingleCompanyTenant};  // only this tenant's lookups ask it
  std::string uri;                 // required: "ldap://host:389" or "ldaps://..."
  std::string bind_dn;             // "" = anonymous
  std::string bind_password;
  std::string base_dn;             // required
  // One alternative of the search filter; {e164} / {digits} are replaced per candidate number.
  std::string filter =
      "(&(objectClass=inetOrgPerson)(|(telephoneNumber={e164})(mobile={e164})(homePhone={e164})"
      "(facsimileTelephoneNumber={e164})))";
  std::vector<std::string> name_attributes = {"displayName", "cn"};
  std::string given_name_attribute = "givenName";
  std::string family_name_attribute = "sn";
  std::string company_attribute = "o";
  // attribute -> label of the numbers it holds
  std::vector<std::pair<std::string, std::string>> number_attributes = {
      {"telephoneNumber", "work"}, {"mobile", "mobile"}, {"homePhone", "home"}, {"facsimileTelephoneNumber", "fax"}};
  int size_limit = 50;
  int timeout_ms = 800;
  int priority = 20;  // lower ranks first (the built-in store is 10)
  bool operator==(const LdapDirectoryConfig&) const = default;
};

// [[directory.http]]: one HTTP JSON endpoint (CRM) asked for caller names (directory/http).
struct HttpDirectoryConfig {
  std::string name = "crm";
  std::string tenant{kSingleCompanyTenant};
  std::string url;  // required: "https://crm/api/lookup?number={e164}" ({e164} or {digits})
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. Authorization = "Bearer ..."
  std::string results_path;  // dotted path to the result array/object; "" = the root
  std::string id_field = "id";
  std::string name_field = "name";
  std::string company_field = "company";
  std::string label_field;
  std::string kind_field;
  // Name search (the dial box, GET /api/v1/contacts/search): "https://crm/api/contacts?q={text}";
  // "" = not searched by name. Each result's numbers are at numbers_field (see directory/http).
  std::string search_url;
  std::string numbers_field = "numbers";
  std::string number_field = "number";
  std::string number_label_field = "label";
  bool tls_verify = true;
  std::string ca_file;
  int timeout_ms = 2000;
  int priority = 30;
  bool operator==(const HttpDirectoryConfig&) const = default;
};

// [directory.store]: the built-in contact store (DATA_DIR/contacts.db); plus the external sources.
struct DirectoryConfig {
  bool memory_index = true;  // answer lookups from an in-memory index (directory/index/)
  std::vector<LdapDirectoryConfig> ldap;
  std::vector<HttpDirectoryConfig> http;
  bool operator==(const DirectoryConfig&) const = default;
};

// [[csta.client]]: a dedicated CSTA application credential (docs/csta.md "Server"): an application
// that logs in with `name` and the secret acts for the whole of `tenant` (every line, every call).
struct CstaClientConfig {
  std::string name;           // the user name the application logs in with
  std::string secret_sha256;  // hex SHA-256 of the secret ("sha256sum"), or:
  std::string secret_file;    // a file whose first line is the secret (read at start)
  std::string tenant{kSingleCompanyTenant};
  bool operator==(const CstaClientConfig&) const = default;
};

// [csta]: the northbound CSTA XML server (src/csta_server, docs/csta.md). Off without `listen`.
struct CstaConfig {
  std::string listen;          // HOST:PORT; "" = no CSTA server; port 0 = any free port (logged)
  std::string tls_cert_file;   // [csta.tls]: TLS on `listen` when both are set (PEM, as [server.tls])
  std::string tls_key_file;
  std::size_t max_clients = 256;          // connections at once; further ones are closed at once
  std::size_t max_frame_bytes = 65536;    // one CSTA message (header included); larger: error, closed
  int requests_per_second = 50;           // per client; beyond: universalFailure (resource busy)
  int session_start_timeout_s = 10;       // a new connection must have started its session by then
  // Session starts accepted: "ecma354" (StartApplicationSession), "osv" (SystemStatus /
  // SystemStatusResponse / SystemRegister, as OpenScape Voice).
  std::vector<std::string> start_styles = {"ecma354", "osv"};
  std::vector<CstaClientConfig> clients;  // [[csta.client]]
  bool operator==(const CstaConfig&) const = default;
};

// [relay]: this callbridged as an edge of a cloud relay (docs/relay.md): it connects out to `url`,
// logs in with its Ed25519 key and carries its clients' end-to-end encrypted traffic. Off without `url`.
struct RelayConfig {
  std::string url;            // wss://HOST[:PORT][/v1/edge]; "" = no relay
  // Other nodes of the same relay when no load balancer is in front: tried in turn after a failure.
  std::vector<std::string> fallback_urls;
  std::string edge_id;        // the NAME given to `callbridge-relay edge add NAME`
  std::string edge_key_file;  // "" = <data_dir>/relay-edge.key (created on first start, mode 0600)
  std::string join_token;     // the one-time token `edge add` printed; needed for the first login only
  std::string ca_file;        // PEM CA certificates to verify the relay with ("" = the system's)
  // "strict" (the relay gets ciphertext only) or "relaxed" (this edge's admin lets the relay show
  // its live calls: state, remote number, contact name, devices; docs/relay.md "Privacy mode").
  std::string privacy = "strict";
  // Frames kept for replay after a reconnect (count and bytes), so a new node's window is whole.
  std::size_t outbox_frames = 4096;
  std::size_t outbox_bytes = 4 * 1024 * 1024;
  bool operator==(const RelayConfig&) const = default;
};

struct Config {
  ServerConfig server;
  CstaConfig csta;
  RelayConfig relay;
  std::vector<PbxConfig> pbx;
  ClusterConfig cluster;
  JournalConfig journal;
  IdentityConfig identity;
  AuditConfig audit;
  TraceConfig trace;
  WebhooksConfig webhooks;
  std::map<std::string, TenantConfig> tenants;
  DemoConfig demo;
  DirectoryConfig directory;
  bool operator==(const Config&) const = default;
};

// Command-line flags of callbridged that override the file (each names itself in errors).
struct Overrides {
  std::optional<std::string> ami;  // HOST:PORT of the (single) PBX link; creates it if none
  std::optional<std::string> ami_user;
  std::optional<std::string> ami_secret;
  std::optional<std::string> listen;
  std::optional<std::string> data_dir;
  std::optional<std::string> record_dir;  // sets record_dir of every PBX link
  std::optional<std::string> log_level;
};

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};

// "host:5038", "10.0.0.1:5038", "[::1]:8080". Port 0..65535; the host must not be empty.
base::Result<HostPort> parse_host_port(std::string_view s);

// Parses TOML text: syntax, known keys, value types and ranges. `source` names it in errors (a
// file path or "<default>"). Completeness is checked by validate() once the flags are applied.
base::Result<Config> parse_config(std::string_view toml_text, std::string_view source);
base::Result<Config> load_config_file(const std::string& path);

// Applies CLI flags on top of the file, then validate()s the result.
base::Status apply_overrides(Config& config, const Overrides& o);

// Cross-field checks: unique PBX names, complete PBX links, reconnect_min_ms <= max, ...
base::Status validate(const Config& config);

// The fully commented default configuration (`callbridged --print-default-config`). Parsing it
// gives Config{}.
std::string default_config_toml();

// $STATE_DIRECTORY (systemd's StateDirectory=, the first if several), else /var/lib/callbridge when
// running as root, else ./data (relative to the working directory).
std::string default_data_dir();
// config.server.data_dir, or default_data_dir() when empty.
std::string effective_data_dir(const Config& config);
// The journal file inside a data dir.
std::string journal_path(const std::string& data_dir);
// The audit log inside a data dir.
std::string audit_path(const std::string& data_dir);

}  // namespace callbridge::app
