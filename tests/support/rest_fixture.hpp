// RestFixture: the REST API through HttpServer::dispatch (no sockets) over real stores: identity.db,
// journal.db and audit.db in a temp dir, an in-memory contact store, two tenants' CallModels. A test names
// the capabilities it serves (add_capabilities); api_rest_test serves all of them, each
// capability's own test only its own. Test code only; one fixture per test, on the test thread.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <map>
#include <optional>

#include "api/auth.hpp"
#include "api/rest_api.hpp"
#include "audit/sqlite/sqlite_audit_log.hpp"
#include "capabilities/capability.hpp"
#include "directory/store/sqlite_contact_store.hpp"
#include "identity/sqlite/identity_store.hpp"
#include "journal/sqlite/sqlite_journal_store.hpp"

namespace callbridge::api::testsupport {

namespace json = boost::json;
using namespace std::chrono_literals;

inline base::Timestamp t0() { return base::from_micros(1'795'000'000'000'000LL); }

struct Tenant {
  std::string name, num_prefix, marker, call_prefix;
};
inline const Tenant kA{"ta", "+491100", "Alpha", "ta-call-"};
inline const Tenant kB{"tb", "+492200", "Bravo", "tb-call-"};

class RestFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cb_api_rest_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    ids_ = std::move(*identity::SqliteIdentityStore::open((dir_ / "identity.db").string()));
    journal_ = std::move(*journal::SqliteJournalStore::open((dir_ / "journal.db").string()));
    audit_ = std::move(*audit::SqliteAuditLog::open((dir_ / "audit.db").string()));
    directory::SqliteContactStoreOptions co;
    co.path = ":memory:";
    contacts_ = std::move(*directory::SqliteContactStore::open(co));
    auth_ = std::make_unique<Authenticator>(*ids_, clock_);
    models_.emplace(kA.name, model::CallModel(base::TenantId(kA.name)));
    models_.emplace(kB.name, model::CallModel(base::TenantId(kB.name)));
    server_ = std::make_unique<HttpServer>(io_, HttpServerOptions{});
    RestDeps d;
    d.identity = ids_.get();
    d.auth = auth_.get();
    d.clock = &clock_;
    d.journal = journal_.get();
    d.audit = audit_.get();
    d.contacts = contacts_.get();
    d.for_each_model = [this](const base::TenantId& t, const std::function<void(const model::CallModel&)>& f) {
      if (auto it = models_.find(t); it != models_.end()) f(it->second);
    };
    // The app's views: a tenant's (its links only) or, for the operator, the daemon's.
    d.diagnostics_json = [](const std::optional<base::TenantId>& tenant) {
      if (tenant)
        return R"({"version":"test","tenant":")" + tenant->str() + R"(","pbx":[{"name":"p-)" + tenant->str() +
               R"(","counters":{"events":3}}]})";
      return std::string(
          R"({"version":"test","pbx":[{"name":"p-a","counters":{"events":3}},{"name":"p-b","counters":{"events":4}}]})");
    };
    extend_deps(d);
    capabilities::CapabilityContext c{*server_, add_rest_routes(*server_, d)};
    add_capabilities(c);
  }
  // The capabilities this test serves besides the API's own routes (api::add_rest_routes).
  virtual void add_capabilities(capabilities::CapabilityContext& c) = 0;
  // What a test adds to the dependencies above (e.g. call control), after the models exist.
  virtual void extend_deps(RestDeps&) {}
  void TearDown() override {
    server_.reset();
    journal_.reset();
    audit_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string add_user(const Tenant& t, const std::string& name, const std::string& role,
                       std::vector<std::string> ext) {
    EXPECT_TRUE(ids_->put_user({base::TenantId(t.name), name, role, t.marker + " " + name, ext, ""}));
    auto tok = identity::issue_token(*ids_, base::TenantId(t.name), name, clock_.now());
    EXPECT_TRUE(tok);
    return tok->token;
  }

  HttpResponse call(const std::string& method, const std::string& target, const std::string& token = "",
                    const std::string& body = "", const std::string& cookie = "") {
    HttpRequest r;
    r.method = method;
    r.target = target;
    auto qm = target.find('?');
    r.path = target.substr(0, qm);
    if (qm != std::string::npos) r.query = target.substr(qm + 1);
    if (!token.empty()) r.headers.emplace_back("authorization", "Bearer " + token);
    if (!cookie.empty()) r.headers.emplace_back("cookie", cookie);
    r.body = body;
    r.remote = remote_;
    return server_->dispatch(r);
  }

  static std::string ptype(const HttpResponse& r) {
    EXPECT_EQ(r.content_type, "application/problem+json") << r.body;
    auto v = json::parse(r.body);
    return std::string(v.at("type").as_string());
  }
  static std::string header(const HttpResponse& r, const std::string& name) {
    for (const auto& [k, v] : r.headers)
      if (k == name) return v;
    return {};
  }

  void add_journal(const Tenant& t, const std::string& party, int n) {
    model::JournalEntry e{.tenant = base::TenantId(t.name)};
    e.call_id = t.call_prefix + "j" + std::to_string(n);
    e.party = party;
    e.direction = n % 2 ? model::Direction::inbound : model::Direction::outbound;
    e.remote = t.num_prefix + std::to_string(1000 + n);
    e.remote_name = t.marker + " Caller " + std::to_string(n);
    e.disposition = n % 3 ? model::Disposition::answered : model::Disposition::missed;
    e.started_at = t0() + std::chrono::seconds(n);
    if (n % 3) e.answered_at = e.started_at + 2s;
    e.ended_at = e.started_at + 30s;
    journal_->append(e);
  }

  void ring(const Tenant& t, const std::string& device, int n) {
    models_.at(t.name).update(t.call_prefix + std::to_string(n), device, model::ConnectionState::alerting,
                              model::CallEventType::delivered, clock_.now(), t.num_prefix + std::to_string(n));
  }

  boost::asio::io_context io_;
  std::filesystem::path dir_;
  base::ManualClock clock_{t0()};
  std::unique_ptr<identity::SqliteIdentityStore> ids_;
  std::unique_ptr<journal::SqliteJournalStore> journal_;
  std::unique_ptr<audit::SqliteAuditLog> audit_;
  std::unique_ptr<directory::SqliteContactStore> contacts_;
  std::unique_ptr<Authenticator> auth_;
  std::map<std::string, model::CallModel> models_;
  std::unique_ptr<HttpServer> server_;
  std::string remote_ = "192.0.2.10";
};

}  // namespace callbridge::api::testsupport
