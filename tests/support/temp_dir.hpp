// A temporary directory for one test (or benchmark), removed with everything in it when destroyed.
// Test helper; single-threaded; header-only.
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace callbridge::testing {

class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "cbtest") {
    std::string tmpl = (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
    if (!mkdtemp(tmpl.data())) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(std::string_view name) const { return path_ + "/" + std::string(name); }
  std::string file(std::string_view name) const { return *this / name; }

 private:
  std::string path_;
};

}  // namespace callbridge::testing
