#include "app/directory_wiring.hpp"

#include "directory/http/http_contact_source.hpp"
#include "directory/ldap/ldap_contact_source.hpp"

namespace callbridge::app {

base::Result<std::vector<core::LookupSourceConfig>> external_sources(
    const DirectoryConfig& config, const std::function<ports::ToE164(const base::TenantId& tenant)>& to_e164_for) {
  std::vector<core::LookupSourceConfig> out;
  for (std::size_t i = 0; i < config.ldap.size(); ++i) {
    const auto& c = config.ldap[i];
    directory::LdapSourceOptions o;
    o.name = c.name;
    o.priority = c.priority;
    o.uri = c.uri;
    o.bind_dn = c.bind_dn;
    o.bind_password = c.bind_password;
    o.base_dn = c.base_dn;
    o.filter_template = c.filter;
    o.name_attributes = c.name_attributes;
    o.given_name_attribute = c.given_name_attribute;
    o.family_name_attribute = c.family_name_attribute;
    o.company_attribute = c.company_attribute;
    o.number_attributes = c.number_attributes;
    o.size_limit = c.size_limit;
    if (to_e164_for) o.to_e164 = to_e164_for(base::TenantId(c.tenant));
    auto s = directory::LdapContactSource::create(std::move(o));
    if (!s)
      return base::fail(base::Error::invalid_argument("directory.ldap[" + std::to_string(i) + "]: " +
                                                      s.error().message()));
    out.push_back(core::LookupSourceConfig{std::shared_ptr<ports::ContactSource>(std::move(*s)),
                                           std::chrono::milliseconds(c.timeout_ms), {c.tenant}, "ldap"});
  }
  for (std::size_t i = 0; i < config.http.size(); ++i) {
    const auto& c = config.http[i];
    directory::HttpSourceOptions o;
    o.name = c.name;
    o.priority = c.priority;
    o.url_template = c.url;
    o.headers = c.headers;
    o.timeout = std::chrono::milliseconds(c.timeout_ms);
    o.results_path = c.results_path;
    o.id_field = c.id_field;
    o.name_field = c.name_field;
    o.company_field = c.company_field;
    o.label_field = c.label_field;
    o.kind_field = c.kind_field;
    o.search_url_template = c.search_url;
    o.numbers_field = c.numbers_field;
    o.number_field = c.number_field;
    o.number_label_field = c.number_label_field;
    if (to_e164_for) o.to_e164 = to_e164_for(base::TenantId(c.tenant));
    o.tls_verify = c.tls_verify;
    o.ca_file = c.ca_file;
    auto s = directory::HttpContactSource::create(std::move(o));
    if (!s)
      return base::fail(base::Error::invalid_argument("directory.http[" + std::to_string(i) + "]: " +
                                                      s.error().message()));
    out.push_back(core::LookupSourceConfig{std::shared_ptr<ports::ContactSource>(std::move(*s)),
                                           std::chrono::milliseconds(c.timeout_ms), {c.tenant}, "http"});
  }
  return out;
}

}  // namespace callbridge::app
