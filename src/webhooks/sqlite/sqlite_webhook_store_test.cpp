// SqliteWebhookStore against a real file: a foreign file is refused. The behaviour both backends
// share: tests/stores/webhooks_contract_test.cpp.
#include "webhooks/sqlite/sqlite_webhook_store.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace callbridge::webhooks {
namespace {

namespace fs = std::filesystem;

class WebhookStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cb_wh_store_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path() const { return (dir_ / "webhooks.db").string(); }
  static ports::Webhook hook(std::string id, const char* tenant) {
    ports::Webhook h{.id = std::move(id), .tenant = base::TenantId(tenant)};
    h.url = "https://crm.example/hook";
    h.events = {"call.ended", "call.ringing"};
    h.secret = "whsec_x";
    h.created_at = base::from_micros(1'800'000'000'000'000);
    h.created_by = "adm";
    return h;
  }
  static ports::WebhookDelivery delivery(std::string id, const std::string& hook, int attempts,
                                         std::int64_t updated_us) {
    ports::WebhookDelivery d{.id = std::move(id), .hook_id = hook, .tenant = base::TenantId("ta")};
    d.event_type = "call.ended";
    d.event_id = "ev";
    d.state = "retrying";
    d.attempts = attempts;
    d.http_status = 500;
    d.last_error = "HTTP 500";
    d.created_at = base::from_micros(updated_us);
    d.updated_at = base::from_micros(updated_us);
    return d;
  }
  fs::path dir_;
};



TEST_F(WebhookStoreTest, AForeignFileIsRefused) {
  std::ofstream(path()) << "not a database at all, just text that is long enough to look like a header";
  auto s = SqliteWebhookStore::open(path());
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("webhook store"), std::string::npos) << s.error().message();
}

}  // namespace
}  // namespace callbridge::webhooks
