#include "base/private_dir.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <system_error>

namespace callbridge::base {

namespace fs = std::filesystem;

namespace {

constexpr fs::perms kGroupOther = fs::perms::group_all | fs::perms::others_all;

// Removes group/other bits from one path (never through a symlink). Records what it did.
bool tighten(const fs::path& p, fs::file_status st, PrivateDirReport& report, bool follow = false) {
  if ((st.permissions() & kGroupOther) == fs::perms::none) return true;
  std::error_code ec;
  auto opts = fs::perm_options::remove;
  if (!follow) opts |= fs::perm_options::nofollow;
  fs::permissions(p, kGroupOther, opts, ec);
  if (ec) {
    report.failed.push_back(p.string() + ": cannot restrict permissions: " + ec.message());
    return false;
  }
  report.tightened.push_back(p.string());
  return true;
}

}  // namespace

void restrict_umask() { ::umask(077); }

Result<PrivateDirReport> make_private_dir(const std::string& dir) {
  PrivateDirReport report;
  std::error_code ec;
  const fs::path root(dir);
  const bool created = !fs::exists(root, ec);
  if (created) {
    // Parents the data dir needs are created like mkdir -p would under the process umask; the dir
    // itself is made 0700 below in case the caller did not restrict the umask.
    fs::create_directories(root, ec);
    if (ec) return std::unexpected(Error::io("data dir " + dir + ": cannot create: " + ec.message()));
  }
  auto st = fs::symlink_status(root, ec);
  if (ec) return std::unexpected(Error::io("data dir " + dir + ": " + ec.message()));
  if (fs::is_symlink(st)) st = fs::status(root, ec);  // a data dir that is a symlink: its target is the dir
  if (ec || !fs::is_directory(st)) return std::unexpected(Error::io("data dir " + dir + ": not a directory"));
  if (!tighten(root, st, report, /*follow=*/true)) return std::unexpected(Error::io("data dir " + report.failed.back()));
  if (created) report.tightened.clear();  // a new dir is not an older install to tell about

  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::none, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    auto est = it->symlink_status(ec);
    if (ec) break;
    if (fs::is_directory(est) || fs::is_regular_file(est)) tighten(it->path(), est, report);
  }
  if (ec) report.failed.push_back(dir + ": cannot list: " + ec.message());
  return report;
}

}  // namespace callbridge::base
