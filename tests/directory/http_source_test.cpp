// HttpContactSource against a real local HTTP(S) server (tests/directory/crm_server.py; label "http").
#include <gtest/gtest.h>

#include "directory/child_process.hpp"
#include "core/lookup_service.hpp"
#include "directory/http/http_contact_source.hpp"
#include "directory/store/sqlite_contact_store.hpp"

#ifndef CALLBRIDGE_TEST_DIR
#error "CALLBRIDGE_TEST_DIR must point at tests/directory"
#endif

namespace callbridge::directory {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;

struct CrmServer {
  std::unique_ptr<ChildProcess> proc;
  int port = 0;
  testing::TempDir dir;
  std::string cert;

  static std::unique_ptr<CrmServer> start(bool tls) {
    auto s = std::make_unique<CrmServer>();
    std::vector<std::string> argv = {"python3", std::string(CALLBRIDGE_TEST_DIR) + "/crm_server.py"};
    if (tls) {
      s->cert = s->dir.path() + "/cert.pem";
      std::string key = s->dir.path() + "/key.pem";
      auto st = testing::run_command({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                                      "-out", s->cert, "-days", "1", "-subj", "/CN=localhost", "-addext",
                                      "subjectAltName=IP:127.0.0.1,DNS:localhost"},
                                     30s);
      EXPECT_TRUE(st) << st.error().to_string();
      argv.insert(argv.end(), {"--cert", s->cert, "--key", key});
    }
    auto p = ChildProcess::spawn(argv);
    EXPECT_TRUE(p);
    auto line = (*p)->wait_for_line([](const std::string& l) { return l.rfind("PORT ", 0) == 0; }, 20s);
    EXPECT_TRUE(line) << line.error().to_string();
    if (!line) return nullptr;
    s->port = std::stoi(line->substr(5));
    (*p)->drain_in_background();
    s->proc = std::move(*p);
    return s;
  }
};

HttpSourceOptions crm_options(int port, const char* scheme) {
  HttpSourceOptions o;
  o.url_template = std::string(scheme) + "://127.0.0.1:" + std::to_string(port) + "/api/lookup?number={e164}";
  o.headers = {{"Authorization", "Bearer test-token"}};
  o.results_path = "data.contacts";
  o.company_field = "company.name";
  o.label_field = "phoneType";
  o.kind_field = "type";
  o.timeout = 2000ms;
  return o;
}

ports::LookupQuery query_for(const std::string& e164) {
  return ports::LookupQuery{"default", e164, {e164}, std::chrono::steady_clock::now() + 5s};
}

class HttpSourceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = CrmServer::start(false); }
  static void TearDownTestSuite() { server_.reset(); }

  static HttpSourceOptions options(int port) { return crm_options(port, "http"); }
  static std::unique_ptr<HttpContactSource> source(HttpSourceOptions o) {
    auto s = HttpContactSource::create(std::move(o));
    EXPECT_TRUE(s) << s.error().to_string();
    return std::move(*s);
  }
  static ports::LookupQuery query(const std::string& e164, std::chrono::milliseconds t = 5000ms) {
    return ports::LookupQuery{"default", e164, {e164}, std::chrono::steady_clock::now() + t};
  }
  static std::unique_ptr<CrmServer> server_;
};
std::unique_ptr<CrmServer> HttpSourceTest::server_;

TEST_F(HttpSourceTest, FindsContactWithMappedFields) {
  ASSERT_TRUE(server_);
  auto r = source(options(server_->port))->lookup(query("+4921133990345"));
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->size(), 1u);
  const auto& m = (*r)[0];
  EXPECT_EQ(m.display_name, "Anna Schmidt");
  EXPECT_EQ(m.company, "ACME GmbH");
  EXPECT_EQ(m.contact_id, "4711");
  EXPECT_EQ(m.label, "work");
  EXPECT_EQ(m.matched_number, "+4921133990345");
  EXPECT_EQ(m.source, "crm");
  EXPECT_EQ(m.priority, 30);
}

TEST_F(HttpSourceTest, SeveralResultsNamelessSkippedKindMapped) {
  auto r = source(options(server_->port))->lookup(query("+4930555000"));
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].display_name, "Kunde Eins");
  EXPECT_EQ((*r)[1].kind, ports::ContactKind::company);
  EXPECT_EQ((*r)[1].company, "");
}

TEST_F(HttpSourceTest, NotFoundIsNoMatch) {
  auto r = source(options(server_->port))->lookup(query("+4940999999"));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_TRUE(r->empty());
}

TEST_F(HttpSourceTest, MissingAuthAndServerErrorsAreErrors) {
  auto o = options(server_->port);
  o.headers.clear();
  auto unauth = source(o)->lookup(query("+4921133990345"));
  ASSERT_FALSE(unauth);
  EXPECT_NE(unauth.error().message().find("HTTP 401"), std::string::npos);
  auto down = source(options(server_->port))->lookup(query("+4930000503"));
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code(), base::Errc::unavailable);
  EXPECT_NE(down.error().message().find("HTTP 503"), std::string::npos);
}

TEST_F(HttpSourceTest, BadJsonOversizedBodyAndWrongShapeAreProtocolErrors) {
  auto src = source(options(server_->port));
  auto bad = src->lookup(query("+4930000001"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), base::Errc::protocol);
  auto big = src->lookup(query("+4930000002"));
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code(), base::Errc::protocol) << big.error().to_string();
  EXPECT_NE(big.error().message().find("body over the limit"), std::string::npos);
  auto shape = src->lookup(query("+4930000004"));
  ASSERT_FALSE(shape);
  EXPECT_EQ(shape.error().code(), base::Errc::protocol);
}

TEST_F(HttpSourceTest, SlowServerTimesOutBySourceTimeoutAndDeadline) {
  auto o = options(server_->port);
  o.timeout = 200ms;
  auto t0 = std::chrono::steady_clock::now();
  auto r = source(o)->lookup(query("+4930000003"));
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), base::Errc::timeout) << r.error().to_string();
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 1500ms);
  // The query deadline wins when it is earlier than the source timeout.
  o.timeout = 5000ms;
  t0 = std::chrono::steady_clock::now();
  auto d = source(o)->lookup(query("+4930000003", 150ms));
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code(), base::Errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
}

TEST_F(HttpSourceTest, ConnectionRefusedIsUnavailable) {
  int port = testing::free_tcp_port();
  auto r = source(options(port))->lookup(query("+4921133990345"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), base::Errc::unavailable) << r.error().to_string();
}

// The engine with the built-in store and a CRM that hangs: the store's answer comes back when the
// CRM's own timeout ends, the CRM is reported as timed out, nothing is cached.
TEST_F(HttpSourceTest, EngineReturnsStoreMatchWhenCrmIsSlow) {
  SqliteContactStoreOptions so;
  so.path = ":memory:";
  std::shared_ptr<SqliteContactStore> store = std::move(*SqliteContactStore::open(so));
  ports::Contact c{.tenant = base::TenantId("default")};
  c.display_name = "Slow CRM Customer (store)";
  c.numbers = {{"work", "+4930000003", "+4930000003"}};
  ASSERT_TRUE(store->create(c));
  auto o = options(server_->port);
  o.timeout = 5000ms;  // the engine's per-source timeout is the shorter one here
  std::shared_ptr<HttpContactSource> crm = source(o);
  base::ManualClock clock(base::from_micros(0));
  core::LookupService svc({{store, 1000ms}, {crm, 250ms}}, {}, clock);
  auto t0 = std::chrono::steady_clock::now();
  auto r = svc.lookup("default", "+4930000003");
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(r.matches.size(), 1u);
  EXPECT_EQ(r.matches[0].contact.display_name, "Slow CRM Customer (store)");
  ASSERT_EQ(r.sources.size(), 2u);
  EXPECT_EQ(r.sources[1].state, core::SourceOutcome::State::timeout);
  EXPECT_GE(took, 240ms);
  EXPECT_LT(took, 2000ms);
  EXPECT_EQ(svc.cache_size(), 0u);
  // Both answer: merged, store (priority 10) before CRM (30).
  ports::Contact anna{.tenant = base::TenantId("default")};
  anna.display_name = "Anna (store)";
  anna.numbers = {{"work", "+4921133990345", "+4921133990345"}};
  ASSERT_TRUE(store->create(anna));
  auto both = svc.lookup("default", "+4921133990345");
  ASSERT_EQ(both.matches.size(), 2u);
  EXPECT_EQ(both.matches[0].contact.source, "store");
  EXPECT_EQ(both.matches[1].contact.source, "crm");
  EXPECT_EQ(both.matches[1].contact.display_name, "Anna Schmidt");
  EXPECT_TRUE(both.complete());
}

// Name search (issue 13): with a search URL the CRM is asked for a piece of a name or company and
// its contacts come back with their numbers (E.164 where the number is one), at most the limit;
// without one the source does not search; errors as for lookups.
TEST_F(HttpSourceTest, SearchFindsContactsByNameWithTheirNumbers) {
  auto o = options(server_->port);
  EXPECT_FALSE(source(o)->searches_text());
  o.search_url_template = "http://127.0.0.1:" + std::to_string(server_->port) + "/api/search?q={text}&limit={limit}";
  o.number_label_field = "type";
  auto s = source(o);
  EXPECT_TRUE(s->searches_text());
  auto q = [](std::string text, std::size_t limit = 20) {
    return ports::SearchQuery{.tenant = base::TenantId("default"), .text = std::move(text), .limit = limit,
                              .deadline = std::chrono::steady_clock::now() + 5s};
  };
  auto r = s->search(q("schmidt"));
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].display_name, "Anna Schmidt");
  EXPECT_EQ((*r)[0].company, "ACME GmbH");
  EXPECT_EQ((*r)[0].contact_id, "4711");
  EXPECT_EQ((*r)[0].source, "crm");
  ASSERT_EQ((*r)[0].numbers.size(), 1u);
  EXPECT_EQ((*r)[0].numbers[0].e164, "+4921133990345");
  EXPECT_EQ((*r)[0].numbers[0].label, "work");
  auto kunde = s->search(q("kunde"));  // "c-3" has no name: no hit
  ASSERT_TRUE(kunde) << kunde.error().to_string();
  ASSERT_EQ(kunde->size(), 2u);
  EXPECT_EQ((*kunde)[1].kind, ports::ContactKind::company);
  EXPECT_EQ(s->search(q("kunde", 1))->size(), 1u);
  auto none = s->search(q("nobody"));  // 404
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  auto err = s->search(q("boom"));
  ASSERT_FALSE(err);
  EXPECT_EQ(err.error().code(), base::Errc::unavailable);
  EXPECT_EQ(s->search_url_for("Müller & Söhne", 5),
            "http://127.0.0.1:" + std::to_string(server_->port) + "/api/search?q=M%C3%BCller%20%26%20S%C3%B6hne&limit=5");
}

TEST(HttpSourceJson, SearchResultsCarryTheirNumbersInAnyOfTheShapes) {
  HttpSourceOptions o;
  o.results_path = "hits";
  o.numbers_field = "phones";
  o.to_e164 = [](std::string_view raw) -> std::optional<std::string> {
    if (raw == "0211 339903") return "+49211339903";
    return std::nullopt;
  };
  auto r = parse_crm_search_json(R"({"hits":[
      {"id":1,"name":"A","phones":"0211 339903"},
      {"id":2,"name":"B","phones":["0211 339903","not a number"]},
      {"id":3,"name":"","phones":["1"]},
      {"id":4,"name":"D","phones":[{"number":"0211 339903","label":"mobile"},{"label":"x"},7]},
      {"id":5,"name":"E"}]})", o, 10);
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].contact_id, "1");
  ASSERT_EQ((*r)[0].numbers.size(), 1u);
  EXPECT_EQ((*r)[0].numbers[0].e164, "+49211339903");
  ASSERT_EQ((*r)[1].numbers.size(), 2u);
  EXPECT_EQ((*r)[1].numbers[1].raw, "not a number");
  EXPECT_EQ((*r)[1].numbers[1].e164, "");
  EXPECT_EQ((*r)[2].contact_id, "4");  // the nameless one is left out
  ASSERT_EQ((*r)[2].numbers.size(), 1u);
  EXPECT_EQ((*r)[2].numbers[0].label, "mobile");
  EXPECT_TRUE((*r)[3].numbers.empty());
  EXPECT_EQ(parse_crm_search_json(R"({"hits":[{"name":"A"},{"name":"B"}]})", o, 1)->size(), 1u);
  EXPECT_FALSE(parse_crm_search_json(R"({"hits":[1]})", o, 10));
  EXPECT_FALSE(parse_crm_search_json("{nope", o, 10));
}

TEST(HttpSourceConfig, TemplateEncodingAndValidation) {
  HttpSourceOptions o;
  o.url_template = "https://crm.example/api/lookup?number={e164}&d={digits}";
  auto s = HttpContactSource::create(o);
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ((*s)->url_for("+492113399030"), "https://crm.example/api/lookup?number=%2B492113399030&d=492113399030");
  o.url_template = "https://crm.example/api/lookup";
  EXPECT_FALSE(HttpContactSource::create(o));
  o.url_template = "ftp://crm/{e164}";
  EXPECT_FALSE(HttpContactSource::create(o));
  o.url_template = "http://crm/{e164}";
  o.headers = {{"X-Evil", "a\r\nInjected: yes"}};
  EXPECT_FALSE(HttpContactSource::create(o));
  o.headers.clear();
  o.url_template = "https://crm/{e164}";
  o.ca_file = "/nonexistent/ca.pem";
  EXPECT_FALSE(HttpContactSource::create(o));
  o.ca_file.clear();
  o.url_template = "http://crm/{e164}";
  o.search_url_template = "http://crm/search";  // no {text}
  EXPECT_FALSE(HttpContactSource::create(o));
  o.search_url_template = "https://crm/search?q={text}";  // the lookup is http
  EXPECT_FALSE(HttpContactSource::create(o));
  o.search_url_template = "http://crm/search?q={text}";
  EXPECT_TRUE(HttpContactSource::create(o));
}

TEST(HttpSourceJson, RootArrayAndSingleObjectAndNull) {
  HttpSourceOptions o;
  o.name_field = "fullName";
  o.company_field = "";
  auto arr = parse_crm_json(R"([{"fullName":"A","id":1},{"fullName":"B","id":2.5}])", o, "+491");
  ASSERT_TRUE(arr);
  ASSERT_EQ(arr->size(), 2u);
  EXPECT_EQ((*arr)[1].contact_id, "2.5");
  auto one = parse_crm_json(R"({"fullName":"Solo"})", o, "+491");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->size(), 1u);
  o.results_path = "hits";
  EXPECT_TRUE(parse_crm_json(R"({"hits":null})", o, "+491")->empty());
  EXPECT_TRUE(parse_crm_json(R"({})", o, "+491")->empty());
  EXPECT_FALSE(parse_crm_json(R"({"hits":[1,2]})", o, "+491"));
}

TEST(HttpsSource, TrustsConfiguredCaAndRefusesUnknownCertificates) {
  auto server = CrmServer::start(true);
  ASSERT_TRUE(server);
  auto o = crm_options(server->port, "https");
  o.ca_file = server->cert;
  auto trusted = HttpContactSource::create(o);
  ASSERT_TRUE(trusted) << trusted.error().to_string();
  auto r = (*trusted)->lookup(query_for("+4921133990345"));
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].display_name, "Anna Schmidt");

  o.ca_file.clear();  // system trust store: a self-signed certificate is refused
  auto untrusted = std::move(*HttpContactSource::create(o));
  auto refused = untrusted->lookup(query_for("+4921133990345"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), base::Errc::unavailable);
  EXPECT_NE(refused.error().message().find("TLS"), std::string::npos) << refused.error().to_string();

  o.url_template = "https://localhost:" + std::to_string(server->port) + "/api/lookup?number={e164}";
  o.ca_file = server->cert;  // name in the certificate's SAN: accepted
  auto by_name = std::move(*HttpContactSource::create(o))->lookup(query_for("+4921133990345"));
  ASSERT_TRUE(by_name) << by_name.error().to_string();
}

}  // namespace
}  // namespace callbridge::directory
