// AnyDevice in identity.db: a user's external devices (bounded, renumbered in place), their active
// device (removed with the device it names, back to the default), the start-up load, and that all
// of it leaves with the user and survives a reopen. ctest label `anydevice`.
#include <gtest/gtest.h>

#include <filesystem>

#include "identity/sqlite/identity_store.hpp"

namespace callbridge::identity {
namespace {

base::Timestamp at(std::int64_t s) { return base::from_micros(s * 1'000'000); }
const base::TenantId kT1("t1");
const base::TenantId kT2("t2");

TEST(UserDevices, AddRenumberRemoveAndTheBound) {
  auto s = std::move(*SqliteIdentityStore::open(":memory:"));
  ASSERT_TRUE(s->put_user({kT1, "anna", "user", "Anna", {"100"}, ""}));
  ASSERT_TRUE(s->put_user({kT2, "anna", "user", "Other Anna", {"100"}, ""}));
  auto none = s->get_user_devices(kT1, "anna");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->external.empty());
  EXPECT_EQ(none->active, "");
  EXPECT_FALSE(none->active_since);

  ASSERT_TRUE(s->put_external_device(kT1, "anna", {"mobile", "+491701234567", at(1)}, 2));
  ASSERT_TRUE(s->put_external_device(kT1, "anna", {"home", "+49301234567", at(2)}, 2));
  auto full = s->put_external_device(kT1, "anna", {"car", "+491709999999", at(3)}, 2);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code(), base::Errc::conflict);
  EXPECT_NE(full.error().message().find("at most 2 external devices"), std::string::npos);
  // Renumbering an existing device is not a new one; it keeps its creation time.
  ASSERT_TRUE(s->put_external_device(kT1, "anna", {"mobile", "+491707654321", at(4)}, 2));
  auto two = s->get_user_devices(kT1, "anna");
  ASSERT_TRUE(two);
  ASSERT_EQ(two->external.size(), 2u);
  EXPECT_EQ(two->external[0], (ExternalDevice{"home", "+49301234567", at(2)}));
  EXPECT_EQ(two->external[1], (ExternalDevice{"mobile", "+491707654321", at(1)}));
  // The other tenant's anna has none.
  EXPECT_TRUE(s->get_user_devices(kT2, "anna")->external.empty());

  EXPECT_EQ(s->get_user_devices(kT1, "nobody").error().code(), base::Errc::not_found);
  EXPECT_EQ(s->put_external_device(kT1, "nobody", {"mobile", "+491701234567", at(1)}, 5).error().code(),
            base::Errc::not_found);
  EXPECT_EQ(s->put_external_device(kT1, "anna", {"bad name", "+491701234567", at(1)}, 5).error().code(),
            base::Errc::invalid_argument);
  EXPECT_EQ(s->remove_external_device(kT1, "anna", "car").error().code(), base::Errc::not_found);
}

TEST(UserDevices, PrivateOrCompanyIsStoredChangedInPlaceAndLoadedAtStartUp) {
  auto s = std::move(*SqliteIdentityStore::open(":memory:"));
  ASSERT_TRUE(s->put_user({kT1, "anna", "user", "Anna", {"100"}, ""}));
  ASSERT_TRUE(s->put_external_device(kT1, "anna", {"mobile", "+491701234567", at(1), /*private_device=*/false}, 5));
  ASSERT_TRUE(s->put_external_device(kT1, "anna", {"home", "+49301234567", at(2)}, 5));  // private by default
  auto d = s->get_user_devices(kT1, "anna");
  ASSERT_TRUE(d && d->external.size() == 2u);
  EXPECT_TRUE(d->external[0].private_device);    // home
  EXPECT_FALSE(d->external[1].private_device);   // mobile: the company's
  ASSERT_TRUE(s->set_active_device(kT1, "anna", "mobile", at(3), "anna"));
  auto rows = s->list_active_devices();
  ASSERT_TRUE(rows && rows->size() == 1u);
  EXPECT_FALSE(rows->front().private_device);
  // Declared private later: the same device (creation time kept), the flag changed.
  ASSERT_TRUE(s->put_external_device(kT1, "anna", {"mobile", "+491701234567", at(4), true}, 5));
  d = s->get_user_devices(kT1, "anna");
  EXPECT_EQ(d->external[1], (ExternalDevice{"mobile", "+491701234567", at(1), true}));
  EXPECT_TRUE(s->list_active_devices()->front().private_device);
  // The active device is a desk extension: no external device, the flag is unused (default).
  ASSERT_TRUE(s->set_active_device(kT1, "anna", "100", at(5), "anna"));
  EXPECT_EQ(s->list_active_devices()->front().number, "");
  EXPECT_EQ(s->remove_external_device(kT2, "anna", "mobile").error().code(), base::Errc::not_found);
}

TEST(UserDevices, ActiveDeviceFollowsItsDeviceAndItsUser) {
  auto s = std::move(*SqliteIdentityStore::open(":memory:"));
  ASSERT_TRUE(s->put_user({kT1, "anna", "user", "Anna", {"100"}, ""}));
  ASSERT_TRUE(s->put_user({kT1, "ben", "user", "Ben", {"101"}, ""}));
  ASSERT_TRUE(s->put_external_device(kT1, "anna", {"mobile", "+491701234567", at(1)}, 5));
  ASSERT_TRUE(s->set_active_device(kT1, "anna", "mobile", at(5), "anna"));
  ASSERT_TRUE(s->set_active_device(kT1, "ben", "101", at(6), "adm"));
  EXPECT_EQ(s->set_active_device(kT1, "nobody", "101", at(6), "adm").error().code(), base::Errc::not_found);
  auto a = s->get_user_devices(kT1, "anna");
  EXPECT_EQ(a->active, "mobile");
  EXPECT_EQ(a->active_since, at(5));
  EXPECT_EQ(a->active_set_by, "anna");

  auto rows = s->list_active_devices();
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].user, "anna");
  EXPECT_EQ((*rows)[0].device, "mobile");
  EXPECT_EQ((*rows)[0].number, "+491701234567");
  EXPECT_EQ((*rows)[1].user, "ben");
  EXPECT_EQ((*rows)[1].number, "");  // an extension

  // Removing the active device puts the user back on the default.
  ASSERT_TRUE(s->remove_external_device(kT1, "anna", "mobile"));
  EXPECT_EQ(s->get_user_devices(kT1, "anna")->active, "");
  ASSERT_TRUE(s->set_active_device(kT1, "ben", "", at(7), "ben"));
  EXPECT_TRUE(s->list_active_devices()->empty());

  // Everything leaves with the user: a new anna starts with nothing.
  ASSERT_TRUE(s->put_external_device(kT1, "anna", {"home", "+49301234567", at(8)}, 5));
  ASSERT_TRUE(s->set_active_device(kT1, "anna", "home", at(8), "anna"));
  ASSERT_TRUE(s->remove_user(kT1, "anna"));
  ASSERT_TRUE(s->put_user({kT1, "anna", "user", "Anna", {"100"}, ""}));
  auto fresh = s->get_user_devices(kT1, "anna");
  EXPECT_TRUE(fresh->external.empty());
  EXPECT_EQ(fresh->active, "");
}

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
