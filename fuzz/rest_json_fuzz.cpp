// libFuzzer target: the JSON bodies and query strings of the REST endpoints that take them
// (contacts create/update/lookup/list, users create, ui-settings), dispatched through
// app::add_api_routes (the daemon's REST API with every capability) with the real Authenticator
// over an in-memory identity store and an in-memory contact store (fresh per input, so inputs replay alike). A valid admin or user token is sent,
// so the handlers, not authentication, see the bytes. Checks: never a 500 (a handler that failed
// or threw), JSON answers are JSON.
// Not covered: POST /api/v1/session (a wrong secret costs an argon2 verification, ~200 ms), token
// issuing (argon2 too), the journal routes (no in-memory journal store) and the call-control
// commands (capabilities/calls, which need a CallControlService).
// Input: byte 0 = endpoint, byte 1 = principal; then query and body separated by the first NUL.
#include <boost/asio/io_context.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "app/capability_table.hpp"
#include "directory/store/sqlite_contact_store.hpp"
#include "fuzz_check.hpp"
#include "identity/sqlite/identity_store.hpp"

namespace api = callbridge::api;
using callbridge::fuzz::check;

namespace {

struct Endpoint {
  const char* method;
  const char* path;
};
constexpr Endpoint kEndpoints[] = {
    {"POST", "/api/v1/contacts"},          {"PATCH", "/api/v1/contacts/1"},
    {"PATCH", "/api/v1/contacts/2"},       {"GET", "/api/v1/contacts"},
    {"GET", "/api/v1/contacts/lookup"},    {"GET", "/api/v1/contacts/1"},
    {"DELETE", "/api/v1/contacts/2"},      {"POST", "/api/v1/users"},
    {"PUT", "/api/v1/ui-settings"},        {"GET", "/api/v1/ui-settings"},
    {"GET", "/api/v1/calls"},              {"GET", "/api/v1/me"},
    {"POST", "/api/v1/ws-ticket"},         {"GET", "/api/v1/users"},
};

struct Identity {
  callbridge::base::ManualClock clock{callbridge::base::from_micros(1'795'000'000'000'000)};
  std::unique_ptr<callbridge::identity::SqliteIdentityStore> ids;
  std::unique_ptr<api::Authenticator> auth;
  std::string admin, user;
};

Identity& identity() {
  static Identity* id = [] {
    auto* i = new Identity;
    i->ids = std::move(*callbridge::identity::SqliteIdentityStore::open(":memory:"));
    i->auth = std::make_unique<api::Authenticator>(*i->ids, i->clock);
    check(i->ids->put_user({"t1", "root", "admin", "", {}, ""}).has_value(), "put_user root");
    check(i->ids->put_user({"t1", "anna", "user", "", {"100"}, ""}).has_value(), "put_user anna");
    i->admin = callbridge::identity::issue_token(*i->ids, "t1", "root", i->clock.now())->token;
    i->user = callbridge::identity::issue_token(*i->ids, "t1", "anna", i->clock.now())->token;
    return i;
  }();
  return *id;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  Identity& id = identity();
  const Endpoint& ep = kEndpoints[data[0] % std::size(kEndpoints)];
  std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
  const auto nul = rest.find('\0');
  std::string_view query = nul == std::string_view::npos ? std::string_view{} : rest.substr(0, nul);
  std::string_view body = nul == std::string_view::npos ? rest : rest.substr(nul + 1);

  callbridge::directory::SqliteContactStoreOptions co;
  co.path = ":memory:";
  auto contacts = std::move(*callbridge::directory::SqliteContactStore::open(co));
  boost::asio::io_context io;
  api::HttpServer server(io, api::HttpServerOptions{});
  api::RestDeps d;
  d.identity = id.ids.get();
  d.auth = id.auth.get();
  d.clock = &id.clock;
  d.contacts = contacts.get();
  d.to_e164 = [](const callbridge::base::TenantId&, std::string_view raw) -> std::optional<std::string> {
    if (raw.size() > 1 && raw[0] == '+') return std::string(raw);
    return std::nullopt;
  };
  callbridge::app::add_api_routes(server, std::move(d));
  // Two contacts to update and delete.
  for (const char* c : {R"({"display_name": "Anna", "numbers": [{"label": "work", "number": "+4989123456"}]})",
                        R"({"display_name": "ACME", "kind": "company", "company": "ACME", "numbers": [{"number": "+4930555000"}]})"}) {
    api::HttpRequest r;
    r.method = "POST";
    r.target = r.path = "/api/v1/contacts";
    r.body = c;
    r.headers.emplace_back("authorization", "Bearer " + id.admin);
    (void)server.dispatch(r);
  }

  api::HttpRequest r;
  r.method = ep.method;
  r.path = ep.path;
  r.query = std::string(query);
  r.target = r.path + (query.empty() ? "" : "?" + r.query);
  r.body = std::string(body);
  r.headers.emplace_back("authorization", "Bearer " + (data[1] & 1 ? id.user : id.admin));
  if (data[1] & 2) r.headers.emplace_back("content-type", "application/json");
  const api::HttpResponse a = server.dispatch(r);
  check(a.status != 500, "500 from", std::string(ep.method) + " " + ep.path + ": " + a.body);
  check(a.status >= 200 && a.status <= 599, "status out of range");
  if (a.content_type.starts_with("application/json") || a.content_type == "application/problem+json")
    callbridge::fuzz::check_json_object(a.body);
  return 0;
}
