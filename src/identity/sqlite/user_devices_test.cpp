// AnyDevice in identity.db: the devices survive a reopen of the file. The behaviour both backends
// share (bound, renumbering, the active device following its device and user, the start-up load)
// is tested once for both: tests/stores/identity_contract_test.cpp. ctest label `anydevice`.
#include <gtest/gtest.h>

#include <filesystem>

#include "identity/sqlite/identity_store.hpp"

namespace callbridge::identity {
namespace {

base::Timestamp at(std::int64_t s) { return base::from_micros(s * 1'000'000); }
const base::TenantId kT1("t1");

TEST(UserDevices, SurviveAReopen) {
  const auto path = std::filesystem::temp_directory_path() / ("cb_user_devices_" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  {
    auto s = std::move(*SqliteIdentityStore::open(path.string()));
    ASSERT_TRUE(s->put_user({kT1, "anna", "user", "Anna", {"100"}, ""}));
    ASSERT_TRUE(s->put_external_device(kT1, "anna", {"mobile", "+491701234567", at(1)}, 5));
    ASSERT_TRUE(s->set_active_device(kT1, "anna", "mobile", at(2), "anna"));
  }
  auto s = std::move(*SqliteIdentityStore::open(path.string()));
  auto d = s->get_user_devices(kT1, "anna");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->active, "mobile");
  ASSERT_EQ(d->external.size(), 1u);
  EXPECT_EQ(d->external[0].number, "+491701234567");
  s.reset();
  for (const char* ext : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + ext);
}

}  // namespace
}  // namespace callbridge::identity
