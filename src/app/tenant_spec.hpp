// TenantSpec: one tenant as an operator manages it at run time (REST /api/v1/tenants, `callbridge
// tenant`): id, display name, PBX links, dialing plan, call control, phones and directory sources.
// The JSON form is read by the same key readers and validators as the TOML file ([[pbx]],
// [tenant.X.dialing], [tenant.X.call_control], [[tenant.X.phones]], [[directory.ldap|http]]), so a
// key means the same and fails with the same words in both. Pure functions over values; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/config.hpp"
#include "base/error.hpp"

namespace callbridge::app {

struct TenantSpec {
  std::string id;  // a tenant id (letters, digits, '-', '_'; at most 64), never the operator's
  std::string display_name;
  std::vector<PbxConfig> pbx;  // each with tenant = id; names unique in the whole daemon
  TenantConfig settings;       // dialing, call_control, phones
  std::vector<LdapDirectoryConfig> ldap;  // each with tenant = id
  std::vector<HttpDirectoryConfig> http;
  bool operator==(const TenantSpec&) const = default;
};

// Largest JSON spec a client may send (the REST body limit is the same; the parser allows twice
// this for a spec with kept secrets merged in).
inline constexpr std::size_t kMaxTenantSpecBytes = 64 * 1024;
// At most this many PBX links and directory sources per tenant.
inline constexpr std::size_t kMaxTenantLinks = 16;
inline constexpr std::size_t kMaxTenantSources = 16;

// Parses and validates a JSON spec:
//   {"id": "acme", "display_name": "ACME GmbH",
//    "pbx": [{"name": "acme-pbx", "host": "...", "user": "...", "secret": "...", ...}],
//    "dialing": {...}, "call_control": {...}, "phones": [{...}],
//    "directory": {"ldap": [{...}], "http": [{...}]}}
// Keys inside pbx/dialing/call_control/phones/directory are those of the TOML sections; `tenant`
// and `record_dir` are not accepted (the spec is the tenant; recording is the file's business).
// `id_from_path`: the id of the URL; the body's "id" may be absent or must equal it. Defaults:
// a single link is named after the tenant, several "<id>-1", "<id>-2"...; LDAP sources
// "<id>-ldap[-N]", HTTP sources "<id>-crm[-N]". Errors (Errc::invalid_argument) name the key:
// "pbx[0].port: expected a port number 1..65535, got 0".
base::Result<TenantSpec> parse_tenant_spec(std::string_view json, std::optional<std::string_view> id_from_path);

// The spec as JSON (the shape parse_tenant_spec reads). with_secrets = false leaves out the
// write-only fields: pbx[].secret, directory.ldap[].bind_password, directory.http[].headers.
std::string tenant_spec_json(const TenantSpec& spec, bool with_secrets);

// PUT without the write-only fields keeps them: for every link / source of `incoming` (JSON text
// as sent) that leaves a secret out, the value of the entry with the same name in `stored` is
// used. Returns the JSON to parse. Malformed input is returned unchanged (the parser reports it).
std::string keep_stored_secrets(std::string_view incoming, const TenantSpec& stored);

// The spec's tenant as the TOML file would have it: a Config holding only its [tenant.X] table,
// links and sources (for the per-tenant wiring functions that take a Config).
Config tenant_config_of(const TenantSpec& spec);

// Tenant ids that the TOML configuration names explicitly ([tenant.X], a link's or a source's
// `tenant`). Such tenants belong to the file: the API shows them read-only.
std::vector<std::string> file_tenants(const Config& config);

}  // namespace callbridge::app
